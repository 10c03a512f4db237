"""One started system per profile, shared by every fault; the summary at the end.

The embedded system (SQLite, one process of each) is started once, with a `DelayProxy` in
front of the desk for everything the bot sends it (handoffs, conversation events): the slow
desk fault turns its delay up. After each fault `healed` starts again whatever the fault
killed, so the next fault finds the whole system running.

Each fault records its `Findings` and wall time in the session's `ChaosReport`; at the end the
summary is printed and written to results/chaos/summary.json.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

from harness.faults import DelayProxy, delay_proxy
from harness.private_services import PrivateServices, private_services
from harness.scaled_copy import ServiceUrls
from launcher.stack import PROJECT_ROOT, Service, desk_server
from tests.chaos.invariants import Findings
from tests.e2e.desk_system import DeskStack, running_desk_stack
from tests.e2e.environment import MODEL_PATH
from tests.e2e.scaled_system import ScaledSystem, running_scaled_system

SUMMARY: Final = PROJECT_ROOT / "results" / "chaos" / "summary.json"
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


@dataclass
class FaultRun:
    fault: str
    profile: str
    seconds: float
    findings: Findings

    @property
    def survived(self) -> bool:
        return not self.findings.violations


@dataclass
class ChaosReport:
    runs: list[FaultRun] = field(default_factory=list)

    def record(self, fault: str, profile: str, started: float, findings: Findings) -> None:
        self.runs.append(FaultRun(fault, profile, round(time.monotonic() - started, 1), findings))

    def summary(self) -> dict[str, Any]:
        total = Findings()
        for run in self.runs:
            total.add(run.findings)
        return {
            "faults_run": len(self.runs),
            "faults_survived": sum(run.survived for run in self.runs),
            "customers": total.customers,
            "messages": total.messages,
            "turns_struck": total.turns_struck,
            "messages_lost": total.messages_lost,
            "messages_duplicated": total.messages_duplicated,
            "handoffs": total.handoffs,
            "handoffs_lost": total.handoffs_lost,
            "handoffs_duplicated": total.handoffs_duplicated,
            "runs": [
                {**asdict(run), "survived": run.survived, "findings": asdict(run.findings)}
                for run in self.runs
            ],
        }


_REPORT = ChaosReport()


@pytest.fixture(scope="session")
def report() -> ChaosReport:
    return _REPORT


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _REPORT.runs:
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY.write_text(json.dumps(_REPORT.summary(), indent=2) + "\n", encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _REPORT.runs:
        return
    summary = _REPORT.summary()
    write = terminalreporter.write_line
    terminalreporter.section("chaos")
    for run in _REPORT.runs:
        mark = "survived" if run.survived else f"BROKE {len(run.findings.violations)}"
        struck = run.findings.turns_struck
        write(f"{run.profile:9} {run.fault:48} {run.seconds:6.1f}s  {struck:3} struck  {mark}")
        for violation in run.findings.violations[:5]:
            write(f"            {violation}")
    write(
        f"faults survived {summary['faults_survived']}/{summary['faults_run']}; "
        f"messages {summary['messages']}: lost {summary['messages_lost']}, "
        f"duplicated {summary['messages_duplicated']}; handoffs {summary['handoffs']}: "
        f"lost {summary['handoffs_lost']}, duplicated {summary['handoffs_duplicated']} "
        f"({SUMMARY.relative_to(PROJECT_ROOT)})"
    )


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
