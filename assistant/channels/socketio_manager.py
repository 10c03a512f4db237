"""The web chat across several Rasa processes: python-socketio's cross-process client manager.

A web chat's socket lives in one Rasa process (the balancer keeps each socket.io session on
the process that opened it). What the customer must receive, though, is emitted by whichever
process handled the request behind it: the desk's `POST /webhooks/socketio/notify` and its
agent turns through Rasa's HTTP API (`execute_side_effects=true` → `output_channel=latest`)
land on any Rasa process. python-socketio solves exactly this with a pub/sub client manager:
every `emit` is published on a shared channel, and each process delivers it to the sockets in
that room it holds (`socketio.AsyncPubSubManager`). Rooms stay local; only emits travel.

`WEBCHAT_SOCKETIO_MANAGER_URL` picks the pub/sub (python-socketio 5.8.0's own managers, no new
dependency):

- empty (the default): the in-process manager, a single Rasa process, as before;
- ``redis://host:port/db`` (or ``rediss://``): `socketio.AsyncRedisManager`, on the `redis`
  client's asyncio API (`redis.asyncio`, redis 4.6 in Rasa's pinned set; no `aioredis`).
  Redis pub/sub is fire-and-forget and fast, and the scaled stack already has Redis for the
  lock store: this is what `make run-scaled` uses;
- ``amqp://user:password@host:port/vhost``: `socketio.AsyncAioPikaManager` (aio-pika, installed
  with Rasa's pika broker): a fan-out exchange with one short-lived queue per process.

`WEBCHAT_SOCKETIO_CHANNEL` (default ``rasa-webchat``) names the Redis channel / RabbitMQ
exchange; every Rasa process of one system must use the same, and two systems sharing a Redis
(the tests) use different ones.

Both managers (de)serialise with pickle: whoever can publish on that channel can run code in
every Rasa process. The Redis or RabbitMQ behind it must be reachable by the system's own
processes only (as the lock store and the event broker already must).

The manager listens from the server's start (`start_listening`), not from its first client as
python-socketio would: a process then receives emits for sockets that connect right after it
starts, and an unreachable pub/sub is reported at start-up, by name, instead of on the first
message.

python-socketio 5.8.0 sends *every* emit through the pub/sub, even one for a socket in the
emitting process, and delivers it when its own subscription hears it back. While the pub/sub is
down (a Redis restart: `make chaos`), or in the seconds its listener takes to subscribe again,
the bot's reply to a customer's own message, and even `session_confirm`, were lost, though the
process that made them holds the customer's socket (the balancer keeps a session on one
process). `LocalFirstRedisManager` and `LocalFirstAioPikaManager` deliver to the sockets this
process holds at once, publish for the other processes (not for an emit to one socket this
process holds: the bot's every reply), and skip their own messages when the subscription hears
them back. While the pub/sub is down only emits for sockets held by *other*
processes are lost (logged); the customer's page catches up from `/chat/history` when it
reconnects.
"""

from __future__ import annotations

import logging
from asyncio import AbstractEventLoop
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from sanic import Blueprint, Sanic
from socketio import AsyncAioPikaManager, AsyncManager, AsyncRedisManager, AsyncServer

logger = logging.getLogger(__name__)

MANAGER_URL_VARIABLE: Final = "WEBCHAT_SOCKETIO_MANAGER_URL"
CHANNEL_VARIABLE: Final = "WEBCHAT_SOCKETIO_CHANNEL"
DEFAULT_CHANNEL: Final = "rasa-webchat"
REDIS_SCHEMES: Final = frozenset({"redis", "rediss"})
AMQP_SCHEMES: Final = frozenset({"amqp", "amqps"})


