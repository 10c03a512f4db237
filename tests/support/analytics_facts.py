"""A small, hand-counted set of analytics facts for the dashboard's tests.

`seed_facts(url)` migrates the facts database at `url` and writes, through the fact models,
one week of conversations and handoffs (PERIOD) and a few in the week before (PREVIOUS), a
finished build and two unparseable events. The numbers a report of PERIOD must show are worked
out by hand in the module constants below, from the definitions of docs/metrics.md, not by
the code under test.

PERIOD (2026-11-02 to 2026-11-08; UTC and Europe/London agree in November):
- 5 engaged conversations (and one that is not engaged): 3 contained (bot CSAT asked twice,
  rated 5 and 2), 2 handed off: h1 (order_status, order_support, customer_request, wait 45 s,
  system 800 ms, olivia 300 s, hybrid rating 4) and h2 (mortgage, mortgage_advisors, a reason
  code that is a spreadsheet formula, wait 400 s, system 1200 ms, maya 600 s, person-only
  rating 2);
- failures: the intent order_status fell back 3 times; the step router_restart/power_cycle was
  answered 3 times, twice "did not help"; order_form/order_number was asked again once.
PREVIOUS (2026-10-26 to 2026-11-01): 4 engaged conversations, 1 handed off (h0: wait 100 s,
system 1000 ms, olivia 200 s).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

from analytics.conversations import FailureKind
from analytics.store.database import FactsDatabase
from analytics.store.models import (
    BuildRun,
    ConversationFact,
    FailurePoint,
    HandlePart,
    HandoffFact,
    UnparseableEvent,
)

PERIOD_START: Final = date(2026, 11, 2)
PERIOD_END: Final = date(2026, 11, 8)
BUILT_AT: Final = datetime(2026, 11, 9, 6, 0, tzinfo=timezone.utc)
#: A reason code as a hostile bot could send it: a spreadsheet would run it as a formula.
FORMULA_REASON: Final = "=cmd|' /C calc'!A0"

#: What a report of PERIOD shows, counted by hand (see the module doc).
CONTAINMENT: Final = 3 / 5
PREVIOUS_CONTAINMENT: Final = 3 / 4
HANDOFF_RATE: Final = 2 / 5
WAIT_P50_S: Final = 45.0
PREVIOUS_WAIT_P50_S: Final = 100.0
WAIT_P95_S: Final = 400.0
HANDLE_P50_S: Final = 300.0
SYSTEM_P95_MS: Final = 1200.0
CSAT_BOT_ONLY: Final = 1 / 2
UNPARSEABLE: Final = 2

H0, H1, H2 = (f"00000000-0000-4000-8000-00000000000{n}" for n in range(3))


def _at(day: date, hour: int = 10, seconds: float = 0.0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc) + timedelta(
        seconds=seconds
    )


def _conversation(
    number: int,
    day: date,
    journey: str,
    *,
    channel: str = "socketio",
    engaged: bool = True,
    handoff_id: str | None = None,
    turns_before_handoff: int | None = None,
    rating: int | None = None,
    asked: bool = False,
) -> ConversationFact:
    started = _at(day, 9)
    last = _at(day, 9, 300)
    return ConversationFact(
        id=number,
        sender_id=f"web-facts-{number}",
        started_at=started,
        first_message_at=started,
        last_event_at=last,
        last_event_ts=last.timestamp(),
        returned_ts=None,
        day=day,
        channel=channel,
        journey=journey,
        engaged=engaged,
        engaged_at=started if engaged else None,
        customer_messages=3,
        handed_off=handoff_id is not None,
        handoff_id=handoff_id,
        turns_before_handoff=turns_before_handoff,
        bot_csat_asked=asked,
        bot_csat_rating=rating,
        fallbacks=0,
        returned_at=None,
        last_event_id=number * 10,
        state={},
    )


def _handoff(
    handoff_id: str,
    day: date,
    *,
    journey: str,
    queue: str,
    reason_code: str,
    wait_s: float,
    system_ms: float,
    rating: int | None,
    sender: int,
    turns_before_handoff: int,
) -> HandoffFact:
    queued = _at(day)
    claimed = queued + timedelta(seconds=wait_s)
    return HandoffFact(
        handoff_id=handoff_id,
        sender_id=f"web-facts-{sender}",
        day=day,
        journey=journey,
        first_queue=queue,
        queue=queue,
        reason_code=reason_code,
        trigger_type="customer_request",
        status="resolved",
        triggered_at=queued - timedelta(milliseconds=system_ms),
        queued_at=queued,
        first_claimed_at=claimed,
        first_agent_reply_at=claimed + timedelta(seconds=15),
        resolved_at=claimed + timedelta(seconds=300),
        handed_back_at=claimed + timedelta(seconds=301),
        abandoned_at=None,
        expired_at=None,
        callback_left=False,
        callback_done_at=None,
        transfers=0,
        system_ms=system_ms,
        wait_s=wait_s,
        first_reply_s=wait_s + 15,
        claim_to_reply_s=15.0,
        csat_rating=rating,
        # As the build copies them from the handoff's conversation (same sender number).
        channel="socketio",
        turns_before_handoff=turns_before_handoff,
    )


def _part(handoff_id: str, day: date, agent: str, queue: str, seconds: float) -> HandlePart:
    claimed = _at(day, 11)
    return HandlePart(
        handoff_id=handoff_id,
        seq=1,
        agent=agent,
        queue=queue,
        claimed_at=claimed,
        ended_at=claimed + timedelta(seconds=seconds),
        ended_by="resolve",
        seconds=seconds,
        day=day,
    )


def _failure(event_id: int, kind: str, subject: str, helped: bool | None = None) -> FailurePoint:
    return FailurePoint(
        event_id=event_id,
        kind=kind,
        seq=0,
        conversation_id=1,
        day=PERIOD_START,
        subject=subject,
        helped=helped,
    )


def facts() -> list[Any]:
    """Every fact row of the set (see the module doc)."""
    d = PERIOD_START
    before = PERIOD_START - timedelta(days=7)
    return [
        _conversation(1, d, "order_status", asked=True, rating=5),
        _conversation(2, d + timedelta(days=1), "order_status", asked=True, rating=2),
        _conversation(3, d + timedelta(days=2), "troubleshooting", channel="rest"),
        _conversation(
            4, d + timedelta(days=3), "order_status", handoff_id=H1, turns_before_handoff=2
        ),
        _conversation(5, d + timedelta(days=4), "mortgage", handoff_id=H2, turns_before_handoff=0),
        _conversation(6, d + timedelta(days=1), "none", engaged=False),
        *(_conversation(10 + n, before + timedelta(days=n + 1), "order_status") for n in range(3)),
        _conversation(
            20, before + timedelta(days=2), "order_status", handoff_id=H0, turns_before_handoff=1
        ),
        _handoff(
            H1,
            d + timedelta(days=3),
            journey="order_status",
            queue="order_support",
            reason_code="customer_request",
            wait_s=45.0,
            system_ms=800.0,
            rating=4,
            sender=4,
            turns_before_handoff=2,
        ),
        _handoff(
            H2,
            d + timedelta(days=4),
            journey="mortgage",
            queue="mortgage_advisors",
            reason_code=FORMULA_REASON,
            wait_s=400.0,
            system_ms=1200.0,
            rating=2,
            sender=5,
            turns_before_handoff=0,
        ),
        _handoff(
            H0,
            before + timedelta(days=2),
            journey="order_status",
            queue="order_support",
            reason_code="customer_request",
            wait_s=100.0,
            system_ms=1000.0,
            rating=None,
            sender=20,
            turns_before_handoff=1,
        ),
        _part(H1, d + timedelta(days=3), "olivia", "order_support", 300.0),
        _part(H2, d + timedelta(days=4), "maya", "mortgage_advisors", 600.0),
        _part(H0, before + timedelta(days=2), "olivia", "order_support", 200.0),
        *(_failure(100 + n, FailureKind.FALLBACK, "order_status") for n in range(3)),
        _failure(110, FailureKind.STEP, "router_restart/power_cycle", helped=False),
        _failure(111, FailureKind.STEP, "router_restart/power_cycle", helped=False),
        _failure(112, FailureKind.STEP, "router_restart/power_cycle", helped=True),
        _failure(120, FailureKind.REASK, "order_form/order_number"),
        BuildRun(
            started_at=BUILT_AT - timedelta(seconds=2),
            finished_at=BUILT_AT,
            tracker_events=40,
            handoffs=3,
            stage_changes=0,
            unparseable=UNPARSEABLE,
        ),
        *(
            UnparseableEvent(source="tracker", source_id=n, reason="not JSON", seen_at=BUILT_AT)
            for n in range(UNPARSEABLE)
        ),
    ]


def seed_facts(url: str) -> None:
    """Migrate the facts database at `url` and write the set into it."""
    database = FactsDatabase(url)
    try:
        database.migrate()
        with database.session(write=True) as session:
            session.add_all(facts())
    finally:
        database.dispose()
