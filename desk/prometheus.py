"""The desk's numbers for Prometheus: read from the database on every scrape.

`DeskCollector` is a custom collector (`prometheus_client.registry.Collector`) in its own
`CollectorRegistry` per application (`DeskMetrics`; nothing in prometheus_client's global
registry). Each scrape reads the desk's database in one unit of work, aggregating in SQL
(a handful of rows come back, however many handoffs there are), so the numbers are the
database's: right after a restart, and the same from any of several desk processes.

- `desk_queue_waiting{queue}` (gauge): handoffs waiting (status `queued`) per queue. Every queue
  of the routing file is present (0 when empty), and any other queue while someone waits there.
- `desk_queue_oldest_wait_seconds{queue}` (gauge): the longest wait in the queue now, from the
  handoff's first `queued_at` (a transfer keeps it); 0 when nobody waits.
- `desk_agents_online` (gauge): distinct desk users with a console's websocket open.
- `desk_handoffs_total{outcome}` (counter): handoffs that ever reached each status of
  `contract.handoff_status.HandoffStatus`, so each series only grows: `queued` every handoff,
  `claimed` those claimed at least once (a transfer back to a queue does not take it back),
  `resolved` those resolved (handed back or not), `handed_back`, `abandoned` and `expired`.
  A handoff counts once under each outcome it reached: claimed, resolved and handed_back
  overlap; `queued - claimed - abandoned - expired` is roughly what waits now.
- `desk_handoff_wait_seconds` (histogram): first `queued_at` to the first claim, over every
  handoff ever claimed (docs/metrics.md, "Wait").
- `desk_handoff_handle_seconds` (histogram): the resolving agent's claim to `resolved_at`,
  over every resolved handoff (after a transfer, the last agent's part).

The histograms' buckets (`BUCKETS_SECONDS`) are counted in SQL from the stored timestamps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import Float, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from contract.handoff_status import HandoffStatus
from desk.services.queues import QUEUES
from desk.store.database import Database
from desk.store.models import EventKind, Handoff, HandoffEvent
from desk.store.types import utcnow

#: The upper bounds of the wait and handle time histograms' buckets (+Inf is added).
BUCKETS_SECONDS: Final[tuple[float, ...]] = (5, 15, 30, 60, 120, 300, 600, 1800, 3600)
#: The content type of the text exposition format.
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST


class SecondsBetween(FunctionElement):
    """SQL: the seconds from the first timestamp to the second (with their fraction)."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(SecondsBetween, "sqlite")
