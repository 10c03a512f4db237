"""The desk's speed: a live handoff timed at both ends, the customer's page and the agent console.

System
------
An isolated copy of the system like the turn benchmarks' (free loopback ports, a fresh SQLite
app database and tracker store, random secrets, telemetry off, the same model), but with the
real desk (`python -m desk`, its own migrated SQLite database seeded with the demo agents) in
place of the recording endpoint: the action server delivers handoffs to it (HANDOFF_URL), the
Rasa server's event broker and web chat reach it (DESK_URL), and it reaches Rasa (RASA_URL).

Clients
-------
Both run in this process, on one asyncio event loop, and both timestamp what arrives with
`time.perf_counter()` the moment it is read off the connection; every t0 is `perf_counter()`
in the same process, so t1 - t0 needs no clock synchronisation.

- The customer: `harness.chat_client.ChatClient`, python-socketio's client over
  long-polling (the only transport Rasa 3.6 serves) at the Rasa server's base URL, speaking
  Rasa's socket.io protocol like the web chat page. A message reaches it when its pending
  long-poll returns, as in a browser.
- The agent: Olivia (order support) logged in to the desk (`POST /api/login`, session cookie),
  with the console's websocket `GET /api/live` open for the whole run, so the desk counts her
  as online (with nobody online, a queued customer is offered "keep waiting / leave a message",
  which would add work and noise). A task reads the websocket continuously.

A round (each one a new conversation, a new session id)
-------------------------------------------------------
1. The customer connects and joins the session (`session_request` -> `session_confirm`).
2. Handoff -> console. t0 = `perf_counter()` just before the customer emits `user_uttered`
   "where is my order ORD-100005?" (a delayed order: Rasa runs the order form and
   `action_order_status` on the action server, then `action_handoff`, which stores the
   HandoffContext in the outbox and POSTs it to the desk; the desk validates it, queues it in
   order_support and pushes `queue_changed`). On the arrival of `queue_changed` (change
   "queued", queue order_support) on Olivia's websocket, the benchmark does what the console
   page does on that message: `GET /api/queues`. t1 = `perf_counter()` once that answer is
   read and lists the handoff (were it not listed yet, the GET is repeated, the time includes
   the repeats, and the repeats are counted). Target: p95 <= 250 ms. The arrival of
   `queue_changed` alone (t1 = its arrival) is reported too, for information.
   The round goes on once the customer's page has shown the bot's handoff message and the
   desk's `waiting` status.
3. Olivia claims the handoff (`POST /api/handoffs/{id}/claim`); the claim's answer names the
   conversation, which checks that the handoff is this round's. The round goes on once the
   page has shown `agent_joined`.
4. Agent -> customer. t0 = `perf_counter()` just before Olivia's
   `POST /api/handoffs/{id}/messages` {"text": ...} (a text unique to the round); t1 = the
   arrival on the customer's page of the `bot_uttered` with that text (the desk appends it to
   Rasa's tracker as a `bot` event, which Rasa sends to the customer's socket.io room). The
   POST's answer (201) is awaited and checked after t1, outside the measure. Target: p95
   <= 100 ms.
5. Hand-back -> bot. t0 = `perf_counter()` just before Olivia's
   `POST /api/handoffs/{id}/resolve` {"disposition": "resolved", "slots": {}}; t1 = the arrival
   on the customer's page of the bot's "Welcome back..." `bot_uttered` (the desk tells the page
   `agent_left`, appends `resume` to the tracker and executes `action_welcome_back` on the
   action server through Rasa). The answer (handed_back true) is checked after t1, and the
   round ends once the page has shown `back_with_bot`. Target: p95 <= 300 ms.
6. The customer disconnects.

Each step starts as soon as the previous one has shown its effect, like an agent who claims
and answers at once. Work Rasa and the desk do in the background after answering (the event
broker forwarding the turn's events to the desk, the desk re-telling queue positions after a
claim) may therefore overlap the next step; nothing waits for it to end, since nothing a
client sees shows when it has.

`--desk-warmup` rounds (default 3) are run first and thrown away (the first handoffs warm
TensorFlow's graphs, the desk's and Rasa's connection pools); then `--desk-rounds` rounds
(default 40), one after the other. Every wait is on a message, with a timeout; a timeout or
an unexpected answer stops the benchmark with the step that failed.

Reading the numbers
-------------------
The targets are on p95: a tail an agent or a customer would notice. Both clients share this
process's event loop, so t1 includes the moment the loop takes to read an arriving message;
one round runs at a time, so the loop has little else to do. The other processes' share of
the CPUs during the measured rounds is reported as for the turns (see benchmarks/run.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import aiohttp
import socketio

from benchmarks.turns import UnexpectedBehaviour
from contract.customer_status import STATUS_EVENT, CustomerStatus
from contract.webchat import agent_line
from harness.chat_client import ChatClient, NothingArrived

T = TypeVar("T")
U = TypeVar("U")

#: A delayed order: the bot looks it up, then hands the conversation to order_support.
HANDOFF_MESSAGE: Final = "where is my order ORD-100005?"
HANDOFF_QUEUE: Final = "order_support"
#: A fragment of the bot's last message of the handoff turn (the team taking over).
HANDOFF_REPLY: Final = "order support team"
AGENT_USERNAME: Final = "olivia"
#: The start of the bot's first message after the hand-back (`action_welcome_back`).
WELCOME_BACK: Final = "Welcome back"
#: How long any single step may take before the benchmark gives up (a noisy machine, not a
#: target: the targets are hundreds of milliseconds).
STEP_TIMEOUT_SECONDS: Final = 30.0


@dataclass(frozen=True)
class DeskMeasure:
    """One of the desk's timed paths."""

    key: str
    title: str


