"""Who is online at the desk, whichever process their console is connected to
(`desk.presence`; Redis at TEST_REDIS_URL, a fresh prefix per test)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis

from desk.console_hub import LiveHub
from desk.presence import LocalPresence, RedisPresence
from desk.services.agents import Actor
from desk.store.models import AgentRole
from tests.desk.rasa_stand_in import closed_port_url
from tests.support.shared_redis import RedisSpace, redis_space

__all__ = ["redis_space"]  # the fixture

WAIT = 10.0


class Console:
    """Stands in for a console's websocket (the hub only asks whether it is closed)."""

    closed = False


def actor(agent_id: int) -> Actor:
    return Actor(
        agent_id=agent_id,
        username=f"agent{agent_id}",
        display_name=f"Agent {agent_id}",
        role=AgentRole.AGENT.value,
        queues=frozenset({"order_support"}),
    )


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not within {WAIT}s")
        await asyncio.sleep(0.05)  # polling another process's state, bounded by the deadline


async def test_one_process_is_its_own_consoles() -> None:
    hub = LiveHub()
    hub.add(Console(), actor(7))  # type: ignore[arg-type]

    assert await LocalPresence(hub).agent_ids() == {7}


async def test_consoles_of_one_process_count_as_online_in_the_other_until_it_stops(
    redis_space: RedisSpace,
) -> None:
    clients = [redis_space.client(), redis_space.client()]
    hubs = [LiveHub(), LiveHub()]
    one, two = (
        RedisPresence(
            client, hub, url=redis_space.url, prefix=redis_space.prefix, process=f"desk-{n}"
        )
        for n, (client, hub) in enumerate(zip(clients, hubs, strict=True), start=1)
    )
    await one.start()
    await two.start()
    try:
        hubs[0].add(Console(), actor(7))  # type: ignore[arg-type]
        hubs[1].add(Console(), actor(8))  # type: ignore[arg-type]

        await eventually(lambda: _is(two, {7, 8}), "desk 1's agent online for desk 2")
        await eventually(lambda: _is(one, {7, 8}), "desk 2's agent online for desk 1")

        going = Console()
        hubs[0].add(going, actor(9))  # type: ignore[arg-type]
        await eventually(lambda: _is(two, {7, 8, 9}), "a second console on desk 1")
        hubs[0].remove(going)  # type: ignore[arg-type]
        await eventually(lambda: _is(two, {7, 8}), "the console that went")

        await one.stop()  # desk 1 shuts down: its consoles are off at once
        assert await two.agent_ids() == {8}
    finally:
        await two.stop()
        for client in clients:
            await client.close(close_connection_pool=True)


async def test_a_crashed_process_drops_out_after_the_time_to_live(
    redis_space: RedisSpace,
) -> None:
    clients = [redis_space.client(), redis_space.client()]
    hub = LiveHub()
    hub.add(Console(), actor(7))  # type: ignore[arg-type]
    crashing = RedisPresence(
        clients[0],
        hub,
        url=redis_space.url,
        prefix=redis_space.prefix,
        process="desk-1",
        ttl_seconds=1.0,
    )
    other = RedisPresence(
        clients[1], LiveHub(), url=redis_space.url, prefix=redis_space.prefix, process="desk-2"
    )
    await crashing.start()
    try:
        assert await other.agent_ids() == {7}
        # The process dies: its heartbeat stops, nothing is cleaned up.
        assert crashing._task is not None
        crashing._task.cancel()
        await asyncio.gather(crashing._task, return_exceptions=True)
        started = asyncio.get_running_loop().time()

        await eventually(lambda: _is(other, set()), "the crashed process's consoles gone")

        assert asyncio.get_running_loop().time() - started < 1.0 + 1.0
        members = await clients[1].smembers(f"{redis_space.prefix}:presence:processes")
        assert members == set()  # the dead process was taken off the list
    finally:
        for client in clients:
            await client.close(close_connection_pool=True)


async def test_with_redis_down_only_this_process_counts_and_it_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = closed_port_url().replace("http://", "redis://") + "/0"
    redis = Redis.from_url(url, decode_responses=True, socket_connect_timeout=1)
    hub = LiveHub()
    hub.add(Console(), actor(7))  # type: ignore[arg-type]
    presence = RedisPresence(redis, hub, url=url, prefix="desk", process="alone")
    try:
        with caplog.at_level(logging.WARNING, logger="desk.presence"):
            await presence.start()
            assert await presence.agent_ids() == {7}
            assert await presence.agent_ids() == {7}
            await presence.stop()
    finally:
        await redis.close(close_connection_pool=True)

    messages = [record.getMessage() for record in caplog.records]
    reading = "only the consoles of this desk process count as online"
    assert sum(reading in message for message in messages) == 1  # two reads, one warning
    assert sum("do not count as online for the others" in message for message in messages) == 1
    assert all(f"Redis at {url} is not reachable" in message for message in messages)


async def _is(presence: RedisPresence, expected: set[int]) -> bool:
    return await presence.agent_ids() == expected
