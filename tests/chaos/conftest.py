"""One started system per profile, shared by every fault.

The embedded system (SQLite, one process of each) is started once, with a `DelayProxy` in
front of the desk for everything the bot sends it (handoffs, conversation events): the slow
desk fault turns its delay up. After each fault `healed` starts again whatever the fault
killed, so the next fault finds the whole system running.

Each fault records its `Findings` and wall time in the run's `ChaosReport`
(`tests.chaos.report`, which prints the summary and writes results/chaos/summary.json).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from harness.faults import DelayProxy, delay_proxy
from harness.private_services import PrivateServices, private_services
from harness.scaled_copy import ServiceUrls
from launcher.stack import Service, desk_server
from tests.e2e.desk_system import DeskStack, running_desk_stack
from tests.e2e.environment import MODEL_PATH
from tests.e2e.scaled_system import ScaledSystem, running_scaled_system

DESK: Final = "desk"
ACTIONS: Final = "actions"
RASA: Final = "rasa"
#: Seen here: a Rasa server killed under load took more than 180 s to be back on a busy
#: 2-core machine (the model loads while every other process works).
RASA_RESTART_SECONDS: Final = 420.0


@dataclass(frozen=True)
class Embedded:
    """The embedded system and the proxy between the bot and the desk."""

    system: DeskStack
    proxy: DelayProxy

    def service(self, name: str) -> Service:
        """How to start one of its processes again (same port, settings and databases)."""
        env = self.system.env
        desk_port = int(self.system.desk_url.rsplit(":", 1)[1])
        return {
            DESK: lambda: desk_server(desk_port),
            ACTIONS: env.action_server,
            # A restart loads the model again, beside the other processes' work: longer.
            RASA: lambda: dataclasses.replace(
                env.rasa_server(), startup_timeout=RASA_RESTART_SECONDS
            ),
        }[name]()

    def restart(self, name: str) -> None:
        self.system.stack.start(self.service(name))
        self.system.stack.wait_healthy(name)


@dataclass(frozen=True)
class Scaled:
    """The scaled system on PostgreSQL, Redis and RabbitMQ servers of its own."""

    system: ScaledSystem
    services: PrivateServices

    @property
    def desk_stack(self) -> DeskStack:
        """Customers through the balancer, agents and handoffs at desk #1 (where the action
        servers deliver: `tests.e2e.scaled_system.wiring`)."""
        return self.system.desk(1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """A failed fault shows the tail of every running process's log."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            stack = (
                value.system.stack
                if isinstance(value, Embedded)
                else value.system.copy.stack
                if isinstance(value, Scaled)
                else None
            )
            if stack is not None:
                for name, running in stack.running.items():
                    report.sections.append((f"{name} log (tail)", running.log_tail(30)))


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    """The embedded system, the bot reaching the desk through the delay proxy."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    root: Path = tmp_path_factory.mktemp("chaos-embedded")
    with (
        delay_proxy() as proxy,
        running_desk_stack(
            root, HANDOFF_URL=f"{proxy.url}/api/handoffs", DESK_URL=proxy.url
        ) as system,
    ):
        proxy.upstream_port = int(system.desk_url.rsplit(":", 1)[1])
        yield Embedded(system, proxy)


@pytest.fixture
def healed(embedded: Embedded) -> Iterator[Embedded]:
    """The embedded system; afterwards every process runs again and the desk is fast."""
    yield embedded
    embedded.proxy.delay_seconds = 0.0
    stack = embedded.system.stack
    for name in (DESK, ACTIONS, RASA):
        running = stack.running.get(name)
        if running is None or running.process.poll() is not None:
            stack.stop(name)
            embedded.restart(name)


@pytest.fixture(scope="session")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    """The scaled system (two of each process behind HAProxy) on private servers, which the
    faults may restart: never the machine's shared ones."""
    root: Path = tmp_path_factory.mktemp("chaos-scaled")
    with private_services() as services:
        urls = ServiceUrls(services.postgres.url, services.redis.url, services.rabbitmq.url)
        with running_scaled_system(root, urls) as system:
            yield Scaled(system, services)


@pytest.fixture
def scaled_healed(scaled: Scaled) -> Iterator[Scaled]:
    """The scaled system; afterwards every process of it runs again."""
    yield scaled
    copy = scaled.system.copy
    for service in copy.services:
        running = copy.stack.running.get(service.name)
        if running is None or running.process.poll() is not None:
            copy.stack.stop(service.name)
            copy.restart(service.name)
