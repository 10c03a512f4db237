"""One desk and one Rasa server in a single event loop, for the single-ownership property.

The desk is the real application (`desk.app.create_app`, a migrated SQLite database, agents
logged in over HTTP). The Rasa side is Rasa 3.6's own `MessageProcessor`, trackers, lock store,
default actions (`action_session_start`, `action_restart`, `action_back`) and HTTP-route code
(`rasa.server.update_conversation_with_events`, `MessageProcessor.execute_action`), with the
project's pause guards installed (`assistant.handoff_guard`). Only three things are scripted,
because a trained model and an action server cost ~100 ms a turn and the property needs
thousands of turns:

- NLU (`KEYWORDS`, and Rasa's own `/intent` parsing);
- the policy (`ScriptedProcessor.next_action_name`: a hand-over request hands over, anything
  else gets one reply);
- the action server's actions the desk relies on (`action_handoff` pauses and records the
  handoff, its delivery to the desk waits in `World.outbox`; `action_welcome_back`,
  `action_handoff_cancelled`, `action_ask_callback` answer).

The network between them is `Wire`: the desk's calls to Rasa (its real `RasaClient`, over HTTP
to `RasaRoutes` on loopback) and the two ways Rasa reaches the desk (the event broker's customer
messages, the action server's handoff delivery) are delivered when a test step says so. The
calls that give a conversation back or report a handoff (`resume`, `execute`,
`handoff-opened`) are held until released, so their order against everything else is part of
each interleaving. `World.settle` waits until nothing can move without a step.

`World.speeches` records every bot message the instant Rasa stores it, with whether the desk
had a person owning the conversation at that instant.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.core.actions.action import Action as RasaAction
from rasa.core.actions.action import ActionSessionStart, action_for_name_or_text
from rasa.core.brokers.broker import EventBroker
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import NaturalLanguageGenerator, TemplatedNaturalLanguageGenerator
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.server import update_conversation_with_events
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.data import TrainingType
from rasa.shared.nlu.training_data.message import Message
from sqlalchemy import select

from analytics.settings import AnalyticsSettings
from analytics.store.database import FactsDatabase
from assistant.handoff_guard import WITH_A_PERSON, confirm_open_handoff, install_pause_guards
from contract.bot_actions import ACTION_ASK_CALLBACK, ACTION_HANDOFF_CANCELLED, ACTION_WELCOME_BACK
from contract.conversation_events import EVENTS_PATH, conversation_event, desk_event
from contract.customer_status import NOTIFY_PATH
from contract.desk_notices import DESK_NOTICE_KEY
from contract.handoff_opened import HANDOFF_ID_SLOT, HANDOFF_OPENED_PATH, HandoffOpenedNotice
from contract.handoff_status import HandoffStatus
from contract.webchat import agent_of
from desk.api.runtime import ANALYTICS, BOT_SYNC, RASA, TASKS, WAITING_ROOM
from desk.app import create_app
from desk.services.agents import create_agent
from desk.settings import DeskSettings
from desk.store.database import Database
from desk.store.models import AgentRole, Handoff, HandoffEvent
from launcher.stack import PROJECT_ROOT
from tests.desk.conftest import HANDOFF_SECRET, PASSWORD, Browser, make_context

RASA_TOKEN: Final = "ownership-rasa-token"
QUEUE: Final = "order_support"
OTHER_QUEUE: Final = "tech_support_l2"
#: username -> (role, queues): two agents share the customer's queue, so two can try to own it.
AGENTS: Final[dict[str, tuple[AgentRole, tuple[str, ...]]]] = {
    "olivia": (AgentRole.AGENT, (QUEUE,)),
    "omar": (AgentRole.AGENT, (QUEUE,)),
    "leo": (AgentRole.AGENT, (OTHER_QUEUE,)),
    "sam": (AgentRole.SUPERVISOR, (QUEUE, OTHER_QUEUE)),
}
#: What the scripted NLU understands (anything else is `out_of_scope`).
KEYWORDS: Final[dict[str, str]] = {
    "hi": "greet",
    "restart": "start_over",
    "start again": "start_over",
    "never mind": "cancel",
    "agent": "request_human",
    "a person please": "request_human",
    "keep waiting": "keep_waiting",
    "leave a message": "leave_message",
    "where is my order": "check_order_status",
    "thanks": "thank",
}
#: What the scripted policy runs for an intent; a reply (`REPLY`) for any other.
ACTION_FOR_INTENT: Final[dict[str, str]] = {
    "request_human": "action_handoff",
    "restart": "action_restart",
    "start_over": "action_restart",
    "session_start": "action_session_start",
    "back": "action_back",
}
REPLY: Final = "action_scripted_reply"
#: The events that say whose turn it is: the customer's message, or an action.
_TURN_EVENTS: Final = (UserUttered, ActionExecuted)
#: Desk → Rasa calls that are held until a step releases them (the ones that change who has
#: the conversation: a hand-back's `resume`, the action it runs, a report of an open handoff).
HELD_KINDS: Final = frozenset({"resume", "execute", "handoff_opened"})
SETTLE_SECONDS: Final = 20.0


# --- Rasa's side -----------------------------------------------------------------------------


class Answer(RasaAction):
    """An action-server action the desk runs, standing in with one bot message."""

    def __init__(self, action_name: str, text: str) -> None:
        self._name = action_name
        self.text = text

    def name(self) -> str:
        return self._name

    async def run(
        self,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> list[Event]:
        return [BotUttered(text=self.text, metadata={"action": self._name})]


class HandOver(RasaAction):
    """`action_handoff`: record the handoff, tell the customer, pause; the delivery of its
    context to the desk waits in the outbox (the action server's outbox relay)."""

    def __init__(self, outbox: list[dict[str, Any]]) -> None:
        self.outbox = outbox

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> list[Event]:
        handoff_id = str(uuid.uuid4())
        self.outbox.append(
            make_context(queue=QUEUE, sender_id=tracker.sender_id, handoff_id=handoff_id)
        )
        return [
            SlotSet(HANDOFF_ID_SLOT, handoff_id),
            BotUttered(text="I'm passing you to Order Support now.", metadata={"handoff": True}),
            ConversationPaused(),
        ]


class ScriptedProcessor(MessageProcessor):
    """Rasa's `MessageProcessor` without a model: keyword NLU and a one-step policy.

    Everything else (logging the message, sessions, the prediction loop and the pause guards
    wrapped around it, running actions, saving and streaming events) is Rasa's code.
    """

    def __init__(
        self,
        domain: Domain,
        tracker_store: InMemoryTrackerStore,
        lock_store: InMemoryLockStore,
        outbox: list[dict[str, Any]],
    ) -> None:
        # No super().__init__: it loads a trained model, which is what this stands in for.
        self.nlg = TemplatedNaturalLanguageGenerator(domain.responses)
        self.tracker_store = tracker_store
        self.lock_store = lock_store
        self.max_number_of_predictions = 10
        self.on_circuit_break = None
        self.action_endpoint = None
        self.http_interpreter = None
        self.domain = domain
        self.model_filename = "scripted"
        self.model_path = Path("scripted")
        self.graph_runner = None
        self.model_metadata = _ScriptedMetadata(domain)
        self.custom: dict[str, RasaAction] = {
            "action_handoff": HandOver(outbox),
            ACTION_WELCOME_BACK: Answer(ACTION_WELCOME_BACK, "Welcome back! How would you rate"),
            ACTION_HANDOFF_CANCELLED: Answer(ACTION_HANDOFF_CANCELLED, "OK, no person then."),
            ACTION_ASK_CALLBACK: Answer(ACTION_ASK_CALLBACK, "What message shall I pass on?"),
            REPLY: Answer(REPLY, "Here is the bot's answer."),
        }

    def _parse_message_with_graph(
        self,
        message: UserMessage,
        tracker: DialogueStateTracker,
        only_output_properties: bool = True,
    ) -> dict[str, Any]:
        text = message.text or ""
        unpacked = YAMLStoryReader.unpack_regex_message(Message(data={"text": text}), self.domain)
        intent = unpacked.get("intent") or {}
        name = intent.get("name") if intent else KEYWORDS.get(text.strip().lower(), "out_of_scope")
        return {"text": text, "intent": {"name": name, "confidence": 1.0}, "entities": []}

    def predict_next_with_tracker_if_should(
        self, tracker: DialogueStateTracker
    ) -> tuple[RasaAction, PolicyPrediction]:
        name = self.next_action_name(tracker)
        action = self._get_action(name)
        assert action is not None
        return action, PolicyPrediction.for_action_name(self.domain, "action_listen", "scripted")

    def next_action_name(self, tracker: DialogueStateTracker) -> str:
        """After the customer's message, the intent's action; after that, listen."""
        kinds = [type(event) for event in tracker.events if type(event) in _TURN_EVENTS]
        if not kinds or kinds[-1] is not UserUttered:
            return "action_listen"
        message = tracker.latest_message
        intent = message.intent.get("name") if message is not None else None
        return ACTION_FOR_INTENT.get(str(intent), REPLY)

    def _get_action(self, action_name: str) -> RasaAction | None:
        if action_name in self.custom:
            return self.custom[action_name]
        return action_for_name_or_text(action_name, self.domain, None)

    async def run_anonymization_pipeline(self, tracker: DialogueStateTracker) -> None:
        """No anonymization pipeline is configured (as in the project's server)."""


@dataclass
class _ScriptedMetadata:
    domain: Domain
    model_id: str = "scripted"
    assistant_id: str = "ownership"
    training_type: TrainingType = TrainingType.BOTH


@dataclass(frozen=True)
class Speech:
    """A bot message Rasa stored, and who owned the conversation at the desk at that moment."""

    sender_id: str
    text: str
    owner_id: int | None


class WatchingBroker(EventBroker):
    """Rasa's event broker: what the desk is sent (`contract.conversation_events.desk_event`,
    as `DeskEventBroker` sends it) waits in `pending`; each bot message is checked against the
    desk's database the moment it is stored."""

    def __init__(self, owner_of: Callable[[str], int | None]) -> None:
        self.owner_of = owner_of
        self.pending: list[dict[str, Any]] = []
        self.speeches: list[Speech] = []

    def publish(self, event: dict[str, Any]) -> None:
        sender_id = str(event.get("sender_id"))
        forwarded = desk_event(event)
        if forwarded is not None:
            self.pending.append(conversation_event(sender_id, forwarded))
        if event.get("event") == "bot" and is_the_bots_own(event):
            self.speeches.append(
                Speech(sender_id, str(event.get("text")), self.owner_of(sender_id))
            )

    def is_ready(self) -> bool:
        return True


def is_the_bots_own(event: dict[str, Any]) -> bool:
    """Whether a `bot` event is the bot speaking for itself: not an agent's message, not one of
    the desk's notices (queue place, agent joined or left, the wait choice), and not the pause
    guard's one answer to a restart request ("you're with our support team")."""
    metadata = event.get("metadata") or {}
    if agent_of(metadata) is not None or DESK_NOTICE_KEY in metadata:
        return False
    return event.get("text") != WITH_A_PERSON


class RasaSide:
    """The Rasa server's conversation machinery (see the module doc)."""

    def __init__(self, domain: Domain, owner_of: Callable[[str], int | None]) -> None:
        self.domain = domain
        self.broker = WatchingBroker(owner_of)
        self.tracker_store = InMemoryTrackerStore(domain, event_broker=self.broker)
        self.lock_store = InMemoryLockStore()
        self.outbox: list[dict[str, Any]] = []
        self.processor = ScriptedProcessor(domain, self.tracker_store, self.lock_store, self.outbox)

    async def customer_says(self, sender_id: str, text: str) -> list[str]:
        """A message on the web chat, handled as `rasa.core.agent.Agent.handle_message` does
        (under the conversation's lock); the bot's replies."""
        output = CollectingOutputChannel()
        async with self.lock_store.lock(sender_id):
            await self.processor.handle_message(
                UserMessage(text, output, sender_id, input_channel="socketio")
            )
        return [str(message.get("text")) for message in output.messages]

    async def tracker(self, sender_id: str) -> DialogueStateTracker:
        return await self.processor.get_tracker(sender_id)

    async def append(self, sender_id: str, events: list[dict[str, Any]], side_effects: bool) -> Any:
        """`POST /conversations/{id}/tracker/events`, as `rasa.server.append_events` runs it."""
        async with self.lock_store.lock(sender_id):
            parsed = [Event.from_parameters(event) for event in events]
            parsed = [event for event in parsed if event]
            tracker = await update_conversation_with_events(
                sender_id, self.processor, self.domain, parsed
            )
            if side_effects:
                await self.processor.execute_side_effects(
                    parsed, tracker, CollectingOutputChannel()
                )
            await self.tracker_store.save(tracker)
        return tracker.current_state(EventVerbosity.AFTER_RESTART)

    async def execute(self, sender_id: str, action_name: str) -> Any:
        """`POST /conversations/{id}/execute`, as `rasa.server.execute_action` runs it."""
        output = CollectingOutputChannel()
        async with self.lock_store.lock(sender_id):
            await self.processor.fetch_tracker_and_update_session(sender_id)
            tracker = await self.processor.execute_action(
                sender_id,
                action_name,
                output,
                self.processor.nlg,
                PolicyPrediction.for_action_name(self.domain, action_name),
            )
        assert tracker is not None
        state = tracker.current_state(EventVerbosity.AFTER_RESTART)
        return {"tracker": state, "messages": output.messages}


class RasaRoutes:
    """The Rasa server's HTTP routes the desk calls, on loopback, each calling `RasaSide`."""

    def __init__(self, rasa: RasaSide) -> None:
        self.rasa = rasa
        self.notices: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_get("/conversations/{sender_id}/tracker", self._tracker)
        app.router.add_post("/conversations/{sender_id}/tracker/events", self._events)
        app.router.add_post("/conversations/{sender_id}/execute", self._execute)
        app.router.add_post(NOTIFY_PATH, self._notify)
        app.router.add_post(HANDOFF_OPENED_PATH, self._handoff_opened)
        self.server = TestServer(app)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def _authorized(self, request: web.Request) -> bool:
        bearer = request.headers.get("Authorization") == f"Bearer {RASA_TOKEN}"
        return bearer or request.query.get("token") == RASA_TOKEN

    async def _tracker(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"message": "wrong token"}, status=401)
        tracker = await self.rasa.processor.fetch_full_tracker_with_initial_session(
            request.match_info["sender_id"], output_channel=CollectingOutputChannel()
        )
        return web.json_response(tracker.current_state(EventVerbosity.AFTER_RESTART))

    async def _events(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"message": "wrong token"}, status=401)
        body = await request.json()
        side_effects = request.query.get("execute_side_effects") == "true"
        state = await self.rasa.append(request.match_info["sender_id"], body, side_effects)
        return web.json_response(state)

    async def _execute(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"message": "wrong token"}, status=401)
        body = await request.json()
        answer = await self.rasa.execute(request.match_info["sender_id"], body["name"])
        return web.json_response(answer)

    async def _notify(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "wrong token"}, status=401)
        self.notices.append(await request.json())
        return web.json_response({"status": "accepted"}, status=202)

    async def _handoff_opened(self, request: web.Request) -> web.Response:
        """As the web chat channel's route: `confirm_open_handoff` under the lock."""
        if not self._authorized(request):
            return web.json_response({"error": "wrong token"}, status=401)
        notice = HandoffOpenedNotice.parse_obj(await request.json())
        changed = await confirm_open_handoff(_AgentView(self.rasa), None, notice)
        return web.json_response({"changed": changed})


