"""Two desk applications sharing one database and one Redis behave as one desk
(`desk.shared_state`; Redis at TEST_REDIS_URL, a fresh prefix per test).

Both run in the test's event loop, each with its own engine, thread pool, bus, hub and Redis
clients, as two desk processes would; the Rasa stand-in records what the customers were told.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from analytics.settings import AnalyticsSettings
from desk.api.floor import FLOOR_PATH
from desk.api.runtime import BUS, TASKS
from desk.app import create_app
from desk.redis_bus import RedisBus
from desk.services.agents import Actor
from desk.settings import DeskSettings
from desk.store.database import Database
from tests.desk.api.test_live_handoff import next_message
from tests.desk.conftest import HANDOFF_SECRET, Browser, post_handoff
from tests.desk.rasa_stand_in import RasaStandIn
from tests.support.shared_redis import RedisSpace, redis_space

__all__ = ["redis_space"]  # the fixture

ContextFactory = Callable[..., dict[str, Any]]
WAIT = 10.0


@pytest.fixture
async def desks(
    settings: DeskSettings,
    database: Database,
    actors: dict[str, Actor],
    analytics_settings: AnalyticsSettings,
    redis_space: RedisSpace,
) -> AsyncIterator[tuple[TestServer, TestServer]]:
    """Desk 1 and desk 2: one database (holding the test agents), one Redis prefix."""
    shared = settings.copy(update={"bus_url": redis_space.url, "bus_prefix": redis_space.prefix})
    servers = (
        TestServer(create_app(shared, analytics=analytics_settings)),
        TestServer(create_app(shared, analytics=analytics_settings)),
    )
    for server in servers:
        await server.start_server()
    try:
        assert all(isinstance(server.app[BUS], RedisBus) for server in servers)
        assert all(server.app[BUS].listening for server in servers)  # type: ignore[attr-defined]
        yield servers
    finally:
        for server in servers:
            await server.close()


@pytest.fixture
async def browsers_of(
    desks: tuple[TestServer, TestServer],
) -> AsyncIterator[Callable[..., Browser]]:
    """Make browsers for desk 1 or 2; all closed afterwards."""
    made: list[Browser] = []

    def make(desk: int, headers: dict[str, str] | None = None) -> Browser:
        browser = Browser(desks[desk - 1], headers)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()


async def settle(desks: tuple[TestServer, TestServer]) -> None:
    """Let both desks finish their background work (places told after intake, claims)."""
    for _ in range(2):  # what one desk's work set off in the other is settled too
        for server in desks:
            await server.app[TASKS].settle()


def places(rasa: RasaStandIn, sender_id: str) -> list[int]:
    """The places a customer was told, in order."""
    return [n["position"] for n in rasa.notifications(sender_id) if n["status"] == "waiting"]


async def test_two_desks_tell_every_change_of_place_once(
    desks: tuple[TestServer, TestServer],
    browsers_of: Callable[..., Browser],
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    bot_at = {n: browsers_of(n, {"Authorization": f"Bearer {HANDOFF_SECRET}"}) for n in (1, 2)}
    olivia = await browsers_of(2).login("olivia")

    first = await post_handoff(bot_at[1], context_factory(sender_id="first"))
    await settle(desks)
    await post_handoff(bot_at[2], context_factory(sender_id="second"))
    await settle(desks)
    await post_handoff(bot_at[1], context_factory(sender_id="third"))
    await settle(desks)
    assert [places(rasa, s) for s in ("first", "second", "third")] == [[1], [2], [3]]

    status, body = await olivia.post(f"/api/handoffs/{first}/claim")  # through desk 2
    assert status == 200, body
    await settle(desks)
    assert [places(rasa, s) for s in ("first", "second", "third")] == [[1], [2, 1], [3, 2]]

    # Two arrivals at once, one through each desk: each customer hears each change, once.
    await asyncio.gather(
        post_handoff(bot_at[1], context_factory(sender_id="fourth")),
        post_handoff(bot_at[2], context_factory(sender_id="fifth")),
    )
    await settle(desks)
    assert [places(rasa, s) for s in ("second", "third")] == [[2, 1], [3, 2]]
    told_last = {places(rasa, "fourth")[-1], places(rasa, "fifth")[-1]}
    assert told_last == {3, 4}
    for sender in ("fourth", "fifth"):
        told = places(rasa, sender)
        assert all(a != b for a, b in itertools.pairwise(told)), (sender, told)
    # The bot learned of each handoff once (a ONCE subscriber, in the desk it reached).
    assert len(rasa.of_kind("handoff_opened")) == 5


async def test_an_agent_on_one_desk_hears_of_a_handoff_queued_through_the_other(
    desks: tuple[TestServer, TestServer],
    browsers_of: Callable[..., Browser],
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    bot = browsers_of(1, {"Authorization": f"Bearer {HANDOFF_SECRET}"})
    olivia = await browsers_of(2).login("olivia")
    sam = await browsers_of(1).login("sam")
    socket = await olivia.live()
    assert (await socket.receive_json(timeout=WAIT))["type"] == "connected"

    handoff_id = await post_handoff(bot, context_factory(sender_id="across"))

    message = await next_message(socket)
    assert message == {
        "type": "queue_changed",
        "queue": "order_support",
        "handoff_id": handoff_id,
        "change": "queued",
    }
    # Olivia's console (on desk 2) counts as online for desk 1's supervisor strip.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        status, floor = await sam.get(FLOOR_PATH)
        assert status == 200, floor
        if floor["agents_online"] == 1 or loop.time() > deadline:
            break
        await asyncio.sleep(0.05)  # presence is written in the background, bounded above
    assert floor["agents_online"] == 1
    await settle(desks)
    # The customer heard "joined"-like courtesies once: one place, from desk 1 only.
    assert places(rasa, "across") == [1]
    await socket.close()
