"""The desk's connection to Redis, which the desk processes share (DESK_BUS_URL).

Three things go through it when the desk runs as several processes: the event bus
(`desk.redis_bus`), the places the waiting customers were told (`desk.told_places`) and which
consoles are online (`desk.presence`). Each says what went wrong the same way: "Redis at
redis://127.0.0.1:6379/0 is not reachable: ..." (`RedisUnavailable`, the URL's password
masked), and a part that keeps failing warns at most every `WARN_EVERY_SECONDS`
(`ThrottledWarning`), so an outage is one clear line now and then, not one per event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis

#: Seconds to open a connection: a Redis that is down must not hold up the desk for long.
CONNECT_TIMEOUT_SECONDS: Final = 2.0
#: Seconds one command may take.
COMMAND_TIMEOUT_SECONDS: Final = 5.0
#: An idle connection is checked with a PING after this many seconds (a listener notices a
#: Redis that went away without closing the connection).
HEALTH_CHECK_SECONDS: Final = 10
#: A part that keeps failing logs at most one warning this often.
WARN_EVERY_SECONDS: Final = 30.0


class RedisUnavailable(Exception):
    """Redis did not answer (down, unreachable, timed out); the message says where."""


def where(url: str) -> str:
    """The URL to show in a message: its password masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def unavailable(url: str, error: BaseException) -> RedisUnavailable:
    """The error to raise or log when Redis at `url` failed with `error`."""
    return RedisUnavailable(f"Redis at {where(url)} is not reachable: {error}")


def connect(url: str) -> Redis:
    """A client of the Redis at `url` (connections are opened when first used), answering
    text."""
    client: Redis = Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        health_check_interval=HEALTH_CHECK_SECONDS,
    )
    return client


class ThrottledWarning:
    """One warning now, then at most one every `every` seconds while the trouble lasts, saying
    how often it happened meanwhile; `recovered` logs once that it is over."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        every: float = WARN_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Log to `logger`."""
        self.logger = logger
        self.every = every
        self.clock = clock
        self._last: float | None = None
        self._since_last = 0
        self._failing = False

    @property
    def failing(self) -> bool:
        """Whether the trouble is going on (warned and not recovered)."""
        return self._failing

    def warn(self, message: str, *args: Any) -> bool:
        """Log `message` unless a warning went out less than `every` seconds ago; whether it
        was logged."""
        self._failing = True
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            self._since_last += 1
            return False
        suppressed, self._since_last, self._last = self._since_last, 0, now
        if suppressed:
            more = " (%d more times since the last warning)"
            self.logger.warning(message + more, *args, suppressed)
        else:
            self.logger.warning(message, *args)
        return True

    def recovered(self, message: str, *args: Any) -> None:
        """Log `message` (info) if a warning went out; the next trouble warns at once."""
        if self._failing:
            self.logger.info(message, *args)
        self._failing = False
        self._last = None
        self._since_last = 0
