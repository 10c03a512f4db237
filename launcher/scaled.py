"""The system on several processes: `make run-scaled` (`python -m launcher run-scaled`).

Two Rasa servers, two action servers and two desks (by default), all on loopback, sharing
PostgreSQL (tracker store, app, desk and analytics databases), Redis (Rasa's lock store, the
web chat's socket.io pub/sub, the desks' bus) and RabbitMQ (Rasa's event broker, the desks'
durable queue), behind HAProxy (`launcher.balancer`). The same code starts it for the
end-to-end tests and the benchmark (`scaled_services`), each with its own databases, key
prefixes, queue names and ports.

Every process reaches the others through the balancer, exactly as on several machines: Rasa
calls the actions at the balancer's action port, the desk at its site port; the action servers
deliver handoffs to the site port; the desks call Rasa at the site port, the origin the web
chat page is served from, so the browser's stickiness cookie needs no cross-origin set-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from pydantic import Field, validator

from assistant.channels.socketio_manager import (
    CHANNEL_VARIABLE,
    DEFAULT_CHANNEL,
    MANAGER_URL_VARIABLE,
)
from launcher.balancer import BalancerPlan, Upstream, balancer_service
from launcher.scaled_databases import ScaledDatabases, database_urls
from launcher.stack import PROJECT_ROOT, Service, action_server, desk_server, rasa_server
from settingsupport.environment import EnvironmentSettings, port_field, secret_field

ENDPOINTS: Final = PROJECT_ROOT / "endpoints.scaled.yml"
MODEL: Final = PROJECT_ROOT / "models" / "support-assistant.tar.gz"
#: Rasa's pika broker's exchange and the desks' durable queue (agreed with the desk's
#: consumer: DESK_EVENT_EXCHANGE, DESK_EVENT_QUEUE).
DEFAULT_EVENT_EXCHANGE: Final = "rasa-exchange"
DEFAULT_EVENT_QUEUE: Final = "desk-conversation-events"
#: Seen here: two Rasa processes loading at once took 90 s on a quiet 2-core machine, and more
#: than 180 s (the single process's limit) with other work on it.
RASA_STARTUP_TIMEOUT_SECONDS: Final = 420.0


class ScaledSettings(EnvironmentSettings):
    """What `make run-scaled` reads beyond `make run`'s settings (`.env.example` documents
    each): where the shared services are, and how many of each process to start."""

    postgres_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres", env="SCALED_POSTGRES_URL", repr=False
    )
    database_prefix: str = Field("support_assistant", env="SCALED_DATABASE_PREFIX")
    redis_url: str = Field("redis://127.0.0.1:6379/0", env="SCALED_REDIS_URL", repr=False)
    rabbitmq_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/%2F", env="SCALED_RABBITMQ_URL", repr=False
    )
    processes: int = Field(2, env="SCALED_PROCESSES", ge=1, le=9)
    #: The processes listen on loopback ports from here: Rasa +1.., actions +11.., desks +21...
    first_process_port: int = port_field(7000, "SCALED_FIRST_PORT")
    stats_port: int = port_field(8404, "SCALED_BALANCER_STATS_PORT")
    rasa_port: int = port_field(5005, "RASA_PORT")
    action_server_port: int = port_field(5055, "ACTION_SERVER_PORT")
    desk_port: int = port_field(8080, "DESK_PORT")
    rasa_auth_token: str = secret_field("RASA_AUTH_TOKEN")
    demo_password: str = secret_field("DESK_DEMO_PASSWORD")

    @validator("first_process_port")
    def _room_for_the_processes(cls, port: int) -> int:
        if port + 30 > 65535:
            raise ValueError("leaves no room for the processes' ports (it needs 30 above it)")
        return port


@dataclass(frozen=True)
class SharedServices:
    """Where the shared services are, and the names one system uses on them."""

    redis_url: str
    rabbitmq_url: str
    databases: ScaledDatabases
    #: Letters and digits; empty: Rasa's default lock keys.
    lock_key_prefix: str = ""
    socketio_channel: str = DEFAULT_CHANNEL
    event_exchange: str = DEFAULT_EVENT_EXCHANGE
    event_queue: str = DEFAULT_EVENT_QUEUE
    #: The desks' keys and channel in Redis (DESK_BUS_PREFIX): desks sharing one are one desk.
    desk_bus_prefix: str = "desk"


@dataclass(frozen=True)
class ScaledPlan:
    """The processes of one scaled system and the balancer in front of them."""

    balancer: BalancerPlan
    shared: SharedServices
    rasa_auth_token: str
    model: Path = MODEL

    def rasa_process_url(self, index: int) -> str:
        """A Rasa process's own URL (not through the balancer), index from 0."""
        return f"http://127.0.0.1:{self.balancer.rasa[index].port}"

    def desk_process_url(self, index: int) -> str:
        """A desk's own URL (not through the balancer), index from 0."""
        return f"http://127.0.0.1:{self.balancer.desks[index].port}"


def balancer_plan(
    *,
    site_port: int,
    rasa_port: int,
    actions_port: int,
    stats_port: int,
    rasa_ports: list[int],
    action_ports: list[int],
    desk_ports: list[int],
) -> BalancerPlan:
    """The balancer's plan with upstreams named rasa1.., actions1.., desk1.."""

    def named(kind: str, ports: list[int]) -> tuple[Upstream, ...]:
        return tuple(Upstream(f"{kind}{i}", port) for i, port in enumerate(ports, start=1))

    return BalancerPlan(
        host="127.0.0.1",
        site_port=site_port,
        rasa_port=rasa_port,
        actions_port=actions_port,
        stats_port=stats_port,
        rasa=named("rasa", rasa_ports),
        actions=named("actions", action_ports),
        desks=named("desk", desk_ports),
    )


