"""The live handoff end to end, with the real desk in place of the recording endpoint.

Real processes on loopback: the desk (`python -m desk`, its own migrated and seeded SQLite
database), the action server (HANDOFF_URL pointing at the desk) and the Rasa server (its event
broker and web chat pointing at the desk through DESK_URL). The customer talks over Rasa's REST
channel; Olivia works the desk's API and its `/api/live` websocket.

This module starts its own stack (the shared one's recording endpoint is what the other e2e
tests read); it is stopped when the module ends.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from desk.seed import seed_demo_agents
from desk.store.database import Database as DeskDatabase
from launcher.stack import Stack, desk_server, running_stack
from tests.e2e.client import REPLY_TIMEOUT_SECONDS, new_sender
from tests.e2e.environment import (
    MODEL_PATH,
    E2EEnvironment,
    build_environment,
    free_ports,
    sqlite_url,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")
WAIT = 20.0
OLIVIA = "Olivia (Orders)"


@dataclass(frozen=True)
class DeskStack:
    """The running system with the desk, and how to reach it."""

    env: E2EEnvironment
    stack: Stack
    desk_url: str
    password: str

    @property
    def rasa_url(self) -> str:
        return self.env.rasa_url


@pytest.fixture(scope="module")
def desk_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskStack]:
    """Desk, action server and Rasa with fresh databases, ports and secrets."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    root: Path = tmp_path_factory.mktemp("desk-flow")
    env = build_environment(root)
    taken = {env.rasa_port, env.action_server_port, env.handoff_port}
    taken.add(getattr(env, "desk_port", 0))  # a port the shared environment may name
    desk_port = next(port for port in free_ports(4) if port not in taken)
    desk_url = f"http://127.0.0.1:{desk_port}"
    desk_database_url = sqlite_url(root / "desk.db")
    password = secrets.token_urlsafe(16)
    database = DeskDatabase(desk_database_url)
    try:
        database.migrate()
        seed_demo_agents(database, password)
    finally:
        database.dispose()

    process_env = {
        **env.env,
        "DESK_URL": desk_url,
        "DESK_PORT": str(desk_port),
        "DESK_DATABASE_URL": desk_database_url,
        "DESK_DEMO_PASSWORD": password,
        "RASA_URL": env.rasa_url,
        "HANDOFF_URL": f"{desk_url}/api/handoffs",
    }
    services = [desk_server(desk_port), env.action_server(), env.rasa_server()]
    with running_stack(services, root / "logs", process_env) as stack:
        yield DeskStack(env=env, stack=stack, desk_url=desk_url, password=password)


class Customer:
    """The customer on Rasa's REST channel (and, to check, Rasa's token-protected API)."""

    def __init__(self, http: aiohttp.ClientSession, system: DeskStack) -> None:
        self.http = http
        self.system = system
        self.sender = new_sender("desk-flow")

    async def say(self, text: str) -> list[str]:
        async with self.http.post(
            f"{self.system.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text},
            timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_SECONDS),
        ) as response:
            assert response.status == 200, await response.text()
            return [str(reply.get("text", "")) for reply in await response.json()]

    async def tracker(self) -> dict[str, Any]:
        async with self.http.get(
            f"{self.system.rasa_url}/conversations/{self.sender}/tracker",
            params={"token": self.system.env.rasa_auth_token},
        ) as response:
            assert response.status == 200, await response.text()
            tracker: dict[str, Any] = await response.json()
            return tracker