@dataclass(frozen=True)
class _AgentView:
    """What `confirm_open_handoff` uses of `rasa.core.agent.Agent`."""

    rasa: RasaSide

    @property
    def processor(self) -> MessageProcessor:
        return self.rasa.processor

    @property
    def lock_store(self) -> InMemoryLockStore:
        return self.rasa.lock_store


# --- The wire between them -------------------------------------------------------------------


@dataclass
class HeldCall:
    """A desk → Rasa call waiting to be let through."""

    kind: str
    sender_id: str
    task: asyncio.Task[Any] | None
    release: asyncio.Future[None]


@dataclass
class Wire:
    """Holds the desk's calls of `HELD_KINDS` to Rasa until `release` lets one through."""

    held: list[HeldCall] = field(default_factory=list)

    def wrap(self, request: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """`RasaClient._request`, held first when the call is of a held kind."""

        async def held_request(method: str, url: str, **kwargs: Any) -> Any:
            kind = call_kind(url, kwargs.get("json"))
            if kind in HELD_KINDS:
                release = asyncio.get_running_loop().create_future()
                call = HeldCall(kind, url, asyncio.current_task(), release)
                self.held.append(call)
                await release
            return await request(method, url, **kwargs)

        return held_request

    def release(self, index: int) -> HeldCall:
        call = self.held.pop(index % len(self.held))
        call.release.set_result(None)
        return call

    def blocked_tasks(self) -> set[asyncio.Task[Any]]:
        return {call.task for call in self.held if call.task is not None}


def call_kind(url: str, body: Any) -> str:
    """Which desk → Rasa call a request is."""
    if url.endswith(HANDOFF_OPENED_PATH):
        return "handoff_opened"
    if url.endswith(NOTIFY_PATH):
        return "notify"
    if url.endswith("/execute"):
        return "execute"
    if url.endswith("/tracker/events"):
        events = body if isinstance(body, list) else []
        return "resume" if any(e.get("event") == "resume" for e in events) else "events"
    return "tracker"


# --- The world -------------------------------------------------------------------------------


class World:
    """The desk, the Rasa side, the wire, and the agents' browsers (see the module doc)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.database_url = f"sqlite:///{root / 'desk.db'}"
        self.database = Database(self.database_url)
        self.wire = Wire()
        self.rasa = RasaSide(Domain.load(str(PROJECT_ROOT / "domain.yml")), self.owner_of)
        self.routes = RasaRoutes(self.rasa)
        self.agent_ids: dict[str, int] = {}
        self.browsers: dict[str, Browser] = {}
        self.bot: Browser | None = None
        self.server: TestServer | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._senders = itertools.count(1)

    # --- Set-up ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.database.migrate()
        with self.database.session(write=True) as session:
            for username, (role, queues) in AGENTS.items():
                agent = create_agent(
                    session,
                    username=username,
                    display_name=username.title(),
                    password=PASSWORD,
                    role=role,
                    queues=queues,
                )
                self.agent_ids[username] = agent.id
        await self.routes.server.start_server()
        settings = DeskSettings(
            database_url=self.database_url,
            handoff_secret=HANDOFF_SECRET,
            rasa_auth_token=RASA_TOKEN,
            rasa_url=self.routes.url,
            rasa_timeout_seconds=SETTLE_SECONDS,
            # Every queued customer is due the wait choice at each time-out step.
            claim_timeout_seconds=0.001,
        )
        facts = FactsDatabase(f"sqlite:///{self.root / 'analytics.db'}")
        facts.migrate()
        facts.dispose()
        analytics = AnalyticsSettings(
            database_url=f"sqlite:///{self.root / 'analytics.db'}",
            tracker_store_url=f"sqlite:///{self.root / 'tracker.db'}",
            desk_database_url=self.database_url,
            timezone="Europe/London",
        )
        app = create_app(settings, analytics=analytics)
        app.middlewares.append(self._track_handlers)
        rasa_client = app[RASA]
        rasa_client._request = self.wire.wrap(rasa_client._request)  # type: ignore[method-assign,assignment]
        self.app = app
        self.server = TestServer(app)
        await self.server.start_server()
        # Time passes only in steps: the periodic checks run when a step runs them.
        await app[WAITING_ROOM].stop()
        await app[BOT_SYNC].stop()
        await app[ANALYTICS].timer.stop()
        self.bot = Browser(self.server, {"Authorization": f"Bearer {HANDOFF_SECRET}"})
        for username in AGENTS:
            self.browsers[username] = await Browser(self.server).login(username)

    async def close(self) -> None:
        for browser in [*self.browsers.values(), *([self.bot] if self.bot else [])]:
            await browser.close()
        if self.server is not None:
            await self.server.close()
        await self.routes.server.close()
        self.database.dispose()

    @web.middleware
    async def _track_handlers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            return await handler(request)
        finally:
            self._handlers.discard(task)

    def new_sender(self) -> str:
        return f"web-ownership-{next(self._senders)}-{uuid.uuid4().hex[:8]}"

    # --- Reading the desk ----------------------------------------------------------------------

    def owner_of(self, sender_id: str) -> int | None:
        """The agent who owns the conversation at the desk right now (a claimed handoff)."""
        with self.database.session() as session:
            statement = select(Handoff.agent_id).where(
                Handoff.sender_id == sender_id, Handoff.status == HandoffStatus.CLAIMED.value
            )
            owners = list(session.scalars(statement))
        assert len(owners) <= 1, f"{sender_id} is claimed by {owners}"
        return owners[0] if owners else None

    def handoffs_of(self, sender_id: str) -> list[dict[str, Any]]:
        """The conversation's handoffs, oldest first, each with its history."""
        return handoffs_of(self.database, sender_id)

    # --- Waiting for quiet ---------------------------------------------------------------------

    def quiet(self, pending: set[asyncio.Task[Any]]) -> bool:
        """Nothing can move without a step: every desk request and background task is held on
        the wire, and each pending client request is one of those desk requests."""
        blocked = self.wire.blocked_tasks()
        background = {task for task in self.app[TASKS]._tasks if not task.done()}
        running = {task for task in pending if not task.done()}
        return (
            self._handlers <= blocked
            and background <= blocked
            and len(running) == len(self._handlers)
        )

    async def settle(self, pending: set[asyncio.Task[Any]]) -> None:
        """Let everything run until `quiet` (polled, with a deadline)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        await asyncio.sleep(0)
        while not self.quiet(pending):
            if loop.time() > deadline:
                raise AssertionError(
                    f"the system did not settle within {SETTLE_SECONDS}s: "
                    f"{len(self._handlers)} desk requests, held {self.wire.held}"
                )
            await asyncio.sleep(0.001)  # poll interval, bounded by the deadline
        for task in [task for task in pending if task.done()]:
            pending.discard(task)
            task.result()  # a failed request fails the run

    async def settle_all(self, pending: set[asyncio.Task[Any]]) -> None:
        """`settle`, then wait for the pending requests to finish (nothing is held any more)."""
        await self.settle(pending)
        if pending:
            await asyncio.wait(pending, timeout=SETTLE_SECONDS)
            await self.settle(pending)

    # --- What the Rasa side sends the desk ------------------------------------------------------

    async def forward_customer_event(self) -> int | None:
        """The event broker delivers the oldest customer message it holds; the desk's status."""
        if not self.rasa.broker.pending:
            return None
        body = self.rasa.broker.pending.pop(0)
        assert self.bot is not None
        status, answer = await self.bot.post(EVENTS_PATH, data=json.dumps(body), headers=_JSON)
        assert status == 202, answer
        return status

    async def deliver_handoff(self) -> int | None:
        """The action server's outbox delivers the oldest handoff context it holds."""
        if not self.rasa.outbox:
            return None
        payload = self.rasa.outbox.pop(0)
        assert self.bot is not None
        status, answer = await self.bot.post(
            "/api/handoffs", json=payload, headers={"Idempotency-Key": payload["handoff_id"]}
        )
        assert status in (200, 201), answer
        return status

    async def check_waiting_room(self) -> None:
        """The claim time-out passes: the waiting room's periodic check runs."""
        await self.app[WAITING_ROOM].check()

    async def hour_of_silence(self, sender_id: str) -> None:
        """Make the customer's last message an hour old (longer than `session_expiration_time`),
        as `tests/e2e/test_single_ownership.went_silent` does, through the append route."""
        old = {
            "event": "user",
            "text": "(earlier)",
            "parse_data": {"intent": {"name": "greet", "confidence": 1.0}, "entities": []},
            "timestamp": time.time() - 63 * 60,
        }
        await self.rasa.append(sender_id, [old], side_effects=False)


_JSON: Final = {"Content-Type": "application/json"}


# --- The properties, read from the desk's records ------------------------------------------------


def handoffs_of(database: Database, sender_id: str) -> list[dict[str, Any]]:
    """A conversation's handoffs, oldest first: id, status, owner and history (each entry's
    kind, acting agent and time, as epoch seconds)."""
    with database.session() as session:
        rows = session.scalars(
            select(Handoff).where(Handoff.sender_id == sender_id).order_by(Handoff.queued_at)
        )
        found = []
        for row in rows:
            history = session.scalars(
                select(HandoffEvent)
                .where(HandoffEvent.handoff_id == row.handoff_id)
                .order_by(HandoffEvent.occurred_at, HandoffEvent.id)
            )
            found.append(
                {
                    "handoff_id": row.handoff_id,
                    "status": row.status,
                    "agent_id": row.agent_id,
                    "history": [(e.kind, e.actor_agent_id, _epoch(e.occurred_at)) for e in history],
                }
            )
        return found


def ownerships(handoffs: list[dict[str, Any]]) -> list[tuple[int, float, float]]:
    """Who owned the conversation when: (agent, from, until) from each claim to the transfer or
    resolve that ended it (until the end of time for one still claimed).

    Raises AssertionError when a handoff is claimed again while still owned: two owners.
    """
    owned: list[tuple[int, float, float]] = []
    for handoff in handoffs:
        owner: tuple[int, float] | None = None
        for kind, actor, at in handoff["history"]:
            if kind == "claimed":
                assert owner is None, f"claimed by {owner[0]}, then by {actor}: {handoff}"
                owner = (actor, at)
            elif kind in ("transferred", "resolved") and owner is not None:
                owned.append((owner[0], owner[1], at))
                owner = None
        if owner is not None:
            owned.append((owner[0], owner[1], float("inf")))
    owned.sort(key=lambda period: period[1])
    for before, after in itertools.pairwise(owned):
        assert before[2] <= after[1], f"two agents owned the conversation at once: {owned}"
    return owned


def _epoch(moment: datetime) -> float:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.timestamp()


@contextmanager
def rasa_as_served() -> Iterator[None]:
    """The Rasa server's pause guards, as `python -m assistant` installs them, and its logging
    at WARNING (Rasa's debug lines, printed per event, would cost more than the turns); Rasa's
    own methods and the logging set-up are put back afterwards, so other tests see them
    unchanged."""
    loop_before = MessageProcessor._run_prediction_loop
    session_start_before = ActionSessionStart.run
    execute_before = MessageProcessor.execute_action
    structlog_before = structlog.get_config()
    rasa_logger = logging.getLogger("rasa")
    level_before = rasa_logger.level
    assert install_pause_guards(), "the guards are written for Rasa 3.6.21"
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    rasa_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        MessageProcessor._run_prediction_loop = loop_before
        ActionSessionStart.run = session_start_before
        MessageProcessor.execute_action = execute_before  # type: ignore[method-assign]
        structlog.configure(**structlog_before)
        rasa_logger.setLevel(level_before)
