"""Conversation events for the desk: `POST {desk}/api/conversation-events`.

Two producers inside the Rasa server feed the desk (see docs/desk-design.md):

- `DeskEventBroker`, Rasa's event broker named in `endpoints.yml`, forwards the tracker events
  an agent needs to follow a conversation live;
- the web chat channel (`assistant.channels.webchat`) relays the customer's typing indicator.

Which events the desk needs and what it keeps of them is `contract.conversation_events.
desk_event`, the definition the desk applies as well to what Rasa's RabbitMQ broker publishes
on the scaled path (`desk.event_queue`).

Both producers hand their events to a `DeskEventForwarder`: an in-memory queue drained by one
asyncio task that POSTs the body `contract.conversation_events` defines with
`Authorization: Bearer <secret>`.

Why an asyncio queue and not a worker thread: Rasa calls `EventBroker.publish()` synchronously
*from its event loop* (`TrackerStore.stream_events`, awaited in every `save()`), so `publish()`
runs on the loop's thread and must return at once. Appending to a deque and setting an
`asyncio.Event` is exactly that; the HTTP calls then run as ordinary non-blocking aiohttp
requests on the same loop, in order, one at a time. A thread with `requests` would add a second
HTTP stack, cross-thread hand-offs and a thread to join at shutdown for no gain. A call from any
other thread (no running loop) is handed to the loop with `call_soon_threadsafe`.

Delivery is best effort and never slows a turn or raises into Rasa:
- the queue is bounded; when it is full the oldest event is dropped and counted;
- a desk that is down (connection refused, timeout, or a gateway's 502/504 saying the desk
  behind it does not answer) is retried with capped back-off while new events queue up behind
  the one being retried (order is kept), for as long as it takes;
- a busy desk (429, or 503 with `Retry-After`) is the same: the event is retried in order,
  after the `Retry-After` seconds when given (at most RETRY_AFTER_MAX_SECONDS). Busy says
  nothing about the event, so it never counts against it;
- any other 5xx comes from a desk that is up and failed on this event. It is retried with
  back-off, but one event the desk fails on every time (a "poison" event) must not hold up
  every later event of every conversation: after MAX_SERVER_ERROR_ATTEMPTS answers of 5xx it
  is held aside and the next event is sent. If the desk accepts that one (or refuses it with a
  4xx: it read it), the failure was the held event's: it is set aside for good (kept in
  `set_aside_events`, the last MAX_SET_ASIDE of them, with the desk's answer), counted in
  `set_aside`, and reported in an ERROR line with the masked sender, the event's kind and the
  status, never the text. If the desk fails on that one too, it is failing for everyone (its
  database is down, say): the held event goes back in front and both are retried in order,
  like a desk that is down. With nothing queued behind it, an event is never set aside (it
  holds nothing up);
- a 4xx answer other than 429 is final for that event (a wrong secret, a bad event): counted and
  logged, then the next event is sent;
- failures are logged at most once per `LOG_INTERVAL_SECONDS` per kind, with counts; senders are
  logged as a short hash, never as the raw conversation id;
- `close()` drains the queue for at most `drain_timeout` seconds, then logs what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import time
from asyncio import AbstractEventLoop
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from contract.conversation_events import (
    EVENTS_PATH,
    conversation_event,
    desk_event,
    mask_sender,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS: Final = 2.0
DEFAULT_MAX_QUEUE: Final = 1000
DEFAULT_DRAIN_TIMEOUT_SECONDS: Final = 3.0
RETRY_INITIAL_SECONDS: Final = 0.25
RETRY_MAX_SECONDS: Final = 5.0
LOG_INTERVAL_SECONDS: Final = 30.0
#: Answers of 5xx to one event before it is held aside to try the next. A passing failure (a
#: database lock timed out, the desk restarting mid-request) clears within the back-off of a
#: few attempts (0.25 + 0.5 + 1 s); an event failing every time is the desk's bug about that
#: event, and the customers behind it wait for every attempt.
MAX_SERVER_ERROR_ATTEMPTS: Final = 4
#: The set-aside events kept for inspection; older ones are forgotten (but counted).
MAX_SET_ASIDE: Final = 100
#: The longest `Retry-After` a busy desk gets; a longer one would leave agents blind as long.
RETRY_AFTER_MAX_SECONDS: Final = 30.0
#: How much of the desk's answer to a failed event is kept with a set-aside event (bytes).
MAX_ERROR_BYTES: Final = 500


def conversation_events_url(desk_url: str) -> str:
    """The desk's conversation-events endpoint under its base URL."""
    return desk_url.rstrip("/") + EVENTS_PATH


@dataclass
class _Item:
    sender_id: str
    event: dict[str, Any]
    server_errors: int = 0  # answers of 5xx from a desk that is up (see the module doc)
    last_failure: _Attempt | None = None


