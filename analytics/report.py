"""The dashboard's report: the definitions of docs/metrics.md computed from the fact tables.

`build_report(session, query, ...)` answers a `contract.analytics_report.Report` for the
period, the period before it (for the tiles' change) and the cuts. Conversation rates are
summed per day in SQL; handoff latencies, handle times and ratings are read per item (tens of
thousands at most in a month) for exact nearest-rank percentiles.

Cuts: journey and channel cut everything; queue and reason code cut the handoff metrics only
(a contained conversation has neither), and a handoff's queue is the queue it was first
queued in (handle time uses the queue each agent's part was worked in).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import Integer, String, and_, case, func, not_, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from analytics.conversations import FailureKind
from analytics.metrics import FEW, csat, distribution, mean, rate
from analytics.periods import bucket_of, buckets, previous
from analytics.rows import plain_rows
from analytics.store.models import (
    BuildRun,
    ConversationFact,
    FailurePoint,
    HandlePart,
    HandoffFact,
    HandoffField,
    UnparseableEvent,
)
from contract.analytics_report import (
    CsatSegment,
    Failures,
    FallbackIntent,
    FormReask,
    Freshness,
    HandleTime,
    Kpi,
    Latency,
    Period,
    ReasonShare,
    RepeatExample,
    RepeatField,
    Repeats,
    Report,
    ReportQuery,
    StepOutcome,
    TrendPoint,
    WaitBucket,
    WaitOutcomes,
)

#: The wait-time histogram's bucket edges, in seconds.
WAIT_EDGES: Final = (0.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
#: Rows of the failure tables.
TOP: Final = 20
#: The CSAT segments.
BOT_ONLY: Final = "bot_only"
HYBRID: Final = "hybrid"
PERSON_ONLY: Final = "person_only"

C = ConversationFact.__table__
H = HandoffFact.__table__
P = HandlePart.__table__
F = FailurePoint.__table__


@dataclass
class DayCounts:
    """One day's conversation sums."""

    engaged: int = 0
    handed_off: int = 0
    durable_due: int = 0
    durable: int = 0
    bot_asked: int = 0
    bot_ratings: list[int] = field(default_factory=list)

    def add(self, other: DayCounts) -> None:
        """Sum `other` into this."""
        self.engaged += other.engaged
        self.handed_off += other.handed_off
        self.durable_due += other.durable_due
        self.durable += other.durable
        self.bot_asked += other.bot_asked
        self.bot_ratings += other.bot_ratings


@dataclass(slots=True)
class HandoffRow:
    """What the report reads of one handoff (`_handoffs` selects these columns in this order;
    the flags come as the driver returns them, 0/1 on SQLite, bools on PostgreSQL)."""

    day: date
    reason_code: str
    journey: str
    status: str
    system_ms: float | None
    wait_s: float | None
    first_reply_s: float | None
    claim_to_reply_s: float | None
    claimed: bool
    abandoned: bool
    expired: bool
    callback_open: bool
    transferred: bool
    asked: bool
    rating: int | None
    person_only: bool

    @property
    def total_s(self) -> float | None:
        """The customer's whole wait: the system part and the wait."""
        if self.wait_s is None or self.system_ms is None:
            return None
        return self.system_ms / 1000 + self.wait_s


def build_report(
    session: Session,
    query: ReportQuery,
    *,
    timezone: str,
    durable_days: float,
    now: datetime,
) -> Report:
    """The report for `query`'s period and cuts (see the module doc)."""
    prev_start, prev_end = previous(query.start, query.end)
    window_s = durable_days * 86400
    days = _conversation_days(session, query, prev_start, query.end, now.timestamp(), window_s)
    handoffs = _handoffs(session, query, prev_start, query.end)
    parts = _parts(session, query, prev_start, query.end)
    current = [h for h in handoffs if h.day >= query.start]
    earlier = [h for h in handoffs if h.day < query.start]
    now_counts = _sum(days, query.start, query.end)
    before_counts = _sum(days, prev_start, prev_end)
    now_parts = [p for p in parts if p["day"] >= query.start]
    before_parts = [p for p in parts if p["day"] < query.start]
    by_reason, by_journey = _shares(session, query, now_counts)
    return Report(
        period=Period(
            start=query.start,
            end=query.end,
            previous_start=prev_start,
            previous_end=prev_end,
            grain=query.grain,
            timezone=timezone,
        ),
        query=query,
        freshness=_freshness(session),
        kpis=_kpis(now_counts, before_counts, current, earlier, now_parts, before_parts),
        trends=_trends(query, days, current, now_parts),
        latency=_latency(current),
        wait_distribution=_wait_distribution(current),
        handoffs_by_reason=by_reason,
        handoffs_by_journey=by_journey,
        handle_time_by_agent=_handle_times(now_parts, "agent"),
        handle_time_by_queue=_handle_times(now_parts, "queue"),
        csat=_csat(now_counts, current),
        wait_outcomes=_outcomes(current),
        failures=_failures(session, query),
        repeats=_repeats(session, query),
    )


