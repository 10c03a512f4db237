"""engine.io's websocket transport on Sanic 21.12 (`assistant.channels.websocket_transport`).

The parts alone (the read, the failed-upgrade guard, the route, the driver), then a real Sanic
21.12 server on loopback with a bare socket.io server on the adapter, driven by
python-socketio's client over websocket, over polling with the upgrade, and by hand through
engine.io's packets for an upgrade that fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import engineio
import pytest
import socketio
from engineio.async_drivers import sanic as engineio_sanic
from engineio.asyncio_socket import AsyncSocket
from sanic import Sanic
from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.connection import CLOSED, OPEN
from websockets.frames import Close, Frame, Opcode
from websockets.server import ServerConnection

from assistant.channels.websocket_transport import (
    ENDPOINT_METHODS,
    SanicWebSocket,
    create_route,
    end_failed_upgrade,
    receive,
    serve_websocket,
    websocket_driver,
)

EVENT_TIMEOUT = 5.0


# --- The parts ---------------------------------------------------------------------------------


def sanic_websocket() -> WebsocketImplProtocol:
    """Sanic's websocket object as its handshake makes it (no transport: frames are fed in)."""
    return WebsocketImplProtocol(ServerConnection(state=OPEN))


async def test_receive_returns_the_next_message_on_python_3_11() -> None:
    ws = sanic_websocket()
    arriving = asyncio.ensure_future(ws.assembler.put(Frame(Opcode.TEXT, b"2probe")))

    message = await asyncio.wait_for(receive(ws), EVENT_TIMEOUT)

    await asyncio.wait_for(arriving, EVENT_TIMEOUT)
    assert message == "2probe"
    assert ws.recv_cancel is None and not ws.recv_lock.locked()


async def test_receive_reports_a_close_frame_as_a_closed_connection() -> None:
    ws = sanic_websocket()
    reading = asyncio.ensure_future(receive(ws))
    deadline = time.monotonic() + EVENT_TIMEOUT
    while ws.recv_cancel is None:  # the read is waiting for a message
        assert time.monotonic() < deadline, "receive() never started waiting"
        await asyncio.sleep(0)

    close = Frame(Opcode.CLOSE, Close(1000, "bye").serialize())
    await ws.process_events([close])

    with pytest.raises(ConnectionError):
        await asyncio.wait_for(reading, EVENT_TIMEOUT)
    assert not ws.recv_lock.locked()


async def test_receive_refuses_a_closed_websocket() -> None:
    ws = sanic_websocket()
    ws.connection.state = CLOSED

    with pytest.raises(ConnectionError, match="closed"):
        await receive(ws)


def engineio_session(*, upgrading: bool, upgraded: bool) -> AsyncSocket:
    session = AsyncSocket(engineio.AsyncServer(async_mode="sanic"), "sid-1")
    session.upgrading, session.upgraded = upgrading, upgraded
    return session


def test_a_failed_upgrade_puts_the_session_back_on_polling() -> None:
    session = engineio_session(upgrading=True, upgraded=False)

    assert end_failed_upgrade(session._websocket_handler) is True
    assert session.upgrading is False and session.upgraded is False


@pytest.mark.parametrize(("upgrading", "upgraded"), [(False, True), (False, False)])
def test_a_finished_or_never_started_upgrade_is_left_alone(upgrading: bool, upgraded: bool) -> None:
    session = engineio_session(upgrading=upgrading, upgraded=upgraded)

    assert end_failed_upgrade(session._websocket_handler) is False
    assert (session.upgrading, session.upgraded) == (upgrading, upgraded)


def test_the_route_is_a_websocket_handler_for_sanic() -> None:
    app = Sanic(f"route_{uuid.uuid4().hex}", configure_logging=False)

    create_route(app, engineio.AsyncServer(async_mode="sanic"), "/socket.io/")

    (route,) = app.router.routes
    assert route.path == "socket.io"
    assert set(route.methods) == set(ENDPOINT_METHODS)
    assert getattr(route.handler, "is_websocket", False) is True
    assert app.websocket_enabled


