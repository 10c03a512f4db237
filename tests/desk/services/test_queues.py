"""Queues: priority first, then age; agents see their queues, supervisors every queue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from desk.services import intake, queues
from desk.services.agents import Actor
from desk.store.database import Database
from desk.store.types import utcnow
from tests.desk.conftest import at

ContextFactory = Callable[..., dict[str, Any]]
ROUTING = Path(__file__).resolve().parents[3] / "content" / "handoff_routing.yml"


def _queue(
    database: Database, context_factory: ContextFactory, *specs: tuple[str, str, int]
) -> list[str]:
    ids = []
    for queue, priority, second in specs:
        payload = context_factory(queue=queue, priority=priority)
        with database.session(write=True) as session:
            intake.receive(session, payload, now=at(second))
        ids.append(payload["handoff_id"])
    return ids


def test_the_queue_orders_by_priority_then_age(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    old_normal, new_urgent, new_normal, old_low, mid_high = _queue(
        database,
        context_factory,
        ("order_support", "normal", 0),
        ("order_support", "urgent", 40),
        ("order_support", "normal", 30),
        ("order_support", "low", 1),
        ("order_support", "high", 20),
    )

    with database.session() as session:
        views = queues.queues_for(session, actors["olivia"], now=at(100))

    assert [view.name for view in views] == ["order_support"]
    waiting = views[0].waiting
    assert [w.handoff.handoff_id for w in waiting] == [
        new_urgent,
        mid_high,
        old_normal,
        new_normal,
        old_low,
    ]
    assert [w.position for w in waiting] == [1, 2, 3, 4, 5]
    assert [w.waiting_seconds for w in waiting] == [60, 80, 100, 70, 99]
    assert waiting[0].sentiment_label == "negative"
    assert waiting[0].summary.startswith("Jane Smith asked about an order")


def test_agents_see_their_queues_and_supervisors_all(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    order, tech = _queue(
        database,
        context_factory,
        ("order_support", "normal", 0),
        ("tech_support_l2", "normal", 1),
    )

    with database.session() as session:
        olivia = queues.queues_for(session, actors["olivia"], now=at(10))
        leo = queues.queues_for(session, actors["leo"], now=at(10))
        sam = queues.queues_for(session, actors["sam"], now=at(10))

    assert [[w.handoff.handoff_id for w in v.waiting] for v in olivia] == [[order]]
    assert [[w.handoff.handoff_id for w in v.waiting] for v in leo] == [[tech]]
    assert {v.name: [w.handoff.handoff_id for w in v.waiting] for v in sam} == {
        "order_support": [order],
        "tech_support_l2": [tech],
        "mortgage_advisors": [],
        "general_support": [],
    }


def test_a_queue_the_desk_does_not_know_still_reaches_supervisors(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    (stray,) = _queue(database, context_factory, ("vip_lounge", "normal", 0))

    with database.session() as session:
        sam = queues.queues_for(session, actors["sam"], now=at(1))

    assert sam[-1].name == "vip_lounge"
    assert [w.handoff.handoff_id for w in sam[-1].waiting] == [stray]


def test_the_desk_knows_the_queues_the_bot_routes_to() -> None:
    routing = yaml.safe_load(ROUTING.read_text(encoding="utf-8"))

    assert {name: q["team_name"] for name, q in routing["queues"].items()} == dict(queues.QUEUES)


def test_utcnow_is_aware() -> None:
    assert utcnow().tzinfo is not None