HANDOFF_TO_CONSOLE = DeskMeasure(
    "handoff_to_console",
    "Customer's handoff message -> chat in the agent console (queue_changed + GET /api/queues)",
)
HANDOFF_TO_QUEUE_CHANGED = DeskMeasure(
    "handoff_to_queue_changed",
    "Customer's handoff message -> queue_changed on the console's websocket",
)
AGENT_TO_CUSTOMER = DeskMeasure(
    "agent_to_customer",
    "Agent's message (POST .../messages) -> bot_uttered on the customer's page",
)
HAND_BACK_TO_BOT = DeskMeasure(
    "hand_back_to_bot",
    "Hand-back (POST .../resolve) -> the bot's welcome back on the customer's page",
)
DESK_MEASURES: tuple[DeskMeasure, ...] = (
    HANDOFF_TO_CONSOLE,
    HANDOFF_TO_QUEUE_CHANGED,
    AGENT_TO_CUSTOMER,
    HAND_BACK_TO_BOT,
)


@dataclass(frozen=True)
class RoundTimes:
    """What one round measured (milliseconds) and noticed."""

    milliseconds: Mapping[str, float]
    #: `GET /api/queues` answers that did not list the new handoff yet.
    stale_queue_fetches: int = 0
    #: `timeout_choice` statuses the customer's page got (Olivia not counted as online).
    wait_choices: int = 0


@dataclass
class DeskSamples:
    """The measured rounds: every measure's samples, in round order."""

    milliseconds: dict[str, list[float]] = field(
        default_factory=lambda: {measure.key: [] for measure in DESK_MEASURES}
    )
    stale_queue_fetches: int = 0
    wait_choices: int = 0

    def add(self, times: RoundTimes) -> None:
        """Record one round."""
        for key, samples in self.milliseconds.items():
            samples.append(times.milliseconds[key])
        self.stale_queue_fetches += times.stale_queue_fetches
        self.wait_choices += times.wait_choices

    @property
    def rounds(self) -> int:
        """How many rounds were recorded."""
        return len(self.milliseconds[HANDOFF_TO_CONSOLE.key])


def milliseconds_between(start: float, end: float) -> float:
    """`end - start` (perf_counter seconds) in milliseconds."""
    return (end - start) * 1000


def is_queued_change(message: Mapping[str, Any], queue: str) -> bool:
    """Whether a console message says a new handoff is waiting in `queue`."""
    return (
        message.get("type") == "queue_changed"
        and message.get("change") == "queued"
        and message.get("queue") == queue
        and isinstance(message.get("handoff_id"), str)
    )


def lists_handoff(queues: Mapping[str, Any], handoff_id: str) -> bool:
    """Whether a `GET /api/queues` answer lists the handoff among the waiting."""
    return any(
        waiting.get("handoff_id") == handoff_id
        for queue in queues.get("queues", [])
        for waiting in queue.get("waiting", [])
    )


def agent_text(number: int) -> str:
    """The agent's message of round `number`: unique, so its arrival cannot be mistaken."""
    return f"Hi, I'm Olivia (round {number}). I'm chasing the carrier for you now."


def text_is(text: str) -> Callable[[Any], bool]:
    """Matches a `bot_uttered` with exactly this text."""
    return lambda data: isinstance(data, dict) and data.get("text") == text


def text_contains(fragment: str) -> Callable[[Any], bool]:
    """Matches a `bot_uttered` whose text contains `fragment`."""
    return lambda data: isinstance(data, dict) and fragment in str(data.get("text") or "")


def status_is(status: str) -> Callable[[Any], bool]:
    """Matches a `handoff_status` of this status."""
    return lambda data: isinstance(data, dict) and data.get("status") == status