# --- repeats (docs/metrics.md, "Repeat rate") -------------------------------------------------


def _repeats(session: Session, query: ReportQuery) -> Repeats:
    """The period's claimed handoffs (in the handoff cuts), per journey and field: one read of
    their fields' rows (a few per handoff), summed here."""
    F = HandoffField.__table__
    claimed = [
        H.c.day.between(query.start, query.end),
        H.c.first_claimed_at.is_not(None),
        *_handoff_cuts(query),
    ]
    handoffs = session.execute(select(func.count()).select_from(H).where(*claimed)).scalar() or 0
    # journey, field → carried, repeated, restated, asked, missing
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    with_repeat: set[str] = set()
    repeats: list[tuple[datetime, str, str, str, str]] = []
    for handoff_id, journey, name, carried, restated, asked, first_at, kind in session.execute(
        select(
            H.c.handoff_id,
            H.c.journey,
            F.c.field,
            F.c.carried,
            F.c.restated,
            F.c.asked,
            F.c.first_repeat_at,
            F.c.first_repeat_kind,
        )
        .select_from(F.join(H, H.c.handoff_id == F.c.handoff_id))
        .where(*claimed)
    ):
        entry = sums[(journey, name)]
        if not carried:
            entry[4] += 1 if asked > 0 else 0
            continue
        entry[0] += 1
        entry[2] += restated
        entry[3] += asked
        if first_at is not None:
            entry[1] += 1
            with_repeat.add(handoff_id)
            repeats.append((first_at, handoff_id, name, journey, kind))
    # Newest first (then by handoff and field); only the first TOP become examples.
    repeats.sort(key=lambda r: (-r[0].timestamp(), r[1], r[2]))
    return Repeats(
        handoffs=handoffs,
        with_repeat=len(with_repeat),
        rate=rate(len(with_repeat), handoffs),
        fields=[
            RepeatField(
                journey=journey,
                field=name,
                handoffs=carried,
                repeated=repeated,
                rate=rate(repeated, carried),
                restated=restated,
                asked=asked,
                missing=missing,
            )
            for (journey, name), (carried, repeated, restated, asked, missing) in sorted(
                sums.items()
            )
        ],
        examples=[
            RepeatExample(handoff_id=handoff_id, journey=journey, field=name, kind=kind, at=at)
            for at, handoff_id, name, journey, kind in repeats[:TOP]
        ],
    )


# --- conversations ---------------------------------------------------------------------------


def _conversation_cuts(query: ReportQuery) -> list[ColumnElement[bool]]:
    cuts: list[ColumnElement[bool]] = [C.c.engaged.is_(True)]
    if query.journey:
        cuts.append(C.c.journey == query.journey)
    if query.channel:
        cuts.append(C.c.channel == query.channel)
    return cuts


