"""Rasa's SQL tracker store, made unable to end the server because of one conversation.

Rasa 3.6's `SQLTrackerStore.session_scope` wraps the whole unit of work in
``except ValueError: print_error_and_exit("Requested PostgreSQL schema ... was not found")``,
so *any* `ValueError` raised while reading or writing a conversation ends the process: a sender
id with a lone surrogate (`UnicodeEncodeError`), a NUL character (psycopg2 raises `ValueError`
for it), a value a driver cannot adapt. `GuardedSQLTrackerStore` keeps that exit for the real
schema check only, and refuses ids the channel edge would refuse
(`assistant.channels.edge.check_conversation_id`) before they reach SQL: Rasa's HTTP API
(`/conversations/<id>/...`) reaches the store without passing a channel (Sanic does not
percent-decode that path parameter today, so an id arrives there as typed; the check does not
depend on it).

Rasa's agent wraps every tracker store in `FailSafeTrackerStore`, which answers a failed read
with "no tracker" and a failed write by saving to a process-local in-memory store. That hides a
failure from the customer (a conversation that had context is answered as a new one), splits a
conversation's history between memory and the database, and logs the database error's text,
which repeats the conversation id and the customer's words. `install_direct_tracker_store`
(called by `python -m assistant`) lets this store's errors fail the one turn instead: the
channel logs it masked and apologises (`assistant.channels.edge.guarded`), and Rasa's HTTP API
answers that request with an error.

Each save also costs Rasa's store two reads it does not need (docs/speed-and-scale.md: the
store was 41% of a bot-only turn's CPU). With an event broker configured, `stream_events`
re-reads the whole conversation to work out which events are new; then `save` counts the
stored events to work out the same thing again. This store remembers on each tracker it hands
out how many of its events are stored (`STORED_EVENTS`: all of them when it was read, none when
it was made, all once it is saved), so a save publishes and inserts the rest with neither
read; and a new conversation's tracker is first saved at the end of its first turn, not also
when it is made. A tracker it cannot vouch for (rebuilt elsewhere, or with a capped event
history) takes Rasa's own path. One process at a time handles a conversation (the lock
store), so nobody else adds events in between.

endpoints.yml (Rasa builds a store named by module path with `host=url`, `domain`,
`event_broker` and the other keys; a URL in `host` is used as is, so SQLite and PostgreSQL URLs
work as with `type: SQL`)::

    tracker_store:
      type: assistant.tracker_store.GuardedSQLTrackerStore
      url: ${TRACKER_STORE_URL}

Audit: where Rasa 3.6.21 exits the process (`print_error_and_exit`, `sys.exit`, stopping the
app), and whether a request can get there.

- `core/tracker_store.py` `SQLTrackerStore.session_scope`: every read and write of every
  conversation, hence every channel message and every `/conversations/...` API call. Guarded
  here: only a missing `POSTGRESQL_SCHEMA` schema (the check it was written for) still exits.
- `model_training.py` `_check_unresolved_slots` and a missing model to fine-tune: reached at
  request time by `POST /model/train` (HTTP API, behind the auth token; it runs in a worker
  thread, and the `SystemExit` comes back to the server's loop). None of our stores, channels or
  broker call it. Not guarded here: the project never trains through the API.
- `utils/tensorflow/transformer.py`: a transformer size that is not a multiple of the number of
  heads, met when a model is built; reached by training or loading a model (`PUT /model`,
  behind the token) with such a configuration, which could not have been trained. Not reached by
  our parts.
- `core/run.py` `running_app.stop()`: only with the `cmdline` channel (`rasa shell`).
- `__main__.py`, `cli/*` (`sys.exit`, `print_error_and_exit`, the SIGINT handler): command
  line and start-up only.
- Lock store (Rasa's in-memory one: no `lock_store` in endpoints.yml) and event broker
  (`assistant.desk_events.DeskEventBroker`): no exit paths; their errors are ordinary
  exceptions, which `guarded` turns into an apology for that one turn.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from typing import Any, Final

import rasa
import rasa.core.tracker_store as rasa_tracker_store
import rasa.shared.utils.cli
import sqlalchemy as sa
from rasa.core.agent import Agent
from rasa.core.constants import POSTGRESQL_SCHEMA
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from assistant.channels.edge import check_conversation_id
from sqlsupport.database import configure_sqlite_engine, sqlite_connect_args

#: The Rasa release whose `SQLTrackerStore.session_scope` and `Agent._create_tracker_store`
#: this module was written against.
PATCHED_RASA_VERSION: Final = "3.6.21"
#: The attribute this store sets on a tracker it hands out: how many of its events are stored.
STORED_EVENTS: Final = "_stored_events"


class GuardedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose errors are errors of one conversation, never an exit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Rasa's store; on SQLite, with a pooled engine set up as the project's databases
        are (see `_pooled_sqlite`)."""
        super().__init__(*args, **kwargs)
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self.engine = _pooled_sqlite(engine)
            self.sessionmaker = sessionmaker(bind=self.engine)

    @contextlib.contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A session for one unit of work; only a missing PostgreSQL schema exits."""
        session = self.sessionmaker()
        try:
            ensure_schema_or_exit(session)
            yield session
        finally:
            session.close()

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        check_conversation_id(sender_id, "sender_id")
        with self.session_scope() as session:
            # Rasa's query (`_event_query`) in SQLAlchemy Core: the ORM built an entity per
            # row and a query per call, about 10% of an order-lookup turn's CPU.
            stored = (
                session.execute(
                    _event_query(self.SQLEvent.__table__, sender_id, fetch_events_from_all_sessions)
                )
                .scalars()
                .all()
            )
        if not self.domain or not stored:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(data) for data in stored], self.domain.slots
        )
        if not fetch_events_from_all_sessions:
            # The latest session's events, every one of them stored.
            _mark_stored(tracker)
        return tracker

    def init_tracker(self, sender_id: str) -> DialogueStateTracker:
        """A new tracker, none of whose events is stored yet."""
        tracker = super().init_tracker(sender_id)
        setattr(tracker, STORED_EVENTS, 0)
        return tracker

    async def create_tracker(
        self, sender_id: str, append_action_listen: bool = True
    ) -> DialogueStateTracker:
        """A new conversation's tracker, listening. Rasa's store saves it at once; here its
        first events are stored with the rest of the turn by the save that ends it (a turn
        that fails before leaves nothing, as if the customer had not written yet)."""
        tracker = self.init_tracker(sender_id)
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Stores the tracker's new events (and publishes them to the event broker);
        `InvalidInput` for an id the edge would refuse."""
        check_conversation_id(tracker.sender_id, "sender_id")
        stored = getattr(tracker, STORED_EVENTS, None)
        if (
            not isinstance(stored, int)
            or tracker.events.maxlen is not None
            or stored > len(tracker.events)
        ):
            await super().save(tracker)
        else:
            new_events = list(itertools.islice(tracker.events, stored, None))
            if self.event_broker is not None:
                await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
            if new_events:
                rows = [_row(tracker.sender_id, event) for event in new_events]
                with self.session_scope() as session:
                    # One executemany of Core INSERTs: the ORM's unit of work added about
                    # 5% of a turn's CPU to build the same statement for each row.
                    session.execute(sa.insert(self.SQLEvent.__table__), rows)
                    session.commit()
        _mark_stored(tracker)


