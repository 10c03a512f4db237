"""The agents' consoles, live: the open `/api/live` websockets and what they are told.

`LiveHub` keeps the open websockets, each with the agent it belongs to, and pushes JSON
messages to those who may see them: an agent receives a message about a handoff when they
serve its queue or own it (supervisors serve every queue). `ConsoleFeed` subscribes to the
event bus and turns the desk's events into those messages:

- `{"type": "connected", "agent": {...}, "queues": [...]}`, once, when the socket is ready
  (sent by the route, `desk.api.live`);
- `{"type": "customer_message", "handoff_id", "sender_id", "text", "intent", "timestamp"}`
  (`message.customer`);
- `{"type": "customer_typing", "handoff_id", "sender_id", "typing"}` (`typing.customer`);
- `{"type": "queue_changed", "queue", "handoff_id", "change"}` with `change` one of queued,
  claimed, transferred_in, transferred_out, resolved, abandoned, expired: reload that queue;
- `{"type": "callbacks_changed", "queue", "handoff_id", "change"}` with `change` left (a
  customer left a message) or done (an agent marked it done): reload the callbacks;
- `{"type": "application_changed", "reference", "stage", "kind"}` to the case workers
  (mortgage advisors, supervisors; `desk.services.case_access`) when a mortgage application
  was opened (`kind` "opened") or its timeline got an entry (`kind`, the entry's): reload the
  case if it is on screen. No personal data: the console reads the case itself.
- `{"type": "floor", ...}` to the supervisors (`send_to_supervisors`): the live strip
  (`desk.floor`), whenever it may have changed.

Each socket also knows the session it was opened with (its key and expiry): when that session
ends, its consoles are closed with SESSION_ENDED_CODE (1008, policy violation) and the reason
LOGGED_OUT or SESSION_EXPIRED, and the console goes to the login page. Logging out closes them
at once (`session.ended` → `end_session`); expiry closes them by a timer set for the session's
expiry, and, in case a timer is late, before any message is published. The desk shutting down
closes every socket with 1001 (going away), after which a console reconnects.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Final

from aiohttp import WSCloseCode, web

from desk.bus import EventBus, Reach
from desk.events import (
    ApplicationEventRecorded,
    ApplicationOpened,
    CustomerMessage,
    CustomerTyping,
    HandoffAbandoned,
    HandoffCallbackDone,
    HandoffCallbackLeft,
    HandoffClaimed,
    HandoffExpired,
    HandoffQueued,
    HandoffResolved,
    HandoffTransferred,
    SessionEnded,
)
from desk.services.agents import Actor
from desk.services.case_access import works_cases
from desk.store.types import utcnow

LOGGER = logging.getLogger(__name__)

#: How long the desk's shutdown waits for consoles to finish closing.
CLOSE_TIMEOUT_SECONDS: Final = 10.0
#: How a console's websocket is closed when its session ends (logout, expiry).
SESSION_ENDED_CODE: Final = int(WSCloseCode.POLICY_VIOLATION)
LOGGED_OUT: Final = "logged out"
SESSION_EXPIRED: Final = "session expired"
#: How a console's websocket is closed when the desk shuts down.
SHUTDOWN_CODE: Final = int(WSCloseCode.GOING_AWAY)


class QueueChange(str, enum.Enum):
    """Why a console should reload a queue (`queue_changed.change`)."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    TRANSFERRED_IN = "transferred_in"
    TRANSFERRED_OUT = "transferred_out"
    RESOLVED = "resolved"
    ABANDONED = "abandoned"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Audience:
    """Who may receive a message about a handoff: its queue's agents and its owner."""

    queue: str
    owner_id: int | None = None

    def includes(self, actor: Actor) -> bool:
        """Whether `actor` may receive it."""
        return actor.serves(self.queue) or (
            self.owner_id is not None and actor.agent_id == self.owner_id
        )


@dataclass(frozen=True)
class CaseWorkers:
    """Who may receive a message about a mortgage application: those who work cases."""

    def includes(self, actor: Actor) -> bool:
        """Whether `actor` may receive it."""
        return works_cases(actor)


