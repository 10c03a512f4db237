"""The analytics at scale: how fast the build folds a month of history, and how fast the
dashboard's report answers from the facts.

    python -m benchmarks.analytics_bench [--days 30] [--conversations 100000]
                                         [--handoffs 20000] [--reports 20] [--keep DIR]

(`python -m benchmarks.run` runs it last unless `--skip-analytics`.)

Method
------
History
    `benchmarks.synthetic_history` writes a tracker store and a desk database of their own into
    a scratch directory (never var/): by default 30 days of 100,000 conversations, 20,000 of
    them handed off. The newest 1% of the tracker's events (by id) are set aside before the
    first build, to arrive later as new events.

Build
    A `Builder` on the two databases into a fresh, migrated facts database (SQLite, as the desk
    runs it), with the default settings (20,000 events per batch). Timed with the build's own
    clock (`BuildReport.seconds`: reading, folding, writing the facts, the handoffs included);
    the figure is tracker events folded per second. Target: >= 20,000 events/s.

    Baseline, in the same run, just before the build: reading the same rows the same way (the
    build's SELECT, in batches of the same size, through the same SQLAlchemy engine) and
    `json.loads` of every row's `data`. The ratio baseline / build is what the fold and the
    writes cost on top of reading.

    Then two incremental builds: one with nothing new (only watermark reads; should take a few
    milliseconds), and one after the set-aside 1% of events are put back (conversations that
    were open at the cut go on, others start).

Report
    `analytics.report.build_report` for the whole period (the history's 30 days, day grain), cut
    by journey (`order_status`) and by week, over a session of the facts database opened per
    call as the desk opens one per request (`AnalyticsHost.report`). `--reports` measured rounds
    (default 20) after 2 discarded, the three queries and the baseline in a shuffled order each
    round. Baseline: `SELECT 1` through a session opened the same way. Target: p95 <= 1 s.

Report over HTTP
    Then a real desk process (`python -m desk`, on a free loopback port) on the same databases,
    the demo users seeded into the synthetic desk database (after the builds): Sam, the
    supervisor, logs in and `GET /api/analytics/report` is timed for the same three queries,
    from sending the request to having read the JSON (`requests`, one keep-alive connection),
    with `GET /health` as the same rounds' baseline. A desk that does not serve the route
    (404) is reported as such and not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from pathlib import Path
from typing import Any, Final

import requests
from sqlalchemy import func, select, text

from analytics.build import Builder, source_engine
from analytics.report import build_report
from analytics.settings import AnalyticsSettings
from analytics.sources import EVENTS
from analytics.store.database import FactsDatabase
from analytics.store.models import ConversationFact, HandoffFact, UnparseableEvent
from benchmarks.machine import cpu_snapshot, other_cpu_share
from benchmarks.stats import Summary, summarise
from benchmarks.synthetic_history import HistorySize, generate
from contract.analytics_report import Grain, ReportQuery
from desk.seed import prepare_demo_desk
from harness.loopback import free_ports
from launcher.stack import desk_server, running_stack

#: Tracker events per second of a full build.
BUILD_TARGET_EVENTS_PER_S: Final = 20_000.0
#: The dashboard report's 95th percentile.
REPORT_TARGET_P95_MS: Final = 1000.0
#: The newest share of the tracker's events that arrives after the first build.
NEW_SHARE: Final = 0.01
REPORT_WARMUP: Final = 2
BASELINE_KEY: Final = "select_1"
HTTP_BASELINE_KEY: Final = "health"
REPORT_ROUTE: Final = "/api/analytics/report"
#: The demo supervisor (desk/seed.py), who may read the analytics.
SUPERVISOR: Final = "sam"


@dataclass(frozen=True)
class ReportMeasure:
    """One timed report query (or the baseline)."""

    key: str
    title: str
    has_target: bool


REPORT_MEASURES: Final = (
    ReportMeasure("full_period", "Report, whole period, by day", True),
    ReportMeasure("journey_cut", "Report, journey = order_status, by day", True),
    ReportMeasure("weekly", "Report, whole period, by week", True),
    ReportMeasure(BASELINE_KEY, "`SELECT 1` through a session (baseline)", False),
)
HTTP_MEASURES: Final = (
    ReportMeasure("full_period", "GET /api/analytics/report, whole period, by day", True),
    ReportMeasure("journey_cut", "GET /api/analytics/report, journey = order_status", True),
    ReportMeasure("weekly", "GET /api/analytics/report, whole period, by week", True),
    ReportMeasure(HTTP_BASELINE_KEY, "GET /health, same rounds (baseline)", False),
)


@dataclass(frozen=True)
class BuildFigure:
    """One build (or the baseline read): events and seconds."""

    events: int
    seconds: float
    #: CPU time of this process meanwhile (SQLite works in-process): what the work costs
    #: whatever else the machine is doing.
    cpu_seconds: float

    @property
    def events_per_second(self) -> float:
        """Events per second of wall-clock time (0 when nothing was read)."""
        return self.events / self.seconds if self.seconds > 0 and self.events else 0.0

    @property
    def events_per_cpu_second(self) -> float:
        """Events per second of this process's CPU time (0 when nothing was read)."""
        return self.events / self.cpu_seconds if self.cpu_seconds > 0 and self.events else 0.0

    def to_json(self) -> dict[str, Any]:
        """For the results file."""
        return {
            "events": self.events,
            "seconds": round(self.seconds, 4),
            "cpu_seconds": round(self.cpu_seconds, 4),
            "events_per_second": round(self.events_per_second, 1),
            "events_per_cpu_second": round(self.events_per_cpu_second, 1),
        }


