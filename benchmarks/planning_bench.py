"""The planning views at scale: how fast the journey map and the service blueprint answer from
the facts of a synthetic month, against the dashboard's report on the same facts.

    python -m benchmarks.planning_bench [--days 30] [--conversations 100000]
                                        [--handoffs 20000] [--rounds 20] [--keep DIR]

(`python -m benchmarks.run` runs it after the analytics benchmark, on the facts that one built,
unless `--skip-planning`.)

Method
------
Facts
    `benchmarks.synthetic_history` writes a tracker store and a desk database (by default 30
    days of 100,000 conversations, 20,000 handed off, the mortgage applications of the
    mortgage conversations with their timelines); a `Builder` folds them into a fresh facts
    database (SQLite, as the desk runs it), the stage facts and handoff fields included. Run
    from `benchmarks.run`, the analytics benchmark's facts are used as they are.

Views
    For each journey of `content/journey_stages.yml` (order status, troubleshooting,
    mortgage): `analytics.journey_map.journey_map` and then `analytics.blueprint.blueprint`
    (the FMEA catalog's modes pinned to its steps) over the whole 30-day period, each call in a
    session of its own as the desk opens one per request; the figure is the two together, as
    the planning page asks for both. `--rounds` measured rounds (default 20) after 2
    discarded, the calls in a new shuffled order each round. Target: p95 <= 2 s for map +
    blueprint.

    Baseline, in the same rounds: `analytics.report.build_report` for the same period (the
    dashboard's report, by day), on the same facts. The ratio map + blueprint / report (of the
    medians) says what the planning views cost next to the page supervisors already use.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from functools import partial
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, select

from analytics.blueprint import blueprint
from analytics.build import Builder
from analytics.fmea_catalog import fmea_catalog
from analytics.journey_map import journey_map
from analytics.report import build_report
from analytics.settings import AnalyticsSettings
from analytics.stages import stage_catalog
from analytics.store.database import FactsDatabase
from analytics.store.models import StageFact
from benchmarks.machine import cpu_snapshot, other_cpu_share
from benchmarks.stats import Summary, summarise
from benchmarks.synthetic_history import HistorySize, generate
from contract.analytics_report import PlanningQuery, ReportQuery

#: The 95th percentile of a journey's map and blueprint together.
TARGET_P95_MS: Final = 2000.0
WARMUP: Final = 2
#: The dashboard's report on the same facts (the baseline's key).
REPORT_KEY: Final = "report"


@dataclass(frozen=True)
class Timed:
    """Milliseconds per call of one measure, and this process's CPU milliseconds."""

    wall_ms: list[float]
    cpu_ms: list[float]

    @property
    def summary(self) -> Summary:
        """Median, p95 and extremes of the wall-clock times."""
        return summarise(self.wall_ms)

    @property
    def cpu_summary(self) -> Summary:
        """The same of the CPU times (steadier on a busy machine)."""
        return summarise(self.cpu_ms)


@dataclass(frozen=True)
class JourneyTimes:
    """One journey's timings: the map, the blueprint, and the two as the page asks them."""

    journey: str
    units: int
    journey_map: Timed
    blueprint: Timed

    @property
    def together(self) -> Timed:
        """Map + blueprint, round by round."""
        return Timed(
            [a + b for a, b in zip(self.journey_map.wall_ms, self.blueprint.wall_ms, strict=True)],
            [a + b for a, b in zip(self.journey_map.cpu_ms, self.blueprint.cpu_ms, strict=True)],
        )

    @property
    def met(self) -> bool:
        """Whether map + blueprint meet the p95 target."""
        return self.together.summary.p95 <= TARGET_P95_MS


@dataclass(frozen=True)
class PlanningResult:
    """Everything the planning benchmark measured."""

    first_day: date
    last_day: date
    stage_facts: int
    journeys: list[JourneyTimes]
    report: Timed
    #: Share of all CPUs other processes used meanwhile (None: unknown).
    other_cpu_share: float | None

    def ratio(self, journey: JourneyTimes) -> float:
        """Map + blueprint over the dashboard's report, medians of the same rounds."""
        return journey.together.summary.p50 / self.report.summary.p50

    @property
    def missed(self) -> list[str]:
        """The journeys whose map + blueprint miss the target."""
        return [f"planning views, {j.journey}" for j in self.journeys if not j.met]


