"""The service blueprint from stage facts: durations, counts, columns, filters, FMEA modes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from analytics.blueprint import UnknownJourney, blueprint
from analytics.store.database import FactsDatabase
from contract.analytics_report import Blueprint, BlueprintStep, Outcome, PlanningQuery
from tests.support.planning_facts import conversation, handoff, path

D = date(2026, 11, 2)
HANDED_OFF = [
    ("asked", 0.0),
    ("looked_up", 7.0),
    ("escalated", 3.0),
    ("queued", 1.0),
    ("claimed", 60.0),
    ("resolved", 200.0),
    ("back_with_bot", 1.0),
    ("rated", 10.0),
]


@pytest.fixture
def seeded(facts_db: FactsDatabase) -> FactsDatabase:
    """Three conversations the bot reported on (looked up in 2, 4 and 9 s; reported 1 s
    later); one handed off to order_support (abandoned is not what it did: it went all the
    way); and one that reported the day after the period (looked up in 100 s)."""
    rows = [
        conversation(1, D),
        conversation(2, D),
        conversation(3, D),
        conversation(4, D, handoff_id="h4"),
        handoff("h4", 4, D, rating=1),
        conversation(5, D + timedelta(days=7)),
    ]
    for number, seconds in ((1, 2.0), (2, 4.0), (3, 9.0)):
        legs = [("asked", 0.0), ("looked_up", seconds), ("reported", 1.0)]
        rows += path(f"c{number}", "order_status", D, legs, conversation_id=number)
    rows += path("c4", "order_status", D, HANDED_OFF, conversation_id=4)
    rows += path(
        "c5",
        "order_status",
        D + timedelta(days=7),
        [("asked", 0.0), ("looked_up", 100.0)],
        conversation_id=5,
    )
    with facts_db.session(write=True) as session:
        session.add_all(rows)
    return facts_db


def compute(
    database: FactsDatabase, modes: dict[str, list[str]] | None = None, **values: Any
) -> Blueprint:
    query = PlanningQuery(start=D, end=D + timedelta(days=6), journey="order_status", **values)
    with database.session() as session:
        return blueprint(session, query, timezone="Europe/London", modes_by_step=modes or {})


def step(result: Blueprint, name: str) -> BlueprintStep:
    return next(s for s in result.steps if s.step == name)


def test_steps_are_timed_from_the_stage_before(seeded: FactsDatabase) -> None:
    result = compute(seeded)
    lookup = step(result, "lookup")
    assert lookup.count == 4
    assert lookup.duration_s.count == 4
    assert lookup.duration_s.p50 == 4.0  # of 2, 4, 7, 9 (nearest rank)
    assert lookup.duration_s.p95 == 9.0
    assert step(result, "order_db").duration_s == lookup.duration_s  # the same stage
    assert step(result, "report").count == 3
    assert step(result, "report").duration_s.p50 == 1.0
    assert step(result, "claim").duration_s.p50 == 60.0
    assert step(result, "queue_wait").duration_s.p50 == 60.0
    assert step(result, "agent_work").duration_s.p50 == 200.0
    # The first stage: reached by all, timed for none (nothing comes before it).
    ask = step(result, "ask")
    assert (ask.count, ask.duration_s.count, ask.duration_s.excluded) == (4, 0, 4)
    assert ask.duration_s.p50 is None


def test_columns_follow_the_stages_and_shared_stages_share_one(seeded: FactsDatabase) -> None:
    result = compute(seeded)
    columns = {s.step: s.column for s in result.steps}
    assert columns == {
        "ask": 0,
        "lookup": 1,
        "order_db": 1,
        "report": 2,
        "escalate": 3,
        "intake": 4,
        "give_up": 5,
        "leave_message": 6,
        "queue_wait": 7,
        "claim": 7,
        "agent_work": 8,
        "hand_back": 9,
        "rate": 10,
    }
    assert step(result, "report").final and not step(result, "escalate").final
    assert [lane.lane for lane in result.lanes] == [
        "customer",
        "frontstage",
        "backstage",
        "support",
    ]
    assert step(result, "order_db").lane == "support"
    assert result.label == "Order status"


def test_filters_choose_the_units(seeded: FactsDatabase) -> None:
    handed_off = compute(seeded, outcome=Outcome.HANDED_OFF)
    assert step(handed_off, "lookup").count == 1
    assert step(handed_off, "lookup").duration_s.p50 == 7.0
    assert step(handed_off, "report").count == 0
    assert step(handed_off, "report").duration_s.p50 is None
    bot_only = compute(seeded, outcome=Outcome.BOT_ONLY)
    assert step(bot_only, "lookup").duration_s.p50 == 4.0  # 2, 4, 9
    assert step(bot_only, "claim").count == 0
    assert step(compute(seeded, queue="tech_support_l2"), "ask").count == 0
    assert step(compute(seeded, outcome=Outcome.LOW_CSAT), "rate").count == 1


def test_fmea_modes_are_pinned_on_their_steps(seeded: FactsDatabase) -> None:
    result = compute(seeded, {"queue_wait": ["no_agent_online", "slow_claim"], "other": ["x"]})
    assert step(result, "queue_wait").failure_modes == ["no_agent_online", "slow_claim"]
    assert step(result, "claim").failure_modes == []


def test_an_unknown_journey_is_refused(facts_db: FactsDatabase) -> None:
    query = PlanningQuery(start=D, end=D, journey="weather")
    with facts_db.session() as session, pytest.raises(UnknownJourney, match="weather"):
        blueprint(session, query, timezone="UTC", modes_by_step={})
