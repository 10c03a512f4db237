"""Fixtures for the action tests: real settings, a real SQLite app database, and trackers
exactly as Rasa sends them.

Trackers are built with Rasa's own `DialogueStateTracker` from Rasa events and serialised the
way Rasa's `RemoteAction` does (`current_state(EventVerbosity.ALL)`, through JSON), then loaded
with rasa-sdk's `Tracker.from_dict`. So slots, `latest_message`, `active_loop` and the event
dicts have the shapes the action server really receives, and the domain is
`Domain.as_dict()` of domain.yml, as Rasa posts it.

Typical use::

    conversation = Conversation().user("where is my order?", "check_order_status")
    tracker = conversation.form_tracker("order_form", order_number="ORD-100002")
    events, messages = await run_action(ValidateOrderForm(), tracker)
    conversation.ran("order_form", events, messages)  # what Rasa records afterwards
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff.delivery import desk_client
from actions.handoff.routing import load_router
from actions.settings import PROJECT_ROOT, Settings, get_settings
from actions.store.database import Database, get_database, utcnow
from actions.store.seed import seed_demo_data
from actions.wiring import handoff_services
from harness.recording_endpoint import RecordingEndpoint

# Sanic (imported by rasa-sdk) turns DeprecationWarnings back on for the whole process when it
# is imported, undoing pyproject's "ignore::DeprecationWarning" for the rest of the collection
# (TensorFlow's import-time deprecations then fill the report). Keep the project's policy.
warnings.filterwarnings("ignore", category=DeprecationWarning)

DOMAIN_PATH = PROJECT_ROOT / "domain.yml"
TREES_PATH = PROJECT_ROOT / "content" / "troubleshooting_trees.yml"
ROUTING_PATH = PROJECT_ROOT / "content" / "handoff_routing.yml"

SENDER_ID = "5b0f7c1e-2d4a-4e8b-9c3f-7a1d2e3f4b5c"
CHANNEL = "rest"
#: 2025-11-24T09:00:00Z: when every test conversation starts.
T0 = 1_763_974_800.0
ACTION_SERVER_TOKEN = "test-action-server-token"
#: Nothing listens on the discard port, so a handoff sent there is never delivered.
UNREACHABLE_HANDOFF_URL = "http://127.0.0.1:9/api/handoffs"
DEFAULT_HANDOFF_SECRET = "test-handoff-secret"


# --- The domain -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def rasa_domain() -> Domain:
    """domain.yml as Rasa loads it (Rasa 3.6 warns about slot auto-fill on every load)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return Domain.load(DOMAIN_PATH)


def domain_dict() -> DomainDict:
    """The domain as Rasa posts it to the action server: `Domain.as_dict()`, through JSON."""
    loaded: DomainDict = json.loads(json.dumps(rasa_domain().as_dict()))
    return loaded


@pytest.fixture
def domain() -> DomainDict:
    """A fresh copy of the posted domain."""
    return domain_dict()


# --- The actions the action server registers ------------------------------------------------


def registered_actions() -> dict[str, Action]:
    """The actions `rasa run actions --actions actions` serves, by name.

    rasa-sdk's `ActionExecutor.register_package` imports the package, then registers every
    concrete `Action` subclass loaded in the process; subclasses defined by tests are left out.
    """
    executor = ActionExecutor()
    executor.register_package("actions")
    served: dict[str, Action] = {}
    for name, run in executor.actions.items():
        action = getattr(run, "__self__", None)
        module = type(action).__module__
        if isinstance(action, Action) and (module == "actions" or module.startswith("actions.")):
            served[name] = action
    return served


# --- Trackers --------------------------------------------------------------------------------


class ActionResult(NamedTuple):
    """What an action returned and what it sent to the customer."""

    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]


def _bot_event(message: Mapping[str, Any]) -> BotUttered:
    """The `BotUttered` Rasa records for one dispatched message."""
    data = {key: value for key, value in message.items() if key != "text" and value}
    return BotUttered(text=message.get("text"), data=data)


