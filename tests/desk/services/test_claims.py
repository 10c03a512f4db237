"""Claims: one winner, even when many agents click at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from desk.services import claims, intake
from desk.services.agents import Actor, create_agent
from desk.services.errors import AlreadyClaimed, NotFound
from desk.store.database import Database
from desk.store.repositories import HandoffRepository
from tests.desk.conftest import add_agents, at

ContextFactory = Callable[..., dict[str, Any]]


def _queued(database: Database, payload: dict[str, Any]) -> str:
    with database.session(write=True) as session:
        intake.receive(session, payload, now=at(0))
    return str(payload["handoff_id"])


def test_claiming_gives_the_handoff_to_the_agent(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    handoff_id = _queued(database, context_factory())

    with database.session(write=True) as session:
        claimed = claims.claim(session, actors["olivia"], handoff_id, now=at(30))
    with database.session() as session:
        events = HandoffRepository(session).events(handoff_id)

    assert (claimed.status, claimed.agent_id, claimed.claimed_at) == (
        "claimed",
        actors["olivia"].agent_id,
        at(30),
    )
    assert [(e.kind, e.actor_agent_id) for e in events][-1] == (
        "claimed",
        actors["olivia"].agent_id,
    )


def test_only_agents_of_the_queue_may_claim(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    handoff_id = _queued(database, context_factory(queue="order_support"))

    # Another queue's agent may not know it exists: the same NotFound as an unknown id.
    with pytest.raises(NotFound, match="no handoff"), database.session(write=True) as session:
        claims.claim(session, actors["leo"], handoff_id)
    with database.session(write=True) as session:
        assert claims.claim(session, actors["sam"], handoff_id).status == "claimed"


def test_a_claimed_or_unknown_handoff_cannot_be_claimed(
    database: Database, context_factory: ContextFactory, actors: dict[str, Actor]
) -> None:
    handoff_id = _queued(database, context_factory())
    with database.session(write=True) as session:
        claims.claim(session, actors["olivia"], handoff_id)

    with pytest.raises(AlreadyClaimed), database.session(write=True) as session:
        claims.claim(session, actors["sam"], handoff_id)
    with pytest.raises(NotFound), database.session(write=True) as session:
        claims.claim(session, actors["sam"], "00000000-0000-4000-8000-000000000000")


def _race(database: Database, handoff_id: str, contenders: list[Actor]) -> list[str]:
    start = threading.Barrier(len(contenders))

    def attempt(actor: Actor) -> str:
        start.wait()
        try:
            with database.session(write=True) as session:
                claims.claim(session, actor, handoff_id)
        except AlreadyClaimed:
            return "lost"
        return f"won:{actor.agent_id}"

    with ThreadPoolExecutor(max_workers=len(contenders)) as pool:
        return list(pool.map(attempt, contenders))


def test_ten_agents_claiming_at_once_leave_one_winner(
    any_database: Database, context_factory: ContextFactory
) -> None:
    add_agents(any_database)
    with any_database.session(write=True) as session:
        contenders = [
            Actor.of(
                create_agent(
                    session,
                    username=f"agent{n}",
                    display_name=f"Agent {n}",
                    password="password-123",
                    queues=["order_support"],
                )
            )
            for n in range(10)
        ]
    handoff_id = _queued(any_database, context_factory())

    results = _race(any_database, handoff_id, contenders)

    winners = [r for r in results if r.startswith("won:")]
    assert len(winners) == 1
    assert results.count("lost") == 9
    with any_database.session() as session:
        handoff = HandoffRepository(session).get(handoff_id)
        events = HandoffRepository(session).events(handoff_id)
    assert handoff is not None
    assert f"won:{handoff.agent_id}" == winners[0]
    assert [e.kind for e in events] == ["queued", "claimed"]
