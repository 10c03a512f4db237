"""Scripted traffic: real conversations through the running system, for the demo and the tests.

A `Script` is a short declarative list of what a customer says (`Say`), how they answer the
ratings (`RateBot`, `RateAgent`), when they give up waiting (`GiveUp`), and what desk agents do
(`Claim`, `Reply`, `Transfer`, `Resolve`). `TrafficDriver` plays scripts one after the other:
the customer on Rasa's REST channel, the agents on the desk's JSON API with their consoles
connected (so they count as online, as a person at the desk would), and Rasa's token-protected
tracker API to see what the bot did (the handoff's id, whether the bot asked its own rating).
Nothing is written behind the system's back: every number the analytics later reports comes
from these conversations.

`SCRIPTS` covers every journey the supervisors' numbers tell apart: bot-only resolutions
(rated, skipped), a refused answer asked again, a troubleshooting run that ends at Level 2, a
person asked for at once, a customer who gives up waiting, a mortgage advice handoff, a
greeting with a message the bot did not understand, and a transfer before anyone claimed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

from actions.constants import FORM_CSAT
from contract.conversation_marks import FORM_BOT_CSAT, SLOT_HANDOFF_ID

#: How long the driver waits for something the system does in the background.
WAIT_SECONDS: Final = 20.0
#: Generous: the first message of a conversation loads the model's graph on a slow machine.
REPLY_SECONDS: Final = 60.0
POLL_SECONDS: Final = 0.1
#: What the customer answers when the rating form after an agent asks for a comment.
NO_COMMENT: Final = "no"
#: What the customer says to stop waiting for a person.
NEVER_MIND: Final = "never mind"
#: The skip button's title on the bot's own rating question.
SKIP: Final = "skip"


# --- the script's words ------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """The customer sends `text`."""

    text: str


@dataclass(frozen=True)
class RateBot:
    """If the bot asks how it did (its own rating at the end of a resolved journey), answer
    `rating` (1-5), or press Skip when `rating` is None. Nothing happens when it does not ask."""

    rating: int | None


@dataclass(frozen=True)
class Claim:
    """The agent `agent` (a desk username) claims the conversation's handoff once it waits in
    one of their queues."""

    agent: str


@dataclass(frozen=True)
class Reply:
    """The agent says `text` to the customer."""

    agent: str
    text: str


@dataclass(frozen=True)
class Transfer:
    """The agent moves the handoff to `queue` (claimed by them, or still waiting)."""

    agent: str
    queue: str


@dataclass(frozen=True)
class Resolve:
    """The agent resolves the handoff; the desk hands the conversation back to the bot."""

    agent: str


@dataclass(frozen=True)
class RateAgent:
    """After the hand-back the bot asks for a rating: answer `rating` and no comment, or leave
    without answering when `rating` is None."""

    rating: int | None


@dataclass(frozen=True)
class GiveUp:
    """The customer stops waiting for a person ("never mind"); done once the bot has the
    conversation again."""


Step = Say | RateBot | Claim | Reply | Transfer | Resolve | RateAgent | GiveUp
AGENT_STEPS: Final = (Claim, Reply, Transfer, Resolve)


@dataclass(frozen=True)
class Script:
    """One conversation: a name (in the sender id) and its steps in order."""

    name: str
    steps: tuple[Step, ...]

    def agents(self) -> list[str]:
        """The desk usernames the script acts as, in order of first appearance."""
        names: list[str] = []
        for step in self.steps:
            if isinstance(step, AGENT_STEPS) and step.agent not in names:
                names.append(step.agent)
        return names


class ScriptError(ValueError):
    """A script that cannot be played (an agent replying before a claim, say)."""


def check_script(script: Script) -> None:
    """Refuse a script whose steps cannot happen in that order.

    Raises:
        ScriptError: The customer does not speak first, an agent replies or resolves without
            a claim, or the agent's rating comes before a resolve.
    """
    if not script.steps or not isinstance(script.steps[0], Say):
        raise ScriptError(
            f"{script.name}: a conversation starts with the customer saying something"
        )
    claimed = resolved = False
    for index, step in enumerate(script.steps):
        where = f"{script.name} step {index + 1} ({type(step).__name__})"
        if isinstance(step, Claim):
            claimed, resolved = True, False
        elif isinstance(step, Resolve):
            if not claimed:
                raise ScriptError(f"{where}: resolving needs a claim first")
            claimed, resolved = False, True
        elif isinstance(step, Reply) and not claimed:
            raise ScriptError(f"{where}: an agent replies once they have claimed")
        elif isinstance(step, RateAgent) and not resolved:
            raise ScriptError(f"{where}: the agent's rating comes after a resolve")
        elif isinstance(step, Transfer):
            claimed = False


#: The demo's and the end-to-end test's conversations. The order numbers are the demo store's
#: (`actions.store.seed.DEMO_ORDERS`): ORD-100002 shipped, ORD-100001 found, ORD-100005
#: delayed (a business rule hands it to order support). E-1042 has four steps and the
#: troubleshooting form's cycle limit is three passes: twelve "no" answers reach Level 2.
SCRIPTS: Final[tuple[Script, ...]] = (
    Script(
        "order-shipped",
        (Say("where is my order ORD-100002?"), RateBot(5)),
    ),
    Script(
        "order-reasked",
        (
            Say("where is my order"),
            Say("ORD-12"),  # malformed: the form asks again
            Say("ORD-100001"),
            RateBot(None),
        ),
    ),
    Script(
        "order-delayed",
        (
            Say("where is my order"),
            Say("ORD-100005"),
            Claim("olivia"),
            Reply("olivia", "Hi, I'm Olivia. I've asked the carrier; it arrives tomorrow."),
            Resolve("olivia"),
            RateAgent(5),
        ),
    ),
    Script(
        "troubleshooting-fixed",
        (
            Say("I keep getting error E-1042"),
            Say("no"),
            Say("yes that fixed it"),
            RateBot(4),
        ),
    ),
    Script(
        "troubleshooting-level2",
        (
            Say("I keep getting error E-1042"),
            *(Say("no") for _ in range(12)),
            Claim("leo"),
            Reply("leo", "Leo from Level 2 here: I can see a fault on your line."),
            Resolve("leo"),
            RateAgent(3),
        ),
    ),
    Script(
        "human-at-once",
        (
            Say("I want to talk to a human"),
            Claim("gus"),
            Reply("gus", "Hello, Gus here. How can I help?"),
            Resolve("gus"),
            RateAgent(5),
        ),
    ),
    Script(
        "gives-up-waiting",
        (Say("I want to talk to a human"), GiveUp()),
    ),
    Script(
        "mortgage-advice",
        (
            Say("should I go fixed or variable for my mortgage?"),
            Claim("maya"),
            Reply("maya", "Maya here, a mortgage advisor. Let's look at your plans."),
            Resolve("maya"),
            RateAgent(2),
        ),
    ),
    Script(
        "greeting-only",
        (Say("hello"), Say("blorp fizzle wug"), Say("bye")),
    ),
    Script(
        "transferred-before-claim",
        (
            Say("I want to talk to a human"),
            Transfer("gus", "order_support"),
            Claim("olivia"),
            Reply("olivia", "Olivia from orders: I have your chat now."),
            Resolve("olivia"),
            RateAgent(None),
        ),
    ),
)


# --- what happened ---------------------------------------------------------------------------


@dataclass
class ConversationRun:
    """What one script did in the system."""

    script: Script
    sender_id: str
    handoff_ids: list[str] = field(default_factory=list)
    #: The bot asked its own rating (None: the script never looked, it has no `RateBot`).
    bot_rating_asked: bool | None = None
    bot_rating: int | None = None
    agent_rating: int | None = None
    customer_messages: int = 0

    def describe(self) -> str:
        """One line for the demo's summary: what happened, then the sender id to look for."""
        plural = "" if self.customer_messages == 1 else "s"
        parts = [f"{self.customer_messages} message{plural}"]
        if self.handoff_ids:
            parts.append(f"handoff {self.handoff_ids[0][:8]}")
        else:
            parts.append("no handoff")
        if self.bot_rating_asked:
            parts.append(
                f"bot rated {self.bot_rating}" if self.bot_rating else "bot rating skipped"
            )
        if self.agent_rating is not None:
            parts.append(f"agent rated {self.agent_rating}")
        return f"{self.script.name:<26} {', '.join(parts):<48} {self.sender_id}"


