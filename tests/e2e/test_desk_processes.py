"""Two real desk processes (`python -m desk`) sharing one PostgreSQL database and one Redis
(DESK_BUS_URL) behave as one desk: what happens through one reaches the consoles of the other.

No Rasa here: the desks' calls to it fail fast and are logged (a courtesy never fails a
request), which is all these checks need.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from desk.seed import prepare_demo_desk
from harness.loopback import free_ports, sqlite_url
from launcher.stack import Stack, desk_server, running_stack
from tests.e2e.environment import build_environment
from tests.support.handoff_examples import GOLDEN_PATH
from tests.support.postgres import fresh_postgres_database
from tests.support.shared_redis import RedisSpace, redis_space

__all__ = ["redis_space"]  # the fixture

pytestmark = pytest.mark.e2e

WAIT = 20.0


@dataclass(frozen=True)
class TwoDesks:
    """The running desks, and what the agents and the bot need to reach them."""

    stack: Stack
    urls: tuple[str, str]
    password: str
    handoff_secret: str


@pytest.fixture
def two_desks(tmp_path: Path, redis_space: RedisSpace) -> Iterator[TwoDesks]:
    """Desk 1 and desk 2 on their own ports: one fresh PostgreSQL database, one Redis prefix."""
    env = build_environment(tmp_path)
    with fresh_postgres_database("desk_e2e_") as database_url:
        password = secrets.token_urlsafe(16)
        prepare_demo_desk(database_url, password)  # migrated once, before either starts
        rasa_port, *ports = free_ports(3)
        process_env = {
            **env.env,
            "DESK_DATABASE_URL": database_url,
            "DESK_DEMO_PASSWORD": password,
            "DESK_BUS_URL": redis_space.url,
            "DESK_BUS_PREFIX": redis_space.prefix,
            "RASA_URL": f"http://127.0.0.1:{rasa_port}",  # nothing listens: Rasa is down
            "RASA_TIMEOUT_SECONDS": "1",
            "DESK_DOCUMENTS_DIR": str(tmp_path / "documents"),
            "ANALYTICS_DATABASE_URL": sqlite_url(tmp_path / "analytics.db"),
        }
        desks = [
            dataclasses.replace(desk_server(port), name=f"desk-{n}")
            for n, port in enumerate(ports, start=1)
        ]
        with running_stack([], tmp_path / "logs", process_env) as stack:
            for desk in desks:  # one after the other: each migrates (a no-op) as it starts
                stack.start(desk)
                stack.wait_healthy(desk.name)
            yield TwoDesks(
                stack,
                (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"),
                password,
                env.handoff_secret,
            )


class Browser:
    """An agent's browser: one cookie jar for both desks (they share the sessions)."""

    def __init__(self, desks: TwoDesks) -> None:
        self.desks = desks
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def call(self, desk: int, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        url = self.desks.urls[desk - 1] + path
        async with self.http.request(method, url, **kwargs) as response:
            return response.status, await response.json()

    async def login(self, desk: int, username: str) -> Browser:
        status, body = await self.call(
            desk, "POST", "/api/login", json={"username": username, "password": self.desks.password}
        )
        assert status == 200, body
        return self

    async def live(self, desk: int) -> aiohttp.ClientWebSocketResponse:
        socket = await self.http.ws_connect(self.desks.urls[desk - 1] + "/api/live")
        assert (await socket.receive_json(timeout=WAIT))["type"] == "connected"
        return socket

    async def close(self) -> None:
        await self.http.close()


async def next_of(socket: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next console message of a type (the others are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        message: dict[str, Any] = await socket.receive_json(timeout=deadline - loop.time())
        if message["type"] == kind:
            return message


def handoff_context() -> dict[str, Any]:
    """The golden context, with a fresh id and conversation, for order support."""
    payload: dict[str, Any] = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
    payload["handoff_id"] = str(uuid.uuid4())
    payload["routing"]["queue"] = "order_support"
    payload["conversation"]["sender_id"] = f"web-{uuid.uuid4().hex[:12]}"
    return payload


async def test_an_agent_on_desk_2_hears_of_a_handoff_posted_to_desk_1(
    two_desks: TwoDesks,
) -> None:
    olivia = await Browser(two_desks).login(2, "olivia")
    sam = await Browser(two_desks).login(1, "sam")
    bot = aiohttp.ClientSession(headers={"Authorization": f"Bearer {two_desks.handoff_secret}"})
    try:
        console = await olivia.live(2)
        context = handoff_context()

        async with bot.post(
            two_desks.urls[0] + "/api/handoffs",
            json=context,
            headers={"Idempotency-Key": context["handoff_id"]},
        ) as response:
            assert response.status == 201, await response.text()

        pushed = await next_of(console, "queue_changed")
        assert pushed == {
            "type": "queue_changed",
            "queue": "order_support",
            "handoff_id": context["handoff_id"],
            "change": "queued",
        }

        # Olivia's console on desk 2 counts as online on desk 1 (the supervisors' strip).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            status, floor = await sam.call(1, "GET", "/api/analytics/floor")
            assert status == 200, floor
            if floor["agents_online"] == 1 or loop.time() > deadline:
                break
            await asyncio.sleep(0.1)  # polling another process, bounded by the deadline
        assert floor["agents_online"] == 1

        # Logging out through desk 1 closes her console on desk 2.
        status, _ = await olivia.call(1, "POST", "/api/logout")
        assert status == 200
        closing = await console.receive(timeout=WAIT)
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert (closing.data, closing.extra) == (1008, "logged out")
    finally:
        await bot.close()
        await olivia.close()
        await sam.close()