async def step(what: str, work: Awaitable[T]) -> T:
    """`work`, with a failure or timeout reported as `UnexpectedBehaviour` naming the step."""
    try:
        return await asyncio.wait_for(work, STEP_TIMEOUT_SECONDS)
    except (asyncio.TimeoutError, NothingArrived):
        raise UnexpectedBehaviour(
            f"desk benchmark: {what}: nothing within {STEP_TIMEOUT_SECONDS:.0f}s"
        ) from None
    except (aiohttp.ClientError, socketio.exceptions.SocketIOError) as error:
        raise UnexpectedBehaviour(f"desk benchmark: {what}: {error!r}") from None


async def both(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Run two awaitables concurrently; if one fails, the other is cancelled."""
    one, other = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        first_result, second_result = await asyncio.gather(one, other)
        return first_result, second_result
    finally:
        for task in (one, other):
            if not task.done():
                task.cancel()
        await asyncio.gather(one, other, return_exceptions=True)


class CustomerPage:
    """The customer's web chat page: a `ChatClient` and what it noticed."""

    def __init__(self) -> None:
        """Not connected yet."""
        self.chat = ChatClient()
        self.statuses: list[str] = []

    async def connect(self, rasa_url: str, session_id: str) -> str:
        """Connect over socket.io and join a conversation: without a chat token, the new one
        the web chat channel starts; its id."""
        return await self.chat.connect(rasa_url, session_id)

    async def arrival(self, event: str, matches: Callable[[Any], bool]) -> float:
        """When the first `event` that `matches` arrived (earlier ones are passed over)."""
        while True:
            arrived, data = await self.chat.next_timed(event, STEP_TIMEOUT_SECONDS)
            if event == STATUS_EVENT and isinstance(data, dict):
                self.statuses.append(str(data.get("status")))
            if matches(data):
                return arrived

    async def status(self, status: CustomerStatus) -> float:
        """When the page was told its handoff is in `status` (a `handoff_status` event)."""
        return await self.arrival(STATUS_EVENT, status_is(status))

    async def close(self) -> None:
        """Disconnect."""
        await self.chat.close()


class AgentConsole:
    """Olivia's console: the desk's JSON API with her session cookie, and `/api/live`."""

    def __init__(self, desk_url: str) -> None:
        """Not logged in yet."""
        self.desk_url = desk_url
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=STEP_TIMEOUT_SECONDS),
        )
        self.received: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self._live: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """A JSON API call: status and decoded body."""
        async with self.http.request(method, self.desk_url + path, **kwargs) as response:
            return response.status, await response.json(content_type=None)

    async def open(self, username: str, password: str) -> None:
        """Log in and open the live websocket (its first message is `connected`)."""
        status, body = await self.call(
            "POST", "/api/login", json={"username": username, "password": password}
        )
        if status != 200:
            raise UnexpectedBehaviour(f"desk benchmark: login as {username}: {status} {body}")
        self._live = await self.http.ws_connect(self.desk_url + "/api/live")
        first = await self._live.receive_json(timeout=STEP_TIMEOUT_SECONDS)
        if first.get("type") != "connected":
            raise UnexpectedBehaviour(f"desk benchmark: /api/live began with {first}")
        self._reader = asyncio.get_running_loop().create_task(self._read(self._live))

    async def _read(self, live: aiohttp.ClientWebSocketResponse) -> None:
        async for message in live:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            arrived = time.perf_counter()
            try:
                decoded = json.loads(message.data)
            except ValueError:
                continue  # "pong"
            if isinstance(decoded, dict):
                self.received.put_nowait((arrived, decoded))

    def drain(self) -> None:
        """Forget the console messages received so far."""
        while not self.received.empty():
            self.received.get_nowait()

    async def next_queued(self, queue: str) -> tuple[float, str]:
        """When the next `queue_changed` "queued" of `queue` arrived, and its handoff id."""
        while True:
            if self._reader is not None and self._reader.done():
                raise UnexpectedBehaviour("desk benchmark: the console's websocket closed")
            arrived, message = await self.received.get()
            if is_queued_change(message, queue):
                return arrived, str(message["handoff_id"])

    async def listed(self, handoff_id: str) -> tuple[float, int]:
        """`GET /api/queues` until it lists the handoff: when it did, and the stale answers."""
        stale = 0
        while True:
            status, body = await self.call("GET", "/api/queues")
            done = time.perf_counter()
            if status != 200:
                raise UnexpectedBehaviour(f"desk benchmark: GET /api/queues: {status} {body}")
            if lists_handoff(body, handoff_id):
                return done, stale
            stale += 1

    async def claim(self, handoff_id: str) -> dict[str, Any]:
        """Claim the handoff; the handoff as the desk answers it."""
        status, body = await self.call("POST", f"/api/handoffs/{handoff_id}/claim")
        if status != 200 or not isinstance(body, dict) or body.get("status") != "claimed":
            raise UnexpectedBehaviour(f"desk benchmark: claim: {status} {body}")
        claimed: dict[str, Any] = body
        return claimed

    async def send_message(self, handoff_id: str, text: str) -> None:
        """Say `text` to the customer."""
        status, body = await self.call(
            "POST", f"/api/handoffs/{handoff_id}/messages", json={"text": text}
        )
        if status != 201:
            raise UnexpectedBehaviour(f"desk benchmark: agent message: {status} {body}")

    async def resolve(self, handoff_id: str) -> None:
        """Resolve the handoff and hand the conversation back to the bot."""
        status, body = await self.call(
            "POST",
            f"/api/handoffs/{handoff_id}/resolve",
            json={"disposition": "resolved", "slots": {}},
        )
        if status != 200 or not isinstance(body, dict) or body.get("handed_back") is not True:
            raise UnexpectedBehaviour(f"desk benchmark: resolve: {status} {body}")

    async def close(self) -> None:
        """Close the websocket and the HTTP session."""
        if self._live is not None:
            await self._live.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.http.close()