class CallbackChange(str, enum.Enum):
    """Why a console should reload its callbacks (`callbacks_changed.change`)."""

    LEFT = "left"
    DONE = "done"


@dataclass(frozen=True)
class Supervisors:
    """Who may receive the supervisors' own messages (the live strip): supervisors only."""

    def includes(self, actor: Actor) -> bool:
        """Whether `actor` may receive it."""
        return actor.is_supervisor


#: Who a message goes to: a handoff's audience, the case workers, or the supervisors.
Recipients = Audience | CaseWorkers | Supervisors

#: What an `application.opened` is called in `application_changed.kind`.
APPLICATION_OPENED_KIND: Final = "opened"


@dataclass
class _Console:
    """One open console: whose it is, the session it was opened with, its expiry timer."""

    actor: Actor
    session_key: str | None
    expires_at: datetime | None
    timer: asyncio.TimerHandle | None


class LiveHub:
    """The connected consoles of one desk application."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        """No one connected yet; `clock` tells the time sessions expire by."""
        self.clock = clock
        self._sockets: dict[web.WebSocketResponse, _Console] = {}
        self._closing: set[asyncio.Task[Any]] = set()
        # How the hub asked for a socket to be closed, until its route closes it (`finish`).
        self._endings: dict[web.WebSocketResponse, tuple[int, str]] = {}
        self._watchers: list[Callable[[], None]] = []

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed` (in the event loop, without waiting) whenever a console connects or
        stops receiving: who is online may have changed."""
        self._watchers.append(changed)

    def _consoles_changed(self) -> None:
        for changed in self._watchers:
            changed()

    def add(
        self,
        socket: web.WebSocketResponse,
        actor: Actor,
        *,
        session_key: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        """Start sending to `socket` what `actor` may see.

        With `session_key`, `end_session(session_key)` closes the socket; with `expires_at`,
        the socket is closed when that moment comes.
        """
        timer = None
        if expires_at is not None:
            delay = max(0.0, (expires_at - self.clock()).total_seconds())
            timer = asyncio.get_running_loop().call_later(delay, self._expire, socket)
        self._sockets[socket] = _Console(actor, session_key, expires_at, timer)
        self._consoles_changed()

    def remove(self, socket: web.WebSocketResponse) -> None:
        """Stop sending to `socket`."""
        console = self._sockets.pop(socket, None)
        if console is None:
            return
        if console.timer is not None:
            console.timer.cancel()
        self._consoles_changed()

    async def finish(self, socket: web.WebSocketResponse) -> None:
        """The route's last word on its socket, once it stops reading: forget the socket, and
        if the hub is closing it, close it with the hub's code and reason.

        (The hub's `close()` from another task wakes the route's reading; aiohttp would then
        close the socket with 1000 as the route returns, unless the route closes it first.)
        """
        self.remove(socket)
        ending = self._endings.pop(socket, None)
        if ending is not None:
            code, reason = ending
            await socket.close(code=code, message=reason.encode("utf-8"))

    def agent_ids(self) -> set[int]:
        """The agents with a console connected."""
        return {
            console.actor.agent_id for socket, console in self._sockets.items() if not socket.closed
        }

    def agents_online(self) -> int:
        """How many distinct agents have a console connected.

        Safe to call from another thread (the metrics scrape's): it counts a copy of the
        consoles, and copying a dict is one step under the interpreter lock.
        """
        consoles = self._sockets.copy()
        return len(
            {console.actor.agent_id for socket, console in consoles.items() if not socket.closed}
        )

    def supervisors_connected(self) -> bool:
        """Whether any supervisor has a console connected (is anyone there to tell?)."""
        return any(console.actor.is_supervisor for console in self._sockets.values())

    def __len__(self) -> int:
        """How many consoles are connected."""
        return len(self._sockets)

    async def publish(self, message: Mapping[str, Any], audience: Recipients) -> int:
        """Send `message` to every connected console in the audience; to how many it went.

        Consoles whose session has expired are closed first and receive nothing.
        """
        self.close_expired()
        targets = [
            socket
            for socket, console in list(self._sockets.items())
            if audience.includes(console.actor) and not socket.closed
        ]
        results = await asyncio.gather(
            *(socket.send_json(dict(message)) for socket in targets), return_exceptions=True
        )
        sent = 0
        for socket, result in zip(targets, results, strict=True):
            if isinstance(result, BaseException):
                LOGGER.info("dropping a console websocket that failed: %s", result)
                self.remove(socket)
            else:
                sent += 1
        return sent

    async def send_to_supervisors(self, message: Mapping[str, Any]) -> int:
        """Send `message` to every connected supervisor's console (no one else); to how many."""
        return await self.publish(message, Supervisors())

    def end_session(self, session_key: str, reason: str = LOGGED_OUT) -> int:
        """Close the consoles opened with this session (SESSION_ENDED_CODE); how many.

        They stop receiving at once; the closing handshake finishes in the background.
        """
        sockets = [s for s, c in self._sockets.items() if c.session_key == session_key]
        for socket in sockets:
            self._close_later(socket, SESSION_ENDED_CODE, reason)
        return len(sockets)

    def close_expired(self, now: datetime | None = None) -> int:
        """Close the consoles whose session has expired by `now` (the clock's); how many."""
        now = now or self.clock()
        expired = [
            socket
            for socket, console in self._sockets.items()
            if console.expires_at is not None and console.expires_at <= now
        ]
        for socket in expired:
            self._close_later(socket, SESSION_ENDED_CODE, SESSION_EXPIRED)
        return len(expired)

    def _expire(self, socket: web.WebSocketResponse) -> None:
        """The timer of a socket's session went off (the timer's clock may run a little ahead
        of the wall clock, so the socket is closed without comparing times)."""
        if socket in self._sockets:
            self._close_later(socket, SESSION_ENDED_CODE, SESSION_EXPIRED)

    def _close_later(self, socket: web.WebSocketResponse, code: int, reason: str) -> None:
        """Stop sending to `socket` and close it in the background with `code` and `reason`."""
        self.remove(socket)
        self._endings[socket] = (code, reason)
        task = asyncio.get_running_loop().create_task(
            socket.close(code=code, message=reason.encode("utf-8")),
            name=f"close console ({reason})",
        )
        self._closing.add(task)
        task.add_done_callback(partial(self._closed, socket))

    def _closed(self, socket: web.WebSocketResponse, task: asyncio.Task[Any]) -> None:
        self._closing.discard(task)
        self._endings.pop(socket, None)
        if not task.cancelled() and task.exception() is not None:
            LOGGER.info("closing a console websocket failed: %s", task.exception())

    async def close_all(self) -> None:
        """Close every socket (application shutdown), and finish closing those being closed."""
        for socket in list(self._sockets):
            self._close_later(socket, SHUTDOWN_CODE, "desk shutting down")
        if self._closing:
            _, pending = await asyncio.wait(list(self._closing), timeout=CLOSE_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()


class ConsoleFeed:
    """Subscribes the hub to the event bus: what each event tells which consoles."""

    def __init__(self, hub: LiveHub) -> None:
        """Tell the consoles of `hub`."""
        self.hub = hub

    def subscribe(self, bus: EventBus) -> None:
        """Follow the events the consoles show, in every desk process: each pushes to the
        consoles connected to it (`Reach.EVERY_PROCESS`), and an agent connected to one
        process must hear of a handoff queued through another."""
        every = Reach.EVERY_PROCESS
        bus.subscribe(HandoffQueued, self.queued, reach=every)
        bus.subscribe(HandoffClaimed, self.claimed, reach=every)
        bus.subscribe(HandoffTransferred, self.transferred, reach=every)
        bus.subscribe(HandoffResolved, self.resolved, reach=every)
        bus.subscribe(HandoffAbandoned, self.left_queue, reach=every)
        bus.subscribe(HandoffExpired, self.left_queue, reach=every)
        bus.subscribe(HandoffCallbackLeft, self.callbacks_changed, reach=every)
        bus.subscribe(HandoffCallbackDone, self.callbacks_changed, reach=every)
        bus.subscribe(CustomerMessage, self.customer_message, reach=every)
        bus.subscribe(CustomerTyping, self.customer_typing, reach=every)
        bus.subscribe(SessionEnded, self.session_ended, reach=every)
        bus.subscribe(ApplicationOpened, self.application_changed, reach=every)
        bus.subscribe(ApplicationEventRecorded, self.application_changed, reach=every)

    async def queued(self, event: HandoffQueued) -> None:
        """A new handoff waits: its queue's agents reload the queue."""
        await self._queue_changed(event.queue, event.handoff_id, QueueChange.QUEUED, None)

    async def claimed(self, event: HandoffClaimed) -> None:
        """The handoff left the queue for its new owner."""
        await self._queue_changed(
            event.queue, event.handoff_id, QueueChange.CLAIMED, event.agent_id
        )

    async def transferred(self, event: HandoffTransferred) -> None:
        """Out of one queue (and its former owner's chats), into another."""
        handoff_id = event.handoff_id
        owner = event.previous_owner_id
        await self._queue_changed(event.from_queue, handoff_id, QueueChange.TRANSFERRED_OUT, owner)
        await self._queue_changed(event.queue, handoff_id, QueueChange.TRANSFERRED_IN, None)

    async def resolved(self, event: HandoffResolved) -> None:
        """The owner closed the handoff."""
        await self._queue_changed(
            event.queue, event.handoff_id, QueueChange.RESOLVED, event.agent_id
        )

    async def left_queue(self, event: HandoffAbandoned | HandoffExpired) -> None:
        """The customer stopped waiting (abandoned, or expired to leave a message)."""
        abandoned = isinstance(event, HandoffAbandoned)
        change = QueueChange.ABANDONED if abandoned else QueueChange.EXPIRED
        await self._queue_changed(event.queue, event.handoff_id, change, None)

    async def callbacks_changed(self, event: HandoffCallbackLeft | HandoffCallbackDone) -> None:
        """A callback was left or marked done: the queue's agents reload their callbacks."""
        done = isinstance(event, HandoffCallbackDone)
        message = {
            "type": "callbacks_changed",
            "queue": event.queue,
            "handoff_id": event.handoff_id,
            "change": (CallbackChange.DONE if done else CallbackChange.LEFT).value,
        }
        await self.hub.publish(message, Audience(event.queue))

    async def customer_message(self, event: CustomerMessage) -> None:
        """What the customer said, for the agents who may see the handoff."""
        message = {
            "type": "customer_message",
            "handoff_id": event.handoff_id,
            "sender_id": event.sender_id,
            "text": event.text,
            "intent": event.intent,
            "timestamp": event.timestamp,
        }
        await self.hub.publish(message, Audience(event.queue, event.owner_id))

    async def customer_typing(self, event: CustomerTyping) -> None:
        """The customer is typing (or stopped)."""
        message = {
            "type": "customer_typing",
            "handoff_id": event.handoff_id,
            "sender_id": event.sender_id,
            "typing": event.typing,
        }
        await self.hub.publish(message, Audience(event.queue, event.owner_id))

    async def application_changed(
        self, event: ApplicationOpened | ApplicationEventRecorded
    ) -> None:
        """A mortgage application was opened or changed: the case workers reload it if shown."""
        kind = APPLICATION_OPENED_KIND if isinstance(event, ApplicationOpened) else event.kind
        message = {
            "type": "application_changed",
            "reference": event.reference,
            "stage": event.stage,
            "kind": kind,
        }
        await self.hub.publish(message, CaseWorkers())

    async def session_ended(self, event: SessionEnded) -> None:
        """An agent logged out: close the consoles of that session (LOGGED_OUT)."""
        self.hub.end_session(event.session_key)

    async def _queue_changed(
        self, queue: str, handoff_id: str, change: QueueChange, owner_id: int | None
    ) -> None:
        """Tell the queue's agents (and the owner) to reload it."""
        message = {
            "type": "queue_changed",
            "queue": queue,
            "handoff_id": handoff_id,
            "change": change.value,
        }
        await self.hub.publish(message, Audience(queue, owner_id))
