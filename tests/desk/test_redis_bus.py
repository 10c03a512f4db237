"""The event bus shared by several desk processes (`desk.redis_bus`).

First with a stand-in for Redis (what is shared, in which order, what comes back), then with
the real Redis (TEST_REDIS_URL, a fresh prefix per test): two buses are two desk processes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from redis.asyncio import Redis

from desk.bus import Reach
from desk.events import HandoffClaimed, HandoffQueued, HandoffResolved
from desk.redis_bus import RedisBus, envelope, open_envelope
from tests.desk.rasa_stand_in import closed_port_url
from tests.support.shared_redis import RedisSpace, redis_space

__all__ = ["redis_space"]  # the fixture

T = TypeVar("T")
#: How long a test waits for something another "process" does.
WAIT = 10.0


def queued(number: int) -> HandoffQueued:
    return HandoffQueued(f"h-{number}", f"web-{number}", "order_support", priority="normal")


CLAIMED = HandoffClaimed("h-1", "web-alice", "order_support", agent_id=7, agent_name="Olivia")
RESOLVED = HandoffResolved(
    "h-1", "web-alice", "order_support", agent_id=7, agent_name="Olivia", disposition="solved"
)


async def eventually(check: Callable[[], T], what: str, timeout: float = WAIT) -> T:
    """Poll `check` until it is truthy, for at most `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := check()):
        if loop.time() > deadline:
            raise AssertionError(f"{what} not within {timeout}s")
        await asyncio.sleep(0.02)  # polling a recording, bounded by the deadline
    return result


class Recorder:
    """Subscribers that record the events they get, by name."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def subscriber(self, label: str) -> Callable[[Any], Awaitable[None]]:
        async def record(event: Any) -> None:
            self.seen.append((label, event.handoff_id))

        record.__qualname__ = label
        return record

    def of(self, label: str) -> list[str]:
        return [handoff_id for who, handoff_id in self.seen if who == label]


# --- With a stand-in for Redis -----------------------------------------------------------------


class FakePubSub:
    """Confirms the subscription, then hands out what the test put in `inbox`."""

    def __init__(self, inbox: asyncio.Queue[str]) -> None:
        self.inbox = inbox
        self.confirmed = False

    async def subscribe(self, channel: str) -> None:
        self.channel = channel

    async def get_message(self, timeout: float) -> dict[str, Any] | None:
        if not self.confirmed:
            self.confirmed = True
            return {"type": "subscribe", "channel": self.channel, "data": 1}
        try:
            data = await asyncio.wait_for(self.inbox.get(), timeout)
        except asyncio.TimeoutError:
            return None
        return {"type": "message", "channel": self.channel, "data": data}

    async def reset(self) -> None:
        pass


class FakeRedis:
    """Records what is published; `inbox` is what the channel brings from elsewhere."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []
        self.inbox: asyncio.Queue[str] = asyncio.Queue()

    async def publish(self, channel: str, text: str) -> int:
        self.published.append((channel, text))
        return 1

    def pubsub(self) -> FakePubSub:
        return FakePubSub(self.inbox)


@pytest.fixture
async def fake_bus() -> AsyncIterator[tuple[RedisBus, FakeRedis]]:
    redis = FakeRedis()
    bus = RedisBus(redis, url="redis://fake:6379/0", prefix="desk", origin="here")
    await bus.start()
    yield bus, redis
    await bus.stop()


async def test_local_subscribers_run_before_publish_returns_and_events_are_shared_in_order(
    fake_bus: tuple[RedisBus, FakeRedis],
) -> None:
    bus, redis = fake_bus
    recorder = Recorder()

    async def resolve_at_once(event: HandoffClaimed) -> None:
        recorder.seen.append(("claimed", event.handoff_id))
        await bus.publish(RESOLVED)  # published by a subscriber, while the claim is delivered

    bus.subscribe(HandoffClaimed, resolve_at_once)
    bus.subscribe(HandoffResolved, recorder.subscriber("resolved"), reach=Reach.EVERY_PROCESS)

    await bus.publish(CLAIMED)

    assert recorder.seen == [("claimed", "h-1"), ("resolved", "h-1")]  # before publish returned
    await bus.stop()  # lets the sender share what waits
    assert [channel for channel, _ in redis.published] == ["desk:events", "desk:events"]
    shared = [open_envelope(text) for _, text in redis.published]
    assert shared == [("here", CLAIMED), ("here", RESOLVED)]


async def test_an_event_of_another_process_reaches_only_the_every_process_subscribers(
    fake_bus: tuple[RedisBus, FakeRedis],
) -> None:
    bus, redis = fake_bus
    recorder = Recorder()
    bus.subscribe(HandoffQueued, recorder.subscriber("once"), reach=Reach.ONCE)
    bus.subscribe(HandoffQueued, recorder.subscriber("every"), reach=Reach.EVERY_PROCESS)

    await redis.inbox.put(envelope("there", queued(1)))
    await redis.inbox.put(envelope("here", queued(2)))  # this process's own, echoed back
    await redis.inbox.put(envelope("there", queued(3)))
    await eventually(lambda: len(recorder.of("every")) == 2, "the other process's events")

    assert recorder.of("every") == ["h-1", "h-3"]
    assert recorder.of("once") == []
    assert redis.published == []  # what arrived is not shared again


async def test_a_message_that_is_no_event_is_skipped_and_logged_without_its_words(
    fake_bus: tuple[RedisBus, FakeRedis], caplog: pytest.LogCaptureFixture
) -> None:
    bus, redis = fake_bus
    recorder = Recorder()
    bus.subscribe(HandoffQueued, recorder.subscriber("every"), reach=Reach.EVERY_PROCESS)

    with caplog.at_level(logging.WARNING, logger="desk.redis_bus"):
        await redis.inbox.put('{"origin": "there", "event": "Alice Smith, 4 Elm Street"}')
        await redis.inbox.put('{"origin": "there", "event": "{\\"name\\": \\"handoff.queued\\"}"}')
        await redis.inbox.put(envelope("there", queued(1)))
        await eventually(lambda: recorder.of("every"), "the next event")

    assert recorder.of("every") == ["h-1"]
    skipped = [r.getMessage() for r in caplog.records if "not a desk event" in r.getMessage()]
    assert len(skipped) == 2
    assert "Alice" not in caplog.text and "Elm" not in caplog.text


def test_the_envelope_carries_the_encoded_event_and_its_origin() -> None:
    origin, event = open_envelope(envelope("desk-1", CLAIMED))

    assert (origin, event) == ("desk-1", CLAIMED)
    with pytest.raises(ValueError, match="not a desk event envelope"):
        open_envelope('{"origin": "desk-1"}')
    with pytest.raises(ValueError, match="not a desk event"):
        open_envelope('{"origin": "desk-1", "event": "{\\"name\\": \\"handoff.teleported\\"}"}')


# --- With the real Redis -----------------------------------------------------------------------


def new_bus(space: RedisSpace, origin: str, **options: Any) -> tuple[RedisBus, Redis]:
    """A bus (not started yet) of a desk process named `origin`, and its Redis client."""
    redis = space.client(**options)
    bus = RedisBus(redis, url=space.url, prefix=space.prefix, origin=origin)
    return bus, redis


async def test_an_event_published_in_one_process_reaches_the_every_process_subscribers_of_the_other(
    redis_space: RedisSpace,
) -> None:
    one, one_redis = new_bus(redis_space, "desk-1")
    two, two_redis = new_bus(redis_space, "desk-2")
    here, there = Recorder(), Recorder()
    for bus, recorder in ((one, here), (two, there)):
        bus.subscribe(HandoffQueued, recorder.subscriber("once"))  # the default reach
        bus.subscribe(HandoffQueued, recorder.subscriber("every"), reach=Reach.EVERY_PROCESS)
    await one.start()
    await two.start()
    try:
        assert one.listening and two.listening
        for number in range(1, 21):
            await one.publish(queued(number))
        expected = [f"h-{number}" for number in range(1, 21)]

        await eventually(lambda: len(there.of("every")) == 20, "the events in the other process")

        assert there.of("every") == expected  # in the order they were published
        assert there.of("once") == []  # they ran in the publishing process
        assert here.of("once") == here.of("every") == expected  # once each, not echoed again
    finally:
        await one.stop()
        await two.stop()
        await one_redis.close(close_connection_pool=True)
        await two_redis.close(close_connection_pool=True)


async def test_with_redis_down_events_are_delivered_here_and_one_clear_warning_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = closed_port_url().replace("http://", "redis://") + "/0"
    redis = Redis.from_url(url, decode_responses=True, socket_connect_timeout=1)
    bus = RedisBus(redis, url=url, prefix="desk", origin="alone", start_wait_seconds=0.5)
    recorder = Recorder()
    bus.subscribe(HandoffQueued, recorder.subscriber("once"))
    bus.subscribe(HandoffQueued, recorder.subscriber("every"), reach=Reach.EVERY_PROCESS)

    with caplog.at_level(logging.WARNING, logger="desk.redis_bus"):
        await bus.start()  # does not fail: the desk works alone until Redis is back
        for number in range(1, 6):
            await bus.publish(queued(number))
        await bus.stop()
    await redis.close(close_connection_pool=True)

    assert not bus.listening
    assert recorder.of("once") == recorder.of("every") == [f"h-{n}" for n in range(1, 6)]
    sending = [r.getMessage() for r in caplog.records if "not shared" in r.getMessage()]
    assert len(sending) == 1  # five events, one warning (the others counted in the next)
    assert f"Redis at {url} is not reachable" in sending[0]
    hearing = [r.getMessage() for r in caplog.records if "does not hear" in r.getMessage()]
    assert hearing and f"Redis at {url} is not reachable" in hearing[0]


async def test_the_listener_reconnects_after_its_connection_is_dropped(
    redis_space: RedisSpace, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"listener-{uuid.uuid4().hex[:8]}"
    one, one_redis = new_bus(redis_space, "desk-1")
    two, two_redis = new_bus(redis_space, "desk-2", client_name=name)
    there = Recorder()
    two.subscribe(HandoffQueued, there.subscriber("every"), reach=Reach.EVERY_PROCESS)
    admin = redis_space.client()
    await one.start()
    await two.start()
    try:
        await one.publish(queued(1))
        await eventually(lambda: there.of("every") == ["h-1"], "the first event")

        with caplog.at_level(logging.INFO, logger="desk.redis_bus"):
            clients = await admin.client_list()
            ids = [client["id"] for client in clients if client.get("name") == name]
            assert ids, "the listener's connection"
            for client_id in ids:
                await admin.execute_command("CLIENT", "KILL", "ID", client_id)
            await eventually(lambda: not two.listening, "the listener noticing")
            await eventually(lambda: two.listening, "the listener subscribed again")

        await one.publish(queued(2))
        await eventually(lambda: there.of("every") == ["h-1", "h-2"], "the event after it")
        assert "does not hear the events of the others" in caplog.text
        assert "hears the others' events" in caplog.text
    finally:
        await one.stop()
        await two.stop()
        for client in (one_redis, two_redis, admin):
            await client.close(close_connection_pool=True)
