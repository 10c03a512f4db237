"""Stage facts written by hand for the planning views' tests (journey map, blueprint).

`path(...)` makes the `stage_facts` rows of one unit that went through the given stages, each
reached the given seconds after the one before, as the fold writes them: `position` in order,
every row with the unit's start `day`, `next_stage` and `seconds_to_next` from the next row,
the last one open (None).

`seed_planning_facts(url)` writes, on top of `tests.support.analytics_facts` (conversations
1-5 in its PERIOD, handoffs H1 and H2), the stage paths of those conversations, a mortgage
application, and the repeat fields of H1: the set the planning page's browser tests show.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

from analytics.store.database import FactsDatabase
from analytics.store.models import ConversationFact, HandoffFact, HandoffField, StageFact
from tests.support import analytics_facts as facts

#: A stage and the seconds from the stage before it to it (the first's is ignored).
Leg = tuple[str, float]


def path(
    unit: str,
    journey: str,
    day: date,
    legs: Sequence[Leg],
    *,
    conversation_id: int | None = None,
    application_id: int | None = None,
    sentiment: Sequence[float] = (),
    start: datetime | None = None,
) -> list[StageFact]:
    """The stage facts of one unit (see the module doc); `sentiment[i]`, if given, is one
    customer turn's score in the i-th stage."""
    at = start or datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc)
    rows: list[StageFact] = []
    for position, (stage, seconds) in enumerate(legs):
        if position:
            at += timedelta(seconds=seconds)
        score = sentiment[position] if position < len(sentiment) else None
        rows.append(
            StageFact(
                unit=unit,
                stage=stage,
                journey=journey,
                position=position,
                reached_at=at,
                day=day,
                next_stage=legs[position + 1][0] if position + 1 < len(legs) else None,
                seconds_to_next=legs[position + 1][1] if position + 1 < len(legs) else None,
                sentiment_sum=score or 0.0,
                sentiment_turns=0 if score is None else 1,
                conversation_id=conversation_id,
                application_id=application_id,
            )
        )
    return rows


def conversation(
    number: int,
    day: date,
    *,
    journey: str = "order_status",
    handoff_id: str | None = None,
    bot_rating: int | None = None,
) -> ConversationFact:
    """A conversation fact (handed off when it has a handoff id; rated by the bot if given)."""
    return facts._conversation(
        number,
        day,
        journey,
        handoff_id=handoff_id,
        turns_before_handoff=1 if handoff_id else None,
        rating=bot_rating,
        asked=bot_rating is not None,
    )


def handoff(
    handoff_id: str,
    number: int,
    day: date,
    *,
    queue: str = "order_support",
    rating: int | None = None,
    abandoned: bool = False,
) -> HandoffFact:
    """The first handoff of conversation `number`, first queued in `queue`; an abandoned one
    was never claimed."""
    row = facts._handoff(
        handoff_id,
        day,
        journey="order_status",
        queue=queue,
        reason_code="order_delayed",
        wait_s=30.0,
        system_ms=500.0,
        rating=rating,
        sender=number,
        turns_before_handoff=1,
    )
    if abandoned:
        row.abandoned_at = row.queued_at + timedelta(seconds=90)
        row.first_claimed_at = row.first_agent_reply_at = row.resolved_at = None
        row.handed_back_at = row.wait_s = row.first_reply_s = row.claim_to_reply_s = None
        row.status = "abandoned"
    return row


#: The order_status stages of conversations 1, 2 (reported by the bot) and 4 (handed off, H1).
D: Final = facts.PERIOD_START
ORDER_REPORTED: Final[list[Leg]] = [("asked", 0), ("looked_up", 4.0), ("reported", 2.0)]
ORDER_HANDED_OFF: Final[list[Leg]] = [
    ("asked", 0),
    ("looked_up", 6.0),
    ("escalated", 3.0),
    ("queued", 1.0),
    ("claimed", 45.0),
    ("resolved", 300.0),
    ("back_with_bot", 1.0),
    ("rated", 20.0),
]


def planning_facts() -> list[Any]:
    """The stage paths and repeat fields of the set (see the module doc)."""
    return [
        *path("c1", "order_status", D, ORDER_REPORTED, conversation_id=1, sentiment=[0.4, 0.2]),
        *path(
            "c2",
            "order_status",
            D + timedelta(days=1),
            [("asked", 0), ("looked_up", 8.0), ("reported", 4.0), ("rated", 30.0)],
            conversation_id=2,
            sentiment=[0.1, -0.2, 0.0, -0.5],
        ),
        *path(
            "c4",
            "order_status",
            D + timedelta(days=3),
            ORDER_HANDED_OFF,
            conversation_id=4,
            sentiment=[-0.3, -0.4, -0.6, 0.0, 0.2, 0.5],
        ),
        *path(
            "c3",
            "troubleshooting",
            D + timedelta(days=2),
            [("asked", 0), ("tree_chosen", 2.0), ("cycle_1", 5.0), ("fixed", 90.0)],
            conversation_id=3,
        ),
        *path(
            "a7",
            "mortgage",
            D + timedelta(days=4),
            [
                ("chat_started", 0),
                ("form_completed", 240.0),
                ("with_advisor", 60.0),
                ("advised", 600.0),
                ("documents_requested", 30.0),
            ],
            application_id=7,
        ),
        HandoffField(
            handoff_id=facts.H1,
            field="order_number",
            conversation_id=4,
            carried=True,
            restated=1,
            asked=1,
            first_repeat_at=datetime(2026, 11, 5, 10, 2, tzinfo=timezone.utc),
            first_repeat_kind="asked",
            first_repeat_event_id=400,
        ),
        HandoffField(
            handoff_id=facts.H1,
            field="email",
            conversation_id=4,
            carried=True,
            restated=0,
            asked=0,
        ),
    ]


def seed_planning_facts(url: str) -> None:
    """The dashboard's facts (`analytics_facts.seed_facts`) and the planning facts above."""
    facts.seed_facts(url)
    database = FactsDatabase(url)
    try:
        with database.session(write=True) as session:
            session.add_all(planning_facts())
    finally:
        database.dispose()