def _conversation_days(
    session: Session,
    query: ReportQuery,
    start: date,
    end: date,
    now_ts: float,
    window_s: float,
) -> dict[date, DayCounts]:
    """Per day: engaged conversations, handed off, durable containment, bot-only ratings."""
    contained = not_(C.c.handed_off)
    due = and_(contained, C.c.last_event_ts <= now_ts - window_s)
    durable = and_(
        due, or_(C.c.returned_ts.is_(None), C.c.returned_ts - C.c.last_event_ts > window_s)
    )
    cuts = [*_conversation_cuts(query), C.c.day.between(start, end)]
    rows = session.execute(
        select(
            C.c.day,
            func.count(),
            _count(C.c.handed_off),
            _count(due),
            _count(durable),
            _count(and_(contained, C.c.bot_csat_asked)),
        )
        .where(*cuts)
        .group_by(C.c.day)
    ).all()
    days = {
        row[0]: DayCounts(
            engaged=row[1], handed_off=row[2], durable_due=row[3], durable=row[4], bot_asked=row[5]
        )
        for row in rows
    }
    # Counted per day and score in SQL: tens of rows instead of one per rated conversation
    # (csat() only counts and sums them, so their order does not matter).
    ratings = session.execute(
        select(C.c.day, C.c.bot_csat_rating, func.count())
        .where(*cuts, contained, C.c.bot_csat_asked.is_(True), C.c.bot_csat_rating.is_not(None))
        .group_by(C.c.day, C.c.bot_csat_rating)
    ).all()
    for day, rating, count in ratings:
        days.setdefault(day, DayCounts()).bot_ratings.extend([int(rating)] * count)
    return days


