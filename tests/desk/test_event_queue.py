"""The desk consumes conversation events from RabbitMQ (desk/event_queue.py).

Against the real RabbitMQ (RABBITMQ_TEST_URL, default guest on 127.0.0.1:5672), each test with
its own exchange and queue, deleted afterwards. Events are published by Rasa's own
`PikaEventBroker`, built as Rasa builds it: from an `event_broker:` section of an endpoints file
with `${VAR}` credentials (the snippet docs/desk-design.md gives for `endpoints.scaled.yml`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestServer
from rasa.core.brokers.broker import EventBroker
from yarl import URL

from analytics.settings import AnalyticsSettings
from desk.api.runtime import DATABASE, DESK
from desk.app import create_app
from desk.event_queue import (
    EVENT_QUEUE,
    SET_ASIDE_REASON_HEADER,
    ConsumerState,
    ConversationEventConsumer,
    masked_url,
    set_aside_queue_of,
)
from desk.services.agents import Actor
from desk.services.conversations import SeenMessages
from desk.settings import DeskSettings
from desk.store.database import Database
from desk.store.models import Handoff
from desk.workflows import customer
from tests.desk.api.test_live_handoff import connect, next_message
from tests.desk.conftest import Browser, post_handoff
from tests.support.rabbitmq import (
    RABBITMQ_URL,
    CuttableLink,
    Names,
    bot_said,
    eventually,
    names,
    other_events,
    rasa_broker,
    user_said,
)

__all__ = ["names", "rasa_broker"]  # fixtures


async def customer_messages(socket: ClientWebSocketResponse, count: int) -> list[str]:
    """The texts of the next `count` customer messages a console receives."""
    texts: list[str] = []
    while len(texts) < count:
        message = await next_message(socket)
        if message["type"] == "customer_message":
            texts.append(message["text"])
    return texts


# --- Through the desk application -----------------------------------------------------------


@pytest.fixture
async def server(
    settings: DeskSettings,
    database: Database,
    actors: dict[str, Actor],
    analytics_settings: AnalyticsSettings,
    names: Names,
) -> AsyncIterator[TestServer]:
    """The desk app consuming this test's queue (replaces the conftest's `server`)."""
    consuming = DeskSettings(
        **{
            **settings.dict(),
            "event_queue_url": RABBITMQ_URL,
            "event_exchange": names.exchange,
            "event_queue": names.queue,
        }
    )
    test_server = TestServer(create_app(consuming, analytics=analytics_settings))
    await test_server.start_server()
    consumer = test_server.app[EVENT_QUEUE]
    await eventually(lambda: consumer.state is ConsumerState.ACTIVE, "the desk to consume")
    yield test_server
    await test_server.close()


def mark_of(server: TestServer, handoff_id: str) -> float | None:
    """The handoff's stored mark of the last customer message applied."""
    with server.app[DATABASE].session() as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff is not None
        return handoff.last_message_timestamp


async def test_customer_messages_rasa_publishes_reach_the_agent_and_the_store_in_order(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa_broker: EventBroker,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="queue-order"))
    live = await connect(olivia)
    said = [user_said("queue-order", f"message {n}") for n in range(1, 21)]

    for event in said:
        for other in (bot_said("queue-order", "Still there?"), *other_events("queue-order")):
            rasa_broker.publish(other)
        rasa_broker.publish(event)

    assert await customer_messages(live, 20) == [event["text"] for event in said]
    assert mark_of(server, handoff_id) == said[-1]["timestamp"]
    consumer = server.app[EVENT_QUEUE]
    await eventually(lambda: consumer.handled == 20, "the last one to be acknowledged")
    assert (consumer.ignored, consumer.set_aside) == (60, 0)
    await live.close()