@dataclass(frozen=True)
class SetAsideEvent:
    """An event the desk failed on every time while it took the next: kept for inspection."""

    sender_id: str
    event: dict[str, Any]
    status: int
    error: str  # the desk's last answer, cut to MAX_ERROR_BYTES
    attempts: int
    set_aside_at: float  # time.time()


class _Outcome(enum.Enum):
    DELIVERED = "delivered"
    REJECTED = "rejected"  # final 4xx: the desk read the event and refused it
    UNREACHABLE = "unreachable"  # retried in order for as long as it takes
    BUSY = "busy"  # 429, or 503 with Retry-After: likewise
    SERVER_ERROR = "server error"  # another 5xx: retried, then held aside


@dataclass(frozen=True)
class _Attempt:
    outcome: _Outcome
    status: int | None = None
    error: str = ""
    wait: float | None = None  # the desk's Retry-After, in seconds

    @property
    def read_by_desk(self) -> bool:
        """Whether the desk took the event in (accepted or refused it for what it is)."""
        return self.outcome in (_Outcome.DELIVERED, _Outcome.REJECTED)


class _ThrottledLog:
    """Logs one line per kind at most every `interval` seconds, counting what it held back."""

    def __init__(self, interval: float = LOG_INTERVAL_SECONDS) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        held = self._held.pop(kind, 0)
        self._last[kind] = now
        suffix = f" ({held} similar messages held back)" if held else ""
        logger.warning(message + suffix, *args)


#: 5xx of a gateway in front of the desk that mean the desk behind it does not answer.
_GATEWAY_UNREACHABLE: Final = frozenset({502, 504})


