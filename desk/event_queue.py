"""Conversation events from RabbitMQ: the desk consumes the durable queue Rasa's broker fills.

On the scaled path every Rasa process publishes every tracker event with its own
`rasa.core.brokers.pika.PikaEventBroker` (`event_broker: type: pika`) to a fanout exchange; the
desk takes what customers say from a durable queue bound to it and hands each event to the
same workflow as the HTTP route (`desk.workflows.customer.conversation_event`). With
`DESK_EVENT_QUEUE_URL` unset nothing here runs: events come over HTTP only (the embedded path).

What Rasa 3.6.21's broker declares, and why the desk declares exactly that:
- the exchange `DESK_EVENT_EXCHANGE` (Rasa's `exchange_name`, default `rasa-exchange`) as
  fanout and *not* durable (aio-pika's default): declaring it durable is refused by RabbitMQ
  ("inequivalent arg 'durable'");
- each queue in its `queues:` list as durable with no arguments, bound with routing key "";
  messages are persistent (delivery mode 2).
Rasa's `queues:` names the desk's queue (`desk-conversation-events`). So the publisher itself
declares and binds the queue on every (re)connect, before it publishes anything: no event is
lost before a desk first started, nor after a RabbitMQ restart (the exchange is transient, and
its bindings go with it) while no desk has re-bound the queue. The desk declares the same queue
the same way (durable, no arguments), so either side may come first; any argument Rasa does
not send (`x-single-active-consumer`, `x-dead-letter-exchange`) would make one of the two
declarations fail with PRECONDITION_FAILED.

Order across desks. Two desks consuming one queue could handle two events of one conversation
at once, out of order. The queue cannot carry `x-single-active-consumer` (above), so the desk
asks for an *exclusive consumer* (`basic.consume` with `exclusive`): RabbitMQ lets one desk
consume and refuses the others (ACCESS_REFUSED). Those wait as standby and try again every
`STANDBY_RETRY_SECONDS`; when the active desk stops or dies, RabbitMQ puts what it had not
acknowledged back at the head of the queue, and the next standby to ask takes over in order.
The active desk handles one event at a time, in delivery order, with a bounded prefetch
(`PREFETCH`) so the next events are already on the wire.

Delivery is at least once: an event is acknowledged only after the workflow handled it (its
unit of work committed). A desk stopping between the two gets that event again; the handoff's
mark of the last message applied (`desk.services.conversations`) makes the repeat a no-op.

A message that is not a Rasa event (`contract.conversation_events.read_published_event`), or on
which the workflow fails `HANDLE_ATTEMPTS` times, is set aside: copied, with the reason in a
header, to the durable queue `<queue>.set-aside` (declared by the desk) and acknowledged, so it
never blocks the queue; the log names the reason and the masked conversation, never the text.
The desk's database being down is not the event's fault: that is retried with back-off, in
order, for as long as it takes.

RabbitMQ down, at start or later: the desk keeps serving (HTTP, consoles), logs one clear line
("RabbitMQ at amqp://user:***@host:port/ is not reachable: ...") and reconnects with capped
back-off; events wait in the durable queue meanwhile. The desk runs its own reconnect loop
rather than aio-pika's `connect_robust`: a robust channel restores its consumer by itself,
and when another desk took the queue meanwhile that restore fails inside aio-pika; the loop
here knows whether it is active, standby or cut off, and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from aiohttp import web
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from yarl import URL

from contract.conversation_events import MalformedEvent, mask_sender, read_published_event
from desk.settings import DeskSettings
from desk.workflows import customer
from desk.workflows.context import Desk

logger = logging.getLogger(__name__)

#: Messages RabbitMQ sends ahead of the acknowledgements: enough to keep the wire busy while one
#: is handled, few enough that a desk stopping hands little back.
PREFETCH: Final = 32
#: How often a standby desk asks for the queue again (the longest a takeover waits).
STANDBY_RETRY_SECONDS: Final = 2.0
RETRY_INITIAL_SECONDS: Final = 0.5
RETRY_MAX_SECONDS: Final = 30.0
CONNECT_TIMEOUT_SECONDS: Final = 5.0
#: Failures of the workflow on one event (its database up) before the event is set aside.
HANDLE_ATTEMPTS: Final = 3
#: How long `stop()` lets the event being handled finish.
STOP_TIMEOUT_SECONDS: Final = 5.0
#: The header of a set-aside copy that says why it was set aside.
SET_ASIDE_REASON_HEADER: Final = "x-desk-set-aside-reason"

ConversationEventHandler = Callable[[str, dict[str, Any]], Awaitable[object]]


class ConsumerState(str, enum.Enum):
    """Where the consumer stands, for logs, tests and an operator."""

    STARTING = "starting"
    UNREACHABLE = "unreachable"  # RabbitMQ does not answer; retrying with back-off
    REFUSED = "refused"  # RabbitMQ refused a declaration (a configuration error); retrying
    STANDBY = "standby"  # another desk consumes the queue; asking again now and then
    ACTIVE = "active"  # consuming
    STOPPED = "stopped"


def consume_event_queue(
    app: web.Application, desk: Desk, settings: DeskSettings
) -> ConversationEventConsumer | None:
    """With DESK_EVENT_QUEUE_URL set: a consumer handing events to the same workflow as the
    HTTP route, started with `app` and stopped on its shutdown (before its database closes on
    cleanup). Kept in `app[EVENT_QUEUE]`."""
    if not settings.event_queue_url:
        return None

    async def handle(sender_id: str, event: dict[str, Any]) -> object:
        return await customer.conversation_event(desk, sender_id, event)

    consumer = ConversationEventConsumer(
        settings.event_queue_url,
        handle,
        exchange=settings.event_exchange,
        queue=settings.event_queue,
    )
    app[EVENT_QUEUE] = consumer

    async def start(_: web.Application) -> None:
        consumer.start()

    async def stop(_: web.Application) -> None:
        await consumer.stop()

    # aiohttp 3.9's stubs type the signal's callbacks wrongly.
    app.on_startup.append(start)  # type: ignore[arg-type]
    app.on_shutdown.append(stop)  # type: ignore[arg-type]
    return consumer


def set_aside_queue_of(queue: str) -> str:
    """Where the messages the desk could not handle are kept: `<queue>.set-aside`."""
    return f"{queue}.set-aside"


def masked_url(url: str) -> str:
    """The AMQP URL for logs, with the password masked."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return "<an unreadable URL>"
    return str(parsed.with_password("***")) if parsed.password else str(parsed)


