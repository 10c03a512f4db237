"""The guarded SQL tracker store on real databases: SQLite files, and PostgreSQL when reachable.

Rasa's own `SQLTrackerStore` is run beside it on the same inputs, to show each guarded case is
one that really ended the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rasa
import rasa.core.tracker_store as rasa_tracker_store
from rasa.core.agent import Agent
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import create_engine, event, text

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


# --- A save writes and publishes only the new events, without reading them back ---------------


class RecordingBroker(EventBroker):
    """An event broker that keeps what it is given (a unit test's fake)."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


def stored_rows(url: str) -> list[tuple[str, str, str | None]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [
                (row.sender_id, row.type_name, row.action_name or row.intent_name)
                for row in connection.execute(
                    text(
                        "SELECT sender_id, type_name, action_name, intent_name"
                        " FROM events ORDER BY id"
                    )
                )
            ]
    finally:
        engine.dispose()


def count_selects(store: GuardedSQLTrackerStore) -> list[str]:
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", before)
    return seen


async def test_each_turn_stores_and_publishes_each_event_once_without_reading_it_back(
    tmp_path: Path,
) -> None:
    broker = RecordingBroker()
    url = sqlite_url(tmp_path / "guarded.db")
    store = GuardedSQLTrackerStore(Domain.empty(), host=url, event_broker=broker)
    plain_url = sqlite_url(tmp_path / "rasa.db")
    plain = SQLTrackerStore(Domain.empty(), host=plain_url, event_broker=RecordingBroker())
    try:
        for each in (store, plain):
            # A new conversation (created and saved at once, as Rasa does), then three turns.
            tracker = await each.create_tracker("web-1")
            await each.save(tracker)
            for turn in range(3):
                tracker = await each.retrieve("web-1")
                assert tracker is not None
                tracker.update(UserUttered(f"message {turn}", {"name": "greet"}))
                tracker.update(ActionExecuted("utter_greet"))
                tracker.update(BotUttered(f"reply {turn}"))
                selects = count_selects(store) if each is store else []
                await each.save(tracker)
                tracker.update(ActionExecuted("action_listen"))
                await each.save(tracker)
                assert selects == []  # the guarded store read nothing back to save
        assert stored_rows(url) == stored_rows(plain_url)
        # Rasa's store saved the new conversation's `action_listen` when it made the tracker;
        # this one with the first turn: the same rows either way.
        assert len(stored_rows(url)) == 1 + 3 * 4
        assert [e["event"] for e in broker.published] == [
            e["event"]
            for e in plain.event_broker.published  # type: ignore[union-attr]
        ]
        assert len(broker.published) == 13
    finally:
        store.engine.dispose()
        plain.engine.dispose()


async def test_a_new_session_and_a_rebuilt_tracker_are_stored_without_gaps_or_repeats(
    store: GuardedSQLTrackerStore, tracker_url: str
) -> None:
    await store.save(conversation("web-2"))  # rebuilt elsewhere: Rasa's own path
    tracker = await store.retrieve("web-2")
    assert tracker is not None
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("back again", {"name": "greet"}))
    await store.save(tracker)
    await store.save(tracker)  # nothing new: nothing written
    # A tracker rebuilt from the latest session (no mark): Rasa's own counting path.
    latest = await store.retrieve("web-2")
    assert latest is not None
    rebuilt = DialogueStateTracker.from_events("web-2", [*latest.events, BotUttered("hi")])
    await store.save(rebuilt)
    types = [row[1] for row in stored_rows(tracker_url)]
    assert types == ["action", "user", "bot", "action", "session_started", "action", "user", "bot"]
    latest = await store.retrieve("web-2")
    assert latest is not None
    assert [e.type_name for e in latest.events] == ["session_started", "action", "user", "bot"]


def _sessions(sender_id: str, start: float) -> DialogueStateTracker:
    """Two sessions, the second starting at `start` (some events share its timestamp)."""
    first = [
        ActionExecuted("action_session_start", timestamp=start - 100),
        SessionStarted(timestamp=start - 100),
        ActionExecuted("action_listen", timestamp=start - 100),
        UserUttered("hi", {"name": "greet"}, timestamp=start - 99),
        BotUttered("hello", timestamp=start - 98),
    ]
    second = [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start),
        UserUttered("back", {"name": "greet"}, timestamp=start + 1),
    ]
    return DialogueStateTracker.from_events(sender_id, [*first, *second])


async def _reads_as_rasa(url: str) -> None:
    domain = Domain.empty()
    rasas, ours = SQLTrackerStore(domain, host=url), GuardedSQLTrackerStore(domain, host=url)
    try:
        await rasas.save(conversation("one-session"))
        await rasas.save(_sessions("two-sessions", start=2000.0))
        await rasas.save(_sessions("later-elsewhere", start=9000.0))  # not the others' start
        for sender_id in ("one-session", "two-sessions", "later-elsewhere", "never-seen"):
            for read in ("retrieve", "retrieve_full_tracker"):
                expected = await getattr(rasas, read)(sender_id)
                got = await getattr(ours, read)(sender_id)
                if expected is None:
                    assert got is None, (sender_id, read)
                    continue
                assert got is not None, (sender_id, read)
                assert [e.as_dict() for e in got.events] == [
                    e.as_dict() for e in expected.events
                ], (sender_id, read)
        latest = await ours.retrieve("two-sessions")
        assert latest is not None and [e.as_dict().get("text") for e in latest.events][-1] == (
            "back"
        )
        assert len(latest.events) == 4  # the latest session only
    finally:
        rasas.engine.dispose()
        ours.engine.dispose()


async def test_conversations_are_read_as_rasas_own_store_reads_them(tracker_url: str) -> None:
    await _reads_as_rasa(tracker_url)


async def test_postgresql_conversations_are_read_as_rasas_own_store_reads_them() -> None:
    with fresh_postgres_database("tracker_store_read_") as url:
        await _reads_as_rasa(url)


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


async def test_a_new_conversation_is_stored_with_its_first_turn_not_before(
    store: GuardedSQLTrackerStore, tracker_url: str
) -> None:
    tracker = await store.get_or_create_tracker("web-3")
    assert await store.retrieve("web-3") is None  # nothing written yet
    tracker.update(UserUttered("hi", {"name": "greet"}))
    await store.save(tracker)
    assert [row[1] for row in stored_rows(tracker_url)] == ["action", "user"]
