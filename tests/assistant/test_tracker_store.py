"""The guarded SQL tracker store on real databases: SQLite files, and PostgreSQL when reachable.

Rasa's own `SQLTrackerStore` is run beside it on the same inputs, to show each guarded case is
one that really ended the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import rasa
import rasa.core.tracker_store as rasa_tracker_store
from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import text

from assistant.channels.edge import InvalidInput
from assistant.tracker_store import (
    GuardedSQLTrackerStore,
    install_direct_tracker_store,
)
from launcher.envfile import parse_env
from tests.support.postgres import fresh_postgres_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def tracker_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "tracker.db")


@pytest.fixture
def store(tracker_url: str) -> Iterator[GuardedSQLTrackerStore]:
    guarded = GuardedSQLTrackerStore(Domain.empty(), host=tracker_url)
    yield guarded
    guarded.engine.dispose()


def conversation(sender_id: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender_id,
        [ActionExecuted("action_listen"), UserUttered("hi"), BotUttered("hello")],
    )


# --- Configuration --------------------------------------------------------------------------------


def test_rasa_builds_the_guarded_store_from_the_projects_endpoints_file(
    monkeypatch: pytest.MonkeyPatch, tracker_url: str
) -> None:
    """Rasa falls back to an in-memory store, with only a warning, for a class it cannot load:
    this checks the module path really is loaded."""
    example = parse_env((PROJECT_ROOT / ".env.example").read_text(encoding="utf-8"))
    for name, value in {**example, "TRACKER_STORE_URL": tracker_url}.items():
        monkeypatch.setenv(name, value)
    config = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "tracker_store")

    created = TrackerStore.create(config, Domain.empty())

    assert isinstance(created, GuardedSQLTrackerStore)
    assert str(created.engine.url) == tracker_url
    created.engine.dispose()


async def test_a_conversation_is_stored_and_read_back(store: GuardedSQLTrackerStore) -> None:
    await store.save(conversation("customer-1"))

    tracker = await store.retrieve("customer-1")

    assert tracker is not None
    assert [event.type_name for event in tracker.events] == ["action", "user", "bot"]
    assert await store.keys() == ["customer-1"]


# --- An invalid id is one conversation's error, never an exit -----------------------------------


@pytest.mark.parametrize("sender_id", ["\ud800web", "nul\x00inside", "x" * 256])
async def test_an_id_the_edge_refuses_is_refused_by_the_store_too(
    store: GuardedSQLTrackerStore, sender_id: str
) -> None:
    with pytest.raises(InvalidInput, match=r"^sender_id: "):
        await store.save(conversation(sender_id))
    with pytest.raises(InvalidInput, match=r"^sender_id: "):
        await store.retrieve(sender_id)
    with pytest.raises(InvalidInput, match=r"^sender_id: "):
        await store.retrieve_full_tracker(sender_id)

    assert await store.keys() == []


async def test_rasas_own_store_exits_the_process_on_the_same_id(tracker_url: str) -> None:
    """What the guard is for: Rasa 3.6 ends the server here."""
    rasas = SQLTrackerStore(Domain.empty(), host=tracker_url)
    try:
        with pytest.raises(SystemExit):
            await rasas.retrieve("\ud800web")
    finally:
        rasas.engine.dispose()


async def test_a_value_error_inside_a_unit_of_work_is_an_ordinary_exception(
    store: GuardedSQLTrackerStore,
) -> None:
    with pytest.raises(UnicodeEncodeError), store.session_scope() as session:
        session.execute(text("SELECT :v"), {"v": "\udfff"}).scalar()

    # The store still works afterwards.
    await store.save(conversation("customer-2"))
    assert await store.retrieve("customer-2") is not None


def test_a_missing_schema_still_exits(
    store: GuardedSQLTrackerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa's schema check (POSTGRESQL_SCHEMA) keeps its exit: it is a start-up condition."""

    def schema_missing(session: object) -> None:
        raise ValueError("assistant")

    monkeypatch.setattr(rasa_tracker_store, "ensure_schema_exists", schema_missing)

    with pytest.raises(SystemExit), store.session_scope():
        pass


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def postgres_store() -> Iterator[GuardedSQLTrackerStore]:
    with fresh_postgres_database("tracker_store_test_") as url:
        guarded = GuardedSQLTrackerStore(Domain.empty(), host=url)
        yield guarded
        guarded.engine.dispose()


async def test_postgresql_stores_conversations_and_refuses_invalid_ids(
    postgres_store: GuardedSQLTrackerStore,
) -> None:
    await postgres_store.save(conversation("customer-1"))
    tracker = await postgres_store.retrieve("customer-1")
    assert tracker is not None and len(tracker.events) == 3

    # psycopg2 raises ValueError for a NUL character, UnicodeEncodeError for a surrogate.
    for sender_id in ("nul\x00inside", "\ud800web"):
        with pytest.raises(InvalidInput):
            await postgres_store.retrieve(sender_id)
        with pytest.raises(InvalidInput):
            await postgres_store.save(conversation(sender_id))

    with pytest.raises(ValueError), postgres_store.session_scope() as session:
        session.execute(text("SELECT :v"), {"v": "nul\x00inside"}).scalar()
    assert await postgres_store.keys() == ["customer-1"]


# --- Errors fail the turn instead of falling back to memory ---------------------------------------


@pytest.fixture
def restore_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Agent, "_create_tracker_store", staticmethod(Agent._create_tracker_store))


def test_rasa_wraps_every_store_in_a_fail_safe_store(
    store: GuardedSQLTrackerStore, restore_agent: None
) -> None:
    assert isinstance(Agent(tracker_store=store).tracker_store, FailSafeTrackerStore)


async def test_installed_the_agent_uses_the_guarded_store_itself(
    store: GuardedSQLTrackerStore, restore_agent: None
) -> None:
    assert install_direct_tracker_store() is True

    agent = Agent(domain=Domain.empty(), tracker_store=store)

    assert agent.tracker_store is store
    with pytest.raises(InvalidInput):
        await agent.tracker_store.retrieve("\ud800web")


def test_other_stores_keep_rasas_fail_safe_wrapper(restore_agent: None) -> None:
    install_direct_tracker_store()

    assert isinstance(Agent().tracker_store, FailSafeTrackerStore)


def test_another_rasa_version_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, restore_agent: None, store: GuardedSQLTrackerStore
) -> None:
    monkeypatch.setattr(rasa, "__version__", "3.7.0")

    assert install_direct_tracker_store() is False
    assert isinstance(Agent(tracker_store=store).tracker_store, FailSafeTrackerStore)
