"""Waiting customers: their places, who counts as online, and when the wait choice is due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from desk.services import claims, conversations, intake, waiting
from desk.services.agents import Actor, authenticate, start_session
from desk.services.errors import Conflict
from desk.services.waiting import OfferReason
from desk.store.database import Database
from desk.store.models import Handoff, HandoffStatus
from desk.store.repositories import HandoffRepository
from tests.desk.conftest import PASSWORD, add_agents, at

ContextFactory = Callable[..., dict[str, Any]]
TIMEOUT = 120.0
EVERY_QUEUE = ("order_support", "tech_support_l2", "mortgage_advisors", "general_support")


def _queue(
    db: Database, context_factory: ContextFactory, *specs: tuple[str, str, int]
) -> list[str]:
    ids = []
    senders: set[str] = set()
    for queue, priority, second in specs:
        # One conversation per handoff (a conversation has at most one open handoff).
        sender = f"customer-{second}"
        sender = sender if sender not in senders else f"{sender}-{len(senders)}"
        senders.add(sender)
        payload = context_factory(queue=queue, priority=priority, sender_id=sender)
        with db.session(write=True) as session:
            intake.receive(session, payload, now=at(second))
        ids.append(str(payload["handoff_id"]))
    return ids


def _offers(db: Database, second: float, online: tuple[str, ...] = EVERY_QUEUE) -> list[Any]:
    with db.session(write=True) as session:
        return waiting.take_offers(session, timeout_seconds=TIMEOUT, online=online, now=at(second))


def _handoff(db: Database, handoff_id: str) -> Handoff:
    with db.session() as session:
        found = HandoffRepository(session).get(handoff_id)
        assert found is not None
        return found


def test_places_are_counted_per_queue_best_first(
    database: Database, context_factory: ContextFactory
) -> None:
    normal, urgent, other = _queue(
        database,
        context_factory,
        ("order_support", "normal", 0),
        ("order_support", "urgent", 10),
        ("tech_support_l2", "normal", 20),
    )

    with database.session() as session:
        everyone = waiting.waiting_in(session)
        orders = waiting.waiting_in(session, ["order_support"])

    assert [(w.handoff_id, w.queue, w.position) for w in everyone] == [
        (urgent, "order_support", 1),
        (normal, "order_support", 2),
        (other, "tech_support_l2", 1),
    ]
    assert [w.handoff_id for w in orders] == [urgent, normal]
    assert everyone[0].sender_id == "customer-10"


def test_no_offer_before_the_claim_timeout_when_agents_are_online(
    database: Database, context_factory: ContextFactory
) -> None:
    _queue(database, context_factory, ("order_support", "normal", 0))

    assert _offers(database, TIMEOUT - 1) == []


def test_the_offer_is_due_at_the_claim_timeout_and_taken_once(
    database: Database, context_factory: ContextFactory
) -> None:
    (handoff_id,) = _queue(database, context_factory, ("order_support", "normal", 0))

    (offer,) = _offers(database, TIMEOUT)
    again = _offers(database, TIMEOUT + 1)

    assert (offer.waiting.handoff_id, offer.reason, offer.previous) == (
        handoff_id,
        OfferReason.CLAIM_TIMEOUT,
        None,
    )
    assert offer.waiting.position == 1
    assert again == []
    assert _handoff(database, handoff_id).choice_offered_at == at(TIMEOUT)
    message = offer.message()
    assert "everyone in Order Support is still busy" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/keep_waiting", "/leave_message"]


def test_the_offer_is_made_at_once_when_nobody_serving_the_queue_is_online(
    database: Database, context_factory: ContextFactory
) -> None:
    orders, tech = _queue(
        database,
        context_factory,
        ("order_support", "normal", 0),
        ("tech_support_l2", "normal", 0),
    )

    offers = _offers(database, 1, online=("order_support",))

    assert [(o.waiting.handoff_id, o.reason) for o in offers] == [
        (tech, OfferReason.NO_AGENT_ONLINE)
    ]
    assert "Nobody from Technical Support (2nd line) is online" in offers[0].message()["text"]
    assert orders not in {o.waiting.handoff_id for o in offers}


def test_an_unanswered_offer_is_made_again_a_timeout_later(
    database: Database, context_factory: ContextFactory
) -> None:
    (handoff_id,) = _queue(database, context_factory, ("order_support", "normal", 0))
    _offers(database, TIMEOUT)

    assert _offers(database, 2 * TIMEOUT - 1) == []
    (second,) = _offers(database, 2 * TIMEOUT)
    assert (second.waiting.handoff_id, second.previous) == (handoff_id, at(TIMEOUT))


def test_keep_waiting_restarts_the_clock(
    database: Database, context_factory: ContextFactory
) -> None:
    (handoff_id,) = _queue(database, context_factory, ("order_support", "normal", 0))
    _offers(database, TIMEOUT)
    with database.session(write=True) as session:
        waiting.keep_waiting(session, handoff_id, now=at(TIMEOUT + 50))

    assert _offers(database, 2 * TIMEOUT) == []  # 120 s after the offer, but only 70 s after
    assert len(_offers(database, 2 * TIMEOUT + 50)) == 1
    with database.session() as session:
        kinds = [event.kind for event in HandoffRepository(session).events(handoff_id)]
    assert kinds.count("choice_offered") == 2
    assert "kept_waiting" in kinds


def test_a_withdrawn_offer_is_due_again_and_a_moot_one_is_not(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    first, second = _queue(
        database, context_factory, ("order_support", "normal", 0), ("order_support", "low", 0)
    )
    offers = {o.waiting.handoff_id: o for o in _offers(database, TIMEOUT)}
    with database.session(write=True) as session:
        claims.claim(session, actors["olivia"], second, now=at(TIMEOUT + 1))

    with database.session(write=True) as session:
        assert waiting.withdraw_offer(session, offers[first]) is True
        assert waiting.withdraw_offer(session, offers[second]) is False  # claimed meanwhile

    assert _handoff(database, first).choice_offered_at is None
    assert [o.waiting.handoff_id for o in _offers(database, TIMEOUT + 2)] == [first]


def test_leave_message_expires_the_wait_and_keep_waiting_needs_a_wait(
    database: Database, context_factory: ContextFactory
) -> None:
    (handoff_id,) = _queue(database, context_factory, ("order_support", "normal", 0))

    with database.session(write=True) as session:
        expired = waiting.leave_message(session, handoff_id, now=at(200))
    assert (expired.status, expired.expired_at) == (HandoffStatus.EXPIRED.value, at(200))
    with database.session(write=True) as session, pytest.raises(Conflict):
        waiting.keep_waiting(session, handoff_id, now=at(201))
    assert _offers(database, 10 * TIMEOUT) == []


@pytest.mark.parametrize(
    ("intent", "outcome", "status"),
    [
        ("cancel", conversations.WaitOutcome.ABANDONED, "abandoned"),
        ("leave_message", conversations.WaitOutcome.LEFT_MESSAGE, "expired"),
        ("keep_waiting", conversations.WaitOutcome.KEPT_WAITING, "queued"),
        ("inform", None, "queued"),
    ],
)
def test_a_waiting_customers_answer_changes_the_handoff(
    database: Database,
    context_factory: ContextFactory,
    intent: str,
    outcome: conversations.WaitOutcome | None,
    status: str,
) -> None:
    (handoff_id,) = _queue(database, context_factory, ("order_support", "normal", 0))
    event = {"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}

    with database.session(write=True) as session:
        activity = conversations.receive_event(session, "customer-0", event, now=at(50))

    assert (activity.handoff_id, activity.outcome) == (handoff_id, outcome)
    assert _handoff(database, handoff_id).status == status


def test_online_means_a_console_connected_or_a_session_seen_lately(any_database: Database) -> None:
    actors = add_agents(any_database)
    with any_database.session(write=True) as session:
        leo = authenticate(session, "leo", PASSWORD)
        start_session(session, leo, lifetime=timedelta(hours=12), now=at(0))

    with any_database.session() as session:
        nobody = waiting.online_queues(session, set(), now=at(3600))
        leo_lately = waiting.online_queues(session, set(), now=at(30))
        olivia_console = waiting.online_queues(session, {actors["olivia"].agent_id}, now=at(3600))
        sam_console = waiting.online_queues(session, {actors["sam"].agent_id}, now=at(3600))

    assert nobody == set()
    assert leo_lately == {"tech_support_l2"}
    assert olivia_console == {"order_support"}
    assert sam_console == set(EVERY_QUEUE)


def test_whether_an_offer_is_due_is_known_without_taking_it(
    database: Database, context_factory: ContextFactory
) -> None:
    _queue(database, context_factory, ("order_support", "normal", 0))

    def due(second: float, online: tuple[str, ...] = EVERY_QUEUE) -> bool:
        with database.session() as session:
            return waiting.offers_due(
                session, timeout_seconds=TIMEOUT, online=online, now=at(second)
            )

    assert (due(TIMEOUT - 1), due(1, online=()), due(TIMEOUT)) == (False, True, True)
    assert due(TIMEOUT) is True  # asking takes nothing
    _offers(database, TIMEOUT)
    assert due(TIMEOUT + 1) is False