class LocalFirstEmits:
    """A pub/sub manager's emits, delivered to this process's own sockets first (module doc).

    Mixed in before `socketio.AsyncRedisManager` or `socketio.AsyncAioPikaManager`. An emit
    with a callback keeps python-socketio's own path (its acknowledgement travels back through
    the pub/sub); nothing of the web chat's asks for one.
    """

    host_id: str

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("ignore_queue") or callback is not None:
            await super().emit(  # type: ignore[misc]
                event,
                data,
                namespace=namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                **kwargs,
            )
            return
        namespace = namespace or "/"
        await AsyncManager.emit(self, event, data, namespace, room=room, skip_sid=skip_sid)
        if room is not None and self.is_connected(room, namespace):  # type: ignore[attr-defined]
            return  # `room` is one socket, and it is this process's: nobody else holds it
        message = {
            "method": "emit",
            "event": event,
            "data": data,
            "namespace": namespace,
            "room": room,
            "skip_sid": skip_sid,
            "callback": None,
            "host_id": self.host_id,
        }
        try:
            await self._publish(message)  # type: ignore[attr-defined]
        except Exception as error:  # the pub/sub is down: the other processes miss this one
            logger.error(
                "web chat: %s was delivered here but not to other Rasa processes (the socket.io"
                " pub/sub failed: %s)",
                event,
                type(error).__name__,
            )

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("host_id") == self.host_id:
            return  # this process delivered it when it emitted it
        await super()._handle_emit(message)  # type: ignore[misc]


class LocalFirstRedisManager(LocalFirstEmits, AsyncRedisManager):
    """`socketio.AsyncRedisManager`, this process's sockets served first (`LocalFirstEmits`)."""


class LocalFirstAioPikaManager(LocalFirstEmits, AsyncAioPikaManager):
    """`socketio.AsyncAioPikaManager`, this process's sockets served first."""


def check_manager_url(url: str) -> str:
    """`url` if it names a supported pub/sub (empty: none), else `ValueError` saying which."""
    if not url:
        return url
    scheme = urlsplit(url).scheme
    if scheme not in REDIS_SCHEMES | AMQP_SCHEMES:
        raise ValueError(
            f"must be a redis://, rediss://, amqp:// or amqps:// URL (or empty for a single "
            f"Rasa process), not a {scheme or 'scheme-less'} URL"
        )
    return url


def without_password(url: str) -> str:
    """The URL as it may be logged: any password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def cross_process_manager(url: str, channel: str = DEFAULT_CHANNEL) -> AsyncManager | None:
    """The pub/sub client manager `url` names, or None for the in-process one (empty url)."""
    if not check_manager_url(url):
        return None
    # python-socketio logs every message it relays at INFO; its errors are what matter here.
    manager_logger = logging.getLogger("socketio.manager")
    manager_logger.setLevel(logging.WARNING)
    if urlsplit(url).scheme in REDIS_SCHEMES:
        return LocalFirstRedisManager(url, channel=channel, logger=manager_logger)
    return LocalFirstAioPikaManager(url, channel=channel, logger=manager_logger)


def share_rooms_across_processes(sio: AsyncServer, manager: AsyncManager) -> None:
    """Makes `sio` emit through `manager`: called on a server no client has reached yet, in
    place of the in-process manager its constructor made (Rasa builds the server itself)."""
    if sio.manager_initialized:
        raise RuntimeError("the socket.io server is already serving; its manager is set")
    manager.set_server(sio)
    sio.manager = manager


async def start_listening(sio: AsyncServer, url: str) -> None:
    """Starts the manager's listener now and reports whether the pub/sub answers (logged; the
    listener retries by itself, so a pub/sub that comes up later is picked up)."""
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()
    shown = without_password(url)
    try:
        await _ping(sio.manager)
    except Exception as error:  # any client error: the message names the pub/sub
        logger.error(
            "web chat: the socket.io pub/sub at %s is not reachable: %s. Messages emitted by "
            "other Rasa processes will not reach this one's web chats until it is.",
            shown,
            error,
        )
        return
    logger.info("web chat: socket.io rooms shared across Rasa processes through %s", shown)


async def _ping(manager: AsyncManager) -> None:
    if isinstance(manager, AsyncRedisManager):
        await manager.redis.ping()
    elif isinstance(manager, AsyncAioPikaManager):
        connection = await manager._connection()
        await connection.close()


def serve_across_processes(sio: AsyncServer, blueprint: Blueprint, url: str, channel: str) -> None:
    """With a pub/sub `url`, makes the web chat's server emit through it from the server's
    start (the blueprint's `after_server_start`); with an empty one, changes nothing."""
    manager = cross_process_manager(url, channel)
    if manager is None:
        return
    share_rooms_across_processes(sio, manager)

    @blueprint.listener("after_server_start")
    async def listen(_app: Sanic, _loop: AbstractEventLoop) -> None:
        await start_listening(sio, url)
