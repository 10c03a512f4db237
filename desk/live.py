"""The live side of a handoff: agents' consoles over a websocket, the customer through Rasa.

`LiveHub` keeps the open `/api/live` websockets, each with the agent it belongs to, and pushes
JSON messages to those who may see them: an agent receives a message about a handoff when they
serve its queue or own it (supervisors serve every queue). Messages:

- `{"type": "connected", "agent": {...}, "queues": [...]}`, once, when the socket is ready;
- `{"type": "customer_message", "handoff_id", "sender_id", "text", "intent", "timestamp"}`;
- `{"type": "customer_typing", "handoff_id", "sender_id", "typing"}`;
- `{"type": "queue_changed", "queue", "handoff_id", "change"}` with `change` one of queued,
  claimed, transferred_in, transferred_out, resolved, abandoned: reload that queue.

`CustomerLink` tells the customer's page what happens (`handoff_status` through the web chat's
notify route). A notification is a courtesy: a failure is logged and never fails the agent's
request or the bot's call. Work that must not hold up the caller (everything triggered by the
bot, which waits with a short timeout) runs as a tracked background task; `settle()` waits for
those (tests, shutdown).

The estimated wait told to a queued customer is `position * DESK_AVERAGE_HANDLE_SECONDS`: the
customers ahead of them plus their own, each taking an average handle time, as if one agent
worked the queue. Deliberately simple and pessimistic when several agents are online; it is
sent as `estimated_wait_seconds` and the page may round it to minutes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from desk.rasa_client import RasaClient, RasaUnavailable
from desk.services.agents import Actor
from desk.services.queues import QUEUES

LOGGER = logging.getLogger(__name__)

SETTLE_TIMEOUT_SECONDS: Final = 10.0


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


class LiveHub:
    """The connected consoles of one desk application."""

    def __init__(self) -> None:
        """No one connected yet."""
        self._sockets: dict[web.WebSocketResponse, Actor] = {}

    def add(self, socket: web.WebSocketResponse, actor: Actor) -> None:
        """Start sending to `socket` what `actor` may see."""
        self._sockets[socket] = actor

    def remove(self, socket: web.WebSocketResponse) -> None:
        """Stop sending to `socket`."""
        self._sockets.pop(socket, None)

    def agent_ids(self) -> set[int]:
        """The agents with a console connected."""
        return {actor.agent_id for socket, actor in self._sockets.items() if not socket.closed}

    def __len__(self) -> int:
        """How many consoles are connected."""
        return len(self._sockets)

    async def publish(self, message: Mapping[str, Any], audience: Audience) -> int:
        """Send `message` to every connected console in the audience; to how many it went."""
        targets = [
            socket
            for socket, actor in list(self._sockets.items())
            if audience.includes(actor) and not socket.closed
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

    async def close_all(self) -> None:
        """Close every socket (application shutdown)."""
        sockets = list(self._sockets)
        self._sockets.clear()
        for socket in sockets:
            await socket.close(code=1001, message=b"desk shutting down")


def queue_changed(queue: str, handoff_id: str, change: str) -> dict[str, Any]:
    """The message telling consoles to reload a queue."""
    return {"type": "queue_changed", "queue": queue, "handoff_id": handoff_id, "change": change}


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
