"""Before the scaled system starts: are PostgreSQL, Redis, RabbitMQ and HAProxy there?

Each check returns None when the service answers, or one line naming it, where it was looked
for, what went wrong and how to start it. `missing_services` runs them all, so one run of
`make run-scaled` names everything that is missing, not the first thing only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

import aio_pika
import redis
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from assistant.channels.socketio_manager import without_password
from launcher.balancer import BalancerMissing, haproxy_binary

TIMEOUT_SECONDS: Final = 3


def _sentence(error: object) -> str:
    """The first line of an error's text, without a final full stop (the message adds one)."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__).rstrip(".")


def check_postgres(url: str) -> str | None:
    """Whether PostgreSQL at `url` accepts a connection."""
    engine = create_engine(url, future=True, connect_args={"connect_timeout": TIMEOUT_SECONDS})
    try:
        with engine.connect():
            return None
    except SQLAlchemyError as error:
        reason = _sentence(getattr(error, "orig", error))
        shown = make_url(url).render_as_string(hide_password=True)
        return (
            f"PostgreSQL at {shown} is not reachable: {reason}. Start it (Debian: "
            f"`service postgresql start`) or point SCALED_POSTGRES_URL at a server."
        )
    finally:
        engine.dispose()


def check_redis(url: str) -> str | None:
    """Whether Redis at `url` answers PING."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
        return None
    except redis.RedisError as error:
        return (
            f"Redis at {without_password(url)} is not reachable: {_sentence(error)}. Start it "
            f"(Debian: "
            f"`service redis-server start`) or point SCALED_REDIS_URL at a server."
        )
    finally:
        client.close()


def check_rabbitmq(url: str) -> str | None:
    """Whether RabbitMQ at `url` accepts an AMQP connection (with its credentials)."""

    async def connect() -> None:
        connection = await aio_pika.connect(url, timeout=TIMEOUT_SECONDS)
        await connection.close()

    try:
        asyncio.run(connect())
        return None
    except Exception as error:  # aio-pika raises many kinds (refused, auth, timeout)
        return (
            f"RabbitMQ at {without_password(url)} is not reachable: "
            f"{_sentence(error)}. Start it (Debian: `service rabbitmq-server "
            f"start`) or point SCALED_RABBITMQ_URL at a server."
        )


def check_balancer() -> str | None:
    """Whether the haproxy binary is installed."""
    try:
        haproxy_binary()
        return None
    except BalancerMissing as error:
        return str(error)


def missing_services(postgres_url: str, redis_url: str, rabbitmq_url: str) -> list[str]:
    """One line per service that is not there (empty: all are)."""
    checks: list[Callable[[], str | None]] = [
        lambda: check_postgres(postgres_url),
        lambda: check_redis(redis_url),
        lambda: check_rabbitmq(rabbitmq_url),
        check_balancer,
    ]
    return [problem for problem in (check() for check in checks) if problem is not None]
