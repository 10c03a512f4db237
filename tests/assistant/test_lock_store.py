"""The atomic Redis lock store against a real Redis (127.0.0.1:6379, or TEST_REDIS_URL): every
ticket of a conversation is taken once, however many processes take them at the same time."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from rasa.utils.endpoints import EndpointConfig

from assistant.lock_store import AtomicRedisLockStore

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TICKETS_PER_PROCESS = 150


def _store(prefix: str) -> AtomicRedisLockStore:
    url = redis.connection.parse_url(REDIS_URL)
    return AtomicRedisLockStore(
        EndpointConfig(url=url["host"], port=url["port"], db=url.get("db", 0), key_prefix=prefix)
    )


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"locktest{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


def _take_tickets(
    prefix: str, conversation_id: str, results: multiprocessing.Queue[list[int]]
) -> None:
    store = _store(prefix)
    results.put([store.issue_ticket(conversation_id, 60) for _ in range(TICKETS_PER_PROCESS)])


def test_processes_taking_tickets_at_once_never_share_one(prefix: str) -> None:
    conversation_id = uuid.uuid4().hex
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[list[int]] = context.Queue()
    workers = [
        context.Process(target=_take_tickets, args=(prefix, conversation_id, results))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    taken = [ticket for _ in workers for ticket in results.get(timeout=60)]
    for worker in workers:
        worker.join(10)

    assert sorted(taken) == list(range(3 * TICKETS_PER_PROCESS))  # Rasa numbers from 0
    lock = _store(prefix).get_lock(conversation_id)
    assert lock is not None and len(lock.tickets) == 3 * TICKETS_PER_PROCESS


async def test_one_conversation_is_served_one_holder_at_a_time_in_ticket_order(
    prefix: str,
) -> None:
    stores = [_store(prefix), _store(prefix)]  # two "processes"
    conversation_id = uuid.uuid4().hex
    inside: list[int] = []
    order: list[int] = []

    async def handle(number: int) -> None:
        async with stores[number % 2].lock(conversation_id, wait_time_in_seconds=0.01):
            inside.append(number)
            assert len(inside) == 1, f"{inside} hold the lock together"
            order.append(number)
            await asyncio.sleep(0.02)  # the "turn"; others must wait meanwhile
            inside.remove(number)

    tasks = []
    for number in range(6):
        tasks.append(asyncio.create_task(handle(number)))
        await asyncio.sleep(0)  # each takes its ticket before the next one starts

    await asyncio.gather(*tasks)

    assert order == list(range(6))
    assert stores[0].get_lock(conversation_id) is None  # the last holder deleted it


def test_cleanup_keeps_a_lock_someone_waits_for(prefix: str) -> None:
    store = _store(prefix)
    conversation_id = uuid.uuid4().hex
    first = store.issue_ticket(conversation_id, 60)
    second = store.issue_ticket(conversation_id, 60)

    store.cleanup(conversation_id, first)

    lock = store.get_lock(conversation_id)
    assert lock is not None and lock.now_serving == second
    store.cleanup(conversation_id, second)
    assert store.get_lock(conversation_id) is None
