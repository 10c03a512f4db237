"""Background work the desk repeats at a fixed pace (the waiting-room check, the bot sync)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

LOGGER = logging.getLogger(__name__)


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