def new_sender(run: str, script: Script) -> str:
    """A sender id unique to this run of this script."""
    return f"{run}-{script.name}-{uuid.uuid4().hex[:12]}"


def rating_answer(rating: int | None, buttons: Sequence[Mapping[str, Any]]) -> str:
    """What the customer sends to answer the bot's rating question: the payload of the button
    titled with the rating (or Skip), else the words themselves."""
    wanted = SKIP if rating is None else str(rating)
    for button in buttons:
        if str(button.get("title", "")).strip().casefold() == wanted:
            return str(button.get("payload") or wanted)
    return wanted


def last_buttons(tracker: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The buttons of the bot's last message in a tracker (empty when it had none)."""
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "bot":
            buttons = (event.get("data") or {}).get("buttons")
            return list(buttons) if isinstance(buttons, list) else []
    return []


def asks_bot_rating(tracker: Mapping[str, Any]) -> bool:
    """Whether the bot is asking its own rating now (its rating form is active)."""
    loop = tracker.get("active_loop") or {}
    return isinstance(loop, Mapping) and loop.get("name") == FORM_BOT_CSAT


class TrafficError(RuntimeError):
    """The system did not do what the script needs (said in the message)."""


# --- the people ----------------------------------------------------------------------------


class DeskAgent:
    """An agent at the desk: logged in, console connected, working its JSON API."""

    def __init__(self, desk_url: str, username: str) -> None:
        self.desk_url = desk_url
        self.username = username
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """One request; the status and the JSON answer (None when it is not JSON)."""
        async with self.http.request(method, self.desk_url + path, **kwargs) as response:
            try:
                body = await response.json()
            except (aiohttp.ContentTypeError, ValueError):
                body = None
            return response.status, body

    async def expect(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        """A request that must answer `status`; its JSON answer."""
        got, body = await self.call(method, path, **kwargs)
        if got != status:
            raise TrafficError(f"{self.username}: {method} {path} answered {got}: {body}")
        return body

    async def start(self, password: str) -> DeskAgent:
        """Log in and open the console's live connection (the agent is online)."""
        await self.expect(
            "POST", "/api/login", 200, json={"username": self.username, "password": password}
        )
        self._socket = await self.http.ws_connect(self.desk_url + "/api/live")
        self._reader = asyncio.create_task(self._read_live(self._socket))
        return self

    @staticmethod
    async def _read_live(socket: aiohttp.ClientWebSocketResponse) -> None:
        # The console's updates are not needed here; reading them keeps the desk's sends flowing.
        async for _message in socket:
            pass

    async def waiting(self, handoff_id: str) -> None:
        """Wait until the handoff waits in one of this agent's queues."""

        async def queued() -> bool:
            status, body = await self.call("GET", f"/api/handoffs/{handoff_id}")
            return status == 200 and body["handoff"]["status"] == "queued"

        await eventually(queued, f"handoff {handoff_id} waiting for {self.username}")

    async def close(self) -> None:
        """Close the console and the session."""
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            await self._reader
        await self.http.close()


class RestCustomer:
    """A customer on Rasa's REST channel; reads the tracker through Rasa's HTTP API."""

    def __init__(
        self, http: aiohttp.ClientSession, rasa_url: str, rasa_token: str, sender: str
    ) -> None:
        self.http = http
        self.rasa_url = rasa_url
        self.rasa_token = rasa_token
        self.sender = sender

    async def say(self, text: str) -> list[dict[str, Any]]:
        """Send `text`; the bot's replies (none while a person has the conversation)."""
        async with self.http.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text},
            timeout=aiohttp.ClientTimeout(total=REPLY_SECONDS),
        ) as response:
            if response.status != 200:
                raise TrafficError(
                    f"REST channel answered {response.status}: {await response.text()}"
                )
            replies: list[dict[str, Any]] = await response.json()
            return replies

    async def tracker(self) -> dict[str, Any]:
        """The conversation's tracker."""
        async with self.http.get(
            f"{self.rasa_url}/conversations/{self.sender}/tracker",
            params={"token": self.rasa_token},
            timeout=aiohttp.ClientTimeout(total=REPLY_SECONDS),
        ) as response:
            if response.status != 200:
                raise TrafficError(f"tracker answered {response.status}: {await response.text()}")
            tracker: dict[str, Any] = await response.json()
            return tracker


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = WAIT_SECONDS
) -> None:
    """Poll the coroutine function `check` until it returns True, for at most `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise TrafficError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(POLL_SECONDS)  # poll interval, bounded by the deadline


# --- the driver ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemAddress:
    """Where the running system is and the demo secrets to use it."""

    rasa_url: str
    rasa_token: str
    desk_url: str
    desk_password: str


class TrafficDriver:
    """Plays scripts against the running system, one conversation after the other."""

    def __init__(self, system: SystemAddress, run: str | None = None) -> None:
        """`run` prefixes every sender id (a fresh one by default)."""
        self.system = system
        self.run_id = run or f"demo-{uuid.uuid4().hex[:6]}"

    async def play(self, scripts: Sequence[Script]) -> list[ConversationRun]:
        """Play `scripts` in order; what each did."""
        for script in scripts:
            check_script(script)
        usernames = sorted({name for script in scripts for name in script.agents()})
        agents: dict[str, DeskAgent] = {}
        try:
            for username in usernames:
                agent = DeskAgent(self.system.desk_url, username)
                agents[username] = agent
                await agent.start(self.system.desk_password)
            async with aiohttp.ClientSession() as http:
                return [await self._play(http, script, agents) for script in scripts]
        finally:
            for agent in agents.values():
                await agent.close()

    async def _play(
        self, http: aiohttp.ClientSession, script: Script, agents: Mapping[str, DeskAgent]
    ) -> ConversationRun:
        sender = new_sender(self.run_id, script)
        customer = RestCustomer(http, self.system.rasa_url, self.system.rasa_token, sender)
        run = ConversationRun(script, sender)
        for step in script.steps:
            if isinstance(step, Say):
                await self._say(customer, run, step.text)
            elif isinstance(step, RateBot):
                await self._rate_bot(customer, run, step.rating)
            elif isinstance(step, RateAgent):
                await self._rate_agent(customer, run, step.rating)
            elif isinstance(step, GiveUp):
                await self._give_up(customer, run)
            else:
                await self._agent_step(agents[step.agent], run, step)
        return run

    async def _say(self, customer: RestCustomer, run: ConversationRun, text: str) -> None:
        await customer.say(text)
        run.customer_messages += 1
        handoff_id = (await customer.tracker())["slots"].get(SLOT_HANDOFF_ID)
        if isinstance(handoff_id, str) and handoff_id and handoff_id not in run.handoff_ids:
            run.handoff_ids.append(handoff_id)

    async def _rate_bot(
        self, customer: RestCustomer, run: ConversationRun, rating: int | None
    ) -> None:
        tracker = await customer.tracker()
        run.bot_rating_asked = asks_bot_rating(tracker)
        if run.bot_rating_asked:
            await self._say(customer, run, rating_answer(rating, last_buttons(tracker)))
            run.bot_rating = rating

    async def _rate_agent(
        self, customer: RestCustomer, run: ConversationRun, rating: int | None
    ) -> None:
        if rating is None:
            return  # the customer leaves without answering
        loop = (await customer.tracker()).get("active_loop") or {}
        if loop.get("name") != FORM_CSAT:
            raise TrafficError(f"{run.sender_id}: no rating asked after the hand-back")
        await self._say(customer, run, str(rating))
        await self._say(customer, run, NO_COMMENT)
        run.agent_rating = rating

    async def _give_up(self, customer: RestCustomer, run: ConversationRun) -> None:
        await self._say(customer, run, NEVER_MIND)

        async def back_with_bot() -> bool:
            # The desk records the cancellation, then gives the conversation back.
            return not (await customer.tracker())["paused"]

        await eventually(back_with_bot, f"{run.sender_id} back with the bot after giving up")

    async def _agent_step(self, agent: DeskAgent, run: ConversationRun, step: Step) -> None:
        if not run.handoff_ids:
            raise TrafficError(f"{run.sender_id}: no handoff for {type(step).__name__}")
        path = f"/api/handoffs/{run.handoff_ids[-1]}"
        if isinstance(step, Claim):
            await agent.waiting(run.handoff_ids[-1])
            await agent.expect("POST", f"{path}/claim", 200)
        elif isinstance(step, Reply):
            await agent.expect("POST", f"{path}/messages", 201, json={"text": step.text})
        elif isinstance(step, Transfer):
            await agent.waiting(run.handoff_ids[-1])
            await agent.expect("POST", f"{path}/transfer", 200, json={"queue": step.queue})
        elif isinstance(step, Resolve):
            resolved = await agent.expect(
                "POST", f"{path}/resolve", 200, json={"disposition": "resolved", "slots": {}}
            )
            if not resolved["handed_back"]:
                raise TrafficError(f"{run.sender_id}: not handed back: {resolved}")
