"""The live side of a handoff: agents' consoles over a websocket, the customer through Rasa.

`LiveHub` keeps the open `/api/live` websockets, each with the agent it belongs to, and pushes
JSON messages to those who may see them: an agent receives a message about a handoff when they
serve its queue or own it (supervisors serve every queue). Messages:

- `{"type": "connected", "agent": {...}, "queues": [...]}`, once, when the socket is ready;
- `{"type": "customer_message", "handoff_id", "sender_id", "text", "intent", "timestamp"}`;
- `{"type": "customer_typing", "handoff_id", "sender_id", "typing"}`;
- `{"type": "queue_changed", "queue", "handoff_id", "change"}` with `change` one of queued,
  claimed, transferred_in, transferred_out, resolved, abandoned: reload that queue.

Each socket also knows the session it was opened with (its key and expiry): when that session
ends, its consoles are closed with SESSION_ENDED_CODE (1008, policy violation) and the reason
LOGGED_OUT or SESSION_EXPIRED, and the console goes to the login page. Logging out closes them
at once (`end_session`); expiry closes them by a timer set for the session's expiry, and, in
case a timer is late, before any message is published. The desk shutting down closes every
socket with 1001 (going away), after which a console reconnects.

`CustomerLink` tells the customer's page what happens (`handoff_status` through the web chat's
notify route). The states every widget should show (place in the queue, agent joined, agent
left) are also said in the conversation (`announce`): a short `bot` event marked
`metadata.desk_notice` (`contract.desk_notices`), appended through Rasa's HTTP API so it is in
the one transcript and any Rasa widget shows it. The status goes first and carries the same
words as `notice_text`, so a rich page that shows the status can skip the message even where
the marking does not reach it. A notification is a courtesy: a failure is logged and never
fails the agent's request or the bot's call. Work that must not hold up the caller
(everything triggered by the bot, which waits with a short timeout) runs as a tracked
background task; `settle()` waits for those (tests, shutdown).

The estimated wait told to a queued customer is `position * DESK_AVERAGE_HANDLE_SECONDS`: the
customers ahead of them plus their own, each taking an average handle time, as if one agent
worked the queue. Deliberately simple and pessimistic when several agents are online; it is
sent as `estimated_wait_seconds` and the page may round it to minutes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Final

from aiohttp import WSCloseCode, web

from contract.desk_notices import DESK_NOTICE_KEY, DeskNotice
from desk.rasa_client import RasaClient, RasaUnavailable
from desk.services.agents import Actor
from desk.services.queues import QUEUES
from desk.store.types import utcnow

LOGGER = logging.getLogger(__name__)

SETTLE_TIMEOUT_SECONDS: Final = 10.0
#: How a console's websocket is closed when its session ends (logout, expiry).
SESSION_ENDED_CODE: Final = int(WSCloseCode.POLICY_VIOLATION)
LOGGED_OUT: Final = "logged out"
SESSION_EXPIRED: Final = "session expired"
#: How a console's websocket is closed when the desk shuts down.
SHUTDOWN_CODE: Final = int(WSCloseCode.GOING_AWAY)


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

    def remove(self, socket: web.WebSocketResponse) -> None:
        """Stop sending to `socket`."""
        console = self._sockets.pop(socket, None)
        if console is not None and console.timer is not None:
            console.timer.cancel()

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

    def __len__(self) -> int:
        """How many consoles are connected."""
        return len(self._sockets)

    async def publish(self, message: Mapping[str, Any], audience: Audience) -> int:
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
            _, pending = await asyncio.wait(list(self._closing), timeout=SETTLE_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()


def queue_changed(queue: str, handoff_id: str, change: str) -> dict[str, Any]:
    """The message telling consoles to reload a queue."""
    return {"type": "queue_changed", "queue": queue, "handoff_id": handoff_id, "change": change}


async def with_retries(
    work: Callable[[], Awaitable[None]], delays: Sequence[float], *, what: str
) -> bool:
    """Run `work`; on `RasaUnavailable` try again after each of `delays`; whether it worked.

    For background calls whose effect nobody else would bring about (doing them twice is
    harmless): the last failure is logged as an error.
    """
    for delay in (*delays, None):
        try:
            await work()
            return True
        except RasaUnavailable as error:
            if delay is None:
                LOGGER.error("%s failed for good: %s", what, error)
                return False
            LOGGER.warning("%s failed (retrying in %ss): %s", what, delay, error)
            await asyncio.sleep(delay)  # back-off between attempts, not a wait for an event
    return False


def about_minutes(seconds: float) -> str:
    """A wait in whole minutes, at least one: "about 1 minute", "about 8 minutes"."""
    minutes = max(1, round(seconds / 60))
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


def joined_text(agent_name: str, queue: str) -> str:
    """The words when an agent takes the chat: Olivia from Order Support has joined the chat."""
    return f"{agent_name} from {QUEUES.get(queue, queue)} has joined the chat."


def left_text(agent_name: str) -> str:
    """The words when the agent leaves: Olivia has left the chat."""
    return f"{agent_name} has left the chat."


class CustomerLink:
    """Status notifications to the customer's page, and the background work they need."""

    def __init__(self, rasa: RasaClient, *, average_handle_seconds: float) -> None:
        """Notify through `rasa`; estimate waits with `average_handle_seconds`."""
        self.rasa = rasa
        self.average_handle_seconds = average_handle_seconds
        self._tasks: set[asyncio.Task[Any]] = set()

    def estimated_wait_seconds(self, position: int) -> float:
        """position * the average handle time (see the module doc)."""
        return float(max(position, 1) * self.average_handle_seconds)

    def waiting_details(self, queue: str, position: int | None) -> dict[str, Any]:
        """The details of a `waiting` notification for a queued customer."""
        details: dict[str, Any] = {"queue": queue, "team_name": QUEUES.get(queue, queue)}
        if position is not None:
            details["position"] = position
            details["estimated_wait_seconds"] = self.estimated_wait_seconds(position)
        return details

    def waiting_text(self, queue: str, position: int, *, still: bool = False) -> str:
        """The words for a place in the queue: "You're number 2 in the queue for Order
        Support. Estimated wait: about 8 minutes." (`still`: the place did not change)."""
        team = QUEUES.get(queue, queue)
        again = "still " if still else ""
        return (
            f"You're {again}number {position} in the queue for {team}. "
            f"Estimated wait: {about_minutes(self.estimated_wait_seconds(position))}."
        )

    async def announce(
        self, sender_id: str, notice: DeskNotice, text: str, status: str, **details: Any
    ) -> bool:
        """Tell the page `status` (with `notice_text=text`), then say `text` in the conversation
        as a bot message marked `notice`; whether the message was appended (False is logged,
        never an exception: Rasa being down must not fail a claim or a resolve)."""
        await self.notify(sender_id, status, notice_text=text, **details)
        event = {"event": "bot", "text": text, "metadata": {DESK_NOTICE_KEY: notice.value}}
        try:
            await self.rasa.append_events(sender_id, [event], execute_side_effects=True)
        except RasaUnavailable as error:
            LOGGER.warning("could not tell the customer (%s): %s", notice.value, error)
            return False
        except Exception:  # a courtesy must never break the caller
            LOGGER.exception("telling the customer (%s) failed", notice.value)
            return False
        return True

    async def notify(self, sender_id: str, status: str, **details: Any) -> bool:
        """Tell the customer's page; False (logged) when that failed, never an exception."""
        try:
            return await self.rasa.notify(sender_id, status, **details)
        except RasaUnavailable as error:
            LOGGER.warning("could not notify the customer (%s): %s", status, error)
        except Exception:  # a courtesy must never break the caller
            LOGGER.exception("notifying the customer (%s) failed", status)
        return False

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `work` in the background; its failure is logged."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            LOGGER.error("background work %s failed", task.get_name(), exc_info=task.exception())

    async def settle(self, timeout: float = SETTLE_TIMEOUT_SECONDS) -> None:
        """Wait until the background work started so far (and what it started) is done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait(list(self._tasks), timeout=remaining)

    async def close(self) -> None:
        """Let background work finish briefly, then cancel what is left."""
        await self.settle(timeout=3.0)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
