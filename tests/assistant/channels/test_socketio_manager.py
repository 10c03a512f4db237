"""The web chat's cross-process socket.io manager: which pub/sub a URL names, how it is
installed on Rasa's server, and two servers sharing a room through a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from socketio import AsyncAioPikaManager, AsyncManager, AsyncRedisManager, AsyncServer

from assistant.channels.socketio_manager import (
    check_manager_url,
    cross_process_manager,
    share_rooms_across_processes,
    start_listening,
    without_password,
)
from assistant.settings import AssistantSettings
from settingsupport.environment import MissingSettingError

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_an_empty_url_keeps_the_in_process_manager() -> None:
    assert cross_process_manager("") is None
    assert AssistantSettings.from_env({}).webchat_socketio_manager_url == ""


def test_redis_and_amqp_urls_name_python_socketios_managers() -> None:
    assert isinstance(cross_process_manager("redis://127.0.0.1:6379/0"), AsyncRedisManager)
    manager = cross_process_manager("amqp://guest:guest@127.0.0.1:5672/%2F", "chat-x")
    assert isinstance(manager, AsyncAioPikaManager)
    assert manager.channel == "chat-x"


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "kafka://x"])
def test_another_url_is_refused_by_name(url: str) -> None:
    with pytest.raises(ValueError, match="redis://, rediss://, amqp:// or amqps://"):
        check_manager_url(url)
    with pytest.raises(MissingSettingError, match="WEBCHAT_SOCKETIO_MANAGER_URL is not valid"):
        AssistantSettings.from_env({"WEBCHAT_SOCKETIO_MANAGER_URL": url})


def test_a_password_is_never_shown() -> None:
    assert without_password("amqp://guest:s3cret@host:5672/%2F") == "amqp://guest:***@host:5672/%2F"
    assert without_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert "s3cret" not in repr(
        AssistantSettings.from_env({"WEBCHAT_SOCKETIO_MANAGER_URL": "redis://:s3cret@h:1/0"})
    )


def test_the_manager_replaces_the_servers_own_before_any_client() -> None:
    sio = AsyncServer(async_mode="sanic")
    manager = cross_process_manager(REDIS_URL)
    assert manager is not None
    share_rooms_across_processes(sio, manager)
    assert sio.manager is manager and manager.server is sio

    sio.manager_initialized = True  # a client has arrived
    with pytest.raises(RuntimeError, match="already serving"):
        share_rooms_across_processes(sio, AsyncManager())


async def test_an_emit_on_one_server_reaches_the_room_on_another() -> None:
    """Two servers (two Rasa processes) on one Redis channel: the second emits to a room
    whose socket only the first holds, and the first delivers it."""
    async with two_processes("conversation-7") as (emitter, delivered, _holder):
        await emitter.emit("handoff_status", {"status": "claimed"}, room="conversation-7")

        packet = await asyncio.wait_for(delivered.get(), 5)
        assert packet == ["handoff_status", {"status": "claimed"}]


def _holding_a_socket(server: AsyncServer, room: str) -> asyncio.Queue[object]:
    """Connects one socket of `server` to `room`; returns what it is sent, packet by packet."""
    delivered: asyncio.Queue[object] = asyncio.Queue()

    async def send_to_socket(eio_sid: str, packet: object) -> None:
        await delivered.put(packet.data)  # type: ignore[attr-defined]

    server.manager.connect("eio-1", "/")
    sid = server.manager.sid_from_eio_sid("eio-1", "/")
    server.manager.enter_room(sid, "/", room)
    server._send_packet = send_to_socket  # type: ignore[method-assign]
    return delivered


async def test_a_socket_of_the_emitting_process_is_served_while_the_pub_sub_is_down() -> None:
    """The bot's reply to a customer's own message is emitted by the process holding the
    customer's socket: it reaches the page with Redis down (python-socketio's own manager
    sends it through Redis and loses it)."""
    down = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    ours = AsyncServer(async_mode="asgi")
    manager = cross_process_manager(down, f"webchat-test-{uuid.uuid4().hex}")
    assert manager is not None
    share_rooms_across_processes(ours, manager)
    ours.manager_initialized = True
    delivered = _holding_a_socket(ours, "conversation-8")

    await ours.emit("bot_uttered", {"text": "Your order is on its way."}, room="conversation-8")

    assert delivered.get_nowait() == ["bot_uttered", {"text": "Your order is on its way."}]

    stock = AsyncServer(async_mode="asgi")
    share_rooms_across_processes(stock, AsyncRedisManager(down, channel="webchat-test-stock"))
    stock.manager_initialized = True
    lost = _holding_a_socket(stock, "conversation-8")
    await stock.emit("bot_uttered", {"text": "Your order is on its way."}, room="conversation-8")
    assert lost.empty()


async def test_an_emit_reaches_the_emitting_processs_socket_once() -> None:
    """A process's own emit is delivered at once and skipped when its subscription hears it
    back: the holder's socket gets its own emit and then the other process's, once each."""
    async with two_processes("conversation-9") as (emitter, delivered, holder):
        await holder.emit("bot_uttered", {"text": "first"}, room="conversation-9")
        assert delivered.get_nowait() == ["bot_uttered", {"text": "first"}]
        # Redis hands the holder's subscription its own message before this later one.
        await emitter.emit("bot_uttered", {"text": "second"}, room="conversation-9")

        second = await asyncio.wait_for(delivered.get(), 5)
        assert second == ["bot_uttered", {"text": "second"}]
        assert delivered.empty()


@contextlib.asynccontextmanager
async def two_processes(
    room: str,
) -> AsyncIterator[tuple[AsyncServer, asyncio.Queue[object], AsyncServer]]:
    """Two servers (two Rasa processes) on one fresh Redis channel, both listening: the
    holder has one socket in `room`. Yields the emitter, what the socket is sent, the holder."""
    channel = f"webchat-test-{uuid.uuid4().hex}"
    holder, emitter = AsyncServer(async_mode="asgi"), AsyncServer(async_mode="asgi")
    for server in (holder, emitter):
        manager = cross_process_manager(REDIS_URL, channel)
        assert manager is not None
        share_rooms_across_processes(server, manager)
    delivered = _holding_a_socket(holder, room)
    try:
        await start_listening(holder, REDIS_URL)
        await start_listening(emitter, REDIS_URL)

        async def subscribed() -> None:
            while not holder.manager.pubsub.subscribed:
                await asyncio.sleep(0.01)  # the listener's SUBSCRIBE, bounded below

        await asyncio.wait_for(subscribed(), 5)
        yield emitter, delivered, holder
    finally:
        for server in (holder, emitter):
            server.manager.thread.cancel()
            await server.manager.redis.close()
