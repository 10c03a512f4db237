"""The planning views' unit filter: period, journey, queue and outcome on stage facts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from analytics.planning_filters import S, unit_filter
from analytics.store.database import FactsDatabase
from contract.analytics_report import Outcome, PlanningQuery
from tests.support.planning_facts import conversation, handoff, path

D = date(2026, 11, 2)
LEGS = [("asked", 0.0), ("looked_up", 5.0)]


@pytest.fixture
def seeded(facts_db: FactsDatabase) -> FactsDatabase:
    """c1 bot only rated 5; c2 bot only rated 2; c3 handed off to order_support, rated 1;
    c4 handed off to order_support, abandoned; c5 handed off to tech_support_l2, rated 5;
    c6 bot only but started the day after the period; c7 the same day as c1 but
    troubleshooting; the mortgage application a9 in the period (it has no conversation: a queue
    or outcome filter leaves it out)."""
    rows = [
        conversation(1, D, bot_rating=5),
        conversation(2, D, bot_rating=2),
        conversation(3, D, handoff_id="h3"),
        handoff("h3", 3, D, rating=1),
        conversation(4, D, handoff_id="h4"),
        handoff("h4", 4, D, abandoned=True),
        conversation(5, D, handoff_id="h5"),
        handoff("h5", 5, D, queue="tech_support_l2", rating=5),
        conversation(6, D + timedelta(days=7)),
        conversation(7, D, journey="troubleshooting"),
    ]
    for number in range(1, 7):
        day = D + timedelta(days=7) if number == 6 else D
        rows += path(f"c{number}", "order_status", day, LEGS, conversation_id=number)
    rows += path("c7", "troubleshooting", D, [("asked", 0.0)], conversation_id=7)
    rows += path("a9", "mortgage", D, [("chat_started", 0.0)], application_id=9)
    with facts_db.session(write=True) as session:
        session.add_all(rows)
    return facts_db


def units(database: FactsDatabase, **values: Any) -> set[str]:
    query = PlanningQuery(start=D, end=D + timedelta(days=6), **values)
    with database.session() as session:
        return set(session.scalars(select(S.c.unit).distinct().where(*unit_filter(query))))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {"c1", "c2", "c3", "c4", "c5"}),
        ({"outcome": Outcome.BOT_ONLY}, {"c1", "c2"}),
        ({"outcome": Outcome.HANDED_OFF}, {"c3", "c4", "c5"}),
        ({"outcome": Outcome.LOW_CSAT}, {"c2", "c3"}),
        ({"outcome": Outcome.ABANDONED}, {"c4"}),
        ({"queue": "order_support"}, {"c3", "c4"}),
        ({"queue": "tech_support_l2"}, {"c5"}),
        ({"queue": "order_support", "outcome": Outcome.LOW_CSAT}, {"c3"}),
        ({"queue": "mortgage_advisors"}, set()),
    ],
)
def test_order_status_units_by_filter(
    seeded: FactsDatabase, values: dict[str, Any], expected: set[str]
) -> None:
    assert units(seeded, journey="order_status", **values) == expected


def test_other_journeys_and_days_stay_out(seeded: FactsDatabase) -> None:
    assert units(seeded, journey="troubleshooting") == {"c7"}
    query = PlanningQuery(
        start=D + timedelta(days=7), end=D + timedelta(days=7), journey="order_status"
    )
    with seeded.session() as session:
        found = set(session.scalars(select(S.c.unit).distinct().where(*unit_filter(query))))
    assert found == {"c6"}


def test_applications_have_no_conversation_to_filter(seeded: FactsDatabase) -> None:
    assert units(seeded, journey="mortgage") == {"a9"}
    assert units(seeded, journey="mortgage", queue="order_support") == set()
    assert units(seeded, journey="mortgage", outcome=Outcome.ABANDONED) == set()