def planning_calls(
    facts: FactsDatabase,
    settings: AnalyticsSettings,
    first_day: date,
    last_day: date,
    now: datetime,
) -> dict[str, Callable[[], Any]]:
    """Each timed call by key: `<journey>/map`, `<journey>/blueprint` and the report."""
    modes = fmea_catalog().modes_by_step()
    calls: dict[str, Callable[[], Any]] = {}
    for journey in stage_catalog().journeys:
        query = PlanningQuery(start=first_day, end=last_day, journey=journey)
        calls[f"{journey}/map"] = _in_session(
            facts, partial(journey_map, query=query, timezone=settings.timezone)
        )
        calls[f"{journey}/blueprint"] = _in_session(
            facts,
            partial(blueprint, query=query, timezone=settings.timezone, modes_by_step=modes),
        )
    report_query = ReportQuery(start=first_day, end=last_day)
    calls[REPORT_KEY] = _in_session(
        facts,
        lambda s: build_report(
            s,
            report_query,
            timezone=settings.timezone,
            durable_days=settings.durable_days,
            now=now,
        ),
    )
    return calls


def _in_session(facts: FactsDatabase, call: Callable[[Any], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with facts.session() as session:
            return call(session)

    return run


def time_calls(
    calls: Mapping[str, Callable[[], Any]], rounds: int, rng: random.Random
) -> dict[str, Timed]:
    """`rounds` measured rounds (after `WARMUP`) of every call, each round in a new shuffled
    order; the timings by key."""
    wall: dict[str, list[float]] = {key: [] for key in calls}
    cpu: dict[str, list[float]] = {key: [] for key in calls}
    keys = list(calls)
    for round_number in range(WARMUP + rounds):
        rng.shuffle(keys)
        for key in keys:
            clock, used = time.perf_counter(), time.process_time()
            calls[key]()
            elapsed, spent = time.perf_counter() - clock, time.process_time() - used
            if round_number >= WARMUP:
                wall[key].append(elapsed * 1000)
                cpu[key].append(spent * 1000)
    return {key: Timed(wall[key], cpu[key]) for key in calls}


def run_planning(
    facts_url: str,
    settings: AnalyticsSettings,
    first_day: date,
    last_day: date,
    rounds: int,
    *,
    seed: int = 11,
) -> PlanningResult:
    """Time the planning views and the report on built facts (see the module doc)."""
    print(f"Planning views: timing map + blueprint per journey ({WARMUP} + {rounds} rounds)...")
    facts = FactsDatabase(facts_url)
    # Asked the day after the history ends, as a supervisor would.
    now = datetime.combine(last_day + timedelta(days=1), clock_time(9), timezone.utc)
    start = cpu_snapshot()
    try:
        units = _units(facts, first_day, last_day)
        calls = planning_calls(facts, settings, first_day, last_day, now)
        timed = time_calls(calls, rounds, random.Random(seed))
        stage_facts = _count(facts)
    finally:
        facts.dispose()
    journeys = [
        JourneyTimes(
            journey, units.get(journey, 0), timed[f"{journey}/map"], timed[f"{journey}/blueprint"]
        )
        for journey in stage_catalog().journeys
    ]
    return PlanningResult(
        first_day=first_day,
        last_day=last_day,
        stage_facts=stage_facts,
        journeys=journeys,
        report=timed[REPORT_KEY],
        other_cpu_share=other_cpu_share(start, cpu_snapshot()),
    )


def _units(facts: FactsDatabase, first_day: date, last_day: date) -> dict[str, int]:
    with facts.session() as session:
        found = session.execute(
            select(StageFact.journey, func.count(func.distinct(StageFact.unit)))
            .where(StageFact.day.between(first_day, last_day))
            .group_by(StageFact.journey)
        )
        return {journey: int(count) for journey, count in found}


def _count(facts: FactsDatabase) -> int:
    with facts.session() as session:
        return int(session.execute(select(func.count()).select_from(StageFact)).scalar() or 0)


def build_history(workdir: Path, size: HistorySize, *, seed: int = 11) -> tuple[Any, str]:
    """Write the synthetic history and fold it into a fresh facts database in `workdir`;
    the history and the analytics settings."""
    print(
        f"Planning views: writing {size.conversations} conversations over {size.days} days...",
        flush=True,
    )
    history = generate(workdir, size, seed=seed)
    settings = AnalyticsSettings.from_env(
        {
            "ANALYTICS_DATABASE_URL": f"sqlite:///{workdir / 'facts.db'}",
            "TRACKER_STORE_URL": history.tracker_url,
            "DESK_DATABASE_URL": history.desk_url,
        }
    )
    print(f"Planning views: building the facts of {history.tracker_events} events...", flush=True)
    facts = FactsDatabase(settings.database_url)
    facts.migrate()
    builder = Builder.from_settings(settings, facts)
    try:
        builder.run()
    finally:
        builder.dispose()
        facts.dispose()
    return history, settings.database_url


# --- printing --------------------------------------------------------------------------------


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def planning_table(result: PlanningResult, size: HistorySize | None = None) -> str:
    """The planning views' figures as a Markdown table for the README."""
    what = (
        f"{size.days} days, {size.conversations:,} conversations, {size.handoffs:,} handoffs"
        if size is not None
        else f"{result.first_day} to {result.last_day}"
    )
    header = [
        f"Planning views ({what}; {result.stage_facts:,} stage facts)",
        "Target",
        "p50 / median",
        "p95",
        "max",
        "n",
        "Result",
    ]
    rows: list[list[str]] = []
    for journey in result.journeys:
        together, cpu = journey.together.summary, journey.together.cpu_summary
        rows.append(
            [
                f"{journey.journey}: map + blueprint ({journey.units:,} units; "
                f"CPU p50 {cpu.p50:.1f} ms, p95 {cpu.p95:.1f} ms)",
                f"p95 ≤ {TARGET_P95_MS:.0f} ms",
                f"{together.p50:.1f} ms",
                f"{together.p95:.1f} ms",
                f"{together.max:.1f} ms",
                str(together.count),
                "PASS" if journey.met else "MISSED",
            ]
        )
        for title, timed in (("map", journey.journey_map), ("blueprint", journey.blueprint)):
            s = timed.summary
            rows.append(
                [
                    f"{journey.journey}: {title} alone",
                    "—",
                    f"{s.p50:.1f} ms",
                    f"{s.p95:.1f} ms",
                    f"{s.max:.1f} ms",
                    str(s.count),
                    "info",
                ]
            )
    report = result.report.summary
    rows.append(
        [
            "Dashboard report, same period and facts, same rounds (baseline)",
            "—",
            f"{report.p50:.1f} ms",
            f"{report.p95:.1f} ms",
            f"{report.max:.1f} ms",
            str(report.count),
            "info",
        ]
    )
    ratios = ", ".join(f"{j.journey} {result.ratio(j):.2f}x" for j in result.journeys)
    rows.append(["Map + blueprint / report (medians)", "—", ratios, "", "", "", "info"])
    lines = [_line(header), _line(["---"] * len(header))]
    return "\n".join([*lines, *(_line(row) for row in rows)])


def planning_lines(result: PlanningResult) -> list[str]:
    """The noise and the verdict, for the console."""
    share = result.other_cpu_share
    lines = [
        "Other processes' CPU use during the planning views: unknown (no /proc)."
        if share is None
        else f"Other processes used {share:.0%} of the CPUs during the planning views."
    ]
    missed = result.missed
    lines.append("MISSED: " + "; ".join(missed) if missed else "Planning views: all targets met.")
    return lines


def planning_json(result: PlanningResult) -> dict[str, Any]:
    """The planning views' part of the results file, with every sample."""

    def timed(t: Timed) -> dict[str, Any]:
        return {
            "summary_ms": t.summary.to_json(),
            "cpu_summary_ms": t.cpu_summary.to_json(),
            "samples_ms": [round(v, 3) for v in t.wall_ms],
        }

    return {
        "first_day": result.first_day.isoformat(),
        "last_day": result.last_day.isoformat(),
        "stage_facts": result.stage_facts,
        "target_p95_ms": TARGET_P95_MS,
        "journeys": {
            j.journey: {
                "units": j.units,
                "met": j.met,
                "map_and_blueprint": timed(j.together),
                "map": timed(j.journey_map),
                "blueprint": timed(j.blueprint),
                "to_report_ratio": round(result.ratio(j), 3),
            }
            for j in result.journeys
        },
        "report": timed(result.report),
        "other_processes_cpu_share": (
            None if result.other_cpu_share is None else round(result.other_cpu_share, 3)
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the planning benchmark alone and prints its table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.planning_bench",
        description="Time the journey map and service blueprint over a synthetic month.",
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--handoffs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=20, metavar="N")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work here and keep the files")
    args = parser.parse_args(argv)
    size = HistorySize(args.days, args.conversations, args.handoffs)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="support-assistant-planning-"))
    try:
        history, facts_url = build_history(workdir, size)
        settings = AnalyticsSettings.from_env({"ANALYTICS_DATABASE_URL": facts_url})
        result = run_planning(facts_url, settings, history.first_day, history.last_day, args.rounds)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(planning_table(result, size))
    print()
    for line in planning_lines(result):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