@dataclass(frozen=True)
class ReportResult:
    """One report query's samples (milliseconds) and their summary."""

    measure: ReportMeasure
    samples_ms: list[float]
    summary: Summary
    #: This process's CPU time per call (in-process reports only: SQLite works in-process).
    cpu_ms: list[float] | None = None

    @classmethod
    def of(cls, measure: ReportMeasure, timings: Timings, *, cpu: bool) -> ReportResult:
        """Summarise one measure's timings (and keep its CPU times if they mean something)."""
        wall = timings.wall_ms[measure.key]
        return cls(measure, wall, summarise(wall), timings.cpu_ms[measure.key] if cpu else None)

    @property
    def cpu_summary(self) -> Summary | None:
        """The CPU times' summary, when kept."""
        return None if self.cpu_ms is None else summarise(self.cpu_ms)

    @property
    def met(self) -> bool | None:
        """Whether the p95 meets the target (None: the baseline)."""
        return self.summary.p95 <= REPORT_TARGET_P95_MS if self.measure.has_target else None


@dataclass(frozen=True)
class AnalyticsResult:
    """Everything the analytics benchmark measured."""

    size: HistorySize
    tracker_events: int
    handoff_events: int
    generation_seconds: float
    generation_cpu_seconds: float
    conversations: int
    handoffs: int
    unparseable: int
    read_baseline: BuildFigure
    full_build: BuildFigure
    nothing_new: BuildFigure
    new_events: BuildFigure
    reports: list[ReportResult]
    #: The report through a desk process; None when that desk does not serve the route.
    http_reports: list[ReportResult] | None
    #: Share of all CPUs other processes used during the builds and the reports (None: unknown).
    other_cpu_share: float | None
    #: The history's days and the facts built from it (for the planning views' benchmark).
    first_day: date | None = None
    last_day: date | None = None
    facts_url: str | None = None

    @property
    def build_met(self) -> bool:
        """Whether the full build meets its throughput target."""
        return self.full_build.events_per_second >= BUILD_TARGET_EVENTS_PER_S

    @property
    def read_to_build_ratio(self) -> float:
        """How many times longer the build takes than reading the same rows."""
        return self.full_build.seconds / self.read_baseline.seconds

    @property
    def cpu_ratio(self) -> float:
        """The same ratio in CPU time (steadier on a busy machine)."""
        return self.full_build.cpu_seconds / self.read_baseline.cpu_seconds

    def report(self, key: str) -> ReportResult:
        """The result of one report measure."""
        return next(result for result in self.reports if result.measure.key == key)

    @property
    def missed(self) -> list[str]:
        """The measures that miss their target."""
        missed = [] if self.build_met else ["analytics build throughput"]
        timed = self.reports + (self.http_reports or [])
        return missed + [r.measure.title for r in timed if r.met is False]


