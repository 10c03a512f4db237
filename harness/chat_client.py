"""A customer's web chat page in Python: python-socketio's client over long-polling (the
transport every client can fall back to; `tests/e2e/test_webchat_transports.py` covers
websocket), speaking Rasa's socket.io protocol plus the live handoff's
`handoff_status` events, and recording what arrives with its arrival time.

A chat is joined as the channel allows (`assistant.channels.chat_access`): with the token
that opens it (from the desk's `POST /chat/sessions`), or without one, and then the channel
starts a new chat and gives the client its id and token (`chat_token`, `session_confirm`);
`session_id` and `token` hold the chat the client is in.

Used by the web chat channel's tests, the end-to-end tests and the desk speed benchmarks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiohttp
import socketio

from contract.conversation_events import TYPING_EVENT
from contract.customer_status import STATUS_EVENT
from contract.webchat import CHAT_TOKEN_EVENT, ChatGrant

EVENT_TIMEOUT: Final = 5.0
#: How long the namespace connection may take (python-socketio waits 1 s by default, which a
#: busy 2-core machine running tests in parallel has exceeded).
CONNECT_WAIT_SECONDS: Final = 10.0
EVENTS: Final = (CHAT_TOKEN_EVENT, "session_confirm", "bot_uttered", STATUS_EVENT)


class NothingArrived(AssertionError):
    """Raised by `ChatClient.next` when no event of the kind arrived in time."""


class ChatClient:
    """A customer's page: python-socketio's client, polling only, recording what it gets.

    `received[event]` queues `(perf_counter at arrival, data)` pairs; `next()` returns the data.
    """

    def __init__(self) -> None:
        # The client's own HTTP session, closed by `close()`: engine.io's client otherwise
        # opens a new one when its writer sends the close packet after `disconnect()`.
        self.http = aiohttp.ClientSession()
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.session_id: str | None = None
        self.token: str | None = None
        self.received: dict[str, asyncio.Queue[tuple[float, Any]]] = {
            name: asyncio.Queue() for name in EVENTS
        }
        for name, queue in self.received.items():
            self.sio.on(name, self._recorder(queue))

    @staticmethod
    def _recorder(queue: asyncio.Queue[tuple[float, Any]]) -> Callable[[Any], Awaitable[None]]:
        async def record(data: Any) -> None:
            await queue.put((time.perf_counter(), data))

        return record

    async def connect(
        self, url: str, session_id: str | None = None, token: str | None = None
    ) -> str:
        """Connect to the Rasa server at `url` and ask for the chat `session_id` with `token`;
        the chat joined (that one, or a new one when the token does not open it) is returned
        and kept in `session_id` / `token`."""
        await self.sio.connect(
            url,
            transports=["polling"],
            socketio_path="/socket.io",
            wait_timeout=CONNECT_WAIT_SECONDS,
        )
        return await self.request_session(session_id, token)

    async def request_session(self, session_id: str | None, token: str | None = None) -> str:
        """`session_request`: the chat joined, as `connect` says."""
        await self.sio.emit("session_request", {"session_id": session_id, "token": token})
        confirmed = str(await self.next("session_confirm"))
        if confirmed != session_id:  # a new chat: its token came just before (in any order)
            grant = ChatGrant.parse_obj(await self.next(CHAT_TOKEN_EVENT))
            assert grant.session_id == confirmed, "chat_token names another chat"
            token = grant.token
        self.session_id, self.token = confirmed, token
        return confirmed

    async def say(self, text: str) -> None:
        """Send a message as the customer (`user_uttered`)."""
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def typing(self, typing: bool) -> None:
        """Tell the desk whether the customer is typing (`user_typing`)."""
        await self.sio.emit(TYPING_EVENT, {"session_id": self.session_id, "typing": typing})

    async def close(self) -> None:
        """Disconnect and close the HTTP session."""
        if self.sio.connected:
            await self.sio.disconnect()
        # engine.io's writer may still be sending the close packet (with our session).
        writer = getattr(self.sio.eio, "write_loop_task", None)
        if writer is not None:
            await asyncio.wait_for(writer, EVENT_TIMEOUT)
        await self.http.close()

    async def next_timed(self, event: str, timeout: float = EVENT_TIMEOUT) -> tuple[float, Any]:
        """The next `event` and when it arrived; `NothingArrived` after `timeout` seconds."""
        try:
            return await asyncio.wait_for(self.received[event].get(), timeout)
        except asyncio.TimeoutError:
            raise NothingArrived(f"no {event} within {timeout}s") from None

    async def next(self, event: str, timeout: float = EVENT_TIMEOUT) -> Any:
        """The data of the next `event`."""
        return (await self.next_timed(event, timeout))[1]

    async def until(
        self, event: str, matches: Callable[[Any], bool], timeout: float = EVENT_TIMEOUT
    ) -> Any:
        """The first `event` whose data `matches` (earlier ones are dropped)."""
        deadline = time.monotonic() + timeout
        while True:
            data = await self.next(event, max(deadline - time.monotonic(), 0.01))
            if matches(data):
                return data

    async def nothing(self, event: str, wait: float = 0.5) -> None:
        """Assert that no `event` arrives within `wait` seconds."""
        try:
            data = await self.next(event, wait)
        except NothingArrived:
            return
        raise AssertionError(f"unexpected {event}: {data!r}")

    def drain(self, event: str) -> list[Any]:
        """Everything of `event` received so far and not yet read."""
        items = []
        while not self.received[event].empty():
            items.append(self.received[event].get_nowait()[1])
        return items