async def test_a_desk_stopped_mid_stream_gets_every_event_published_meanwhile_once(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa_broker: EventBroker,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    await post_handoff(bot, context_factory(sender_id="queue-restart"))
    live = await connect(olivia)
    consumer = server.app[EVENT_QUEUE]
    rasa_broker.publish(user_said("queue-restart", "before 1"))
    rasa_broker.publish(user_said("queue-restart", "before 2"))
    assert await customer_messages(live, 2) == ["before 1", "before 2"]

    await consumer.stop()
    meanwhile = [user_said("queue-restart", f"meanwhile {n}") for n in range(1, 6)]
    for event in meanwhile:
        rasa_broker.publish(event)
    consumer.start()

    assert await customer_messages(live, 5) == [event["text"] for event in meanwhile]
    rasa_broker.publish(user_said("queue-restart", "after"))
    assert await customer_messages(live, 1) == ["after"]  # nothing came twice in between
    await eventually(lambda: consumer.handled == 8, "the last one to be acknowledged")
    await live.close()


async def test_a_message_redelivered_after_a_crash_is_not_applied_twice(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa_broker: EventBroker,
    names: Names,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    # The desk's consumer stands aside; this one handles an event, then "crashes" before its
    # acknowledgement (the handler fails once after the unit of work committed), so RabbitMQ's
    # copy is handled again, by a desk with no memory of it (a fresh process's SeenMessages).
    handoff_id = await post_handoff(bot, context_factory(sender_id="queue-twice"))
    await server.app[EVENT_QUEUE].stop()
    live = await connect(olivia)
    desk = server.app[DESK]
    calls: list[str] = []

    async def handle_then_crash(sender_id: str, event: dict[str, Any]) -> object:
        restarted = dataclasses.replace(desk, seen=SeenMessages())
        answer = await customer.conversation_event(restarted, sender_id, event)
        calls.append(event["text"])
        if len(calls) == 1:
            raise RuntimeError("the desk stopped before its acknowledgement")
        return answer

    consumer = ConversationEventConsumer(
        RABBITMQ_URL,
        handle_then_crash,
        exchange=names.exchange,
        queue=names.queue,
        retry_initial_seconds=0.05,
    )
    consumer.start()
    try:
        first = user_said("queue-twice", "where is my parcel?")
        rasa_broker.publish(first)
        await eventually(lambda: consumer.handled == 1, "the message to be handled")
        rasa_broker.publish(user_said("queue-twice", "hello?"))

        assert await customer_messages(live, 2) == ["where is my parcel?", "hello?"]
        await eventually(lambda: len(calls) == 3, "the handler to return")
        assert calls == ["where is my parcel?", "where is my parcel?", "hello?"]
        assert mark_of(server, handoff_id) is not None
    finally:
        await consumer.stop()
        await live.close()


# --- The consumer on its own ----------------------------------------------------------------


class Recorder:
    """A stand-in for the workflow: records what it is handed (a unit test's fake)."""

    def __init__(self, hold_at: int | None = None) -> None:
        """Hold the `hold_at`-th event until `release` is set (None: never hold)."""
        self.events: list[tuple[str, str]] = []
        self.hold_at = hold_at
        self.release = asyncio.Event()

    async def __call__(self, sender_id: str, event: dict[str, Any]) -> object:
        self.events.append((sender_id, event["text"]))
        if len(self.events) == self.hold_at:
            await self.release.wait()
        return None


def consumer_of(
    names: Names, handle: Callable[[str, dict[str, Any]], Awaitable[object]], **kwargs: Any
) -> ConversationEventConsumer:
    return ConversationEventConsumer(
        kwargs.pop("url", RABBITMQ_URL),
        handle,
        exchange=names.exchange,
        queue=names.queue,
        standby_retry_seconds=0.1,
        retry_initial_seconds=0.05,
        **kwargs,
    )


async def test_one_desk_consumes_and_a_standby_takes_over_in_order(
    names: Names, rasa_broker: EventBroker
) -> None:
    first, second = Recorder(hold_at=3), Recorder()
    active, standby = consumer_of(names, first), consumer_of(names, second)
    active.start()
    await eventually(lambda: active.state is ConsumerState.ACTIVE, "the first desk to consume")
    standby.start()
    await eventually(lambda: standby.state is ConsumerState.STANDBY, "the second to stand by")
    said = [user_said("two-desks", f"m{n}") for n in range(1, 11)]
    try:
        for event in said:
            rasa_broker.publish(event)
        await eventually(lambda: len(first.events) == 3, "the first desk to hold the third")
        stopping = asyncio.ensure_future(active.stop())
        await asyncio.sleep(0)  # let stop() begin while the third event is in hand
        first.release.set()
        await stopping

        await eventually(lambda: len(second.events) == 7, "the standby to take the rest")
        assert standby.state is ConsumerState.ACTIVE
        texts = [text for _, text in first.events + second.events]
        assert texts == [event["text"] for event in said]
        await eventually(lambda: standby.handled == 7, "the standby's acknowledgements")
        assert active.handled == 3
    finally:
        await standby.stop()
        await active.stop()


async def test_a_malformed_message_is_set_aside_and_the_next_one_is_handled(
    names: Names, rasa_broker: EventBroker, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    consumer = consumer_of(names, recorder)
    consumer.start()
    await eventually(lambda: consumer.state is ConsumerState.ACTIVE, "the desk to consume")
    malformed = [
        b"\xff\xfe not json",
        b'["a", "list"]',
        b'{"event": "user", "text": "my card is 4111 1111"}',  # no sender_id
        b'{"sender_id": "s", "text": "no type"}',
    ]
    try:
        async with await aio_pika.connect(RABBITMQ_URL) as connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(names.exchange)
            for body in malformed:
                await exchange.publish(aio_pika.Message(body), routing_key="")
        rasa_broker.publish(user_said("after-bad", "a real one"))

        await eventually(lambda: recorder.events == [("after-bad", "a real one")], "the next")
        assert consumer.set_aside == 4
        async with await aio_pika.connect(RABBITMQ_URL) as connection:
            channel = await connection.channel()
            kept = await channel.declare_queue(set_aside_queue_of(names.queue), passive=True)
            copies = [await kept.get(no_ack=True) for _ in malformed]
        assert all(copy is not None for copy in copies)
        assert [copy.body for copy in copies if copy] == malformed
        reasons = [str(copy.headers[SET_ASIDE_REASON_HEADER]) for copy in copies if copy]
        assert all(reason.startswith("not a Rasa event") for reason in reasons), reasons
        assert "4111" not in caplog.text  # what a customer said is never logged
        assert "set aside a message" in caplog.text
    finally:
        await consumer.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_rabbitmq_unreachable_gives_a_clear_message_and_the_consumer_keeps_trying(
    names: Names, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    url = f"amqp://desk:s3cret-pw@127.0.0.1:{port}/%2F"
    consumer = consumer_of(names, Recorder(), url=url)
    caplog.set_level(logging.INFO, logger="desk.event_queue")

    consumer.start()
    await eventually(lambda: consumer.state is ConsumerState.UNREACHABLE, "a failed connect")
    started = time.monotonic()
    await consumer.stop()

    assert time.monotonic() - started < 2.0  # stopping does not wait out the back-off
    assert f"RabbitMQ at amqp://desk:***@127.0.0.1:{port}/%2F is not reachable" in caplog.text
    assert "s3cret-pw" not in caplog.text
    assert consumer.state is ConsumerState.STOPPED


async def test_rabbitmq_lost_mid_stream_is_reconnected_and_nothing_is_lost(
    names: Names, rasa_broker: EventBroker, caplog: pytest.LogCaptureFixture
) -> None:
    target = URL(RABBITMQ_URL)
    link = CuttableLink(target.host or "127.0.0.1", target.port or 5672)
    await link.open()
    url = str(target.with_port(link.port))
    recorder = Recorder()
    consumer = consumer_of(names, recorder, url=url)
    caplog.set_level(logging.INFO, logger="desk.event_queue")
    consumer.start()
    said = [user_said("lost-link", f"m{n}") for n in range(1, 10)]
    try:
        await eventually(lambda: consumer.state is ConsumerState.ACTIVE, "the desk to consume")
        for event in said[:3]:
            rasa_broker.publish(event)
        await eventually(lambda: consumer.handled == 3, "the first three")

        await link.cut()
        await eventually(lambda: consumer.state is ConsumerState.UNREACHABLE, "a lost broker")
        for event in said[3:]:
            rasa_broker.publish(event)  # Rasa's own connection is up: they wait in the queue
        await link.restore()

        await eventually(lambda: len(recorder.events) >= len(said), "the rest after reconnect")
        texts = [text for _, text in recorder.events]
        # At least once: an acknowledgement cut off with the link may bring its event back, right
        # after itself; with that, every event, in order.
        collapsed = [t for i, t in enumerate(texts) if i == 0 or texts[i - 1] != t]
        assert collapsed == [event["text"] for event in said]
        assert f"RabbitMQ at {masked_url(url)}" in caplog.text
        assert link.connections >= 2
    finally:
        await consumer.stop()
        await link.cut()