def _count(condition: ColumnElement[Any]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum(days: dict[date, DayCounts], start: date, end: date) -> DayCounts:
    total = DayCounts()
    for day, counts in days.items():
        if start <= day <= end:
            total.add(counts)
    return total


# --- handoffs ----------------------------------------------------------------------------------


def _handoff_cuts(query: ReportQuery) -> list[ColumnElement[bool]]:
    cuts: list[ColumnElement[bool]] = []
    if query.journey:
        cuts.append(H.c.journey == query.journey)
    if query.queue:
        cuts.append(H.c.first_queue == query.queue)
    if query.reason_code:
        cuts.append(H.c.reason_code == query.reason_code)
    if query.channel:
        cuts.append(H.c.channel == query.channel)
    return cuts


def _handoffs(session: Session, query: ReportQuery, start: date, end: date) -> list[HandoffRow]:
    # The moments only tested for NULL come back as booleans, and rows are unpacked by
    # position: converting every timestamp and reading a Row's attributes cost more than the
    # query itself over a month of handoffs.
    # Days and flags come back raw (no per-row type processing; `_day_of` parses each
    # distinct day once).
    rows = plain_rows(
        session,
        select(
            _raw(H.c.day),
            H.c.reason_code,
            H.c.journey,
            H.c.status,
            H.c.system_ms,
            H.c.wait_s,
            H.c.first_reply_s,
            H.c.claim_to_reply_s,
            _flag(H.c.first_claimed_at.is_not(None)),
            _flag(H.c.abandoned_at.is_not(None)),
            _flag(H.c.expired_at.is_not(None)),
            _flag(and_(H.c.callback_left.is_(True), H.c.callback_done_at.is_(None))),
            _flag(H.c.transfers > 0),
            _flag(H.c.handed_back_at.is_not(None)),
            H.c.csat_rating,
            # Unknown turns (None) are not person-only: never NULL, so 0/1 compare as bools.
            _flag(func.coalesce(H.c.turns_before_handoff, -1) == 0),
        ).where(H.c.day.between(start, end), *_handoff_cuts(query)),
    )
    # The columns are HandoffRow's, in its order; flags stay the driver's 0/1 (or bool).
    return [HandoffRow(_day_of(row[0]), *row[1:]) for row in rows]


def _parts(session: Session, query: ReportQuery, start: date, end: date) -> list[dict[str, Any]]:
    cuts: list[ColumnElement[bool]] = [P.c.day.between(start, end)]
    if query.queue:
        cuts.append(P.c.queue == query.queue)
    joined: Any = P
    if query.journey or query.reason_code or query.channel:
        joined = P.join(H, H.c.handoff_id == P.c.handoff_id)
        if query.journey:
            cuts.append(H.c.journey == query.journey)
        if query.reason_code:
            cuts.append(H.c.reason_code == query.reason_code)
        if query.channel:
            cuts.append(H.c.channel == query.channel)
    rows = plain_rows(
        session,
        select(_raw(P.c.day), P.c.agent, P.c.queue, P.c.seconds).select_from(joined).where(*cuts),
    )
    return [
        {"day": _day_of(day), "agent": agent, "queue": queue, "seconds": seconds}
        for day, agent, queue, seconds in rows
    ]


def _raw(column: Any) -> Any:
    """A column read as the driver returns it (an ISO string on SQLite, a date on PostgreSQL)."""
    return type_coerce(column, String)


def _flag(condition: Any) -> Any:
    """A condition read as the driver returns it (0/1 on SQLite, a bool on PostgreSQL)."""
    return type_coerce(condition, Integer)


@lru_cache(maxsize=4096)
def _day_of(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _latency(handoffs: Sequence[HandoffRow]) -> Latency:
    waits = [h.wait_s for h in handoffs if h.wait_s is not None]
    totals = [t for h in handoffs if (t := h.total_s) is not None]
    systems = [h.system_ms for h in handoffs if h.system_ms is not None]
    replies = [h.first_reply_s for h in handoffs if h.first_reply_s is not None]
    claim_replies = [h.claim_to_reply_s for h in handoffs if h.claim_to_reply_s is not None]
    return Latency(
        system_ms=distribution(systems, excluded=len(handoffs) - len(systems)),
        wait_s=distribution(waits, excluded=len(handoffs) - len(waits)),
        total_s=distribution(totals, excluded=len(handoffs) - len(totals)),
        first_reply_s=distribution(replies, excluded=len(handoffs) - len(replies)),
        claim_to_reply_s=distribution(claim_replies, excluded=len(handoffs) - len(claim_replies)),
    )


def _wait_distribution(handoffs: Sequence[HandoffRow]) -> list[WaitBucket]:
    counts = [0] * len(WAIT_EDGES)
    for handoff in handoffs:
        if handoff.wait_s is None:
            continue
        counts[max(bisect_right(WAIT_EDGES, handoff.wait_s) - 1, 0)] += 1
    uppers: list[float | None] = [*WAIT_EDGES[1:], None]
    return [
        WaitBucket(from_s=low, to_s=high, handoffs=count)
        for low, high, count in zip(WAIT_EDGES, uppers, counts, strict=True)
    ]


def _shares(
    session: Session, query: ReportQuery, counts: DayCounts
) -> tuple[list[ReasonShare], list[ReasonShare]]:
    """Engaged, handed-off conversations of the period by their first handoff's reason code
    (`unknown` while the desk's record of it is not built) and by journey: one query."""
    cuts = [
        *_conversation_cuts(query),
        C.c.handed_off.is_(True),
        C.c.day.between(query.start, query.end),
    ]
    if query.queue:
        cuts.append(H.c.first_queue == query.queue)
    if query.reason_code:
        cuts.append(H.c.reason_code == query.reason_code)
    reason = func.coalesce(H.c.reason_code, "unknown")
    rows = session.execute(
        select(reason, C.c.journey, func.count())
        .select_from(C.outerjoin(H, H.c.handoff_id == C.c.handoff_id))
        .where(*cuts)
        .group_by(reason, C.c.journey)
    ).all()
    by_reason: dict[str, int] = defaultdict(int)
    by_journey: dict[str, int] = defaultdict(int)
    for reason_code, journey, count in rows:
        by_reason[reason_code] += count
        by_journey[journey] += count

    def shares(totals: dict[str, int]) -> list[ReasonShare]:
        found = [
            ReasonShare(key=k, handoffs=n, rate=rate(n, counts.engaged)) for k, n in totals.items()
        ]
        return sorted(found, key=lambda s: (-s.handoffs, s.key))

    return shares(by_reason), shares(by_journey)


def _handle_times(parts: Sequence[dict[str, Any]], by: str) -> list[HandleTime]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for part in parts:
        grouped[part[by]].append(part["seconds"])
    times = []
    for key, seconds in grouped.items():
        d = distribution(seconds)
        times.append(
            HandleTime(
                key=key, parts=d.count, p50_s=d.p50, p90_s=d.p90, p95_s=d.p95, mean_s=mean(seconds)
            )
        )
    return sorted(times, key=lambda t: (-t.parts, t.key))


def _csat(counts: DayCounts, handoffs: Sequence[HandoffRow]) -> list[CsatSegment]:
    segments = [_segment(BOT_ONLY, counts.bot_asked, counts.bot_ratings)]
    for name, person_only in ((HYBRID, False), (PERSON_ONLY, True)):
        asked = [h for h in handoffs if h.asked and h.person_only == person_only]
        ratings = [h.rating for h in asked if h.rating is not None]
        segments.append(_segment(name, len(asked), ratings))
    return segments


def _segment(name: str, asked: int, ratings: Sequence[int]) -> CsatSegment:
    share, average = csat(ratings)
    return CsatSegment(
        segment=name,
        asked=asked,
        rated=len(ratings),
        response_rate=rate(len(ratings), asked),
        csat=share,
        mean=average,
    )


def _outcomes(handoffs: Sequence[HandoffRow]) -> WaitOutcomes:
    return WaitOutcomes(
        handoffs=len(handoffs),
        claimed=sum(1 for h in handoffs if h.claimed),
        abandoned=sum(1 for h in handoffs if h.abandoned),
        expired=sum(1 for h in handoffs if h.expired),
        transferred=sum(1 for h in handoffs if h.transferred),
        waiting=sum(1 for h in handoffs if h.status == "queued"),
        callbacks_open=sum(1 for h in handoffs if h.callback_open),
    )


# --- failures, tiles, trends, freshness ---------------------------------------------------------


def _failures(session: Session, query: ReportQuery) -> Failures:
    cuts: list[ColumnElement[bool]] = [F.c.day.between(query.start, query.end)]
    source: Any = F
    if query.journey or query.channel:
        source = F.join(C, C.c.id == F.c.conversation_id)
        if query.journey:
            cuts.append(C.c.journey == query.journey)
        if query.channel:
            cuts.append(C.c.channel == query.channel)
    rows = session.execute(
        select(F.c.kind, F.c.subject, func.count(), _count(F.c.helped.is_(False)))
        .select_from(source)
        .where(*cuts)
        .group_by(F.c.kind, F.c.subject)
    ).all()
    fallbacks, steps, reasks = [], [], []
    for kind, subject, count, not_helped in rows:
        if kind == FailureKind.FALLBACK:
            fallbacks.append(FallbackIntent(intent=subject, fallbacks=count))
        elif kind == FailureKind.STEP:
            tree, _, step = subject.partition("/")
            steps.append(
                StepOutcome(
                    tree=tree,
                    step=step,
                    answers=count,
                    not_helped=not_helped,
                    not_helped_share=not_helped / count,
                )
            )
        elif kind == FailureKind.REASK:
            form, _, slot = subject.partition("/")
            reasks.append(FormReask(form=form, slot=slot, reasks=count))
    return Failures(
        fallback_intents=sorted(fallbacks, key=lambda f: (-f.fallbacks, f.intent))[:TOP],
        troubleshooting_steps=sorted(
            steps, key=lambda s: (-s.not_helped, -s.not_helped_share, s.tree, s.step)
        )[:TOP],
        form_reasks=sorted(reasks, key=lambda r: (-r.reasks, r.form, r.slot))[:TOP],
    )


def _kpis(
    now: DayCounts,
    before: DayCounts,
    current: Sequence[HandoffRow],
    earlier: Sequence[HandoffRow],
    now_parts: Sequence[dict[str, Any]],
    before_parts: Sequence[dict[str, Any]],
) -> list[Kpi]:
    def tile(key: str, label: str, unit: str, value: Any, previous: Any, count: int) -> Kpi:
        return Kpi(
            key=key,
            label=label,
            unit=unit,
            value=value,
            previous=previous,
            count=count,
            few=count < FEW,
        )

    def pct(rows: Sequence[HandoffRow], attr: str, p: str) -> Any:
        values = [getattr(h, attr) for h in rows if getattr(h, attr) is not None]
        return getattr(distribution(values), p)

    def handle(parts: Sequence[dict[str, Any]]) -> Any:
        return distribution([part["seconds"] for part in parts]).p50

    def ratings(rows: Sequence[HandoffRow], person_only: bool) -> list[int]:
        return [h.rating for h in rows if h.asked and h.person_only == person_only and h.rating]

    waits = [h for h in current if h.wait_s is not None]
    hybrid_now, hybrid_before = ratings(current, False), ratings(earlier, False)
    person_now, person_before = ratings(current, True), ratings(earlier, True)
    return [
        tile(
            "containment",
            "Bot resolution",
            "ratio",
            rate(now.engaged - now.handed_off, now.engaged),
            rate(before.engaged - before.handed_off, before.engaged),
            now.engaged,
        ),
        tile(
            "durable_containment",
            "Durable resolution",
            "ratio",
            rate(now.durable, now.durable_due),
            rate(before.durable, before.durable_due),
            now.durable_due,
        ),
        tile(
            "handoff_rate",
            "Handoff rate",
            "ratio",
            rate(now.handed_off, now.engaged),
            rate(before.handed_off, before.engaged),
            now.engaged,
        ),
        tile(
            "system_p95_ms",
            "Handoff system time p95",
            "ms",
            pct(current, "system_ms", "p95"),
            pct(earlier, "system_ms", "p95"),
            sum(1 for h in current if h.system_ms is not None),
        ),
        tile(
            "wait_p50_s",
            "Wait p50",
            "s",
            pct(current, "wait_s", "p50"),
            pct(earlier, "wait_s", "p50"),
            len(waits),
        ),
        tile(
            "wait_p95_s",
            "Wait p95",
            "s",
            pct(current, "wait_s", "p95"),
            pct(earlier, "wait_s", "p95"),
            len(waits),
        ),
        tile(
            "handle_p50_s",
            "Handle time p50",
            "s",
            handle(now_parts),
            handle(before_parts),
            len(now_parts),
        ),
        tile(
            "csat_bot_only",
            "CSAT bot-only",
            "ratio",
            csat(now.bot_ratings)[0],
            csat(before.bot_ratings)[0],
            len(now.bot_ratings),
        ),
        tile(
            "csat_hybrid",
            "CSAT hybrid",
            "ratio",
            csat(hybrid_now)[0],
            csat(hybrid_before)[0],
            len(hybrid_now),
        ),
        tile(
            "csat_person_only",
            "CSAT person-only",
            "ratio",
            csat(person_now)[0],
            csat(person_before)[0],
            len(person_now),
        ),
    ]


def _trends(
    query: ReportQuery,
    days: dict[date, DayCounts],
    handoffs: Sequence[HandoffRow],
    parts: Sequence[dict[str, Any]],
) -> list[TrendPoint]:
    counts: dict[date, DayCounts] = defaultdict(DayCounts)
    for day, day_counts in days.items():
        if query.start <= day <= query.end:
            counts[bucket_of(day, query.grain)].add(day_counts)
    by_bucket: dict[date, list[HandoffRow]] = defaultdict(list)
    for handoff in handoffs:
        by_bucket[bucket_of(handoff.day, query.grain)].append(handoff)
    handle: dict[date, list[float]] = defaultdict(list)
    for part in parts:
        handle[bucket_of(part["day"], query.grain)].append(part["seconds"])
    points = []
    for bucket in buckets(query.start, query.end, query.grain):
        c = counts.get(bucket, DayCounts())
        rows = by_bucket.get(bucket, [])
        waits = distribution(h.wait_s for h in rows if h.wait_s is not None)
        hybrid = [h.rating for h in rows if h.asked and not h.person_only and h.rating]
        person = [h.rating for h in rows if h.asked and h.person_only and h.rating]
        points.append(
            TrendPoint(
                bucket=bucket,
                engaged=c.engaged,
                containment=rate(c.engaged - c.handed_off, c.engaged),
                handoff_rate=rate(c.handed_off, c.engaged),
                wait_p50_s=waits.p50,
                wait_p95_s=waits.p95,
                handle_p50_s=distribution(handle.get(bucket, [])).p50,
                csat_bot_only=csat(c.bot_ratings)[0],
                csat_hybrid=csat(hybrid)[0],
                csat_person_only=csat(person)[0],
            )
        )
    return points


def _freshness(session: Session) -> Freshness:
    built = session.execute(select(func.max(BuildRun.finished_at))).scalar()
    bad = session.execute(select(func.count()).select_from(UnparseableEvent)).scalar() or 0
    return Freshness(built_at=built, unparseable_events=bad)
