"""The handoff FMEA of a period: each failure mode of the catalog (`analytics.fmea_catalog`)
with its occurrence counted from the facts, ranked by RPN = severity x occurrence x detection.

Each mode's `occurrence_counter` names one of the counters below; docs/metrics.md ("FMEA
occurrence") defines each exactly. A handoff counter counts handoffs attributed to their
`queued_at` day, of the mode's journeys: its exposure (what the mode could have happened to)
and, of those, its occurrences. An application counter counts mortgage timeline entries
(`application_outcomes`) attributed to their own day. The rate per 1,000 exposures gives the
occurrence score (the catalog's bands); the previous period (same length, just before) is
counted alike. Examples: up to `EXAMPLES` handoff ids (or `application:<id>`), newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Protocol

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from analytics.application_outcomes import (
    APPOINTMENT_MISSED,
    DOCUMENT_ACCEPTED,
    DOCUMENT_REJECTED,
    SIGNED,
)
from analytics.fmea_catalog import COUNTERS, FailureMode, FmeaCatalog, fmea_catalog
from analytics.periods import previous
from analytics.store.models import ApplicationOutcome, HandoffFact, HandoffField
from contract.analytics_report import Fmea, FmeaMode, Grain, Period
from sqlsupport.types import utcnow

#: Example ids per mode.
EXAMPLES: Final = 5
#: A hybrid rating this low or lower is a failure ("CSAT of 2 or less").
LOW_CSAT: Final = 2
#: The desk's status of a handoff still waiting (contract.handoff_status.HandoffStatus).
QUEUED: Final = "queued"


class ClaimLevels(Protocol):
    """The claim service level of each queue (`desk.services.service_levels.ServiceLevels`)."""

    def for_queue(self, queue: str) -> float:
        """Seconds a customer of `queue` may wait for a claim."""
        ...


@dataclass(frozen=True)
class HandoffRow:
    """What the handoff counters read of one handoff fact."""

    handoff_id: str
    day: date
    journey: str
    first_queue: str
    status: str
    queued_at: datetime
    first_claimed_at: datetime | None
    resolved_at: datetime | None
    handed_back_at: datetime | None
    abandoned_at: datetime | None
    expired_at: datetime | None
    wait_s: float | None
    csat_rating: int | None
    turns_before_handoff: int | None
    duplicates_suppressed: int
    hand_back_refusals: int
    agents_online_at_queue: int | None
    delivery_s: float | None
    repeated: bool


@dataclass(frozen=True)
class Rules:
    """What the counters compare against, and the clock for waits still running."""

    levels: ClaimLevels
    late_delivery_seconds: float
    now: datetime


@dataclass(frozen=True)
class Count:
    """One counter over one period."""

    occurrences: int
    exposure: int
    examples: tuple[str, ...]


#: A handoff counter: (is it exposed, did the mode happen to it).
HandoffTest = Callable[[HandoffRow, Rules], bool]


def _always(handoff: HandoffRow, rules: Rules) -> bool:
    return True


def _waited_s(handoff: HandoffRow, now: datetime) -> float | None:
    """First queued to the first claim; unclaimed, to giving up or leaving a message, or to
    `now` while still waiting; None for a wait that ended otherwise unclaimed."""
    if handoff.wait_s is not None:
        return handoff.wait_s
    end = handoff.abandoned_at or handoff.expired_at
    if end is None and handoff.status == QUEUED:
        end = now
    return (end - handoff.queued_at).total_seconds() if end is not None else None


def _over_level(handoff: HandoffRow, rules: Rules) -> bool:
    waited = _waited_s(handoff, rules.now)
    return waited is not None and waited > rules.levels.for_queue(handoff.first_queue)


def _hybrid_rated(handoff: HandoffRow, rules: Rules) -> bool:
    return (
        (handoff.turns_before_handoff or 0) > 0
        and handoff.handed_back_at is not None
        and handoff.csat_rating is not None
    )


HANDOFF_COUNTERS: Final[Mapping[str, tuple[HandoffTest, HandoffTest]]] = {
    "queued_no_agent_online": (
        lambda h, r: h.agents_online_at_queue is not None,
        lambda h, r: h.agents_online_at_queue == 0,
    ),
    "claim_over_service_level": (_always, _over_level),
    "delivered_late": (
        lambda h, r: h.delivery_s is not None,
        lambda h, r: h.delivery_s is not None and h.delivery_s > r.late_delivery_seconds,
    ),
    "duplicate_suppressed": (_always, lambda h, r: h.duplicates_suppressed > 0),
    "hand_back_refused": (
        lambda h, r: h.resolved_at is not None,
        lambda h, r: h.hand_back_refusals > 0,
    ),
    "repeat_after_handoff": (lambda h, r: h.first_claimed_at is not None, lambda h, r: h.repeated),
    "abandoned_waiting": (_always, lambda h, r: h.abandoned_at is not None),
    "hybrid_csat_low": (
        _hybrid_rated,
        lambda h, r: h.csat_rating is not None and h.csat_rating <= LOW_CSAT,
    ),
}


@dataclass(frozen=True)
class OutcomeRow:
    """One `application_outcomes` row, with (for a rejection) how many rejections of its
    checklist item the application had by then, this one included."""

    event_id: int
    application_id: int
    kind: str
    day: date
    occurred_at: datetime
    nth_rejection: int


def _rejected_twice(outcomes: Sequence[OutcomeRow], start: date, end: date) -> Count:
    period = [o for o in outcomes if start <= o.day <= end]
    reviews = (DOCUMENT_ACCEPTED, DOCUMENT_REJECTED)
    reviewed = {o.application_id for o in period if o.kind in reviews}
    second = [o for o in period if o.kind == DOCUMENT_REJECTED and o.nth_rejection == 2]
    return Count(len({o.application_id for o in second}), len(reviewed), _applications(second))


def _missed(outcomes: Sequence[OutcomeRow], start: date, end: date) -> Count:
    period = [o for o in outcomes if start <= o.day <= end]
    ended = [o for o in period if o.kind in (APPOINTMENT_MISSED, SIGNED)]
    missed = [o for o in ended if o.kind == APPOINTMENT_MISSED]
    return Count(len(missed), len(ended), _applications(missed))


APPLICATION_COUNTERS: Final[Mapping[str, Callable[[Sequence[OutcomeRow], date, date], Count]]] = {
    "document_rejected_twice": _rejected_twice,
    "appointment_missed": _missed,
}
assert set(HANDOFF_COUNTERS) | set(APPLICATION_COUNTERS) == set(COUNTERS), "every counter counts"


def _applications(rows: Iterable[OutcomeRow]) -> tuple[str, ...]:
    newest = sorted(rows, key=lambda o: (o.occurred_at, o.event_id), reverse=True)
    return tuple(dict.fromkeys(f"application:{o.application_id}" for o in newest))[:EXAMPLES]


def count_handoffs(
    counter: str, handoffs: Iterable[HandoffRow], journeys: Sequence[str], rules: Rules
) -> Count:
    """A handoff counter over `handoffs` of `journeys`."""
    exposed, occurred = HANDOFF_COUNTERS[counter]
    pool = [h for h in handoffs if h.journey in journeys and exposed(h, rules)]
    hits = sorted(
        (h for h in pool if occurred(h, rules)),
        key=lambda h: (h.queued_at, h.handoff_id),
        reverse=True,
    )
    return Count(len(hits), len(pool), tuple(h.handoff_id for h in hits[:EXAMPLES]))


def fmea(
    session: Session,
    start: date,
    end: date,
    *,
    timezone: str,
    service_levels: ClaimLevels,
    catalog: FmeaCatalog | None = None,
    now: datetime | None = None,
) -> Fmea:
    """The FMEA of the period [start, end] (local days), highest RPN first.

    Args:
        session: The facts database.
        start: The period's first day.
        end: Its last day.
        timezone: The reporting zone (shown in the period).
        catalog: The failure modes (default: the catalog file).
        service_levels: The claim levels per queue (the desk's, `content/service_levels.yml`:
            the same levels as the live strip's breaches).
        now: Where a wait still running ends (default: now).
    """
    catalog = catalog or fmea_catalog()
    rules = Rules(
        levels=service_levels,
        late_delivery_seconds=catalog.late_delivery_seconds,
        now=now or utcnow(),
    )
    before_start, before_end = previous(start, end)
    handoffs = _handoffs(session, before_start, end)
    outcomes = _outcomes(session, before_start, end)
    current = [h for h in handoffs if h.day >= start]
    earlier = [h for h in handoffs if h.day <= before_end]

    def counted(mode: FailureMode, first: date, last: date, rows: list[HandoffRow]) -> Count:
        counter = mode.occurrence_counter
        if counter in APPLICATION_COUNTERS:
            return APPLICATION_COUNTERS[counter](outcomes, first, last)
        return count_handoffs(counter, rows, mode.journeys, rules)

    modes = [
        _scored(
            mode,
            counted(mode, start, end, current),
            counted(mode, before_start, before_end, earlier),
            catalog,
        )
        for mode in catalog.modes
    ]
    modes.sort(key=lambda m: (-m.rpn, -m.severity, -m.occurrences, m.mode))
    return Fmea(
        period=Period(
            start=start,
            end=end,
            previous_start=before_start,
            previous_end=before_end,
            grain=Grain.DAY,
            timezone=timezone,
        ),
        handoffs=len(current),
        modes=modes,
    )


def _scored(mode: FailureMode, now: Count, before: Count, catalog: FmeaCatalog) -> FmeaMode:
    detection = catalog.detection(mode)
    per_thousand = per_1000(now)
    occurrence = catalog.occurrence(per_thousand)
    previous_occurrence = catalog.occurrence(per_1000(before))
    return FmeaMode(
        mode=mode.id,
        label=mode.label,
        effect=mode.effect,
        cause=mode.cause,
        step=mode.step,
        journeys=list(mode.journeys),
        severity=mode.severity,
        occurrences=now.occurrences,
        exposure=now.exposure,
        per_thousand=per_thousand,
        occurrence=occurrence,
        detection=detection,
        detected_by=list(mode.detected_by),
        rpn=mode.severity * occurrence * detection,
        previous_occurrences=before.occurrences,
        previous_rpn=mode.severity * previous_occurrence * detection,
        examples=list(now.examples),
    )


def per_1000(count: Count) -> float | None:
    """Occurrences per 1,000 exposures (None with no exposure)."""
    return count.occurrences * 1000 / count.exposure if count.exposure else None


def _handoffs(session: Session, first: date, last: date) -> list[HandoffRow]:
    fact = HandoffFact
    repeated = exists().where(
        HandoffField.handoff_id == fact.handoff_id,
        HandoffField.carried.is_(True),
        HandoffField.first_repeat_at.is_not(None),
    )
    statement = select(
        fact.handoff_id,
        fact.day,
        fact.journey,
        fact.first_queue,
        fact.status,
        fact.queued_at,
        fact.first_claimed_at,
        fact.resolved_at,
        fact.handed_back_at,
        fact.abandoned_at,
        fact.expired_at,
        fact.wait_s,
        fact.csat_rating,
        fact.turns_before_handoff,
        fact.duplicates_suppressed,
        fact.hand_back_refusals,
        fact.agents_online_at_queue,
        fact.delivery_s,
        repeated.label("repeated"),
    ).where(fact.day.between(first, last))
    return [HandoffRow(*row) for row in session.execute(statement)]


def _outcomes(session: Session, first: date, last: date) -> list[OutcomeRow]:
    """The period's outcomes, each rejection numbered among its item's rejections (earlier
    ones before `first` included)."""
    t = ApplicationOutcome
    rows = session.execute(
        select(t.event_id, t.application_id, t.kind, t.item, t.day, t.occurred_at)
        .where(t.day.between(first, last))
        .order_by(t.occurred_at, t.event_id)
    ).all()
    rejecting = select(t.application_id).where(
        t.kind == DOCUMENT_REJECTED, t.day.between(first, last)
    )
    seen: dict[tuple[int, str | None], int] = {}
    for application_id, item in session.execute(
        select(t.application_id, t.item)
        .where(t.kind == DOCUMENT_REJECTED, t.day < first, t.application_id.in_(rejecting))
        .order_by(t.occurred_at, t.event_id)
    ):
        seen[(application_id, item)] = seen.get((application_id, item), 0) + 1
    found = []
    for row in rows:
        nth = 0
        if row.kind == DOCUMENT_REJECTED:
            key = (row.application_id, row.item)
            seen[key] = nth = seen.get(key, 0) + 1
        found.append(
            OutcomeRow(row.event_id, row.application_id, row.kind, row.day, row.occurred_at, nth)
        )
    return found