# --- the build ---------------------------------------------------------------------------------


def hold_back(tracker_path: Path, share: float) -> int:
    """Move the newest `share` of the tracker's events into `held_events`; returns how many."""
    connection = sqlite3.connect(tracker_path)
    try:
        total = connection.execute("SELECT count(*) FROM events").fetchone()[0]
        held = int(total * share)
        cut = connection.execute("SELECT max(id) FROM events").fetchone()[0] - held
        connection.execute("CREATE TABLE held_events AS SELECT * FROM events WHERE id > ?", (cut,))
        connection.execute("DELETE FROM events WHERE id > ?", (cut,))
        connection.commit()
        return held
    finally:
        connection.close()


def release(tracker_path: Path) -> None:
    """Put the held-back events back, as if Rasa had just written them."""
    connection = sqlite3.connect(tracker_path)
    try:
        connection.execute("INSERT INTO events SELECT * FROM held_events ORDER BY id")
        connection.execute("DROP TABLE held_events")
        connection.commit()
    finally:
        connection.close()


def read_baseline(tracker_url: str, batch: int) -> BuildFigure:
    """Read every tracker row as the build does (its SELECT, its batches) and parse `data`."""
    engine = source_engine(tracker_url)
    events = 0
    clock, cpu = time.perf_counter(), time.process_time()
    try:
        mark = 0
        while True:
            with engine.connect() as source:
                rows = source.execute(
                    select(EVENTS).where(EVENTS.c.id > mark).order_by(EVENTS.c.id).limit(batch)
                ).all()
            for row in rows:
                json.loads(row.data)
            events += len(rows)
            if len(rows) < batch:
                break
            mark = rows[-1].id
    finally:
        engine.dispose()
    return BuildFigure(events, time.perf_counter() - clock, time.process_time() - cpu)


def timed_build(builder: Builder) -> BuildFigure:
    """One build: its events and its own clock, and the CPU time it took."""
    cpu = time.process_time()
    report = builder.run()
    return BuildFigure(report.tracker_events, report.seconds, time.process_time() - cpu)


# --- the report ----------------------------------------------------------------------------------


def report_queries(first_day: date, last_day: date) -> dict[str, ReportQuery]:
    """The timed queries, by measure key."""
    return {
        "full_period": ReportQuery(start=first_day, end=last_day),
        "journey_cut": ReportQuery(start=first_day, end=last_day, journey="order_status"),
        "weekly": ReportQuery(start=first_day, end=last_day, grain=Grain.WEEK),
    }


@dataclass(frozen=True)
class Timings:
    """Milliseconds per call by measure key: wall-clock and this process's CPU time."""

    wall_ms: dict[str, list[float]]
    cpu_ms: dict[str, list[float]]


def time_reports(
    facts: FactsDatabase,
    settings: AnalyticsSettings,
    queries: dict[str, ReportQuery],
    now: datetime,
    rounds: int,
    rng: random.Random,
) -> Timings:
    """`rounds` measured rounds (after the warm-up) of every query and the baseline, each
    round in a new shuffled order; milliseconds by measure key."""

    def report(query: ReportQuery) -> Callable[[], Any]:
        def run() -> Any:
            with facts.session() as session:
                return build_report(
                    session,
                    query,
                    timezone=settings.timezone,
                    durable_days=settings.durable_days,
                    now=now,
                )

        return run

    def baseline() -> Any:
        with facts.session() as session:
            return session.execute(text("SELECT 1")).scalar()

    calls: dict[str, Callable[[], Any]] = {key: report(q) for key, q in queries.items()}
    calls[BASELINE_KEY] = baseline
    return _interleaved(calls, rounds, rng)


def _interleaved(calls: dict[str, Callable[[], Any]], rounds: int, rng: random.Random) -> Timings:
    """`rounds` measured rounds (after the warm-up) of every call, each round in a new shuffled
    order."""
    timings = Timings({key: [] for key in calls}, {key: [] for key in calls})
    keys = list(calls)
    for round_number in range(REPORT_WARMUP + rounds):
        rng.shuffle(keys)
        for key in keys:
            clock, cpu = time.perf_counter(), time.process_time()
            calls[key]()
            elapsed, used = time.perf_counter() - clock, time.process_time() - cpu
            if round_number >= REPORT_WARMUP:
                timings.wall_ms[key].append(elapsed * 1000)
                timings.cpu_ms[key].append(used * 1000)
    return timings