def test_the_driver_is_the_servers_own_and_engineios_stays_as_it_is() -> None:
    shared = dict(engineio_sanic._async)
    sio = socketio.AsyncServer(async_mode="sanic")
    other = socketio.AsyncServer(async_mode="sanic")

    serve_websocket(sio)

    assert sio.eio._async["websocket"] is SanicWebSocket
    assert sio.eio._async["create_route"] is create_route
    assert sio.eio._async["translate_request"] is shared["translate_request"]
    assert (sio.eio.transports, sio.eio.allow_upgrades) == (["polling", "websocket"], True)
    assert engineio_sanic._async == shared
    assert other.eio._async is engineio_sanic._async
    assert websocket_driver() is not websocket_driver()


def test_only_a_sanic_server_gets_the_driver() -> None:
    with pytest.raises(ValueError, match="Sanic"):
        serve_websocket(socketio.AsyncServer(async_mode="aiohttp"))


# --- On a real Sanic 21.12 server ----------------------------------------------------------------


class EchoServer:
    """A Sanic app with a bare socket.io server on the adapter: `session_request` is confirmed
    and `user_uttered` echoed, to the socket, as Rasa's channel does."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        serve_websocket(self.sio)
        self.app = Sanic(f"websocket_test_{uuid.uuid4().hex}", configure_logging=False)
        self.sio.attach(self.app, "/socket.io")
        self.sio.on("session_request", self.confirm)
        self.sio.on("user_uttered", self.echo)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._server: Any = None

    async def confirm(self, sid: str, data: dict[str, Any]) -> None:
        await self.sio.emit("session_confirm", data["session_id"], to=sid)

    async def echo(self, sid: str, data: dict[str, Any]) -> None:
        await self.sio.emit("bot_uttered", {"text": f"echo: {data['message']}"}, to=sid)

    async def start(self) -> None:
        self._server = await self.app.create_server(
            sock=self._socket, return_asyncio_server=True, access_log=False
        )
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()

    async def stop(self) -> None:
        await self._server.before_stop()
        self._server.close()
        await self._server.wait_closed()
        await self._server.after_stop()
        self._socket.close()


@pytest.fixture
async def server() -> AsyncIterator[EchoServer]:
    running = EchoServer()
    await running.start()
    yield running
    await running.stop()


class Page:
    """python-socketio's client, recording `session_confirm` and `bot_uttered`."""

    def __init__(self) -> None:
        self.http = aiohttp.ClientSession()
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for name in ("session_confirm", "bot_uttered"):
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        async def record(data: Any) -> None:
            await self.events.put((name, data))

        return record

    async def next(self) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), EVENT_TIMEOUT)

    async def chat(self, session_id: str, text: str) -> list[tuple[str, Any]]:
        await self.sio.emit("session_request", {"session_id": session_id})
        confirmed = await self.next()
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id})
        return [confirmed, await self.next()]

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.http.close()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    client = Page()
    yield client
    await client.close()


async def test_a_websocket_only_client_chats(server: EchoServer, page: Page) -> None:
    await page.sio.connect(server.url, transports=["websocket"], socketio_path="/socket.io")

    said = await page.chat("ws-only", "hi")

    assert page.sio.transport() == "websocket"
    assert said == [("session_confirm", "ws-only"), ("bot_uttered", {"text": "echo: hi"})]


async def test_a_default_client_upgrades_and_chats(server: EchoServer, page: Page) -> None:
    await page.sio.connect(server.url, socketio_path="/socket.io")
    deadline = time.monotonic() + EVENT_TIMEOUT
    while page.sio.transport() != "websocket":  # the upgrade runs after the connect
        assert time.monotonic() < deadline, "the client never upgraded"
        await asyncio.sleep(0.05)

    said = await page.chat("upgraded", "hello")

    assert said == [("session_confirm", "upgraded"), ("bot_uttered", {"text": "echo: hello"})]


async def test_a_polling_only_client_still_chats(server: EchoServer, page: Page) -> None:
    await page.sio.connect(server.url, transports=["polling"], socketio_path="/socket.io")

    said = await page.chat("polling", "bye")

    assert page.sio.transport() == "polling"
    assert said == [("session_confirm", "polling"), ("bot_uttered", {"text": "echo: bye"})]


