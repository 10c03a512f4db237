"""A per-connection limit on the web chat's socket.io events, so no one client holds the server.

Every customer message costs the Rasa server a prediction (the NLU pipeline and the policies);
a client that sends thousands a second on one socket would hold its event loop and a core for
everyone. Each connection therefore has a token bucket per kind of event (`ConnectionLimits`):
`burst` events of that kind at once, refilled at `events_per_second`. The kinds do not share
an allowance, so a page's typing signals (two per message it sends) never spend what its
messages need. An event over the limit is dropped before any handler sees it, and the client
is told with `slow_down` (`contract.slow_down`, at most once a second); after
`dropped_before_disconnect` dropped events of any kind the connection is closed. A person
typing (a message every few seconds, a typing signal every 2.5 s at most) never meets the
limit.

Settings (environment, `assistant.settings.AssistantSettings`): WEBCHAT_EVENTS_PER_SECOND
(default 5), WEBCHAT_EVENT_BURST (20), WEBCHAT_DROPPED_BEFORE_DISCONNECT (200).

The limit sits in front of every handler the server has for a namespace (`limit_events`),
`connect` and `disconnect` excepted; a connection's bucket is forgotten when it disconnects.
"""

from __future__ import annotations

import enum
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from socketio import AsyncServer

from contract.slow_down import SLOW_DOWN_EVENT, SlowDownNotice

logger = logging.getLogger(__name__)

DEFAULT_EVENTS_PER_SECOND: Final = 5.0
DEFAULT_BURST: Final = 20
DEFAULT_DROPPED_BEFORE_DISCONNECT: Final = 200
#: A connection hears `slow_down` at most this often, however fast it sends.
NOTICE_INTERVAL_SECONDS: Final = 1.0
#: The socket.io events that are not messages: a connection's start and end.
LIFECYCLE_EVENTS: Final = frozenset({"connect", "disconnect"})


class Verdict(enum.Enum):
    """What becomes of one event."""

    HANDLE = "handle"
    DROP = "drop"
    DROP_AND_NOTIFY = "drop and notify"
    DISCONNECT = "disconnect"


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class _Connection:
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    dropped: int = 0
    notified_at: float | None = None


@dataclass
class ConnectionLimits:
    """The token buckets of the connections, by socket.io session id and kind of event."""

    events_per_second: float = DEFAULT_EVENTS_PER_SECOND
    burst: int = DEFAULT_BURST
    dropped_before_disconnect: int = DEFAULT_DROPPED_BEFORE_DISCONNECT
    clock: Callable[[], float] = time.monotonic
    _connections: dict[str, _Connection] = field(default_factory=dict)

    def judge(self, sid: str, event: str = "message") -> Verdict:
        """Take a token for one `event` of `sid`'s connection, or say why not."""
        now = self.clock()
        connection = self._connections.setdefault(sid, _Connection())
        bucket = connection.buckets.get(event)
        if bucket is None:
            bucket = connection.buckets[event] = _Bucket(tokens=float(self.burst), updated=now)
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.events_per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.HANDLE
        connection.dropped += 1
        if connection.dropped >= self.dropped_before_disconnect:
            return Verdict.DISCONNECT
        notified = connection.notified_at
        if notified is None or now - notified >= NOTICE_INTERVAL_SECONDS:
            connection.notified_at = now
            return Verdict.DROP_AND_NOTIFY
        return Verdict.DROP

    def retry_after(self, sid: str, event: str = "message") -> float:
        """Seconds until `sid`'s connection may send one `event` again."""
        connection = self._connections.get(sid)
        bucket = None if connection is None else connection.buckets.get(event)
        if bucket is None:
            return 0.0
        return round(max(0.0, 1.0 - bucket.tokens) / self.events_per_second, 3)

    def dropped(self, sid: str) -> int:
        """How many events of `sid`'s connection were dropped, of every kind."""
        connection = self._connections.get(sid)
        return 0 if connection is None else connection.dropped

    def forget(self, sid: str) -> None:
        """The connection has ended."""
        self._connections.pop(sid, None)

    @property
    def connections(self) -> int:
        """How many connections have a bucket."""
        return len(self._connections)

    def notice(self, sid: str, event: str) -> SlowDownNotice:
        """What `slow_down` tells the connection."""
        return SlowDownNotice(
            event=event,
            retry_after_seconds=self.retry_after(sid, event),
            events_per_second=self.events_per_second,
            burst=self.burst,
            error=(
                f"too many messages on this connection: at most {self.events_per_second:g} a"
                f" second (bursts of {self.burst}); this {event} was dropped"
            ),
        )


def limit_events(sio: AsyncServer, namespace: str | None, limits: ConnectionLimits) -> None:
    """Put `limits` in front of every handler `sio` has for `namespace` (register the handlers
    first); `disconnect` forgets the connection's bucket."""
    name = namespace or "/"
    handlers = sio.handlers[name]
    for event, handler in list(handlers.items()):
        if event == "disconnect":
            handlers[event] = _forgetting(handler, limits)
        elif event not in LIFECYCLE_EVENTS:
            handlers[event] = _limited(sio, name, event, handler, limits)


def _limited(
    sio: AsyncServer,
    namespace: str,
    event: str,
    handler: Callable[..., Any],
    limits: ConnectionLimits,
) -> Callable[..., Any]:
    async def limited(sid: str, *data: Any) -> Any:
        verdict = limits.judge(sid, event)
        if verdict is Verdict.HANDLE:
            return await _called(handler, sid, *data)
        if verdict is Verdict.DROP_AND_NOTIFY:
            logger.warning(
                "web chat: socket %s sends too fast; its %s events over %g a second are dropped",
                sid,
                event,
                limits.events_per_second,
            )
            notice = limits.notice(sid, event).dict()
            await sio.emit(SLOW_DOWN_EVENT, notice, to=sid, namespace=namespace)
        elif verdict is Verdict.DISCONNECT:
            logger.warning(
                "web chat: socket %s closed after %d dropped events", sid, limits.dropped(sid)
            )
            limits.forget(sid)
            await sio.disconnect(sid, namespace=namespace)
        return None

    return limited


def _forgetting(handler: Callable[..., Any], limits: ConnectionLimits) -> Callable[..., Any]:
    async def disconnect(sid: str, *data: Any) -> Any:
        limits.forget(sid)
        return await _called(handler, sid, *data)

    return disconnect


async def _called(handler: Callable[..., Any], *args: Any) -> Any:
    result = handler(*args)
    if inspect.isawaitable(result):
        return await result
    return result
