"""Working a handoff: notes, transfer, resolve, hand back, CSAT, callback, and the lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from desk.services import claims, handoffs, intake
from desk.services.agents import Actor, create_agent
from desk.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from desk.store.database import Database
from desk.store.models import Disposition, Handoff
from desk.store.repositories import HandoffRepository
from tests.desk.conftest import at

ContextFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def queued(database: Database, context_factory: ContextFactory) -> str:
    """A handoff waiting in order_support since T0."""
    payload = context_factory(queue="order_support")
    with database.session(write=True) as session:
        intake.receive(session, payload, now=at(0))
    return str(payload["handoff_id"])


@pytest.fixture
def claimed(database: Database, queued: str, actors: dict[str, Actor]) -> str:
    """The same handoff, claimed by Olivia at T0+30s."""
    with database.session(write=True) as session:
        claims.claim(session, actors["olivia"], queued, now=at(30))
    return queued


def _get(database: Database, handoff_id: str) -> Handoff:
    with database.session() as session:
        handoff = HandoffRepository(session).get(handoff_id)
    assert handoff is not None
    return handoff


def _kinds(database: Database, handoff_id: str) -> list[str]:
    with database.session() as session:
        return [e.kind for e in HandoffRepository(session).events(handoff_id)]


def test_the_full_lifecycle_records_each_step(
    database: Database, claimed: str, actors: dict[str, Actor]
) -> None:
    olivia = actors["olivia"]
    with database.session(write=True) as session:
        handoffs.record_agent_reply(session, olivia, claimed, now=at(40))
        handoffs.record_agent_reply(session, olivia, claimed, now=at(50))
        resolution = handoffs.resolve(
            session,
            olivia,
            claimed,
            Disposition.RESOLVED_WITH_FOLLOWUP,
            {"order_number": "ORD-204117", "refund_offered": True},
            now=at(300),
        )
        handoffs.mark_handed_back(session, claimed, now=at(301))
        handoffs.store_csat(session, claimed, 4, "quick, thanks", now=at(360))

    handoff = _get(database, claimed)
    assert (handoff.queued_at, handoff.claimed_at, handoff.first_agent_reply_at) == (
        at(0),
        at(30),
        at(40),
    )
    assert (handoff.resolved_at, handoff.handed_back_at) == (at(300), at(301))
    assert (handoff.status, handoff.disposition) == ("handed_back", "resolved_with_followup")
    assert (handoff.csat_rating, handoff.csat_comment) == (4, "quick, thanks")
    assert (handoff.abandoned_at, handoff.expired_at) == (None, None)
    assert resolution.slots == {"order_number": "ORD-204117", "refund_offered": True}
    assert (resolution.sender_id, resolution.agent_name) == (handoff.sender_id, "Olivia")
    assert _kinds(database, claimed) == [
        "queued",
        "claimed",
        "first_agent_reply",
        "resolved",
        "handed_back",
        "csat_received",
    ]
    with database.session() as session:
        resolved_event = HandoffRepository(session).events(claimed)[3]
    assert resolved_event.detail == {
        "disposition": "resolved_with_followup",
        "slots": {"order_number": "ORD-204117", "refund_offered": True},
    }


def test_notes_are_private_to_agents_who_may_see_the_handoff(
    database: Database, queued: str, actors: dict[str, Actor]
) -> None:
    with database.session(write=True) as session:
        handoffs.add_note(session, actors["olivia"], queued, "x" * 10_000, now=at(5))
    with pytest.raises(NotFound), database.session(write=True) as session:
        handoffs.add_note(session, actors["leo"], queued, "sneaky")
    with pytest.raises(InvalidInput), database.session(write=True) as session:
        handoffs.add_note(session, actors["olivia"], queued, "   ")
    with pytest.raises(InvalidInput), database.session(write=True) as session:
        handoffs.add_note(session, actors["olivia"], queued, "x" * 20_001)

    with database.session() as session:
        pop = handoffs.screen_pop(session, actors["sam"], queued)
        notes = [(n.agent_id, len(n.text)) for n in pop.notes]
    assert notes == [(actors["olivia"].agent_id, 10_000)]
    assert pop.position == 1
    assert pop.context["handoff_id"] == queued
    assert pop.agent_names == {actors["olivia"].agent_id: "Olivia"}


def test_a_transfer_moves_the_handoff_with_its_context(
    database: Database, claimed: str, actors: dict[str, Actor]
) -> None:
    before = _get(database, claimed)

    with database.session(write=True) as session:
        moved = handoffs.transfer(session, actors["olivia"], claimed, "tech_support_l2", now=at(60))

    assert (moved.status, moved.queue, moved.agent_id, moved.claimed_at) == (
        "queued",
        "tech_support_l2",
        None,
        None,
    )
    assert moved.transfer_count == 1
    assert moved.context == before.context
    assert moved.queued_at == before.queued_at  # keeps its place in time
    with database.session() as session:
        last = HandoffRepository(session).events(claimed)[-1]
        with pytest.raises(NotFound):
            handoffs.screen_pop(session, actors["olivia"], claimed)
        assert handoffs.screen_pop(session, actors["leo"], claimed).context == json.loads(
            before.context
        )
    assert (last.kind, last.detail, last.actor_agent_id) == (
        "transferred",
        {"from": "order_support", "to": "tech_support_l2"},
        actors["olivia"].agent_id,
    )
    with database.session(write=True) as session:
        assert claims.claim(session, actors["leo"], claimed).agent_id == actors["leo"].agent_id


def test_transfer_rules(
    database: Database, claimed: str, actors: dict[str, Actor], queued: str
) -> None:
    with pytest.raises(InvalidInput, match="unknown queue"), database.session(write=True) as s:
        handoffs.transfer(s, actors["olivia"], claimed, "nowhere")
    with pytest.raises(InvalidInput, match="already in"), database.session(write=True) as s:
        handoffs.transfer(s, actors["olivia"], claimed, "order_support")
    # Sam (supervisor) may move a handoff Olivia owns; Olivia then no longer sees it.
    with database.session(write=True) as s:
        handoffs.transfer(s, actors["sam"], claimed, "general_support")
    with pytest.raises(NotFound), database.session(write=True) as s:
        handoffs.transfer(s, actors["olivia"], claimed, "order_support")


def test_only_the_owner_resolves(
    database: Database, claimed: str, actors: dict[str, Actor], context_factory: ContextFactory
) -> None:
    other = context_factory(queue="order_support")
    with database.session(write=True) as session:
        intake.receive(session, other)

    with pytest.raises(Conflict, match="claim it first"), database.session(write=True) as s:
        handoffs.resolve(s, actors["olivia"], other["handoff_id"], Disposition.RESOLVED)
    with pytest.raises(NotFound), database.session(write=True) as s:
        handoffs.resolve(s, actors["leo"], claimed, Disposition.RESOLVED)
    with database.session(write=True) as s:
        handoffs.resolve(s, actors["sam"], claimed, Disposition.DUPLICATE)
    with pytest.raises(Conflict), database.session(write=True) as s:
        handoffs.resolve(s, actors["olivia"], claimed, Disposition.RESOLVED)
    assert _get(database, claimed).disposition == "duplicate"


def test_another_agent_of_the_queue_cannot_take_over_a_claimed_handoff(
    database: Database, claimed: str, actors: dict[str, Actor]
) -> None:
    with database.session(write=True) as session:
        colleague = Actor.of(
            create_agent(
                session,
                username="oscar",
                display_name="Oscar",
                password="password-123",
                queues=["order_support"],
            )
        )
    with pytest.raises(PermissionDenied), database.session(write=True) as s:
        handoffs.resolve(s, colleague, claimed, Disposition.RESOLVED)
    with pytest.raises(PermissionDenied), database.session(write=True) as s:
        handoffs.transfer(s, colleague, claimed, "general_support")
    with pytest.raises(PermissionDenied), database.session(write=True) as s:
        handoffs.record_agent_reply(s, colleague, claimed)


def test_csat_needs_a_resolved_handoff_and_a_valid_rating(
    database: Database, claimed: str, actors: dict[str, Actor]
) -> None:
    with pytest.raises(Conflict), database.session(write=True) as s:
        handoffs.store_csat(s, claimed, 5)
    with database.session(write=True) as s:
        handoffs.resolve(s, actors["olivia"], claimed, Disposition.RESOLVED)
    for rating, comment in [(0, None), (6, None), (True, None), (3, "x" * 1001)]:
        with pytest.raises(InvalidInput), database.session(write=True) as s:
            handoffs.store_csat(s, claimed, rating, comment)
    with database.session(write=True) as s:
        handoffs.store_csat(s, claimed, 2, None)
        handoffs.store_csat(s, claimed, 5, "x" * 1000)  # a re-sent rating replaces it
    assert _get(database, claimed).csat_rating == 5
    with pytest.raises(NotFound), database.session(write=True) as s:
        handoffs.store_csat(s, "00000000-0000-4000-8000-000000000000", 5)


def test_a_callback_message_expires_a_waiting_handoff(database: Database, queued: str) -> None:
    with database.session(write=True) as session:
        handoffs.store_callback(session, queued, "Please call me tomorrow.", now=at(200))

    handoff = _get(database, queued)
    assert (handoff.status, handoff.expired_at, handoff.callback_message) == (
        "expired",
        at(200),
        "Please call me tomorrow.",
    )
    assert _kinds(database, queued)[-2:] == ["expired", "callback_received"]
    with database.session(write=True) as session:
        handoffs.store_callback(session, queued, "Actually, after 5pm.", now=at(210))
    assert _get(database, queued).callback_message == "Actually, after 5pm."


def test_a_claimed_handoff_takes_no_callback(database: Database, claimed: str) -> None:
    with pytest.raises(Conflict), database.session(write=True) as session:
        handoffs.store_callback(session, claimed, "hello")


def test_abandon_and_expire_leave_the_queue(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    first, second = context_factory(), context_factory()
    with database.session(write=True) as session:
        intake.receive(session, first, now=at(0))
        intake.receive(session, second, now=at(0))
        handoffs.abandon(session, first["handoff_id"], now=at(10))
        handoffs.expire(session, second["handoff_id"], now=at(130))

    abandoned, expired = _get(database, first["handoff_id"]), _get(database, second["handoff_id"])
    assert (abandoned.status, abandoned.abandoned_at) == ("abandoned", at(10))
    assert (expired.status, expired.expired_at) == ("expired", at(130))
    with pytest.raises(Conflict), database.session(write=True) as session:
        handoffs.abandon(session, second["handoff_id"])
    with pytest.raises(Conflict), database.session(write=True) as session:
        claims.claim(session, actors["olivia"], first["handoff_id"])


def test_handing_back_needs_a_resolved_handoff(database: Database, claimed: str) -> None:
    with pytest.raises(Conflict), database.session(write=True) as session:
        handoffs.mark_handed_back(session, claimed)
