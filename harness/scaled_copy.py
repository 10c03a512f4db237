"""An isolated copy of the scaled system (`launcher.scaled`), for the tests and the benchmark.

Its own PostgreSQL databases (created and seeded, dropped afterwards), its own Redis lock keys
and socket.io channel, its own RabbitMQ exchange and queue (deleted afterwards), free loopback
ports, and HAProxy's configuration in its own directory: it runs beside `make run-scaled` and
beside other copies on the same PostgreSQL, Redis and RabbitMQ.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aio_pika
import redis

from harness.loopback import free_ports
from launcher.preflight import missing_services
from launcher.scaled import (
    ScaledPlan,
    SharedServices,
    balancer_plan,
    scaled_services,
    shared_environment,
)
from launcher.scaled_databases import database_urls, drop, prepare
from launcher.stack import Service, Stack, running_stack

POSTGRES_URL: Final = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL: Final = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL: Final = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@dataclass(frozen=True)
class ServiceUrls:
    """Where the PostgreSQL server, Redis and RabbitMQ of a copy are."""

    postgres: str = POSTGRES_URL
    redis: str = REDIS_URL
    rabbitmq: str = RABBITMQ_URL


#: The machine's shared servers (TEST_POSTGRES_URL, TEST_REDIS_URL, TEST_RABBITMQ_URL).
SHARED_SERVICES: Final = ServiceUrls()


class ServicesMissing(RuntimeError):
    """PostgreSQL, Redis, RabbitMQ or HAProxy is not there (one line each)."""


@dataclass(frozen=True)
class ScaledCopy:
    """A running copy: its plan, its processes and where it keeps its files."""

    plan: ScaledPlan
    stack: Stack
    services: tuple[Service, ...]
    root: Path

    def restart(self, name: str) -> None:
        """Starts a stopped process again (same port, settings and databases)."""
        service = next(s for s in self.services if s.name == name)
        self.stack.start(service)
        self.stack.wait_healthy(name)


def isolated_plan(
    rasa_auth_token: str,
    model: Path,
    *,
    rasa_processes: int = 2,
    desks: int = 2,
    services: ServiceUrls = SHARED_SERVICES,
) -> ScaledPlan:
    """A plan on free ports with names nobody else uses (two action servers), on `services`."""
    names = f"scaled_copy_{uuid.uuid4().hex[:10]}"
    site, rasa, actions, stats, *ports = free_ports(4 + rasa_processes + 2 + desks)
    balancer = balancer_plan(
        site_port=site,
        rasa_port=rasa,
        actions_port=actions,
        stats_port=stats,
        rasa_ports=ports[:rasa_processes],
        action_ports=ports[rasa_processes : rasa_processes + 2],
        desk_ports=ports[rasa_processes + 2 :],
    )
    shared = SharedServices(
        redis_url=services.redis,
        rabbitmq_url=services.rabbitmq,
        databases=database_urls(services.postgres, names),
        lock_key_prefix=names.replace("_", ""),
        socketio_channel=f"{names}-webchat",
        event_exchange=f"{names}-exchange",
        event_queue=f"{names}-desk-events",
        desk_bus_prefix=f"{names}-desk",
    )
    return ScaledPlan(balancer, shared, rasa_auth_token, model)


def check_services(services: ServiceUrls = SHARED_SERVICES) -> None:
    """`ServicesMissing` naming each service that does not answer."""
    problems = missing_services(services.postgres, services.redis, services.rabbitmq)
    if problems:
        raise ServicesMissing("\n".join(problems))


@contextmanager
def running_scaled_copy(
    plan: ScaledPlan,
    root: Path,
    env: Mapping[str, str],
    demo_password: str,
    wiring: Mapping[str, Mapping[str, str]] | None = None,
    postgres_url: str = POSTGRES_URL,
) -> Iterator[ScaledCopy]:
    """Prepares the plan's databases (on the server `postgres_url`, the plan's isolated_plan
    was given), runs its processes with `env` (plus the shared settings) under `root`, and
    removes everything it made on the shared services afterwards."""
    check_services(ServiceUrls(postgres_url, plan.shared.redis_url, plan.shared.rabbitmq_url))
    try:
        prepare(postgres_url, plan.shared.databases, demo_password)
        process_env = {**env, **shared_environment(plan), "DESK_DEMO_PASSWORD": demo_password}
        services = scaled_services(plan, wiring, root)
        with running_stack(services, root / "logs", process_env) as stack:
            yield ScaledCopy(plan, stack, tuple(services), root)
    finally:
        drop(postgres_url, plan.shared.databases)
        asyncio.run(_delete_rabbitmq_names(plan.shared))
        _delete_redis_keys(plan.shared)


async def _delete_rabbitmq_names(shared: SharedServices) -> None:
    connection = await aio_pika.connect(shared.rabbitmq_url, timeout=5)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(shared.event_queue)
        # The desks' queue for events they could not handle (desk/event_queue.py).
        await channel.queue_delete(f"{shared.event_queue}.set-aside")
        await channel.exchange_delete(shared.event_exchange)


def _delete_redis_keys(shared: SharedServices) -> None:
    """The lock store's keys and the desks' (their bus and shared state)."""
    client = redis.Redis.from_url(shared.redis_url)
    try:
        for pattern in (f"{shared.lock_key_prefix}:*", f"{shared.desk_bus_prefix}*"):
            for key in client.scan_iter(pattern):
                client.delete(key)
    finally:
        client.close()