class _Stopping(Exception):
    """`stop()` was called while waiting; the event in hand is left unacknowledged."""


class ConversationEventConsumer:
    """Consumes the desk's event queue in order, one desk at a time (see the module doc)."""

    def __init__(
        self,
        url: str,
        handle: ConversationEventHandler,
        *,
        exchange: str,
        queue: str,
        prefetch: int = PREFETCH,
        standby_retry_seconds: float = STANDBY_RETRY_SECONDS,
        retry_initial_seconds: float = RETRY_INITIAL_SECONDS,
        retry_max_seconds: float = RETRY_MAX_SECONDS,
    ) -> None:
        """Consume `queue`, bound to the fanout `exchange`, at the AMQP `url`.

        `handle(sender_id, event)` applies one event the desk needs (what
        `contract.conversation_events.desk_event` keeps) and returns once it is stored.
        """
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._url = url
        self._handle = handle
        self.exchange = exchange
        self.queue = queue
        self.set_aside_queue = set_aside_queue_of(queue)
        self._prefetch = prefetch
        self._standby_retry = standby_retry_seconds
        self._retry_initial = retry_initial_seconds
        self._retry_max = retry_max_seconds
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.state = ConsumerState.STARTING
        #: Counters, for logs and tests.
        self.handled = 0  # events the desk needs, handled and acknowledged
        self.ignored = 0  # events the desk does not need, acknowledged
        self.set_aside = 0

    @property
    def where(self) -> str:
        """The broker's URL for logs (password masked)."""
        return masked_url(self._url)

    # --- Life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start consuming in the background; returns at once (RabbitMQ may be down)."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="desk event queue"
            )

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Finish the event in hand (at most `timeout` s), then close the connection: what was
        delivered but not acknowledged goes back to the queue, in order, for the next desk."""
        task, self._task = self._task, None
        self._stopping.set()
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.state = ConsumerState.STOPPED

    async def _run(self) -> None:
        delay = self._retry_initial
        while not self._stopping.is_set():
            try:
                connection = await aio_pika.connect(self._url, timeout=CONNECT_TIMEOUT_SECONDS)
            except Exception as error:  # anything can fail while RabbitMQ is not up
                self._enter(
                    ConsumerState.UNREACHABLE,
                    logging.ERROR,
                    "desk event queue: RabbitMQ at %s is not reachable: %s; retrying with "
                    "back-off (the desk keeps serving; conversation events wait in the queue)",
                    self.where,
                    _describe(error),
                )
                await self._pause(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            try:
                served = await self._serve(connection)
            except _Stopping:
                served = True
            except Exception as error:
                served = False
                self._enter(
                    ConsumerState.UNREACHABLE,
                    logging.ERROR,
                    "desk event queue: lost RabbitMQ at %s: %s; reconnecting with back-off",
                    self.where,
                    _describe(error),
                )
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()
            if served:
                delay = self._retry_initial
            else:
                await self._pause(delay)
                delay = min(delay * 2, self._retry_max)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when `stop()` is called."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _enter(self, state: ConsumerState, level: int, message: str, *args: Any) -> None:
        """Log a change of state once (a desk in standby or cut off does not repeat itself)."""
        if self.state is not state:
            logger.log(level, message, *args)
        self.state = state

    # --- One connection -------------------------------------------------------------------------

    async def _serve(self, connection: aio_pika.abc.AbstractConnection) -> bool:
        """Consume over `connection` until it closes (False) or the desk stops (True)."""
        closed = asyncio.Event()
        connection.close_callbacks.add(_setter(closed))
        while not self._stopping.is_set() and not closed.is_set():
            channel = await connection.channel()  # publisher confirms: set-asides are confirmed
            try:
                queue = await self._declare(channel)
            except aiormq.exceptions.ChannelPreconditionFailed as error:
                self._enter(
                    ConsumerState.REFUSED,
                    logging.ERROR,
                    "desk event queue: RabbitMQ at %s refused to declare exchange %r or queue "
                    "%r: %s. They must be declared as Rasa's pika broker declares them (fanout "
                    "exchange, not durable; durable queue without arguments); retrying",
                    self.where,
                    self.exchange,
                    self.queue,
                    error,
                )
                await self._pause(self._retry_max)
                continue
            inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            try:
                await queue.consume(inbox.put, exclusive=True)
            except aiormq.exceptions.ChannelAccessRefused:
                self._enter(
                    ConsumerState.STANDBY,
                    logging.INFO,
                    "desk event queue: another desk consumes %r; standing by (asking again "
                    "every %.0f s)",
                    self.queue,
                    self._standby_retry,
                )
                await self._pause(self._standby_retry)
                continue
            self._enter(
                ConsumerState.ACTIVE,
                logging.INFO,
                "desk event queue: consuming %r (bound to exchange %r) at %s",
                self.queue,
                self.exchange,
                self.where,
            )
            # A channel closed alone (RabbitMQ closes it on a channel error) ends the
            # deliveries as surely as a lost connection: open a new one.
            channel_gone = asyncio.Event()
            channel.close_callbacks.add(_setter(channel_gone))
            await self._consume(channel, inbox, closed, channel_gone)
            with contextlib.suppress(Exception):
                await channel.close()
        if closed.is_set() and not self._stopping.is_set():
            raise ConnectionError("the connection closed")
        return True

    async def _declare(self, channel: AbstractChannel) -> AbstractQueue:
        """Declare what Rasa's broker declares (see the module doc), and the set-aside queue."""
        await channel.set_qos(prefetch_count=self._prefetch)
        exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(self.queue, durable=True)
        await queue.bind(exchange, routing_key="")
        await channel.declare_queue(self.set_aside_queue, durable=True)
        return queue

    async def _consume(
        self,
        channel: AbstractChannel,
        inbox: asyncio.Queue[AbstractIncomingMessage],
        *ends: asyncio.Event,
    ) -> None:
        """Handle the deliveries one at a time, in order, until the desk stops or one of
        `ends` (the connection or the channel closed) is set."""
        waits = {asyncio.ensure_future(end.wait()) for end in (self._stopping, *ends)}
        try:
            while True:
                delivery = asyncio.ensure_future(inbox.get())
                await asyncio.wait({delivery, *waits}, return_when=asyncio.FIRST_COMPLETED)
                if not delivery.done():
                    delivery.cancel()
                    return
                await self._process(channel, delivery.result())
                if any(wait.done() for wait in waits):
                    return
        finally:
            for wait in waits:
                wait.cancel()

    # --- One message ----------------------------------------------------------------------------

    async def _process(self, channel: AbstractChannel, message: AbstractIncomingMessage) -> None:
        """Handle one message, then acknowledge it (or set it aside)."""
        try:
            read = read_published_event(message.body)
        except MalformedEvent as error:
            await self._put_aside(channel, message, f"not a Rasa event: {error}", None)
            return
        if read is None:
            self.ignored += 1
            await message.ack()
            return
        sender_id, event = read
        failure = await self._handle_with_retries(sender_id, event)
        if failure is not None:
            await self._put_aside(channel, message, failure, sender_id)
            return
        await message.ack()
        self.handled += 1

    async def _handle_with_retries(self, sender_id: str, event: dict[str, Any]) -> str | None:
        """Apply the event; None once handled, or why it is set aside.

        Raises:
            _Stopping: the desk stopped while the database was down (the event stays
                unacknowledged and goes back to the queue).
        """
        failures = 0
        delay = self._retry_initial
        while True:
            try:
                await self._handle(sender_id, event)
                return None
            except (DBAPIError, PoolTimeoutError) as error:
                # The database, not the event: retried in order for as long as it takes.
                logger.warning(
                    "desk event queue: the desk's database failed on a %r event for %s (%s); "
                    "retrying in %.1f s",
                    event.get("event"),
                    mask_sender(sender_id),
                    type(error).__name__,
                    delay,
                )
            except Exception as error:
                failures += 1
                logger.exception(
                    "desk event queue: the desk failed on a %r event for %s (attempt %d of %d)",
                    event.get("event"),
                    mask_sender(sender_id),
                    failures,
                    HANDLE_ATTEMPTS,
                )
                if failures >= HANDLE_ATTEMPTS:
                    return f"the desk failed on it {failures} times ({type(error).__name__})"
            if self._stopping.is_set():
                raise _Stopping
            await self._pause(delay)
            delay = min(delay * 2, self._retry_max)

    async def _put_aside(
        self,
        channel: AbstractChannel,
        message: AbstractIncomingMessage,
        reason: str,
        sender_id: str | None,
    ) -> None:
        """Copy the message to the set-aside queue (confirmed), then acknowledge it."""
        copy = aio_pika.Message(
            message.body,
            headers={SET_ASIDE_REASON_HEADER: reason},
            content_type=message.content_type,
            app_id=message.app_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await channel.default_exchange.publish(copy, routing_key=self.set_aside_queue)
        await message.ack()
        self.set_aside += 1
        logger.error(
            "desk event queue: set aside a message of %d bytes%s: %s; kept in queue %r (%d set "
            "aside so far)",
            len(message.body),
            f" for {mask_sender(sender_id)}" if sender_id is not None else "",
            reason,
            self.set_aside_queue,
            self.set_aside,
        )


#: The application's consumer (set only when the desk consumes the event queue).
EVENT_QUEUE: Final = web.AppKey("event_queue", ConversationEventConsumer)


def _setter(event: asyncio.Event) -> Callable[..., None]:
    """A close callback that sets `event` (aio-pika passes the sender and the reason)."""

    def set_event(*_: Any) -> None:
        event.set()

    return set_event


def _describe(error: BaseException) -> str:
    """An error for a log line: its type and message (aiormq's carry no password)."""
    text = str(error) or repr(error)
    return f"{type(error).__name__}: {text}"