class Conversation:
    """A conversation as Rasa's tracker records it, built event by event.

    Every event gets a timestamp from a clock that starts at `T0` and only moves forward
    (`pause` seconds before a customer message, a tenth of a second otherwise), so times
    are realistic and reproducible.
    """

    def __init__(self, sender_id: str = SENDER_ID, channel: str = CHANNEL) -> None:
        self.sender_id = sender_id
        self.channel = channel
        self._events: list[Event] = []
        self._clock = T0
        self._messages = 0
        self._add(
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
        )

    # --- Building -------------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        """The Rasa events so far."""
        return list(self._events)

    def _add(self, *events: Event, pause: float = 0.1) -> None:
        for event in events:
            self._clock += pause
            event.timestamp = self._clock
            self._events.append(event)

    def user(
        self,
        text: str,
        intent: str = "inform",
        *,
        confidence: float = 0.95,
        entities: Sequence[Mapping[str, Any]] = (),
        input_guard: str | None = None,
        pause: float = 8.0,
    ) -> Conversation:
        """The customer sends a message (Rasa listened for it first)."""
        last = self._events[-1]
        if not (isinstance(last, ActionExecuted) and last.action_name == "action_listen"):
            self._add(ActionExecuted("action_listen"))
        self._messages += 1
        message_id = f"{self.sender_id[:8]}-{self._messages}"
        intent_data = {"name": intent, "confidence": confidence}
        parse_data: dict[str, Any] = {
            "intent": intent_data,
            "entities": [dict(entity) for entity in entities],
            "text": text,
            "message_id": message_id,
            "metadata": {},
            "intent_ranking": [intent_data],
        }
        if input_guard is not None:
            parse_data["input_guard"] = {"reason": input_guard}
        self._add(
            UserUttered(
                text,
                intent=intent_data,
                entities=parse_data["entities"],
                parse_data=parse_data,
                input_channel=self.channel,
                message_id=message_id,
            ),
            pause=pause,
        )
        return self

    def press(self, payload: str) -> Conversation:
        """The customer presses a button whose payload is an intent, e.g. "/deny"."""
        return self.user(payload, payload.removeprefix("/"), confidence=1.0, pause=3.0)

    def bot(self, text: str, *, buttons: Sequence[Mapping[str, str]] = ()) -> Conversation:
        """The bot says something."""
        data = {"buttons": [dict(button) for button in buttons]} if buttons else {}
        self._add(BotUttered(text=text, data=data))
        return self

    def slots(self, **values: Any) -> Conversation:
        """Slots set (as an earlier action or Rasa's slot extraction would)."""
        self._add(*(SlotSet(name, value) for name, value in values.items()))
        return self

    def form(self, name: str, requested_slot: str | None) -> Conversation:
        """A form runs, becomes the active loop and asks for `requested_slot`."""
        self._add(ActionExecuted(name), ActiveLoop(name), SlotSet("requested_slot", requested_slot))
        return self

    def ran(
        self,
        action_name: str,
        events: Sequence[Mapping[str, Any]] = (),
        messages: Sequence[Mapping[str, Any]] = (),
    ) -> Conversation:
        """Record an action the way Rasa does: executed, its messages, then its events."""
        recorded: list[Event] = [ActionExecuted(action_name)]
        recorded += [_bot_event(message) for message in messages]
        for raw in events:
            event = Event.from_parameters(dict(raw))
            if event is None:
                raise ValueError(f"Rasa does not know the event {raw!r}")
            recorded.append(event)
        self._add(*recorded)
        return self

    def record(self, action_name: str, result: ActionResult) -> Conversation:
        """`ran` for an `ActionResult`."""
        return self.ran(action_name, result.events, result.messages)

    # --- Sending --------------------------------------------------------------------------

    def tracker(self, *, extra: Sequence[Event] = ()) -> Tracker:
        """The tracker as Rasa posts it to the action server."""
        rasa_tracker = DialogueStateTracker.from_events(
            self.sender_id, [*self._events, *extra], slots=rasa_domain().slots
        )
        state = json.loads(json.dumps(rasa_tracker.current_state(EventVerbosity.ALL)))
        return Tracker.from_dict(state)

    def form_tracker(self, form: str, **candidates: Any) -> Tracker:
        """The temporary tracker a form sends to its validation action.

        As `FormAction._temporary_tracker` builds it: the requested slot (while this form is
        active), the form's execution, then the slot candidates extracted from the latest
        message.
        """
        rasa_tracker = DialogueStateTracker.from_events(
            self.sender_id, self._events, slots=rasa_domain().slots
        )
        requested = (
            rasa_tracker.get_slot("requested_slot")
            if rasa_tracker.active_loop_name == form
            else None
        )
        extra: list[Event] = [SlotSet("requested_slot", requested), ActionExecuted(form)]
        extra += [SlotSet(name, value) for name, value in candidates.items()]
        for offset, event in enumerate(extra, start=1):
            event.timestamp = self._clock + offset / 100
        return self.tracker(extra=extra)


def make_tracker(
    text: str | None = None,
    intent: str = "inform",
    *,
    slots: Mapping[str, Any] | None = None,
    entities: Sequence[Mapping[str, Any]] = (),
    active_loop: str | None = None,
    requested_slot: str | None = None,
    input_guard: str | None = None,
    history: Conversation | None = None,
) -> Tracker:
    """A tracker for one turn: earlier slots, an optional active form, the latest message."""
    conversation = history or Conversation()
    if slots:
        conversation.slots(**slots)
    if active_loop is not None:
        conversation.form(active_loop, requested_slot)
    if text is not None:
        conversation.user(text, intent, entities=entities, input_guard=input_guard)
    return conversation.tracker()