def time_http_reports(
    workdir: Path,
    settings: AnalyticsSettings,
    queries: dict[str, ReportQuery],
    rounds: int,
    rng: random.Random,
) -> Timings | None:
    """Time the report route of a real desk on the bench's databases (see the module doc);
    None when the desk answers the route with a 404."""
    password = secrets.token_hex(16)
    prepare_demo_desk(settings.desk_database_url, password)
    (port,) = free_ports(1)
    url = f"http://127.0.0.1:{port}"
    variables = {
        **os.environ,
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "DESK_PORT": str(port),
        "DESK_URL": url,
        "DESK_DATABASE_URL": settings.desk_database_url,
        "DESK_DEMO_PASSWORD": password,
        "DESK_DOCUMENTS_DIR": str(workdir / "documents"),
        "HANDOFF_SECRET": secrets.token_hex(32),
        "RASA_AUTH_TOKEN": secrets.token_hex(32),
        "TRACKER_STORE_URL": settings.tracker_store_url,
        "ANALYTICS_DATABASE_URL": settings.database_url,
        # The facts are built: no timer build while the report is timed.
        "ANALYTICS_INTERVAL_SECONDS": "86400",
    }
    with (
        running_stack([desk_server(port)], workdir / "logs", variables),
        requests.Session() as client,
    ):
        login = client.post(
            f"{url}/api/login",
            json={"username": SUPERVISOR, "password": password},
            timeout=30,
        )
        login.raise_for_status()
        probe = client.get(f"{url}{REPORT_ROUTE}", timeout=60)
        if probe.status_code == 404:
            return None
        probe.raise_for_status()

        def get(path: str, parameters: dict[str, str]) -> Callable[[], Any]:
            def call() -> Any:
                answer = client.get(f"{url}{path}", params=parameters, timeout=60)
                answer.raise_for_status()
                return answer.content

            return call

        calls = {key: get(REPORT_ROUTE, route_parameters(q)) for key, q in queries.items()}
        calls[HTTP_BASELINE_KEY] = get("/health", {})
        return _interleaved(calls, rounds, rng)


def route_parameters(query: ReportQuery) -> dict[str, str]:
    return {
        name: value.value if isinstance(value, Grain) else str(value)
        for name, value in query.dict(exclude_none=True).items()
    }


# --- the whole benchmark ------------------------------------------------------------------------


def run_analytics(
    workdir: Path, size: HistorySize, rounds: int, *, seed: int = 11, http: bool = True
) -> AnalyticsResult:
    """Generate the history in `workdir`, time the builds and the reports (through a desk
    process too, unless not `http`)."""
    print(
        f"Analytics: writing {size.conversations} conversations and {size.handoffs} handoffs "
        f"over {size.days} days...",
        flush=True,
    )
    history = generate(workdir, size, seed=seed)
    print(
        f"Analytics: {history.tracker_events} tracker events in {history.seconds:.1f} s "
        f"({history.cpu_seconds:.1f} s of CPU); building...",
        flush=True,
    )
    hold_back(history.tracker_path, NEW_SHARE)
    # Only the bench's own databases; every other setting at its documented default.
    settings = AnalyticsSettings.from_env(
        {
            "ANALYTICS_DATABASE_URL": f"sqlite:///{workdir / 'facts.db'}",
            "TRACKER_STORE_URL": history.tracker_url,
            "DESK_DATABASE_URL": history.desk_url,
        }
    )
    start = cpu_snapshot()
    baseline = read_baseline(history.tracker_url, settings.batch_events)
    facts = FactsDatabase(settings.database_url)
    facts.migrate()
    builder = Builder.from_settings(settings, facts)
    try:
        full = timed_build(builder)
        nothing_new = timed_build(builder)
        release(history.tracker_path)
        new_events = timed_build(builder)
    finally:
        builder.dispose()
    built = built_facts(facts)
    print(f"Analytics: timing the report ({REPORT_WARMUP} + {rounds} rounds)...", flush=True)
    # The report is asked the day after the history ends, as a supervisor would.
    now = datetime.combine(history.last_day + timedelta(days=1), clock_time(9), timezone.utc)
    try:
        samples = time_reports(
            facts,
            settings,
            report_queries(history.first_day, history.last_day),
            now,
            rounds,
            random.Random(seed),
        )
    finally:
        facts.dispose()
    http_samples = None
    if http:
        print("Analytics: timing the report through a desk process...", flush=True)
        queries = report_queries(history.first_day, history.last_day)
        http_samples = time_http_reports(workdir, settings, queries, rounds, random.Random(seed))
        if http_samples is None:
            print(f"Analytics: this desk does not serve {REPORT_ROUTE} (404): not timed.")
    other = other_cpu_share(start, cpu_snapshot())
    return AnalyticsResult(
        size=size,
        tracker_events=history.tracker_events,
        handoff_events=history.handoff_events,
        generation_seconds=history.seconds,
        generation_cpu_seconds=history.cpu_seconds,
        conversations=built.conversations,
        handoffs=built.handoffs,
        unparseable=built.unparseable,
        read_baseline=baseline,
        full_build=full,
        nothing_new=nothing_new,
        new_events=new_events,
        reports=[ReportResult.of(m, samples, cpu=True) for m in REPORT_MEASURES],
        http_reports=None
        if http_samples is None
        else [ReportResult.of(m, http_samples, cpu=False) for m in HTTP_MEASURES],
        other_cpu_share=other,
        first_day=history.first_day,
        last_day=history.last_day,
        facts_url=settings.database_url,
    )


