"""The event bus of a desk that runs as several processes: Redis publish/subscribe.

`RedisBus` is an `InProcessBus` that also shares every event with the other desk processes
(DESK_BUS_URL, docs/desk-design.md "Several desk processes"):

- `publish` hands the event to a sender task (the publisher never waits on Redis), then
  delivers it to this process's subscribers, ONCE and EVERY_PROCESS alike, awaited as in one
  process: "joined" still reaches the customer before the claim is answered.
- The sender publishes `{"origin": <this process>, "event": desk.events.encode(event)}` on
  the channel `<DESK_BUS_PREFIX>:events`, in the order the events were published here.
- A listener task subscribes to the channel; what another process published is decoded and
  delivered to the EVERY_PROCESS subscribers only (`deliver_remote`): its ONCE subscribers
  ran where it was published. Its own messages come back too and are skipped by origin.

Publish/subscribe keeps nothing: what is published while a process is not listening does not
reach it. That suits what crosses: live pushes to consoles, which reload from the database when
they (re)connect; everything that must not be lost is in the database already.

Redis down: publishing still delivers locally; the event is not shared, and one clear warning
("Redis at redis://... is not reachable: ...") is logged, then at most one every
`desk.redis_link.WARN_EVERY_SECONDS` with how many events were not shared. The sender tries
Redis again after RETRY_SECONDS; the listener reconnects with back-off (LISTEN_BACKOFF_SECONDS,
doubling up to LISTEN_BACKOFF_MAX_SECONDS) and says when it hears the others again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from contextlib import suppress
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from desk.bus import InProcessBus
from desk.events import DeskEvent, decode, encode
from desk.redis_link import COMMAND_TIMEOUT_SECONDS, ThrottledWarning, unavailable, where

LOGGER = logging.getLogger(__name__)

#: Events waiting for the sender; beyond this many (Redis very slow) new ones are not shared.
OUTBOX_SIZE: Final = 10_000
#: After a failed send, events are not offered to Redis for this long (not shared).
RETRY_SECONDS: Final = 1.0
#: The listener's first pause before reconnecting; it doubles up to the maximum.
LISTEN_BACKOFF_SECONDS: Final = 0.5
LISTEN_BACKOFF_MAX_SECONDS: Final = 30.0
#: How long the listener waits for a message before checking its connection again.
LISTEN_POLL_SECONDS: Final = 1.0
#: How long `start` waits for the listener to be subscribed (so a desk that answers /health
#: hears the others from then on); with Redis down it starts anyway.
START_WAIT_SECONDS: Final = 5.0
#: How long `stop` lets the sender share what was published before it.
STOP_WAIT_SECONDS: Final = 2.0


def process_id() -> str:
    """A name for this desk process that no other one has: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def envelope(origin: str, event: DeskEvent) -> str:
    """What goes on the channel: the publishing process and the encoded event."""
    return json.dumps({"origin": origin, "event": encode(event)})


def open_envelope(text: str) -> tuple[str, DeskEvent]:
    """The origin and the event of an `envelope`.

    Raises:
        ValueError: Not an envelope (or its event is not a desk event).
        TypeError: The event's payload does not fit the event.
    """
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("event"), str):
        raise ValueError("not a desk event envelope")
    return str(document.get("origin")), decode(document["event"])


