"""Engine.IO's websocket transport on Rasa 3.6's Sanic (21.12), for the web chat.

python-engineio 4.5.1 serves websockets under Sanic through its `sanic` driver
(`engineio.async_drivers.sanic`), which fails on Sanic 21.12 in two places:

- reading: the driver reads with Sanic's `WebsocketImplProtocol.recv()`, which hands a
  coroutine to `asyncio.wait`. Python 3.11 forbids that (`TypeError: Passing coroutines is
  forbidden, use tasks explicitly`, sanic-org/sanic#2377, fixed in Sanic 22.3 by #2383), so
  the first read of every websocket fails: the upgrade's probe is never answered;
- the end: when a websocket ends, engine.io's request handler returns None. Sanic accepts
  that only from a handler marked as a websocket handler (`is_websocket`), which the
  driver's route is not, and logs `Invalid response type None (need HTTPResponse)` for
  every websocket that closes (sanic-org/sanic#2105, #2572).

And engine.io itself, when the upgrade's first read fails, leaves the session marked as
upgrading: from then on every long-poll is answered at once with nothing, so the client polls
in a tight loop (about 126 requests a second) and never hears from the server again.

`serve_websocket(sio)` gives one socket.io server a driver of its own: the `sanic` driver
with the route and the websocket replaced by `create_route` and `SanicWebSocket` below, which
read as Sanic 22.3 does, mark the route as a websocket handler, and end a failed upgrade so
the session stays on long-polling. Long-polling is unchanged (clients behind proxies that
refuse websockets keep working), and nothing is patched globally: only the server passed in
uses this driver. It must be called before the server is attached to the Sanic app (Rasa
attaches it when it registers the channel's blueprint).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from engineio.async_drivers import sanic as engineio_sanic
from engineio.asyncio_socket import AsyncSocket
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import text as text_response
from sanic.server.protocols.websocket_protocol import WebSocketProtocol
from sanic.server.websockets.impl import WebsocketImplProtocol
from socketio import AsyncServer
from websockets.connection import CLOSED

logger = logging.getLogger(__name__)

#: engine.io's two transports; standard clients start on the first and upgrade to the second.
TRANSPORTS: Final = ["polling", "websocket"]
#: The engine.io endpoint's methods (long-polling GET and POST, CORS pre-flight OPTIONS).
ENDPOINT_METHODS: Final = ["GET", "POST", "OPTIONS"]
#: Close code for a websocket whose handler failed (RFC 6455: internal error).
INTERNAL_ERROR_CLOSE: Final = 1011

EngineIOHandler = Callable[["SanicWebSocket"], Awaitable[None]]


async def receive(ws: WebsocketImplProtocol) -> str | bytes:
    """The next message of `ws`: Sanic 21.12's `recv()` as Sanic 22.3 fixed it.

    The frame assembler's read runs as a task (Python 3.11's `asyncio.wait` takes no
    coroutines) beside `recv_cancel`, the future Sanic cancels when a close frame or the end
    of the stream arrives. Raises `ConnectionError` once the websocket is closed, which
    engine.io's handler takes as the client having gone.
    """
    if ws.recv_lock.locked():
        raise RuntimeError("the websocket is already being read")
    async with ws.recv_lock:
        if ws.connection.state is CLOSED:
            raise ConnectionError("the websocket is closed")
        closed = asyncio.get_running_loop().create_future()
        ws.recv_cancel = closed
        reading = asyncio.ensure_future(ws.assembler.get())
        try:
            await asyncio.wait((closed, reading), return_when=asyncio.FIRST_COMPLETED)
        finally:
            ws.recv_cancel = None
            if not closed.done():
                closed.cancel()
            if not reading.done():
                reading.cancel()  # the read's task ends on the loop's next turn
        if not reading.done() or reading.cancelled():
            raise ConnectionError("the client closed the websocket")
        message = reading.result()
        if message is None:  # the assembler's "no message": only with a timeout, kept for safety
            raise ConnectionError("the websocket ended without a message")
        return message


def end_failed_upgrade(handler: EngineIOHandler) -> bool:
    """Puts a session whose upgrade did not complete back on long-polling; whether it had to.

    engine.io marks a session as upgrading when the websocket's probe starts, and clears the
    mark only on some of the ways the probe can fail. While the mark stays, every poll is
    answered at once with a no-op and no message is ever delivered.
    """
    session = getattr(handler, "__self__", None)
    if not isinstance(session, AsyncSocket) or not session.upgrading or session.upgraded:
        return False
    session.upgrading = False
    logger.info("web chat: the websocket upgrade of %s failed; it stays on polling", session.sid)
    return True


class SanicWebSocket:
    """engine.io's websocket interface (`__call__`, `send`, `wait`, `close`) on Sanic 21.12.

    engine.io makes one per websocket request and calls it with the request's environ; the
    call does the handshake, runs engine.io's `handler` (the session's websocket loop) and
    closes the websocket when the handler returns.
    """

    def __init__(self, handler: EngineIOHandler, server: Any) -> None:
        self.handler = handler
        self.server = server
        self.environ: dict[str, Any] = {}
        self._ws: WebsocketImplProtocol | None = None

    async def __call__(self, environ: dict[str, Any]) -> None:
        """Handshake, run engine.io's handler, close. Returns None: the response is the
        websocket itself (the route is marked as a websocket handler for Sanic)."""
        request: Request = environ["sanic.request"]
        protocol = request.transport.get_protocol()
        if not isinstance(protocol, WebSocketProtocol):
            raise RuntimeError("the Sanic app was started without websocket support")
        self.environ = environ
        self._ws = ws = await protocol.websocket_handshake(request)
        try:
            await self.handler(self)
        except asyncio.CancelledError:  # the connection was lost, or the server stops
            ws.end_connection(1000)
            raise
        except Exception:
            logger.exception("web chat: a websocket session failed")
            ws.end_connection(INTERNAL_ERROR_CLOSE)
            return
        finally:
            end_failed_upgrade(self.handler)
        await ws.close()

    async def send(self, message: str | bytes) -> None:
        """Sends one engine.io packet as one websocket message."""
        await self._open_ws().send(message)

    async def wait(self) -> str | bytes:
        """The next engine.io packet from the client (`ConnectionError` once it is gone)."""
        return await receive(self._open_ws())

    async def close(self) -> None:
        """Closes the websocket (close handshake)."""
        await self._open_ws().close()

    def _open_ws(self) -> WebsocketImplProtocol:
        if self._ws is None:
            raise ConnectionError("the websocket handshake has not happened")
        return self._ws


def create_route(app: Sanic, engineio_server: Any, engineio_endpoint: str) -> None:
    """The engine.io endpoint as a Sanic route marked as a websocket handler.

    Marked, Sanic accepts the None that engine.io returns once a websocket has ended; every
    long-polling request still gets engine.io's HTTP response. A POST without a session id is
    answered 400 here (engine.io would fail on it).
    """

    async def handle_request(request: Request) -> HTTPResponse | None:
        if request.method == "POST" and not request.args.get("sid"):
            # python-engineio 4.5.1 builds its "Invalid session" message by adding the missing
            # sid (None) to a string: a TypeError, which Sanic answers with a 500.
            return text_response("Invalid session", status=400)
        response: HTTPResponse | None = await engineio_server.handle_request(request)
        return response

    handle_request.is_websocket = True  # type: ignore[attr-defined]
    app.add_route(handle_request, engineio_endpoint, methods=ENDPOINT_METHODS)
    app.enable_websocket()


def websocket_driver() -> dict[str, Any]:
    """engine.io's `sanic` driver with this module's route and websocket (a new dict: the
    driver's own is shared by every engine.io server in the process and stays as it is)."""
    return {**engineio_sanic._async, "create_route": create_route, "websocket": SanicWebSocket}


def close_without_waiting(engine: Any) -> None:
    """Makes `engine` answer a long-polling request that ends its session at once.

    When a POST carries a packet engine.io refuses (a client's ping, an open or no-op packet,
    a body over `max_http_buffer_size`), python-engineio 4.5.1 ends the session and waits, before
    answering the POST, until the session's close packet has been delivered, which only a poll
    would do: no poll comes, so the request hangs for as long as the client waits (found by the
    fuzzer, `tests/e2e/test_fuzz.py`). Here the session is closed without waiting for that
    delivery; the POST gets its 400 and a later poll of that session its "Invalid session".
    """
    close_all = engine.disconnect

    async def disconnect(sid: str | None = None) -> None:
        if sid is None:
            await close_all()
            return
        session = engine.sockets.get(sid)
        if session is not None:
            await session.close(wait=False)
            engine.sockets.pop(sid, None)

    engine.disconnect = disconnect


def serve_websocket(sio: AsyncServer) -> None:
    """Serves both transports on `sio` and offers standard clients the upgrade to websocket.

    Call before the server is attached to the app. A client may also connect over websocket
    directly (`transports: ["websocket"]`), or stay on long-polling.
    """
    engine = sio.eio
    if engine.async_mode != "sanic":
        raise ValueError(f"the web chat's websocket runs on Sanic, not {engine.async_mode!r}")
    engine._async = websocket_driver()
    engine.transports = list(TRANSPORTS)
    engine.allow_upgrades = True
    close_without_waiting(engine)