@dataclass(frozen=True)
class BuiltFacts:
    """What the facts database holds after the builds."""

    conversations: int
    handoffs: int
    unparseable: int


def built_facts(facts: FactsDatabase) -> BuiltFacts:
    """Counts the conversations, handoffs and unreadable rows in the facts."""
    with facts.session() as session:

        def count(model: Any) -> int:
            return int(session.execute(select(func.count()).select_from(model)).scalar() or 0)

        return BuiltFacts(
            conversations=count(ConversationFact),
            handoffs=count(HandoffFact),
            unparseable=count(UnparseableEvent),
        )


# --- printing --------------------------------------------------------------------------------


INFO: Final = "info"


def _verdict(met: bool | None) -> str:
    return INFO if met is None else "PASS" if met else "MISSED"


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def analytics_table(result: AnalyticsResult) -> str:
    """The analytics' figures as a Markdown table for the README."""
    size = result.size
    header = [
        f"Analytics ({size.days} days, {size.conversations:,} conversations, "
        f"{size.handoffs:,} handoffs, {result.tracker_events:,} tracker events)",
        "Target",
        "p50 / median",
        "p95",
        "max",
        "n",
        "Result",
    ]
    full, read, fresh = result.full_build, result.read_baseline, result.new_events
    rows = [
        [
            f"Full build ({full.events:,} events, {full.seconds:.1f} s; "
            f"per CPU-second: {full.events_per_cpu_second:,.0f} events)",
            f"≥ {BUILD_TARGET_EVENTS_PER_S:,.0f} events/s",
            f"{full.events_per_second:,.0f} events/s",
            "",
            "",
            "1",
            _verdict(result.build_met),
        ],
        [
            f"Reading the same rows: SELECT + json.loads (baseline, {read.seconds:.1f} s; "
            f"per CPU-second: {read.events_per_cpu_second:,.0f} events)",
            "—",
            f"{read.events_per_second:,.0f} events/s",
            "",
            "",
            "1",
            INFO,
        ],
        [
            "Build time / reading time, same run (CPU time)",
            "—",
            f"{result.read_to_build_ratio:.2f}x ({result.cpu_ratio:.2f}x)",
            "",
            "",
            "",
            INFO,
        ],
        [
            "Incremental build, nothing new",
            "—",
            f"{result.nothing_new.seconds * 1000:.1f} ms",
            "",
            "",
            "1",
            INFO,
        ],
        [
            f"Incremental build, 1% new ({fresh.events:,} events)",
            "—",
            f"{fresh.seconds:.2f} s ({fresh.events_per_second:,.0f} events/s)",
            "",
            "",
            "1",
            INFO,
        ],
        [
            "Writing the synthetic history (benchmarks/synthetic_history.py)",
            "—",
            f"{result.generation_seconds:.1f} s ({result.generation_cpu_seconds:.1f} s of CPU)",
            "",
            "",
            "1",
            INFO,
        ],
    ]
    for report in result.reports + (result.http_reports or []):
        s, cpu = report.summary, report.cpu_summary
        target = f"p95 ≤ {REPORT_TARGET_P95_MS:.0f} ms" if report.measure.has_target else "—"
        title = report.measure.title
        if cpu is not None:
            title += f" (CPU p50 {cpu.p50:.1f} ms, p95 {cpu.p95:.1f} ms)"
        rows.append(
            [
                title,
                target,
                f"{s.p50:.1f} ms",
                f"{s.p95:.1f} ms",
                f"{s.max:.1f} ms",
                str(s.count),
                _verdict(report.met),
            ]
        )
    lines = [_line(header), _line(["---"] * len(header))]
    return "\n".join([*lines, *(_line(row) for row in rows)])