async def run_round(console: AgentConsole, rasa_url: str, number: int) -> RoundTimes:
    """One conversation from the handoff to the bot's welcome back (see the module doc)."""
    page = CustomerPage()
    session_id = f"bench-desk-{uuid.uuid4().hex}"
    try:
        session_id = await step("the customer joins", page.connect(rasa_url, session_id))
        console.drain()

        sent = time.perf_counter()
        await step("the customer's message", page.chat.say(HANDOFF_MESSAGE))
        queued, handoff_id = await step("queue_changed", console.next_queued(HANDOFF_QUEUE))
        listed, stale = await step("the handoff in GET /api/queues", console.listed(handoff_id))
        await step(
            "the bot's handoff message",
            page.arrival("bot_uttered", text_contains(HANDOFF_REPLY)),
        )
        await step("waiting on the page", page.status(CustomerStatus.WAITING))

        claimed = await step("claim", console.claim(handoff_id))
        if claimed.get("sender_id") != session_id:
            raise UnexpectedBehaviour(
                f"desk benchmark: handoff {handoff_id} is {claimed.get('sender_id')}'s, "
                f"not this round's ({session_id})"
            )
        await step("agent_joined", page.status(CustomerStatus.AGENT_JOINED))

        text = agent_text(number)
        posted = time.perf_counter()
        _, shown = await step(
            "the agent's message on the page",
            both(
                console.send_message(handoff_id, text),
                # The web chat names the agent in the text (`contract.webchat.agent_line`).
                page.arrival("bot_uttered", text_is(agent_line(claimed["agent"]["name"], text))),
            ),
        )

        resolved = time.perf_counter()
        _, welcomed = await step(
            "welcome back on the page",
            both(
                console.resolve(handoff_id),
                page.arrival("bot_uttered", text_contains(WELCOME_BACK)),
            ),
        )
        await step("back_with_bot", page.status(CustomerStatus.BACK_WITH_BOT))
    finally:
        await page.close()
    times = {
        HANDOFF_TO_CONSOLE.key: milliseconds_between(sent, listed),
        HANDOFF_TO_QUEUE_CHANGED.key: milliseconds_between(sent, queued),
        AGENT_TO_CUSTOMER.key: milliseconds_between(posted, shown),
        HAND_BACK_TO_BOT.key: milliseconds_between(resolved, welcomed),
    }
    return RoundTimes(times, stale, page.statuses.count("timeout_choice"))


async def measure_desk(
    desk_url: str,
    rasa_url: str,
    password: str,
    rounds: int,
    warmup: int,
    on_measuring: Callable[[], None] | None = None,
) -> DeskSamples:
    """`warmup` discarded rounds, then `rounds` measured ones, with Olivia online throughout.

    `on_measuring` is called between the two (e.g. to start measuring the machine's noise).
    """
    console = AgentConsole(desk_url)
    samples = DeskSamples()
    try:
        await step("the agent logs in", console.open(AGENT_USERNAME, password))
        for number in range(1, warmup + 1):
            await run_round(console, rasa_url, -number)
        if on_measuring is not None:
            on_measuring()
        for number in range(1, rounds + 1):
            samples.add(await run_round(console, rasa_url, number))
            if number % 10 == 0 or number == rounds:
                print(f"  measured {number}/{rounds} desk rounds", flush=True)
    finally:
        await console.close()
    return samples


def run_desk_rounds(
    desk_url: str,
    rasa_url: str,
    password: str,
    rounds: int,
    warmup: int,
    on_measuring: Callable[[], None] | None = None,
) -> DeskSamples:
    """`measure_desk` on a new event loop."""
    return asyncio.run(measure_desk(desk_url, rasa_url, password, rounds, warmup, on_measuring))
