"""The whole system with the real desk, for the end-to-end tests of the live handoff.

Real processes on loopback: the desk (`python -m desk`, its own migrated and seeded SQLite
database), the action server (HANDOFF_URL pointing at the desk) and the Rasa server (its event
broker, web chat channel and hand-back all wired to the desk). Customers talk over the web
chat's socket.io (`SocketCustomer`) or Rasa's REST channel (`RestCustomer`); agents work the
desk's JSON API and its `/api/live` websocket (`Agent`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from sqlalchemy import select

from contract.desk_notices import DESK_NOTICE_KEY, STATUS_NOTICES
from contract.webchat import TRANSCRIPT_TOKEN_HEADER
from desk.seed import prepare_demo_desk
from desk.store.database import Database as DeskDatabase
from desk.store.models import Handoff
from harness.chat_client import ChatClient
from harness.loopback import free_ports, sqlite_url
from launcher.stack import Stack, desk_server, running_stack
from tests.e2e.client import REPLY_TIMEOUT_SECONDS, new_sender
from tests.e2e.environment import E2EEnvironment, build_environment

T = TypeVar("T")
#: How long a test waits for something the system does in the background.
WAIT = 20.0
DESK = "desk"


@dataclass(frozen=True)
class DeskStack:
    """The running system with the desk, and how to reach it."""

    env: E2EEnvironment
    stack: Stack
    desk_url: str
    desk_database_url: str
    password: str
    #: Where the desk writes the one-time codes it "e-mails" (DESK_DEMO_CODES_FILE).
    codes_file: Path

    @property
    def rasa_url(self) -> str:
        return self.env.rasa_url

    def restart_desk(self) -> None:
        """Start the desk again (after `stack.stop(DESK)`), on the same port and database."""
        self.stack.start(desk_server(int(self.desk_url.rsplit(":", 1)[1])))
        self.stack.wait_healthy(DESK)

    def handoffs_of(self, sender_id: str) -> list[Handoff]:
        """The desk's handoffs of a conversation, oldest first (read from its database)."""
        database = DeskDatabase(self.desk_database_url)
        try:
            with database.session() as session:
                statement = (
                    select(Handoff)
                    .where(Handoff.sender_id == sender_id)
                    .order_by(Handoff.requested_at)
                )
                return list(session.scalars(statement))
        finally:
            database.dispose()