def _sqlite(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores timestamps as text; julianday reads them to the millisecond, as a
    # fraction of a day, so the difference is rounded back to whole milliseconds (a wait of
    # exactly 60 s falls in the 60 s bucket, not just above it).
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"


@compiles(SecondsBetween, "postgresql")
def _postgresql(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS DOUBLE PRECISION)"


@dataclass(frozen=True)
class Histogram:
    """A histogram's cumulative bucket counts (one per bound of BUCKETS_SECONDS), its count
    (the +Inf bucket) and its sum."""

    buckets: tuple[int, ...]
    count: int
    total: float


@dataclass(frozen=True)
class DeskReading:
    """What one scrape read from the database."""

    waiting: Mapping[str, int]
    oldest_wait_s: Mapping[str, float]
    outcomes: Mapping[str, int]
    wait: Histogram
    handle: Histogram


def _first_claim() -> ColumnElement[Any]:
    """When the handoff was first claimed: its `claimed_at` unless a transfer cleared or
    replaced it, else its first `claimed` event (only transferred handoffs look there)."""
    first_event = (
        select(func.min(HandoffEvent.occurred_at))
        .where(
            HandoffEvent.handoff_id == Handoff.handoff_id,
            HandoffEvent.kind == EventKind.CLAIMED.value,
        )
        .scalar_subquery()
    )
    return case((Handoff.transfer_count == 0, Handoff.claimed_at), else_=first_event)


def read_desk(session: Session, *, now: datetime) -> DeskReading:
    """Read the numbers of a scrape (a few aggregate queries in one unit of work)."""
    rows = session.execute(
        select(Handoff.queue, func.count(), func.min(Handoff.queued_at))
        .where(Handoff.status == HandoffStatus.QUEUED.value)
        .group_by(Handoff.queue)
    ).all()
    waiting = {queue: int(count) for queue, count, _ in rows}
    oldest = {queue: max(0.0, (now - first).total_seconds()) for queue, _, first in rows}
    first_claim = _first_claim()
    reached = session.execute(
        select(
            func.count(),
            func.count(first_claim),
            func.count(Handoff.resolved_at),
            func.count(Handoff.handed_back_at),
            _how_many(Handoff.status == HandoffStatus.ABANDONED.value),
            _how_many(Handoff.status == HandoffStatus.EXPIRED.value),
        )
    ).one()
    statuses = (
        HandoffStatus.QUEUED,
        HandoffStatus.CLAIMED,
        HandoffStatus.RESOLVED,
        HandoffStatus.HANDED_BACK,
        HandoffStatus.ABANDONED,
        HandoffStatus.EXPIRED,
    )
    outcomes = {
        status.value: int(count or 0) for status, count in zip(statuses, reached, strict=True)
    }
    wait = _histogram(
        session, SecondsBetween(Handoff.queued_at, first_claim), first_claim.is_not(None)
    )
    handle = _histogram(
        session,
        SecondsBetween(Handoff.claimed_at, Handoff.resolved_at),
        Handoff.resolved_at.is_not(None) & Handoff.claimed_at.is_not(None),
    )
    return DeskReading(waiting, oldest, outcomes, wait, handle)


def _how_many(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _histogram(
    session: Session, seconds: ColumnElement[float], condition: ColumnElement[bool]
) -> Histogram:
    durations = select(seconds.label("seconds")).where(condition).subquery()
    value = durations.c.seconds
    row = session.execute(
        select(
            func.count(value),
            func.coalesce(func.sum(value), 0.0),
            *(_how_many(value <= bound) for bound in BUCKETS_SECONDS),
        )
    ).one()
    count, total, *buckets = row
    return Histogram(tuple(int(n or 0) for n in buckets), int(count), float(total))


def metric_families(reading: DeskReading, agents_online: int) -> list[Metric]:
    """The exposition of one reading."""
    queues = [*QUEUES, *sorted(set(reading.waiting) - set(QUEUES))]
    waiting = GaugeMetricFamily(
        "desk_queue_waiting", "Handoffs waiting to be claimed, per queue.", labels=["queue"]
    )
    oldest = GaugeMetricFamily(
        "desk_queue_oldest_wait_seconds",
        "The longest wait in the queue now, from the first queued_at (0: nobody waits).",
        labels=["queue"],
    )
    for queue in queues:
        waiting.add_metric([queue], reading.waiting.get(queue, 0))
        oldest.add_metric([queue], reading.oldest_wait_s.get(queue, 0.0))
    online = GaugeMetricFamily(
        "desk_agents_online", "Desk users with a console connected.", value=agents_online
    )
    handoffs = CounterMetricFamily(
        "desk_handoffs",
        "Handoffs that ever reached each outcome (a handoff counts under each it reached).",
        labels=["outcome"],
    )
    for outcome, count in reading.outcomes.items():
        handoffs.add_metric([outcome], count)
    return [
        waiting,
        oldest,
        online,
        handoffs,
        _histogram_family(
            "desk_handoff_wait_seconds",
            "From the first queued_at to the first claim, over claimed handoffs.",
            reading.wait,
        ),
        _histogram_family(
            "desk_handoff_handle_seconds",
            "From the resolving agent's claim to resolved_at, over resolved handoffs.",
            reading.handle,
        ),
    ]


def _histogram_family(name: str, documentation: str, histogram: Histogram) -> Metric:
    buckets = [
        (floatToGoString(bound), count)
        for bound, count in zip(BUCKETS_SECONDS, histogram.buckets, strict=True)
    ]
    buckets.append(("+Inf", histogram.count))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=histogram.total)


class DeskCollector(Collector):
    """Reads the desk's numbers from its database on every collection (scrape)."""

    def __init__(
        self,
        database: Database,
        agents_online: Callable[[], int],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Read `database`; ask `agents_online` (called in the scrape's thread) who is online."""
        self.database = database
        self.agents_online = agents_online
        self.clock = clock

    def collect(self) -> Iterable[Metric]:
        """One unit of work: the reading, then its metric families."""
        with self.database.session() as session:
            reading = read_desk(session, now=self.clock())
        return metric_families(reading, self.agents_online())


class DeskMetrics:
    """The metrics of one desk application: its own registry, scraped off the event loop."""

    def __init__(
        self,
        database: Database,
        agents_online: Callable[[], int],
        executor: Executor,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Collect from `database` in `executor` (the application's database threads); waits
        are counted up to `clock`'s now."""
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DeskCollector(database, agents_online, clock))
        self._executor = executor

    async def scrape(self) -> bytes:
        """The text exposition of every metric, read now."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, generate_latest, self.registry)