def plan_from_settings(settings: ScaledSettings) -> ScaledPlan:
    """`make run-scaled`'s plan: the public ports on the balancer, the processes above
    SCALED_FIRST_PORT, the databases named after SCALED_DATABASE_PREFIX."""
    first, count = settings.first_process_port, settings.processes
    balancer = balancer_plan(
        site_port=settings.desk_port,
        rasa_port=settings.rasa_port,
        actions_port=settings.action_server_port,
        stats_port=settings.stats_port,
        rasa_ports=[first + 1 + i for i in range(count)],
        action_ports=[first + 11 + i for i in range(count)],
        desk_ports=[first + 21 + i for i in range(count)],
    )
    shared = SharedServices(
        redis_url=settings.redis_url,
        rabbitmq_url=settings.rabbitmq_url,
        databases=database_urls(settings.postgres_url, settings.database_prefix),
    )
    return ScaledPlan(balancer, shared, settings.rasa_auth_token)


def _amqp_parts(url: str) -> dict[str, str]:
    """Rasa's pika broker takes host, port, user and password apart (`endpoints.scaled.yml`)."""
    parts = urlsplit(url)
    return {
        "EVENT_BROKER_HOST": parts.hostname or "127.0.0.1",
        "EVENT_BROKER_PORT": str(parts.port or 5672),
        "EVENT_BROKER_USERNAME": unquote(parts.username or "guest"),
        "EVENT_BROKER_PASSWORD": unquote(parts.password or "guest"),
    }


def _redis_parts(url: str) -> dict[str, str]:
    """Rasa's Redis lock store takes host, port, database number and password apart."""
    parts = urlsplit(url)
    database = parts.path.strip("/") or "0"
    return {
        "LOCK_STORE_HOST": parts.hostname or "127.0.0.1",
        "LOCK_STORE_PORT": str(parts.port or 6379),
        "LOCK_STORE_DB": database,
        "LOCK_STORE_PASSWORD": unquote(parts.password or ""),
    }


def shared_environment(plan: ScaledPlan) -> dict[str, str]:
    """The settings every process of the scaled system gets (on top of `.env`)."""
    shared, balancer = plan.shared, plan.balancer
    return {
        # Rasa (endpoints.scaled.yml, credentials.yml)
        "TRACKER_STORE_URL": shared.databases.tracker_store,
        "ACTION_SERVER_URL": f"{balancer.actions_url}/webhook",
        **_redis_parts(shared.redis_url),
        "LOCK_STORE_KEY_PREFIX": shared.lock_key_prefix,
        **_amqp_parts(shared.rabbitmq_url),
        MANAGER_URL_VARIABLE: shared.redis_url,
        CHANNEL_VARIABLE: shared.socketio_channel,
        "DESK_URL": balancer.site_url,
        # action servers
        "APP_DATABASE_URL": shared.databases.app,
        "HANDOFF_URL": f"{balancer.site_url}/api/handoffs",
        # desks
        "DESK_DATABASE_URL": shared.databases.desk,
        "ANALYTICS_DATABASE_URL": shared.databases.analytics,
        "RASA_URL": balancer.site_url,
        "DESK_BUS_URL": shared.redis_url,
        "DESK_BUS_PREFIX": shared.desk_bus_prefix,
        "DESK_EVENT_QUEUE_URL": shared.rabbitmq_url,
        "DESK_EVENT_EXCHANGE": shared.event_exchange,
        "DESK_EVENT_QUEUE": shared.event_queue,
        # The balancer, on loopback, tells the desks the client's address and scheme.
        "DESK_TRUSTED_PROXIES": "127.0.0.1",
    }


def scaled_services(
    plan: ScaledPlan,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    config_dir: Path | None = None,
) -> list[Service]:
    """Every process of the plan, the balancer last, in start order.

    `overrides` maps a process's name (rasa1, actions2, desk1, ...) to settings of its own
    (the tests point one process straight at another to know which path a message takes).
    Each process also gets `shared_environment(plan)`: pass that to the `Stack`.
    """
    overrides = overrides or {}
    services: list[Service] = []
    for upstream in plan.balancer.rasa:
        base = rasa_server(upstream.port, plan.rasa_auth_token, plan.model)
        argv = [*base.argv, "--endpoints", str(ENDPOINTS)]
        # Several load a model (TensorFlow) at once on the same cores: give them longer.
        base = dataclasses.replace(base, startup_timeout=RASA_STARTUP_TIMEOUT_SECONDS)
        services.append(_named(base, upstream.name, argv, overrides))
    for upstream in plan.balancer.actions:
        base = action_server(upstream.port)
        services.append(_named(base, upstream.name, base.argv, overrides))
    for upstream in plan.balancer.desks:
        base = desk_server(upstream.port)
        services.append(_named(base, upstream.name, base.argv, overrides))
    services.append(balancer_service(plan.balancer, config_dir))
    return services


def _named(
    base: Service, name: str, argv: list[str], overrides: Mapping[str, Mapping[str, str]]
) -> Service:
    env = {**base.env, **overrides.get(name, {})}
    return dataclasses.replace(base, name=name, argv=argv, env=env)