def analytics_lines(result: AnalyticsResult) -> list[str]:
    """The noise and the verdict, for the console."""
    share = result.other_cpu_share
    lines = []
    if share is None:
        lines.append("Other processes' CPU use during the analytics: unknown (no /proc).")
    else:
        lines.append(f"Other processes used {share:.0%} of the CPUs during the analytics.")
    if result.unparseable:
        lines.append(f"WARNING: analytics: {result.unparseable} synthetic rows were unreadable")
    missed = result.missed
    lines.append("MISSED: " + "; ".join(missed) if missed else "Analytics: all targets met.")
    return lines


def analytics_json(result: AnalyticsResult) -> dict[str, Any]:
    """The analytics' part of the results file, with every report sample."""
    return {
        "days": result.size.days,
        "conversations_generated": result.size.conversations,
        "handoffs_generated": result.size.handoffs,
        "tracker_events": result.tracker_events,
        "handoff_events": result.handoff_events,
        "generation_seconds": round(result.generation_seconds, 2),
        "generation_cpu_seconds": round(result.generation_cpu_seconds, 2),
        "conversations_built": result.conversations,
        "handoffs_built": result.handoffs,
        "unparseable": result.unparseable,
        "target_events_per_second": BUILD_TARGET_EVENTS_PER_S,
        "build_met": result.build_met,
        "read_baseline": result.read_baseline.to_json(),
        "full_build": result.full_build.to_json(),
        "build_to_read_ratio": round(result.read_to_build_ratio, 3),
        "build_to_read_cpu_ratio": round(result.cpu_ratio, 3),
        "other_processes_cpu_share": (
            None if result.other_cpu_share is None else round(result.other_cpu_share, 3)
        ),
        "nothing_new": result.nothing_new.to_json(),
        "new_events": result.new_events.to_json(),
        "reports": _reports_json(result.reports),
        "http_reports": None if result.http_reports is None else _reports_json(result.http_reports),
    }


def _reports_json(reports: Sequence[ReportResult]) -> dict[str, Any]:
    return {
        r.measure.key: {
            "title": r.measure.title,
            "target_p95_ms": REPORT_TARGET_P95_MS if r.measure.has_target else None,
            "met": r.met,
            "summary_ms": r.summary.to_json(),
            "samples_ms": [round(value, 3) for value in r.samples_ms],
            "cpu_summary_ms": None if r.cpu_summary is None else r.cpu_summary.to_json(),
            "cpu_samples_ms": None if r.cpu_ms is None else [round(v, 3) for v in r.cpu_ms],
        }
        for r in reports
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the analytics benchmark alone and prints its table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.analytics_bench",
        description="Time the analytics build and report over a synthetic month.",
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--handoffs", type=int, default=20_000)
    parser.add_argument("--reports", type=int, default=20, metavar="N")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work here and keep the files")
    parser.add_argument("--no-http", action="store_true", help="do not start a desk process")
    args = parser.parse_args(argv)
    size = HistorySize(args.days, args.conversations, args.handoffs)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="support-assistant-analytics-"))
    try:
        result = run_analytics(workdir, size, args.reports, http=not args.no_http)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(analytics_table(result))
    print()
    for line in analytics_lines(result):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