def _event_query(events: sa.Table, sender_id: str, all_sessions: bool) -> sa.sql.Select:
    """The stored events of conversation `sender_id`, in order: those of its latest session
    (from its last `session_started` on, or all if it has none), or of every session."""
    query = sa.select(events.c.data).where(events.c.sender_id == sender_id)
    if not all_sessions:
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(
                events.c.sender_id == sender_id,
                events.c.type_name == SessionStarted.type_name,
            )
            .scalar_subquery()
        )
        query = query.where(sa.or_(events.c.timestamp >= session_start, session_start.is_(None)))
    return query.order_by(events.c.id)


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """The `events` row of one event, as Rasa's `SQLTrackerStore.save` writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _pooled_sqlite(engine: sa.engine.Engine) -> sa.engine.Engine:
    """The same SQLite database behind a connection pool, in WAL mode with NORMAL sync.

    SQLAlchemy 1.4 opens a new connection to a SQLite file for every unit of work (NullPool),
    and Rasa's engine keeps SQLite's rollback journal with a full sync, so every save waited
    for several fsyncs. The project's own databases already run in WAL mode
    (`sqlsupport.database`); the tracker store now does as well, on a pool.
    """
    url = engine.url
    engine.dispose()
    pooled = sa.create_engine(url, poolclass=QueuePool, connect_args=sqlite_connect_args())
    configure_sqlite_engine(pooled)
    return pooled


def _mark_stored(tracker: DialogueStateTracker) -> None:
    setattr(tracker, STORED_EVENTS, len(tracker.events))


def ensure_schema_or_exit(session: Session) -> None:
    """Rasa's check that the `POSTGRESQL_SCHEMA` schema exists, with Rasa's exit if not."""
    try:
        rasa_tracker_store.ensure_schema_exists(session)
    except ValueError as missing:
        rasa.shared.utils.cli.print_error_and_exit(
            f"Requested PostgreSQL schema '{missing}' was not found in the database. To "
            f"continue, please create the schema by running 'CREATE DATABASE {missing};' "
            f"or unset the '{POSTGRESQL_SCHEMA}' environment variable in order to "
            f"use the default schema. Exiting application."
        )


_rasa_create_tracker_store = Agent._create_tracker_store


def create_tracker_store(store: TrackerStore | None, domain: Domain) -> Any:
    """`Agent._create_tracker_store`, leaving a `GuardedSQLTrackerStore` unwrapped."""
    if isinstance(store, GuardedSQLTrackerStore):
        store.domain = domain
        return store
    return _rasa_create_tracker_store(store, domain)


def install_direct_tracker_store() -> bool:
    """Lets `GuardedSQLTrackerStore` errors fail the turn (see the module doc) if Rasa is the
    version this was written for; returns whether it did."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    Agent._create_tracker_store = staticmethod(create_tracker_store)
    return True