def entity(name: str, value: str, text: str) -> dict[str, Any]:
    """An extracted entity as the NLU pipeline reports it (found at `value` in `text`)."""
    start = text.index(value)
    return {
        "entity": name,
        "start": start,
        "end": start + len(value),
        "value": value,
        "extractor": "RegexEntityExtractor",
    }


async def run_action(action: Action, tracker: Tracker) -> ActionResult:
    """Run an action as the action server does; its events and dispatched messages."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain_dict())
    # The action server sends the events as JSON: check they survive that.
    sent = json.loads(json.dumps(events))
    return ActionResult(sent, copy.deepcopy(dispatcher.messages))


def slot_changes(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The slots the events set, by name (the last value wins)."""
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


def plain(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The events without their timestamps (rasa-sdk leaves them None), for comparing."""
    return [{key: value for key, value in event.items() if key != "timestamp"} for event in events]


def slot_event(name: str, value: Any) -> dict[str, Any]:
    """A `SlotSet` as `plain` shows it."""
    return {"event": "slot", "name": name, "value": value}


def texts(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The text of each dispatched message."""
    return [str(message.get("text")) for message in messages]


# --- Settings and the database ---------------------------------------------------------------


def _clear_caches() -> None:
    """Forget everything built from the settings (disposing the cached database)."""
    if get_database.cache_info().currsize:
        get_database().dispose()
    for cached in (get_settings, get_database, handoff_services, load_router, desk_client):
        cached.cache_clear()


SetEnv = Callable[..., None]


@pytest.fixture
async def set_env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SetEnv]:
    """Set environment variables and rebuild the settings (and what depends on them).

    The desk client's HTTP session belongs to this test's event loop: it is closed after.
    """

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        _clear_caches()

    _clear_caches()
    yield set_env
    if desk_client.cache_info().currsize:
        await desk_client().close()
    _clear_caches()


class FakeClock:
    """A UTC clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        """Start at `start`."""
        self.now = start

    def __call__(self) -> datetime:
        """The current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand, starting now."""
    return FakeClock(utcnow())


#: The secret the recording desk stand-in (`endpoint`) expects.
SECRET = "test-handoff-secret"


@pytest.fixture
async def endpoint() -> AsyncIterator[RecordingEndpoint]:
    """The desk, as a real HTTP server on an ephemeral loopback port."""
    async with RecordingEndpoint(secret=SECRET) as running:
        yield running


@pytest.fixture
def handoff_url() -> str:
    """Where handoffs go (nowhere, unless a test overrides this fixture)."""
    return UNREACHABLE_HANDOFF_URL


@pytest.fixture
def handoff_secret() -> str:
    """The Bearer secret for the desk."""
    return DEFAULT_HANDOFF_SECRET


@pytest.fixture
def app_database_url(tmp_path: Path) -> str:
    """A SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'var' / 'app.db'}"


@pytest.fixture
def trees_path() -> Path:
    """The troubleshooting tree file (the designers' one unless overridden)."""
    return TREES_PATH


@pytest.fixture
def action_env(
    set_env: SetEnv,
    handoff_url: str,
    handoff_secret: str,
    app_database_url: str,
    trees_path: Path,
) -> Settings:
    """Every setting the action server reads, set explicitly (a developer's .env is ignored)."""
    set_env(
        APP_DATABASE_URL=app_database_url,
        HANDOFF_URL=handoff_url,
        HANDOFF_SECRET=handoff_secret,
        HANDOFF_TIMEOUT_SECONDS="2",
        HANDOFF_ATTEMPTS="2",
        HANDOFF_BACKOFF_SECONDS="0.01",
        OUTBOX_INTERVAL_SECONDS="10",
        TROUBLESHOOTING_TREES=str(trees_path),
        HANDOFF_ROUTING=str(ROUTING_PATH),
        ACTION_SERVER_TOKEN=ACTION_SERVER_TOKEN,
    )
    return get_settings()


@pytest.fixture(scope="session")
def seeded_database_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest revision and holding the demo orders.

    Migrating takes a few hundred milliseconds (SQLite syncs every DDL statement to disk),
    so it is done once; every test gets its own copy of the file.
    """
    path = tmp_path_factory.mktemp("seeded") / "app.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    seed_demo_data(database)
    database.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def app_database(action_env: Settings, seeded_database_file: Path) -> Database:
    """The action server's database: migrated and holding the demo orders."""
    database = get_database()
    assert database.url.database is not None
    target = Path(database.url.database)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(seeded_database_file, target)
    return database
