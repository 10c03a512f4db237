"""Intake: schema check, idempotent store, queued event."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from desk.services import handoffs, intake
from desk.services.agents import Actor
from desk.services.errors import InvalidHandoff
from desk.store.database import Database
from desk.store.repositories import HandoffRepository
from tests.desk.conftest import at

ContextFactory = Callable[..., dict[str, Any]]


def test_a_new_context_is_stored_and_queued(
    database: Database, context_factory: ContextFactory
) -> None:
    payload = context_factory(queue="order_support", priority="high")
    raw = json.dumps(payload, indent=1)

    with database.session(write=True) as session:
        received = intake.receive(session, payload, raw=raw, now=at(5))
        handoff = received.handoff

    assert received.created is True
    assert received.position == 1
    assert (handoff.status, handoff.queue, handoff.priority) == ("queued", "order_support", "high")
    assert handoff.priority_rank == 1
    assert (handoff.reason_code, handoff.trigger_type, handoff.flow) == (
        "order_delayed",
        "business_rule",
        "order_status",
    )
    assert handoff.sender_id == payload["conversation"]["sender_id"]
    assert handoff.context == raw  # exactly as received
    assert handoff.requested_at.isoformat() == "2025-03-14T09:31:00+00:00"
    assert handoff.queued_at == at(5)
    with database.session() as session:
        events = HandoffRepository(session).events(handoff.handoff_id)
    assert [(e.kind, e.detail) for e in events] == [
        ("queued", {"queue": "order_support", "priority": "high", "agents_online": 0})
    ]


def test_the_same_handoff_twice_is_one_handoff(
    database: Database, context_factory: ContextFactory
) -> None:
    payload = context_factory()
    with database.session(write=True) as session:
        first = intake.receive(session, payload)
    with database.session(write=True) as session:
        again = intake.receive(session, {**payload, "summary": "changed"})
        events = HandoffRepository(session).events(payload["handoff_id"])

    assert (first.created, again.created) == (True, False)
    assert again.handoff.handoff_id == first.handoff.handoff_id
    assert json.loads(again.handoff.context)["summary"] == payload["summary"]
    assert len(events) == 1


def test_the_queued_entry_counts_the_queues_agents_online(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    olivia, leo = actors["olivia"].agent_id, actors["leo"].agent_id
    connected = {"orders": {olivia, leo}, "tech": {olivia}, "none": set()}
    online = {}
    for name, agents in connected.items():
        queue = "tech_support_l2" if name == "tech" else "order_support"
        payload = context_factory(sender_id=f"web-{name}", queue=queue)
        with database.session(write=True) as session:
            intake.receive(session, payload, now=at(1), connected_agents=agents)
            (queued,) = HandoffRepository(session).events(payload["handoff_id"])
            online[name] = queued.detail["agents_online"]

    # Olivia serves order_support, Leo tech_support_l2 (the FMEA's "no agent online").
    assert online == {"orders": 1, "tech": 0, "none": 0}


def test_a_suppressed_duplicate_is_recorded_on_the_open_handoff_once(
    database: Database, context_factory: ContextFactory
) -> None:
    first = context_factory(sender_id="web-twice")
    second = context_factory(sender_id="web-twice")
    second["trigger"]["reason_code"] = "customer_request"
    with database.session(write=True) as session:
        intake.receive(session, first, now=at(1))
    for moment in (2, 3):  # the bot's outbox may deliver the second one again
        with database.session(write=True) as session:
            intake.receive(session, second, now=at(moment))
    with database.session(write=True) as session:
        intake.receive(session, first, now=at(4))  # the same handoff again: no duplicate
        events = HandoffRepository(session).events(first["handoff_id"])

    assert [(e.kind, e.detail, e.occurred_at) for e in events[1:]] == [
        (
            "duplicate_suppressed",
            {"handoff_id": second["handoff_id"], "reason_code": "customer_request"},
            at(2),
        )
    ]


def test_an_invalid_context_names_the_fields(
    database: Database, context_factory: ContextFactory
) -> None:
    payload = context_factory()
    payload["routing"]["priority"] = "asap"
    del payload["conversation"]["sender_id"]

    with pytest.raises(InvalidHandoff) as raised, database.session(write=True) as session:
        intake.receive(session, payload)

    assert raised.value.errors == [
        "/conversation/sender_id: required field is missing",
        "/routing/priority: 'asap' is not one of ['low', 'normal', 'high', 'urgent']",
    ]


def test_the_customer_label_comes_from_what_the_bot_knew(context_factory: ContextFactory) -> None:
    payload = context_factory()
    del payload["customer_name"]  # as in a 1.0 context: only the slots and evidence name them
    assert intake.customer_label(payload) == "Jane Smith"  # the name on the order

    payload["slots"]["name"] = "  Janet S. "
    assert intake.customer_label(payload) == "Janet S."

    payload["slots"] = {}
    payload["evidence"]["order"]["customer_name"] = None
    assert intake.customer_label(payload) is None

    payload["evidence"]["mortgage_application"] = {"applicant_name": "A. Applicant"}
    assert intake.customer_label(payload) == "A. Applicant"


def test_the_customer_name_of_a_v1_1_context_comes_first(context_factory: ContextFactory) -> None:
    payload = context_factory()
    payload["customer_name"] = " Alice Jones "
    assert intake.customer_label(payload) == "Alice Jones"

    payload["customer_name"] = None  # the bot did not know it: what else names the customer
    assert intake.customer_label(payload) == "Jane Smith"


def test_a_conversation_has_one_open_handoff(
    any_database: Database, context_factory: ContextFactory
) -> None:
    first = context_factory(sender_id="web-crash")
    second = context_factory(sender_id="web-crash")  # the customer asked again: a new id

    with any_database.session(write=True) as session:
        intake.receive(session, first, now=at(1))
    with any_database.session(write=True) as session:
        again = intake.receive(session, second, now=at(2))
        answer = (again.created, again.handoff.handoff_id, again.position)

    assert answer == (False, first["handoff_id"], 1)
    with any_database.session() as session:
        assert HandoffRepository(session).get(second["handoff_id"]) is None


def test_a_closed_handoff_does_not_block_the_next(
    database: Database, context_factory: ContextFactory
) -> None:
    first = context_factory(sender_id="web-again")
    with database.session(write=True) as session:
        intake.receive(session, first, now=at(1))
    with database.session(write=True) as session:
        handoffs.abandon(session, first["handoff_id"], now=at(2))

    second = context_factory(sender_id="web-again")
    with database.session(write=True) as session:
        received = intake.receive(session, second, now=at(3))
        assert (received.created, received.handoff.handoff_id) == (True, second["handoff_id"])


def test_the_database_refuses_a_second_open_handoff(
    any_database: Database, context_factory: ContextFactory
) -> None:
    """The rule holds under concurrency too: two intakes racing cannot both insert."""
    with any_database.session(write=True) as session:
        intake.receive(session, context_factory(sender_id="web-race"), now=at(1))
    twin = intake._new_handoff(  # what a racing intake would insert
        str(uuid.uuid4()), context_factory(sender_id="web-race"), "{}", at(2)
    )
    with pytest.raises(IntegrityError), any_database.session(write=True) as session:
        HandoffRepository(session).add(twin)
