"""What the web chat's socket.io server sends a client that sends events too fast.

Each socket.io connection may send `events_per_second` events of each kind (`user_uttered`,
`user_typing`, ...) on average, in bursts of at most `burst`; the kinds do not share an
allowance (`assistant.channels.rate_limit`). An event over the limit is dropped (never
handled, never stored) and the connection gets, at most once a second, the socket.io event
`slow_down` with a `SlowDownNotice`::

    {"event": "user_uttered", "retry_after_seconds": 0.2, "events_per_second": 5.0,
     "burst": 20, "error": "too many messages on this connection: ..."}

A connection that keeps sending after `dropped_before_disconnect` dropped events is closed.
A person typing never meets the limit; a page that does should wait `retry_after_seconds`
and send again what it wants kept (the chat page marks a dropped message "not sent" and puts
its words back in the box).
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

SLOW_DOWN_EVENT: Final = "slow_down"


class SlowDownNotice(BaseModel):
    """The body of `slow_down`: which event was dropped, and when to send again."""

    event: str
    retry_after_seconds: float
    events_per_second: float
    burst: int
    error: str
