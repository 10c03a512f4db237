"""Callbacks: who sees the open ones, and marking one done (`desk.services.callbacks`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from desk.services import callbacks, claims, handoffs, intake, waiting
from desk.services.agents import Actor, create_agent
from desk.services.errors import Conflict, NotFound
from desk.store.database import Database
from desk.store.models import AgentRole, Handoff
from desk.store.repositories import HandoffRepository
from tests.desk.conftest import at

ContextFactory = Callable[..., dict[str, Any]]
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _left_message(
    database: Database,
    context_factory: ContextFactory,
    *,
    queue: str = "order_support",
    queued: float = 0,
    expired: float = 100,
    message: str = "Please call me after 5pm.",
) -> str:
    """A handoff of `queue` that expired when the customer left `message`; its id."""
    payload = context_factory(queue=queue)
    with database.session(write=True) as session:
        intake.receive(session, payload, now=at(queued))
        handoffs.store_callback(session, payload["handoff_id"], message, now=at(expired))
    return str(payload["handoff_id"])


def _open_ids(database: Database, actor: Actor) -> tuple[list[str], int]:
    with database.session() as session:
        listed, count = callbacks.open_callbacks(session, actor)
        return [handoff.handoff_id for handoff in listed], count


def _get(database: Database, handoff_id: str) -> Handoff:
    with database.session() as session:
        handoff = HandoffRepository(session).get(handoff_id)
    assert handoff is not None
    return handoff


@pytest.fixture
def bea(database: Database) -> Actor:
    """Branch staff at Leeds (no queues)."""
    with database.session(write=True) as session:
        agent = create_agent(
            session,
            username="bea",
            display_name="Bea",
            password="correct horse battery",
            role=AgentRole.BRANCH_STAFF,
            branch="leeds_park_row",
        )
        return Actor.of(agent)


def test_each_agent_sees_the_open_callbacks_of_their_queues_oldest_first(
    database: Database, actors: dict[str, Actor], bea: Actor, context_factory: ContextFactory
) -> None:
    later = _left_message(database, context_factory, expired=300)
    earlier = _left_message(database, context_factory, expired=200)
    technical = _left_message(database, context_factory, queue="tech_support_l2", expired=100)
    # Not open callbacks: one done, one still waiting, one expired without a message (yet).
    done = _left_message(database, context_factory, expired=50)
    still_waiting = context_factory(queue="order_support")
    no_message = context_factory(queue="order_support")
    with database.session(write=True) as session:
        callbacks.mark_callback_done(session, actors["olivia"], done, now=at(60))
        intake.receive(session, still_waiting, now=at(0))
        intake.receive(session, no_message, now=at(0))
        waiting.leave_message(session, no_message["handoff_id"], now=at(50))

    assert _open_ids(database, actors["olivia"]) == ([earlier, later], 2)
    assert _open_ids(database, actors["leo"]) == ([technical], 1)
    assert _open_ids(database, actors["sam"]) == ([technical, earlier, later], 3)
    assert _open_ids(database, bea) == ([], 0)
    with database.session() as session:
        oldest, count = callbacks.open_callbacks(session, actors["sam"], limit=1)
        assert ([handoff.handoff_id for handoff in oldest], count) == ([technical], 3)


def test_marking_a_callback_done_records_when_and_who(
    database: Database, actors: dict[str, Actor], context_factory: ContextFactory
) -> None:
    handoff_id = _left_message(database, context_factory)

    with database.session(write=True) as session:
        done = callbacks.mark_callback_done(session, actors["olivia"], handoff_id, now=at(400))
        assert callbacks.done_by_name(done) == "Olivia"

    handoff = _get(database, handoff_id)
    assert (handoff.status, handoff.callback_done_at, handoff.callback_done_by) == (
        "expired",
        at(400),
        actors["olivia"].agent_id,
    )
    with database.session() as session:
        last = HandoffRepository(session).events(handoff_id)[-1]
        assert (last.kind, last.occurred_at, last.actor_agent_id) == (
            "callback_done",
            at(400),
            actors["olivia"].agent_id,
        )
    assert _open_ids(database, actors["olivia"]) == ([], 0)


def test_a_callback_is_marked_done_once(
    database: Database, actors: dict[str, Actor], context_factory: ContextFactory
) -> None:
    handoff_id = _left_message(database, context_factory)
    with database.session(write=True) as session:
        callbacks.mark_callback_done(session, actors["olivia"], handoff_id, now=at(400))

    with pytest.raises(Conflict) as again, database.session(write=True) as session:
        callbacks.mark_callback_done(session, actors["sam"], handoff_id, now=at(500))

    assert again.value.message == (
        "this callback was already marked done at 2025-03-14 10:06 UTC by Olivia"
    )
    assert _get(database, handoff_id).callback_done_by == actors["olivia"].agent_id


def test_a_supervisor_marks_any_queue_s_callback_done(
    database: Database, actors: dict[str, Actor], context_factory: ContextFactory
) -> None:
    handoff_id = _left_message(database, context_factory, queue="tech_support_l2")

    with database.session(write=True) as session:
        callbacks.mark_callback_done(session, actors["sam"], handoff_id)

    assert _get(database, handoff_id).callback_done_by == actors["sam"].agent_id


@pytest.mark.parametrize("who", ["leo", "bea"])
def test_only_those_serving_the_queue_may_mark_it_done(
    database: Database,
    actors: dict[str, Actor],
    bea: Actor,
    context_factory: ContextFactory,
    who: str,
) -> None:
    handoff_id = _left_message(database, context_factory)
    actor = bea if who == "bea" else actors[who]

    # Hidden from them: the same NotFound as an unknown handoff, never its queue's name.
    with pytest.raises(NotFound, match="no handoff"), database.session(write=True) as session:
        callbacks.mark_callback_done(session, actor, handoff_id)

    assert _get(database, handoff_id).callback_done_at is None


def test_an_unknown_handoff_is_not_found(database: Database, actors: dict[str, Actor]) -> None:
    with pytest.raises(NotFound), database.session(write=True) as session:
        callbacks.mark_callback_done(session, actors["sam"], UNKNOWN)


def test_a_handoff_without_a_callback_has_nothing_to_mark_done(
    database: Database, actors: dict[str, Actor], context_factory: ContextFactory
) -> None:
    queued, no_message, claimed = (context_factory() for _ in range(3))
    with database.session(write=True) as session:
        for payload in (queued, no_message, claimed):
            intake.receive(session, payload, now=at(0))
        waiting.leave_message(session, no_message["handoff_id"], now=at(50))
        claims.claim(session, actors["olivia"], claimed["handoff_id"], now=at(60))

    refusals = []
    for payload in (queued, no_message, claimed):
        with pytest.raises(Conflict) as refused, database.session(write=True) as session:
            callbacks.mark_callback_done(session, actors["olivia"], payload["handoff_id"])
        refusals.append(refused.value.message)

    assert refusals == [
        f"handoff {queued['handoff_id']} has no callback to mark done (it is queued)",
        f"handoff {no_message['handoff_id']} has no callback message to mark done",
        f"handoff {claimed['handoff_id']} has no callback to mark done (it is claimed)",
    ]