async def test_a_closed_websocket_ends_the_session_without_a_server_error(
    server: EchoServer, page: Page, caplog: pytest.LogCaptureFixture
) -> None:
    disconnected = asyncio.Event()
    server.sio.on("disconnect", lambda sid: disconnected.set())
    # The task Sanic serves the websocket's connection in: Sanic logs any error of its route
    # handler in that task, so once it is done, anything it would log has been logged.
    serving: list[asyncio.Task[Any]] = []
    engine_handles = server.sio.eio.handle_request

    async def recording(request: Any) -> Any:
        if request.args.get("transport") == "websocket":
            serving.append(asyncio.current_task())  # type: ignore[arg-type]
        return await engine_handles(request)

    server.sio.eio.handle_request = recording
    await page.sio.connect(server.url, transports=["websocket"], socketio_path="/socket.io")
    assert len(serving) == 1

    with caplog.at_level(logging.ERROR):
        await page.sio.disconnect()
        await asyncio.wait_for(disconnected.wait(), EVENT_TIMEOUT)
        await asyncio.wait_for(asyncio.wait(serving), EVENT_TIMEOUT)

    # Without the route marked as a websocket handler, Sanic logged at ERROR "Exception
    # occurred while handling uri" with `ServerError: Invalid response type None`.
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def poll(http: aiohttp.ClientSession, url: str, sid: str) -> str:
    query = {"EIO": "4", "transport": "polling", "sid": sid}
    async with http.get(f"{url}/socket.io/", params=query) as answer:
        assert answer.status == 200
        return await answer.text()


async def test_a_failed_upgrade_leaves_the_session_working_on_polling(server: EchoServer) -> None:
    """The probe's websocket closes before its first packet: the session must keep getting
    its packets over polling (engine.io alone answered every poll with a no-op from then on)."""
    async with aiohttp.ClientSession() as http:
        opened = await poll_open(http, server.url)
        sid = json.loads(opened[1:])["sid"]
        assert json.loads(opened[1:])["upgrades"] == ["websocket"]
        probe_url = f"{server.url}/socket.io/?EIO=4&transport=websocket&sid={sid}"
        async with http.ws_connect(probe_url) as probe:
            await probe.close()
        query = {"EIO": "4", "transport": "polling", "sid": sid}
        async with http.post(f"{server.url}/socket.io/", params=query, data="40") as posted:
            assert posted.status == 200

        deadline = time.monotonic() + EVENT_TIMEOUT
        packets = await poll(http, server.url, sid)
        while packets == "6":  # a no-op: the server may not have seen the probe end yet
            assert time.monotonic() < deadline, "every poll is a no-op: the session is wedged"
            packets = await poll(http, server.url, sid)

    assert packets.startswith("40"), packets  # socket.io's connect answer, over polling


async def poll_open(http: aiohttp.ClientSession, url: str) -> str:
    query = {"EIO": "4", "transport": "polling"}
    async with http.get(f"{url}/socket.io/", params=query) as answer:
        assert answer.status == 200
        return await answer.text()


@pytest.mark.parametrize(
    ("name", "packet"),
    [
        ("a client's ping", b"2"),
        ("an open packet", b"0"),
        ("a no-op packet", b"6"),
        ("a body over the buffer", b'42["user_uttered",{"message":"' + b"x" * 1_100_000 + b'"}]'),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_a_post_that_ends_its_session_is_answered_at_once(
    server: EchoServer, name: str, packet: bytes
) -> None:
    # python-engineio waited for a poll to carry the session's close packet before answering
    # such a POST: without one, the request hung for as long as the client waited.
    base = f"{server.url}/socket.io/?EIO=4&transport=polling"
    timeout = aiohttp.ClientTimeout(total=EVENT_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.get(base) as opened:
            sid = json.loads((await opened.text())[1:])["sid"]
        async with http.post(f"{base}&sid={sid}", data=b"40") as joined:
            assert joined.status == 200

        async with http.post(f"{base}&sid={sid}", data=packet) as refused:
            assert refused.status == 400, name
        async with http.get(f"{base}&sid={sid}") as gone:
            assert gone.status == 400  # the session has ended
    assert sid not in server.sio.eio.sockets


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_a_post_without_a_session_is_a_400(server: EchoServer, transport: str) -> None:
    # python-engineio failed on the missing sid with a TypeError: Sanic answered 500.
    url = f"{server.url}/socket.io/?EIO=4&transport={transport}"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=EVENT_TIMEOUT)) as http,
        http.post(url, data=b"40") as answer,
    ):
        assert answer.status == 400
        assert await answer.text() == "Invalid session"