@contextmanager
def running_desk_stack(root: Path, **settings: str) -> Iterator[DeskStack]:
    """Desk, action server and Rasa with fresh databases, ports and secrets under `root`.

    `settings` are extra environment variables (e.g. CLAIM_TIMEOUT_SECONDS="2").
    """
    env = build_environment(root)
    taken = {env.rasa_port, env.action_server_port, env.handoff_port, env.desk_port}
    desk_port = next(port for port in free_ports(8) if port not in taken)
    desk_url = f"http://127.0.0.1:{desk_port}"
    desk_database_url = sqlite_url(root / "desk.db")
    password = secrets.token_urlsafe(16)
    prepare_demo_desk(desk_database_url, password)
    codes_file = root / "demo-codes.jsonl"

    process_env = {
        **env.env,
        "DESK_URL": desk_url,
        "DESK_PORT": str(desk_port),
        "DESK_DATABASE_URL": desk_database_url,
        "DESK_DEMO_PASSWORD": password,
        "RASA_URL": env.rasa_url,
        "HANDOFF_URL": f"{desk_url}/api/handoffs",
        "DESK_DOCUMENTS_DIR": str(root / "documents"),
        "DESK_DEMO_CODES_FILE": str(codes_file),
        # The desk's analytics keep their facts here, not in the developer's var/analytics.db.
        "ANALYTICS_DATABASE_URL": sqlite_url(root / "analytics.db"),
        # Every client of the shared stack is 127.0.0.1: the per-address login limit (which
        # tests/e2e/test_auth_desks.py checks on desks of its own) would count them as one.
        "DESK_LOGIN_ADDRESS_FAILURES": "10000",
        **settings,
    }
    services = [desk_server(desk_port), env.action_server(), env.rasa_server()]
    with running_stack(services, root / "logs", process_env) as stack:
        yield DeskStack(env, stack, desk_url, desk_database_url, password, codes_file)


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, *, timeout: float = WAIT
) -> T:
    """Poll `check` until it returns something truthy, for at most `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what} not within {timeout}s")
        await asyncio.sleep(0.1)  # poll interval, bounded by the deadline


class Agent:
    """An agent's browser on the desk: cookies, the JSON API and the live websocket."""

    def __init__(self, system: DeskStack) -> None:
        self.system = system
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.socket: aiohttp.ClientWebSocketResponse | None = None

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, self.system.desk_url + path, **kwargs) as response:
            return response.status, await response.json()

    async def login(self, username: str) -> Agent:
        status, body = await self.call(
            "POST", "/api/login", json={"username": username, "password": self.system.password}
        )
        assert status == 200, body
        return self

    async def live(self) -> aiohttp.ClientWebSocketResponse:
        """Open the console's websocket (the agent is then online)."""
        socket = await self.http.ws_connect(self.system.desk_url + "/api/live")
        assert (await socket.receive_json(timeout=WAIT))["type"] == "connected"
        self.socket = socket
        return socket

    async def next_live(self, kind: str, **match: Any) -> dict[str, Any]:
        """The next console message of a type (and with these values); others are skipped."""
        assert self.socket is not None, "open the live websocket first"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            remaining = deadline - loop.time()
            message: dict[str, Any] = await self.socket.receive_json(timeout=max(remaining, 0.1))
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message

    async def handoff(self, handoff_id: str) -> dict[str, Any]:
        """The screen pop's handoff."""
        return dict((await self.screen_pop(handoff_id))["handoff"])

    async def screen_pop(self, handoff_id: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/api/handoffs/{handoff_id}")
        assert status == 200, body
        return dict(body)

    async def waiting_handoff_of(self, sender: str) -> str:
        """The id of the conversation's handoff once it waits in one of this agent's queues."""

        async def find() -> str | None:
            status, body = await self.call("GET", "/api/queues")
            assert status == 200, body
            for queue in body["queues"]:
                for waiting in queue["waiting"]:
                    if (await self.handoff(waiting["handoff_id"]))["sender_id"] == sender:
                        return str(waiting["handoff_id"])
            return None

        return await eventually(find, "the handoff in the agent's queues")

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        await self.http.close()


async def tracker_of(http: aiohttp.ClientSession, system: DeskStack, sender: str) -> dict[str, Any]:
    """The conversation's tracker, from Rasa's token-protected HTTP API."""
    async with http.get(
        f"{system.rasa_url}/conversations/{sender}/tracker",
        params={"token": system.env.rasa_auth_token},
    ) as response:
        assert response.status == 200, await response.text()
        tracker: dict[str, Any] = await response.json()
        return tracker


_STATUS_NOTICES = {notice.value for notice in STATUS_NOTICES}
#: The words of the desk's own messages (`desk.customer_link`: place in the queue, joined,
#: left), for when the web chat does not pass their `metadata.desk_notice` marking to the socket.
DESK_NOTICE_WORDS = re.compile(
    r"^(You're (still )?number \d+ in the queue for .+\. Estimated wait: about \d+ minutes?\."
    r"|.+ from .+ has joined the chat\.|.+ has left the chat\.)$"
)


def is_desk_notice(message: Mapping[str, Any]) -> bool:
    """Whether a `bot_uttered` is one of the desk's status notices (the page skips those)."""
    metadata = message.get("metadata")
    if isinstance(metadata, dict) and DESK_NOTICE_KEY in metadata:
        return metadata[DESK_NOTICE_KEY] in _STATUS_NOTICES
    return bool(DESK_NOTICE_WORDS.match(str(message.get("text") or "")))


class SocketCustomer:
    """A customer on the web chat's socket.io channel (what the /chat page does).

    The desk's status notices (place in the queue, agent joined / left) arrive as bot messages
    at moments of the desk's choosing; `bot_message` and `turn` pass over them (they are kept
    in `notices`, in order), `notice` waits for one.
    """

    def __init__(
        self, system: DeskStack, prefix: str, sender: str | None = None, token: str | None = None
    ) -> None:
        self.system = system
        #: The chat asked for; `connect` keeps the one joined: that one with its `token`, or,
        #: without a token that opens it, the new chat the channel starts (and its token).
        self.sender = sender or new_sender(prefix)
        self.token = token
        self.page = ChatClient()
        self.http = aiohttp.ClientSession()
        self.notices: list[str] = []
        #: Every bot message `turn` read, in order (with buttons and metadata).
        self.said: list[dict[str, Any]] = []
        self._held: list[dict[str, Any]] = []  # other bot messages read while seeking a notice

    async def connect(self) -> SocketCustomer:
        self.sender = await self.page.connect(self.system.rasa_url, self.sender, self.token)
        self.token = self.page.token
        return self

    def opens(self) -> dict[str, str]:
        """The header that opens this chat at the desk (its history, its uploads)."""
        assert self.token is not None, "connect first"
        return {TRANSCRIPT_TOKEN_HEADER: self.token}

    async def tracker(self) -> dict[str, Any]:
        return await tracker_of(self.http, self.system, self.sender)

    async def turn(self, text: str) -> list[str]:
        """Say `text` and return the texts of the bot's replies to it.

        The turn is over when the tracker has the message and either the bot is listening
        again or the conversation is paused (a person has it: the bot stays silent). Then
        exactly the bot messages the tracker logged for the turn are read from the page.
        """
        before = await self.tracker()
        users_before = _count(before, "user")
        await self.page.say(text)

        async def done() -> dict[str, Any] | None:
            tracker = await self.tracker()
            events = tracker["events"]
            if _count(tracker, "user") <= users_before:
                return None
            finished = tracker["paused"] or (
                events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"
            )
            return tracker if finished else None

        after = await eventually(done, f"the bot's turn after {text!r}")
        last_user = max(i for i, e in enumerate(after["events"]) if e["event"] == "user")
        bot_events = [
            e
            for e in after["events"][last_user:]
            if e["event"] == "bot"
            and (e.get("metadata") or {}).get(DESK_NOTICE_KEY) not in _STATUS_NOTICES
        ]
        replies = [await self.bot_message() for _ in range(sum(map(_messages, bot_events)))]
        self.said.extend(replies)
        return [str(reply.get("text", "")) for reply in replies]

    async def bot_message(self) -> dict[str, Any]:
        """The next bot message that is not a desk status notice."""
        if self._held:
            return self._held.pop(0)
        while True:
            message: dict[str, Any] = await self.page.next(
                "bot_uttered", timeout=REPLY_TIMEOUT_SECONDS
            )
            if not is_desk_notice(message):
                return message
            self.notices.append(str(message.get("text")))

    async def notice(self, words: str) -> str:
        """The first desk notice containing `words` (seen already, or the next to come)."""
        while True:
            for index, text in enumerate(self.notices):
                if words in text:
                    del self.notices[: index + 1]
                    return text
            message: dict[str, Any] = await self.page.next(
                "bot_uttered", timeout=REPLY_TIMEOUT_SECONDS
            )
            if is_desk_notice(message):
                self.notices.append(str(message.get("text")))
            else:
                self._held.append(message)

    async def status(self, status: str) -> dict[str, Any]:
        """The next `handoff_status` with this status (others are skipped)."""
        found: dict[str, Any] = await self.page.until(
            "handoff_status", lambda data: data.get("status") == status, timeout=WAIT
        )
        return found

    async def close(self) -> None:
        await self.page.close()
        await self.http.close()


def _messages(bot_event: Mapping[str, Any]) -> int:
    """How many `bot_uttered` one bot event becomes: Rasa's socket.io output channel sends
    each paragraph (text split at blank lines) as a message of its own."""
    text = str(bot_event.get("text") or "")
    return len(text.strip().split("\n\n")) if text.strip() else 1


def _count(tracker: Mapping[str, Any], kind: str) -> int:
    return sum(1 for event in tracker["events"] if event["event"] == kind)