async def _attempt_of(response: aiohttp.ClientResponse) -> _Attempt:
    """What the desk's answer means for the event (see the module doc)."""
    status = response.status
    if status < 400:
        return _Attempt(_Outcome.DELIVERED, status)
    if status < 500 and status != 429:
        return _Attempt(_Outcome.REJECTED, status)
    wait = _retry_after(response.headers)
    if status == 429 or (status == 503 and wait is not None):
        return _Attempt(_Outcome.BUSY, status, f"HTTP {status} (busy)", wait)
    if status in _GATEWAY_UNREACHABLE:
        return _Attempt(_Outcome.UNREACHABLE, status, f"HTTP {status} from a gateway")
    answer = await response.content.read(MAX_ERROR_BYTES)
    error = f"HTTP {status}: {answer.decode('utf-8', 'replace')}"
    return _Attempt(_Outcome.SERVER_ERROR, status, error)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` in seconds (at most RETRY_AFTER_MAX_SECONDS); None if absent or a date."""
    try:
        seconds = float(headers.get("Retry-After", ""))
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_SECONDS)


class DeskEventForwarder:
    """Sends conversation events to the desk in order, without ever blocking the caller."""

    def __init__(
        self,
        desk_url: str,
        secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_queue: int = DEFAULT_MAX_QUEUE,
        retry: bool = True,
        drain_timeout: float = DEFAULT_DRAIN_TIMEOUT_SECONDS,
        name: str = "desk events",
    ) -> None:
        """`retry=False` makes one attempt per event (for signals that go stale, like typing)."""
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.url = conversation_events_url(desk_url)
        self._headers = {"Authorization": f"Bearer {secret}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_queue = max_queue
        self._retry = retry
        self._drain_timeout = drain_timeout
        self._name = name
        self._pending: deque[_Item] = deque()
        self._loop: AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._closing: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._in_flight = False
        self._closed = False
        self._log = _ThrottledLog()
        self._desk_down = False
        # An event held aside after MAX_SERVER_ERROR_ATTEMPTS while the next is tried.
        self._held: _Item | None = None
        #: The last MAX_SET_ASIDE events set aside, oldest first.
        self.set_aside_events: deque[SetAsideEvent] = deque(maxlen=MAX_SET_ASIDE)
        #: Counters, for logs and tests.
        self.delivered = 0
        self.dropped = 0
        self.rejected = 0
        self.set_aside = 0

    # --- Producer side (any context; never blocks, never raises) ------------------------------

    def submit(self, sender_id: str, event: dict[str, Any]) -> None:
        """Queues one event for the desk."""
        try:
            self._submit(_Item(sender_id, event))
        except Exception:  # never let the desk's problems reach a conversation turn
            logger.exception(
                "%s: could not queue an event for %s", self._name, mask_sender(sender_id)
            )

    def _submit(self, item: _Item) -> None:
        try:
            running: AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (
            self._loop is None or self._loop is running or self._loop.is_closed()
        ):
            self._bind(running)
            self._enqueue(item)
        elif self._loop is not None and self._loop.is_running():
            # Another thread: hand the event to the loop that owns the queue.
            self._loop.call_soon_threadsafe(self._enqueue, item)
        else:
            self._drop(1, "no running event loop")

    def _bind(self, loop: AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        # First use, or the previous loop is gone (its task and session went with it).
        self._loop = loop
        self._wakeup = asyncio.Event()
        self._closing = asyncio.Event()
        # Set while nothing is queued or in flight: `close()` waits for it.
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker = None
        self._in_flight = False

    def _enqueue(self, item: _Item) -> None:
        if self._closed:
            self._drop(1, "forwarder closed")
            return
        if len(self._pending) >= self._max_queue:
            self._pending.popleft()
            self._drop(1, "queue full")
        self._pending.append(item)
        assert self._wakeup is not None and self._idle is not None  # bound in _submit
        self._idle.clear()
        self._wakeup.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())

    def _drop(self, count: int, reason: str) -> None:
        self.dropped += count
        self._log.warning(
            f"drop:{reason}",
            "%s: dropped %d event(s) (%s); %d dropped so far",
            self._name,
            count,
            reason,
            self.dropped,
        )

    # --- Worker ---------------------------------------------------------------------------------

    @property
    def desk_down(self) -> bool:
        """Whether the desk was last found down or busy (the event is being retried)."""
        return self._desk_down

    @property
    def pending(self) -> int:
        """Events waiting to be sent (including one being retried or held aside)."""
        return (
            len(self._pending)
            + (1 if self._in_flight else 0)
            + (1 if self._held is not None else 0)
        )

    async def _run(self) -> None:
        assert self._wakeup is not None and self._idle is not None
        delay = RETRY_INITIAL_SECONDS
        async with aiohttp.ClientSession(timeout=self._timeout, headers=self._headers) as session:
            while True:
                if not self._pending:
                    self._idle.set()
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                item = self._pending.popleft()
                self._in_flight = True
                try:
                    attempt = await self._send(session, item)
                finally:
                    self._in_flight = False
                if attempt.read_by_desk:
                    self._settle_held()
                    delay = RETRY_INITIAL_SECONDS
                    continue
                if not self._retry or self._closed:
                    self._drop(1, f"desk {attempt.outcome.value}")
                    continue
                if attempt.outcome is _Outcome.SERVER_ERROR:
                    item.server_errors += 1
                    item.last_failure = attempt
                    if self._held is None and self._holds_others_up(item):
                        self._held = item  # try the next event: is it this one, or the desk?
                        continue
                self._retry_in_order(item)
                await self._back_off(attempt.wait or delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _holds_others_up(self, item: _Item) -> bool:
        return item.server_errors >= MAX_SERVER_ERROR_ATTEMPTS and bool(self._pending)

    def _retry_in_order(self, item: _Item) -> None:
        """Put `item` back in front, behind nothing but a held event, which goes first again
        (its failure was not its own: the desk fails on the next event too, or is down)."""
        for first in (item, self._held):
            if first is None:
                continue
            # Keep the order: the event goes back to the front, unless the queue filled
            # up meanwhile, in which case it is the oldest and is the one dropped.
            if len(self._pending) >= self._max_queue:
                self._drop(1, "queue full")
            else:
                self._pending.appendleft(first)
        if self._held is not None:
            self._held.server_errors = 0
            self._held = None

    def _settle_held(self) -> None:
        """The desk read the event after the held one: the held one is set aside for good."""
        held, self._held = self._held, None
        if held is None or held.last_failure is None:
            return
        status = held.last_failure.status or 0
        self.set_aside += 1
        self.set_aside_events.append(
            SetAsideEvent(
                sender_id=held.sender_id,
                event=held.event,
                status=status,
                error=held.last_failure.error,
                attempts=held.server_errors,
                set_aside_at=time.time(),
            )
        )
        logger.error(
            "%s: set aside a %r event for %s: the desk answered HTTP %d to it %d times and "
            "took the next event (%d set aside so far)",
            self._name,
            held.event.get("event"),
            mask_sender(held.sender_id),
            status,
            held.server_errors,
            self.set_aside,
        )

    async def _back_off(self, delay: float) -> None:
        """Waits `delay` seconds while the desk is down; `close()` cuts the wait short."""
        assert self._closing is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)

    async def _send(self, session: aiohttp.ClientSession, item: _Item) -> _Attempt:
        body = conversation_event(item.sender_id, item.event)
        try:
            async with session.post(self.url, json=body) as response:
                attempt = await _attempt_of(response)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            attempt = _Attempt(_Outcome.UNREACHABLE, error=f"{type(error).__name__}: {error}")
        if attempt.outcome in (_Outcome.UNREACHABLE, _Outcome.BUSY):
            self._mark_down(attempt.error, item)
        elif attempt.outcome is _Outcome.SERVER_ERROR:
            self._log.warning(
                f"server-error:{attempt.status}",
                "%s: the desk answered HTTP %d to a %r event for %s (attempt %d of %d before "
                "the next event is tried)",
                self._name,
                attempt.status,
                item.event.get("event"),
                mask_sender(item.sender_id),
                item.server_errors + 1,
                MAX_SERVER_ERROR_ATTEMPTS,
            )
        elif attempt.outcome is _Outcome.REJECTED:
            self.rejected += 1
            self._log.warning(
                f"rejected:{attempt.status}",
                "%s: the desk rejected a %r event for %s with HTTP %d (%d rejected so far)",
                self._name,
                item.event.get("event"),
                mask_sender(item.sender_id),
                attempt.status,
                self.rejected,
            )
        else:
            self._delivered()
        return attempt

    def _delivered(self) -> None:
        self.delivered += 1
        if self._desk_down:
            self._desk_down = False
            logger.info(
                "%s: the desk at %s answers again (%d events dropped so far)",
                self._name,
                self.url,
                self.dropped,
            )

    def _mark_down(self, reason: str, item: _Item) -> None:
        if not self._desk_down:
            self._desk_down = True
            logger.warning(
                "%s: the desk at %s is down or busy (%s) sending for %s; %s",
                self._name,
                self.url,
                reason,
                mask_sender(item.sender_id),
                "retrying with back-off" if self._retry else "events are dropped until it is back",
            )

    # --- Shutdown -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stops taking events, sends what is queued (at most `drain_timeout` s), then stops."""
        self._closed = True
        if self._closing is not None and self._loop is asyncio.get_running_loop():
            self._closing.set()
        worker = self._worker
        if worker is None or worker.done() or self._loop is not asyncio.get_running_loop():
            self._report_undelivered()
            return
        assert self._idle is not None  # bound with the worker
        drained = asyncio.ensure_future(self._idle.wait())
        try:
            await asyncio.wait(
                {drained, worker}, timeout=self._drain_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            drained.cancel()
        left = self.pending  # counted before cancelling: the event in flight is lost too
        worker.cancel()
        try:
            await worker
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%s: the forwarding task failed", self._name)
        self._report_undelivered(left)

    def _report_undelivered(self, left: int | None = None) -> None:
        left = self.pending if left is None else left
        self._pending.clear()
        self._held = None
        if left:
            self.dropped += left
            logger.warning("%s: closed with %d undelivered event(s)", self._name, left)


class DeskEventBroker(EventBroker):
    """Rasa event broker forwarding the desk's share of tracker events (see the module doc).

    endpoints.yml::

        event_broker:
          type: assistant.desk_events.DeskEventBroker
          url: ${DESK_URL}
          secret: ${HANDOFF_SECRET}
          # optional: timeout (s, per request), max_queue (events), drain_timeout (s)
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_queue: int = DEFAULT_MAX_QUEUE,
        drain_timeout: float = DEFAULT_DRAIN_TIMEOUT_SECONDS,
    ) -> None:
        """Forwards to `{url}/api/conversation-events` with `Authorization: Bearer {secret}`."""
        if not url:
            raise ValueError("DeskEventBroker needs the desk's base `url`")
        if not secret:
            raise ValueError("DeskEventBroker needs the desk's `secret`")
        self.forwarder = DeskEventForwarder(
            url,
            secret,
            timeout=timeout,
            max_queue=max_queue,
            drain_timeout=drain_timeout,
            name="desk event broker",
        )

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: AbstractEventLoop | None = None,
    ) -> DeskEventBroker:
        """Rasa's factory (`EventBroker.create` → class by module path → this).

        Rasa 3.6 calls it without `event_loop` for brokers named by module path; the broker
        binds to the running loop on its first `publish()` instead.
        """
        kwargs = broker_config.kwargs
        return cls(
            broker_config.url or "",
            str(kwargs.get("secret") or ""),
            timeout=float(kwargs.get("timeout", DEFAULT_TIMEOUT_SECONDS)),
            max_queue=int(kwargs.get("max_queue", DEFAULT_MAX_QUEUE)),
            drain_timeout=float(kwargs.get("drain_timeout", DEFAULT_DRAIN_TIMEOUT_SECONDS)),
        )

    def publish(self, event: dict[str, Any]) -> None:
        """Queues the event if the desk needs it; returns at once and never raises."""
        try:
            sender_id = event.get("sender_id")
            forwarded = desk_event(event)
            if forwarded is None or not isinstance(sender_id, str):
                return
            self.forwarder.submit(sender_id, forwarded)
        except Exception:  # a broker must never break a conversation turn
            logger.exception("desk event broker: could not queue an event")

    def is_ready(self) -> bool:
        """Always ready: events are queued in memory and sent when the desk answers."""
        return True

    async def close(self) -> None:
        """Sends what is queued (bounded by `drain_timeout`), then stops."""
        await self.forwarder.close()
