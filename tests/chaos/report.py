"""The chaos suite's summary: each fault's findings, gathered from every process that ran
faults, printed at the end of the run and written to results/chaos/summary.json.

A pytest plugin (`tests/conftest.py` loads it), not a part of `tests/chaos/conftest.py`:
under pytest-xdist (`make e2e` runs the faults beside the other end-to-end tests) each worker
records its faults and hands them over when it finishes (`workeroutput`), and the controller,
which collects no test and so never loads the suite's conftest, prints and writes the whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

SUMMARY: Final = Path(__file__).resolve().parents[2] / "results" / "chaos" / "summary.json"
#: The key of a worker's faults in its `workeroutput`.
_WORKER_KEY: Final = "chaos_runs"


@dataclass
class Findings:
    """What one fault's run left behind: the counts of the summary, and each violation."""

    customers: int = 0
    messages: int = 0
    failed_turns: int = 0
    #: Turns the fault visibly struck: failed, answered with the apology, or told the desk is
    #: unreachable (the handoff waits in the outbox). 0 everywhere: the fault missed the load.
    turns_struck: int = 0
    messages_lost: int = 0
    messages_duplicated: int = 0
    handoffs: int = 0
    handoffs_lost: int = 0
    handoffs_duplicated: int = 0
    violations: list[str] = field(default_factory=list)

    def add(self, other: Findings) -> None:
        for name in (
            "customers",
            "messages",
            "failed_turns",
            "turns_struck",
            "messages_lost",
            "messages_duplicated",
            "handoffs",
            "handoffs_lost",
            "handoffs_duplicated",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.violations.extend(other.violations)


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
    """Where each fault records its findings."""
    return _REPORT


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its faults to the controller; the controller, or a run without
    workers, writes the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_KEY] = json.dumps([asdict(run) for run in _REPORT.runs])
    elif _REPORT.runs:
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY.write_text(json.dumps(_REPORT.summary(), indent=2) + "\n", encoding="utf-8")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """(Controller) A worker finished: take the faults it ran."""
    for run in json.loads(getattr(node, "workeroutput", {}).get(_WORKER_KEY, "[]")):
        findings = Findings(**run.pop("findings"))
        _REPORT.runs.append(FaultRun(**run, findings=findings))


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
        f"(results/chaos/summary.json)"
    )