class Agent:
    """An agent's browser on the desk: cookies, JSON API and the live websocket."""

    def __init__(self, system: DeskStack) -> None:
        self.system = system
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, self.system.desk_url + path, **kwargs) as response:
            return response.status, await response.json()

    async def login(self, username: str) -> None:
        status, body = await self.call(
            "POST", "/api/login", json={"username": username, "password": self.system.password}
        )
        assert status == 200, body

    async def live(self) -> aiohttp.ClientWebSocketResponse:
        socket = await self.http.ws_connect(self.system.desk_url + "/api/live")
        assert (await socket.receive_json(timeout=WAIT))["type"] == "connected"
        return socket

    async def handoff(self, handoff_id: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/api/handoffs/{handoff_id}")
        assert status == 200, body
        handoff: dict[str, Any] = body["handoff"]
        return handoff


async def eventually(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll `check` until it returns something truthy, for at most WAIT seconds."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not within {WAIT}s")
        await asyncio.sleep(0.2)


async def next_of_type(socket: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next websocket message of a type (others are skipped)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        message: dict[str, Any] = await socket.receive_json(timeout=max(remaining, 0.1))
        if message["type"] == kind:
            return message


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def olivia(desk_stack: DeskStack) -> AsyncIterator[Agent]:
    agent = Agent(desk_stack)
    await agent.login("olivia")
    yield agent
    await agent.http.close()


@pytest.fixture
async def sam(desk_stack: DeskStack) -> AsyncIterator[Agent]:
    agent = Agent(desk_stack)
    await agent.login("sam")  # the supervisor: every queue
    yield agent
    await agent.http.close()


async def waiting_handoff_of(agent: Agent, sender: str) -> str:
    """The id of the conversation's handoff once it waits in one of the agent's queues."""

    async def find() -> str | None:
        status, body = await agent.call("GET", "/api/queues")
        assert status == 200, body
        for queue in body["queues"]:
            for waiting in queue["waiting"]:
                if (await agent.handoff(waiting["handoff_id"]))["sender_id"] == sender:
                    return str(waiting["handoff_id"])
        return None

    return await eventually(find, "the handoff in the agent's queues")


def bot_texts_after_resume(tracker: dict[str, Any]) -> list[str]:
    events = tracker["events"]
    resumed = max(i for i, event in enumerate(events) if event["event"] == "resume")
    return [e.get("text") or "" for e in events[resumed:] if e["event"] == "bot"]


async def test_an_agent_takes_over_and_hands_back_to_the_bot(
    desk_stack: DeskStack, http: aiohttp.ClientSession, olivia: Agent
) -> None:
    customer = Customer(http, desk_stack)
    assert "order support team" in " ".join(await customer.say("where is my order ORD-100005?"))
    handoff_id = await waiting_handoff_of(olivia, customer.sender)
    live = await olivia.live()

    status, claimed = await olivia.call("POST", f"/api/handoffs/{handoff_id}/claim")
    assert (status, claimed["status"]) == (200, "claimed")

    status, sent = await olivia.call(
        "POST",
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "Hi, I'm Olivia. I'm chasing the carrier for you now."},
    )
    assert status == 201, sent
    agent_turns = [
        event
        for event in (await customer.tracker())["events"]
        if event["event"] == "bot" and (event.get("metadata") or {}).get("handoff_agent")
    ]
    assert [turn["text"] for turn in agent_turns] == [
        "Hi, I'm Olivia. I'm chasing the carrier for you now."
    ]
    assert agent_turns[0]["metadata"]["handoff_agent"]["name"] == OLIVIA

    assert await customer.say("thanks, will it come today?") == []  # the agent has it
    relayed = await next_of_type(live, "customer_message")
    assert (relayed["handoff_id"], relayed["text"]) == (handoff_id, "thanks, will it come today?")

    status, resolved = await olivia.call(
        "POST",
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"order_lookup_failures": 0.0}},
    )
    assert status == 200, resolved
    assert (resolved["handed_back"], resolved["hand_back_error"]) == (True, None)
    tracker = await customer.tracker()
    assert tracker["paused"] is False
    assert tracker["slots"]["order_lookup_failures"] == 0.0
    welcome = " ".join(bot_texts_after_resume(tracker)).lower()
    assert "welcome back" in welcome
    assert "from 1 (poor) to 5 (excellent)" in welcome

    assert "anything you'd like to add" in " ".join(await customer.say("5")).lower()
    assert "thank you for your feedback" in " ".join(await customer.say("no")).lower()
    handoff = await olivia.handoff(handoff_id)
    assert (handoff["status"], handoff["csat_rating"]) == ("handed_back", 5)
    for step in ("requested", "queued", "claimed", "first_agent_reply", "resolved", "handed_back"):
        assert handoff[f"{step}_at"] is not None, step
    await live.close()


async def test_never_mind_while_waiting_cancels_the_handoff(
    desk_stack: DeskStack, http: aiohttp.ClientSession, sam: Agent
) -> None:
    customer = Customer(http, desk_stack)
    assert "passing you to" in " ".join(await customer.say("I want to talk to a human")).lower()
    handoff_id = await waiting_handoff_of(sam, customer.sender)

    assert await customer.say("never mind") == []  # paused; the desk gives it back

    async def abandoned() -> dict[str, Any] | None:
        handoff = await sam.handoff(handoff_id)
        return handoff if handoff["status"] == "abandoned" else None

    handoff = await eventually(abandoned, "the handoff abandoned")
    assert handoff["abandoned_at"] is not None

    async def told() -> str | None:
        tracker = await customer.tracker()
        said = " ".join(bot_texts_after_resume(tracker)) if not tracker["paused"] else ""
        return said if "cancelled your request for a person" in said else None

    await eventually(told, "the bot confirming the cancellation")
    assert "passing you to" in " ".join(await customer.say("agent")).lower()
