"""Desk users: creation, login, sessions, who is online."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk.security import token_digest
from desk.services import agents
from desk.services.agents import Actor
from desk.services.errors import AuthenticationFailed, Conflict, InvalidInput
from desk.store.database import Database
from desk.store.models import AgentSession
from desk.store.repositories import AgentRepository
from tests.desk.conftest import PASSWORD, at

LIFETIME = timedelta(hours=12)


def test_agents_log_in_with_their_password(database: Database, actors: dict[str, Actor]) -> None:
    with database.session() as session:
        agent = agents.authenticate(session, "olivia", PASSWORD)
        assert agent.password_hash.startswith("scrypt$")
        assert PASSWORD not in agent.password_hash
        assert agent.queues == ["order_support"]


@pytest.mark.parametrize(("username", "password"), [("olivia", "wrong"), ("nobody", PASSWORD)])
def test_bad_credentials_fail_alike(
    database: Database, actors: dict[str, Actor], username: str, password: str
) -> None:
    with pytest.raises(AuthenticationFailed) as raised, database.session() as session:
        agents.authenticate(session, username, password)

    assert raised.value.message == "unknown username or wrong password"


def test_a_deactivated_agent_cannot_log_in_or_use_a_session(
    database: Database, actors: dict[str, Actor]
) -> None:
    with database.session(write=True) as session:
        agent = agents.authenticate(session, "olivia", PASSWORD)
        started = agents.start_session(session, agent, lifetime=LIFETIME, now=at(0))
        agent.active = False

    with pytest.raises(AuthenticationFailed), database.session() as session:
        agents.authenticate(session, "olivia", PASSWORD)
    with database.session(write=True) as session:
        assert agents.actor_for_token(session, started.token, now=at(1)) is None


def test_usernames_are_unique_and_well_formed(database: Database, actors: dict[str, Actor]) -> None:
    with pytest.raises(Conflict), database.session(write=True) as session:
        agents.create_agent(session, username="olivia", display_name="O", password="password-1")
    with pytest.raises(InvalidInput) as raised, database.session(write=True) as session:
        agents.create_agent(session, username="Bad Name", display_name=" ", password="short")
    assert len(raised.value.errors) == 3


def test_a_session_lives_until_it_expires(database: Database, actors: dict[str, Actor]) -> None:
    with database.session(write=True) as session:
        agent = agents.authenticate(session, "leo", PASSWORD)
        started = agents.start_session(session, agent, lifetime=LIFETIME, now=at(0))

    with database.session() as session:
        stored = session.query(AgentSession).one()
        assert stored.token_hash == token_digest(started.token) != started.token
        assert stored.expires_at == at(12 * 3600)

    with database.session(write=True) as session:
        actor = agents.actor_for_token(session, started.token, now=at(3600))
    assert actor is not None
    assert (actor.username, actor.queues) == ("leo", frozenset({"tech_support_l2"}))

    with database.session(write=True) as session:
        assert agents.actor_for_token(session, started.token, now=at(12 * 3600)) is None
        assert session.query(AgentSession).count() == 0  # the expired session is gone
    with database.session(write=True) as session:
        assert agents.actor_for_token(session, "not-a-token") is None


def test_a_live_session_is_known_by_its_key_until_it_expires(
    database: Database, actors: dict[str, Actor]
) -> None:
    with database.session(write=True) as session:
        agent = agents.authenticate(session, "leo", PASSWORD)
        started = agents.start_session(session, agent, lifetime=LIFETIME, now=at(0))

    with database.session() as session:
        info = agents.session_info(session, started.token, now=at(3600))
        assert info == agents.SessionInfo(
            key=agents.session_key(started.token), expires_at=at(12 * 3600)
        )
        assert info.key == token_digest(started.token) != started.token
        assert agents.session_info(session, started.token, now=at(12 * 3600)) is None
        assert agents.session_info(session, "not-a-token") is None


def test_logout_ends_the_session(database: Database, actors: dict[str, Actor]) -> None:
    with database.session(write=True) as session:
        agent = agents.authenticate(session, "leo", PASSWORD)
        started = agents.start_session(session, agent, lifetime=LIFETIME, now=at(0))
        assert agents.end_session(session, started.token) is True
        assert agents.end_session(session, started.token) is False
        assert agents.actor_for_token(session, started.token, now=at(1)) is None


def test_online_means_seen_recently(database: Database, actors: dict[str, Actor]) -> None:
    with database.session(write=True) as session:
        repository = AgentRepository(session)
        tokens = {}
        for name in ("olivia", "leo", "sam"):
            agent = repository.by_username(name)
            assert agent is not None
            tokens[name] = agents.start_session(session, agent, lifetime=LIFETIME, now=at(0)).token
    with database.session(write=True) as session:
        agents.actor_for_token(session, tokens["olivia"], now=at(100))  # touched
        agents.actor_for_token(session, tokens["leo"], now=at(5))  # too soon to touch

    with database.session() as session:
        online = agents.online_agent_ids(session, within_seconds=60, now=at(120))
        everyone = agents.online_agent_ids(session, within_seconds=600, now=at(120))
    with database.session(write=True) as session:
        expired = agents.expire_sessions(session, now=at(13 * 3600))

    assert online == [actors["olivia"].agent_id]
    assert everyone == sorted(actor.agent_id for actor in actors.values())
    assert expired == 3


def test_a_session_needs_a_write_only_to_refresh_or_delete_it(
    database: Database, actors: dict[str, Actor]
) -> None:
    with database.session(write=True) as session:
        agent = agents.authenticate(session, "leo", PASSWORD)
        token = agents.start_session(session, agent, lifetime=LIFETIME, now=at(0)).token

    touch = agents.TOUCH_INTERVAL.total_seconds()
    with database.session() as session:
        assert agents.session_needs_write(session, token, now=at(touch - 1)) is False
        assert agents.session_needs_write(session, token, now=at(touch)) is True  # refresh
        assert agents.session_needs_write(session, token, now=at(12 * 3600)) is True  # expired
        assert agents.session_needs_write(session, "not-a-token", now=at(1)) is False
