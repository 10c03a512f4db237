"""What the waiting customers were told (`desk.told_places`): in one process, and in Redis
shared by several (TEST_REDIS_URL, a fresh prefix per test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from desk.redis_link import RedisUnavailable
from desk.told_places import InMemoryToldPlaces, RedisToldPlaces, ToldPlaces
from tests.desk.rasa_stand_in import closed_port_url
from tests.support.shared_redis import RedisSpace, redis_space

__all__ = ["redis_space"]  # the fixture


@pytest.fixture
async def in_redis(redis_space: RedisSpace) -> AsyncIterator[RedisToldPlaces]:
    """Told places in Redis, on a fresh prefix."""
    redis = redis_space.client()
    yield RedisToldPlaces(redis, url=redis_space.url, prefix=redis_space.prefix)
    await redis.close(close_connection_pool=True)


async def test_in_memory_a_place_is_remembered_only_over_the_one_that_was_read() -> None:
    await a_place_is_remembered_only_over_the_one_that_was_read(InMemoryToldPlaces())


async def test_in_redis_a_place_is_remembered_only_over_the_one_that_was_read(
    in_redis: RedisToldPlaces,
) -> None:
    await a_place_is_remembered_only_over_the_one_that_was_read(in_redis)


async def test_in_memory_customers_who_left_the_queue_are_forgotten() -> None:
    await customers_who_left_the_queue_are_forgotten(InMemoryToldPlaces())


async def test_in_redis_customers_who_left_the_queue_are_forgotten(
    in_redis: RedisToldPlaces,
) -> None:
    await customers_who_left_the_queue_are_forgotten(in_redis)


async def a_place_is_remembered_only_over_the_one_that_was_read(told: ToldPlaces) -> None:
    assert await told.recall("order_support") == {}

    assert await told.remember("order_support", "h-1", 2, previous=None)
    assert await told.remember("order_support", "h-2", 3, previous=None)
    # Another teller read "nothing told" too, but h-1 was told meanwhile: not overwritten.
    assert not await told.remember("order_support", "h-1", 5, previous=None)
    assert await told.remember("order_support", "h-1", 1, previous=2)
    assert not await told.remember("order_support", "h-1", 7, previous=2)

    assert await told.recall("order_support") == {"h-1": 1, "h-2": 3}
    assert await told.recall("tech_support_l2") == {}


async def customers_who_left_the_queue_are_forgotten(told: ToldPlaces) -> None:
    await told.remember("order_support", "h-1", 1, previous=None)
    await told.remember("order_support", "h-2", 2, previous=None)
    await told.remember("tech_support_l2", "h-1", 4, previous=None)

    await told.forget("order_support", ["h-1", "h-9"])
    await told.forget("order_support", [])

    assert await told.recall("order_support") == {"h-2": 2}
    assert await told.recall("tech_support_l2") == {"h-1": 4}


async def test_two_processes_tell_one_after_the_other(redis_space: RedisSpace) -> None:
    clients = [redis_space.client(), redis_space.client()]
    one, two = (RedisToldPlaces(c, url=redis_space.url, prefix=redis_space.prefix) for c in clients)
    log: list[str] = []
    one_inside = asyncio.Event()

    async def first() -> None:
        async with one.telling():
            log.append("one in")
            one_inside.set()
            await asyncio.sleep(0.3)  # telling takes a while (Rasa calls)
            log.append("one out")

    async def second() -> None:
        await one_inside.wait()
        async with two.telling():
            log.append("two in")

    try:
        await asyncio.gather(first(), second())
    finally:
        for client in clients:
            await client.close(close_connection_pool=True)

    assert log == ["one in", "one out", "two in"]


async def test_with_redis_down_the_error_names_it() -> None:
    url = closed_port_url().replace("http://", "redis://") + "/0"
    redis = Redis.from_url(url, decode_responses=True, socket_connect_timeout=1)
    told = RedisToldPlaces(redis, url=url, prefix="desk")
    try:
        with pytest.raises(RedisUnavailable, match=f"Redis at {url} is not reachable"):
            async with told.telling():
                pass
        with pytest.raises(RedisUnavailable, match=f"Redis at {url} is not reachable"):
            await told.recall("order_support")
    finally:
        await redis.close(close_connection_pool=True)
