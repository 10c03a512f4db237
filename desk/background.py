"""The desk's background work: tasks that must not hold up a caller, and work repeated at a
fixed pace (the waiting-room check, the bot sync).

`BackgroundTasks` runs work that must not hold up its caller (everything the bot sets off
waits for it with a short timeout) as tracked tasks; a failure is logged; `settle()` waits for
what was started (tests, shutdown). `with_retries` retries a Rasa call whose effect nobody
else would bring about. `Periodic` repeats work for the application's lifetime.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Final

from desk.rasa_client import RasaUnavailable

LOGGER = logging.getLogger(__name__)

SETTLE_TIMEOUT_SECONDS: Final = 10.0


class BackgroundTasks:
    """The background tasks of one desk application."""

    def __init__(self) -> None:
        """Nothing running yet."""
        self._tasks: set[asyncio.Task[Any]] = set()

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


async def with_retries(
    work: Callable[[], Awaitable[None]], delays: Sequence[float], *, what: str
) -> bool:
    """Run `work`; on `RasaUnavailable` try again after each of `delays`; whether it worked.

    For background calls whose effect nobody else would bring about (doing them twice is
    harmless): the last failure is logged as an error.
    """
    for delay in (*delays, None):
        try:
            await work()
            return True
        except RasaUnavailable as error:
            if delay is None:
                LOGGER.error("%s failed for good: %s", what, error)
                return False
            LOGGER.warning("%s failed (retrying in %ss): %s", what, delay, error)
            await asyncio.sleep(delay)  # back-off between attempts, not a wait for an event
    return False


class Periodic:
    """Runs `work` every `seconds` once started; a failing run is logged and the next one
    still comes (the work must outlive a database hiccup)."""

    def __init__(self, work: Callable[[], Awaitable[Any]], seconds: float, name: str) -> None:
        """Repeat `work` every `seconds`; `name` names the task and its log lines."""
        self.work = work
        self.seconds = seconds
        self.name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start repeating (the application's start-up); a second call does nothing."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop repeating (the application's shutdown)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.seconds)  # the pace of the work, not a wait for an event
            try:
                await self.work()
            except Exception:
                LOGGER.exception("%s failed", self.name)
