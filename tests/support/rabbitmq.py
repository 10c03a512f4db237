"""The real RabbitMQ for tests, and Rasa's own pika broker publishing to it.

Each test gets its own exchange and queue (`names`), deleted afterwards; RabbitMQ missing is a
clear failure, not a skip (CI has it). Rasa's `PikaEventBroker` is made as Rasa makes it: from
an `event_broker:` section of an endpoints file with `${VAR}` credentials, the snippet
docs/desk-design.md gives for `endpoints.scaled.yml`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.utils.endpoints import read_endpoint_config
from yarl import URL

from desk.event_queue import set_aside_queue_of

RABBITMQ_URL = os.environ.get("RABBITMQ_TEST_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
#: How long a test waits for something RabbitMQ or a desk does.
WAIT = 15.0

#: The `event_broker:` of the scaled stack's endpoints file (docs/desk-design.md), with this
#: test's exchange and queue in place of `rasa-exchange` and `desk-conversation-events`.
ENDPOINTS = """\
event_broker:
  type: pika
  url: ${{RABBITMQ_HOST}}
  port: ${{RABBITMQ_PORT}}
  username: ${{RABBITMQ_USERNAME}}
  password: ${{RABBITMQ_PASSWORD}}
  exchange_name: {exchange}
  queues:
    - {queue}
"""


@dataclasses.dataclass(frozen=True)
class Names:
    """One test's exchange and queue."""

    exchange: str
    queue: str


async def eventually(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll `condition` until it holds (failing after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def names() -> AsyncIterator[Names]:
    """A unique exchange and queue on the real RabbitMQ, deleted after the test."""
    suffix = uuid.uuid4().hex[:10]
    made = Names(f"test-rasa-exchange-{suffix}", f"test-desk-events-{suffix}")
    try:
        connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    except Exception as error:  # a clear failure, not a skip: CI has RabbitMQ
        pytest.fail(f"RabbitMQ at {RABBITMQ_URL} is not reachable: {error}")
    await connection.close()
    yield made
    async with await aio_pika.connect(RABBITMQ_URL) as connection:
        for queue in (made.queue, set_aside_queue_of(made.queue)):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(queue)
        channel = await connection.channel()
        with contextlib.suppress(Exception):
            await channel.exchange_delete(made.exchange)


@pytest.fixture
async def rasa_broker(
    names: Names, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[EventBroker]:
    """Rasa's `PikaEventBroker`, made by Rasa from the endpoints file (credentials expanded
    from the environment), connected; closed after the test."""
    url = URL(RABBITMQ_URL)
    monkeypatch.setenv("RABBITMQ_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("RABBITMQ_PORT", str(url.port or 5672))
    monkeypatch.setenv("RABBITMQ_USERNAME", url.user or "guest")
    monkeypatch.setenv("RABBITMQ_PASSWORD", url.password or "guest")
    endpoints = tmp_path / "endpoints.scaled.yml"
    endpoints.write_text(ENDPOINTS.format(exchange=names.exchange, queue=names.queue))
    config = read_endpoint_config(str(endpoints), "event_broker")
    broker = await EventBroker.create(config, asyncio.get_running_loop())
    assert broker is not None and type(broker).__name__ == "PikaEventBroker"
    assert broker.is_ready()
    yield broker
    await broker.close()


_CLOCK = [time.time()]


def user_said(sender_id: str, text: str, intent: str = "inform") -> dict[str, Any]:
    """What Rasa's tracker store publishes for a customer message: sender id plus the event.

    Each message is stamped later than the one before, as Rasa stamps one conversation's
    messages under its lock."""
    _CLOCK[0] += 0.001
    event = UserUttered(
        text,
        intent={"name": intent, "confidence": 0.9},
        timestamp=_CLOCK[0],
        input_channel="socketio",
        message_id=uuid.uuid4().hex,
    )
    return {"sender_id": sender_id, **event.as_dict()}


def bot_said(sender_id: str, text: str) -> dict[str, Any]:
    """A bot turn as Rasa publishes it (the desk ignores it)."""
    return {"sender_id": sender_id, **BotUttered(text).as_dict()}


def other_events(sender_id: str) -> list[dict[str, Any]]:
    """Events the desk does not need, as Rasa publishes them."""
    return [
        {"sender_id": sender_id, **ActionExecuted("action_listen").as_dict()},
        {"sender_id": sender_id, **SlotSet("email", "ann@example.com").as_dict()},
    ]


class CuttableLink:
    """A TCP relay to RabbitMQ that a test can cut, as a network or a RabbitMQ restart would.

    `cut()` closes every connection through it and refuses new ones until `restore()`. Real
    sockets both ways: the consumer sees exactly what a lost broker looks like."""

    def __init__(self, target_host: str, target_port: int) -> None:
        """Relay to `target_host:target_port`."""
        self._target = (target_host, target_port)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.connections = 0  # accepted while open, for tests

    async def open(self) -> None:
        """Listen on a free loopback port (the same one again after `cut()`)."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Close every relayed connection and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()

    async def restore(self) -> None:
        """Listen again on the same port."""
        await self.open()

    async def _relay(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        upstream_reader, upstream = await asyncio.open_connection(*self._target)
        self._writers.update({client, upstream})
        pumps = [
            asyncio.ensure_future(self._pump(client_reader, upstream)),
            asyncio.ensure_future(self._pump(upstream_reader, client)),
        ]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
            self._tasks.discard(pump)
        for writer in (client, upstream):
            writer.close()
            self._writers.discard(writer)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
