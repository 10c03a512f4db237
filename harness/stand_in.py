"""A real HTTP server on loopback standing in for another process, for tests and benchmarks.

The desk's stand-ins (`harness.recording_endpoint` for its handoff route, the recording desk of
the conversation-events tests) share this: listening and stopping, going down and coming back
on the same port, holding every request until told to answer, and waiting until what they
recorded meets a condition.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiohttp import web

DEFAULT_WAIT_SECONDS = 5.0


class LoopbackStandIn(ABC):
    """An aiohttp server on loopback; subclasses add their routes and record what they get.

    Request handlers wait for `answering()` first (so `stall()` holds them) and record through
    `record()`, which wakes `wait_until()`.
    """

    #: Names the stand-in in the message of a wait that timed out.
    name = "stand-in"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        """Configure the server; `port=0` picks a free ephemeral port on `start()`."""
        self._host = host
        self._port = port
        self._changed = asyncio.Condition()
        self._gate = asyncio.Event()
        self._gate.set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    @abstractmethod
    def add_routes(self, app: web.Application) -> None:
        """Register the stand-in's routes."""

    @abstractmethod
    def recorded(self) -> str:
        """What the stand-in has recorded so far, for the message of a failed wait."""

    @property
    def port(self) -> int:
        """The port it listens on (resolved after `start()`)."""
        return self._port

    # --- Lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening."""
        app = web.Application()
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await self.up()

    async def up(self) -> None:
        """Listen again, on the same port as before."""
        if self._runner is None:
            raise RuntimeError(f"start() the {self.name} first")
        if self._site is not None:
            return
        self._site = web.TCPSite(self._runner, self._host, self._port)
        await self._site.start()
        self._port = self._runner.addresses[0][1]

    async def down(self) -> None:
        """Stop listening and drop open connections; clients now get connection errors."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._runner is not None and self._runner.server is not None:
            # Pooled keep-alive connections would otherwise still reach the app.
            await self._runner.server.shutdown(timeout=1.0)

    async def close(self) -> None:
        """Stop listening for good, letting stalled requests finish."""
        self._gate.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def __aenter__(self) -> Self:
        """Start the stand-in."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the stand-in."""
        await self.close()

    # --- A slow service -----------------------------------------------------------------------

    def stall(self) -> None:
        """Hold every request until `resume()` (a slow service)."""
        self._gate.clear()

    def resume(self) -> None:
        """Answer the held requests and the next ones."""
        self._gate.set()

    async def answering(self) -> None:
        """Returns when requests are answered (at once unless stalled)."""
        await self._gate.wait()

    # --- Recording and waiting ----------------------------------------------------------------

    async def record(self, change: Callable[[], None]) -> None:
        """Apply `change` to what is recorded and wake the waiters."""
        async with self._changed:
            change()
            self._changed.notify_all()

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = DEFAULT_WAIT_SECONDS,
        what: str = "condition",
    ) -> None:
        """Wait until `condition()` holds for what is recorded.

        Raises:
            AssertionError: it does not within `timeout` seconds.
        """

        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(condition)

        try:
            await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"{self.name}: {what} not met within {timeout}s; {self.recorded()}"
            ) from None