class RedisBus(InProcessBus):
    """The `EventBus` of one of several desk processes sharing a Redis (see the module doc)."""

    def __init__(
        self,
        redis: Redis,
        *,
        url: str,
        prefix: str,
        origin: str | None = None,
        start_wait_seconds: float = START_WAIT_SECONDS,
    ) -> None:
        """Share events through `redis` (at `url`, for messages) on `<prefix>:events`;
        `origin` names this process (by default `process_id()`); `start` waits at most
        `start_wait_seconds` for the listener."""
        super().__init__()
        self.start_wait_seconds = start_wait_seconds
        self.redis = redis
        self.url = url
        self.channel = f"{prefix}:events"
        self.origin = origin or process_id()
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(OUTBOX_SIZE)
        self._listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._send_trouble = ThrottledWarning(LOGGER)
        self._listen_trouble = ThrottledWarning(LOGGER)
        self._send_again_at = 0.0

    @property
    def listening(self) -> bool:
        """Whether the listener is subscribed (events of other processes reach this one)."""
        return self._listening.is_set()

    async def publish(self, event: DeskEvent) -> None:
        """Share `event` with the other processes (in the background), then deliver it here,
        awaited (see the module doc)."""
        self._share(event)
        await self.deliver(event)

    def _share(self, event: DeskEvent) -> None:
        # Queued before the local delivery: an event a subscriber publishes while handling this
        # one is shared after it, in the order this process published them.
        try:
            self._outbox.put_nowait((event.NAME.value, envelope(self.origin, event)))
        except asyncio.QueueFull:
            self._send_trouble.warn(
                "%d desk events wait for Redis at %s: %s is not shared with the other desk "
                "processes",
                OUTBOX_SIZE,
                where(self.url),
                event.NAME.value,
            )

    # --- Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the sender and the listener; wait (briefly) until the listener is
        subscribed."""
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._send_all(), name="desk bus: share events"),
            loop.create_task(self._listen(), name="desk bus: hear other processes"),
        ]
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._listening.wait(), self.start_wait_seconds)

    async def stop(self) -> None:
        """Share what is still waiting (briefly), then stop the sender and the listener."""
        if not self._tasks:
            return
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._outbox.join(), STOP_WAIT_SECONDS)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._listening.clear()

    # --- Sharing --------------------------------------------------------------------------------

    async def _send_all(self) -> None:
        while True:
            name, text = await self._outbox.get()
            try:
                await self._send(name, text)
            finally:
                self._outbox.task_done()

    async def _send(self, name: str, text: str) -> None:
        loop = asyncio.get_running_loop()
        if self._send_trouble.failing and loop.time() < self._send_again_at:
            self._not_shared(name, "it was not reachable a moment ago")
            return
        try:
            await self.redis.publish(self.channel, text)
        except (RedisError, OSError) as error:
            self._send_again_at = loop.time() + RETRY_SECONDS
            self._not_shared(name, str(unavailable(self.url, error)))
            return
        self._send_trouble.recovered(
            "Redis at %s is reachable again: desk events are shared with the other desk processes",
            where(self.url),
        )

    def _not_shared(self, name: str, why: str) -> None:
        self._send_trouble.warn(
            "desk event %s not shared with the other desk processes (their consoles miss it; "
            "this process's consoles have it): %s",
            name,
            why,
        )

    # --- Hearing the others ---------------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = LISTEN_BACKOFF_SECONDS
        while True:
            pubsub = self.redis.pubsub()
            try:
                await self._subscribe(pubsub)
                backoff = LISTEN_BACKOFF_SECONDS
                while True:
                    message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                    if message is not None and message.get("type") == "message":
                        await self._received(message["data"])
            except (RedisError, OSError) as error:
                self._listening.clear()
                self._listen_trouble.warn(
                    "%s; this desk process does not hear the events of the others (its "
                    "consoles miss them) until it is back; trying again in %.1fs",
                    unavailable(self.url, error),
                    backoff,
                )
            finally:
                with suppress(RedisError, OSError):
                    await pubsub.reset()
            await asyncio.sleep(backoff)  # back-off before reconnecting, not a wait for an event
            backoff = min(backoff * 2, LISTEN_BACKOFF_MAX_SECONDS)

    async def _subscribe(self, pubsub: Any) -> None:
        """Subscribe and wait for Redis to confirm it: from then on every event published by
        another process reaches this one."""
        await pubsub.subscribe(self.channel)
        confirmation = await pubsub.get_message(timeout=COMMAND_TIMEOUT_SECONDS)
        if confirmation is None or confirmation.get("type") != "subscribe":
            raise RedisError(f"no confirmation of the subscription to {self.channel}")
        self._listening.set()
        self._listen_trouble.recovered(
            "Redis at %s is reachable again: this desk process hears the others' events",
            where(self.url),
        )
        LOGGER.info("desk bus: listening on %s at %s", self.channel, where(self.url))

    async def _received(self, text: str) -> None:
        try:
            origin, event = open_envelope(text)
        except (ValueError, TypeError, KeyError) as error:
            # The text may hold personal data: only its size is logged.
            LOGGER.warning(
                "a message of %d characters on %s is not a desk event (skipped: %s)",
                len(text),
                self.channel,
                type(error).__name__,
            )
            return
        if origin != self.origin:
            await self.deliver_remote(event)
