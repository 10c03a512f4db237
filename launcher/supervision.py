"""Keeping the system's processes up while `make run` / `make run-scaled` is in the foreground.

A process that exits on its own (a crash, the OOM killer, a `kill -9`) is restarted after a
backoff that doubles with each restart (1 s, 2 s, 4 s ... capped), and the launcher waits
until it answers its health check again. A process that keeps dying is not restarted for ever:
after `max_restarts` restarts within `window_seconds` the launcher gives up, stops everything
and exits 1, so a broken set-up is reported instead of hidden behind a restart loop.

`RestartPolicy` is the decision alone (with an injectable clock); `supervise` is the loop that
acts on it.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TextIO

from launcher.stack import ServiceFailedToStart, Stack

#: How often the loop looks at the processes.
SUPERVISION_INTERVAL_SECONDS: Final = 1.0
#: Exit code of the launcher when it gave up on a process.
GAVE_UP_EXIT_CODE: Final = 1

Clock = Callable[[], float]


@dataclass
class RestartPolicy:
    """When to restart a process that died, and when to stop trying.

    Attributes:
        max_restarts: Restarts of one process allowed within `window_seconds`; the next death
            in that window ends the launcher.
        window_seconds: The sliding window the restarts are counted in.
        first_backoff_seconds: Wait before the first restart; doubles with each restart still
            in the window (so a process that ran well for a while starts again quickly).
        max_backoff_seconds: Cap of that wait.
        clock: Seconds on a monotonic clock (injectable for tests).
    """

    max_restarts: int = 5
    window_seconds: float = 300.0
    first_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    clock: Clock = time.monotonic
    _restarts: dict[str, deque[float]] = field(default_factory=dict, init=False, repr=False)

    def backoff_after_death(self, name: str) -> float | None:
        """Records that `name` died; the seconds to wait before restarting it, or None when
        it has used up its restarts within the window (give up)."""
        now = self.clock()
        recent = self._restarts.setdefault(name, deque())
        while recent and now - recent[0] >= self.window_seconds:
            recent.popleft()
        if len(recent) >= self.max_restarts:
            return None
        delay = min(self.first_backoff_seconds * 2.0 ** len(recent), self.max_backoff_seconds)
        recent.append(now)
        return delay

    def restarts_in_window(self, name: str) -> int:
        """How many restarts of `name` the window holds now (counting the one being made)."""
        return len(self._restarts.get(name, ()))

    def describe(self) -> str:
        """The limit in words, for the messages."""
        return f"{self.max_restarts} restarts within {self.window_seconds / 60:g} min"


def supervise(
    stack: Stack,
    policy: RestartPolicy,
    *,
    interval: float = SUPERVISION_INTERVAL_SECONDS,
    out: TextIO = sys.stderr,
    wait: Callable[[float], None] = time.sleep,
    stop_when: Callable[[], bool] = lambda: False,
) -> int:
    """Restarts the stack's processes that die, until Ctrl-C (KeyboardInterrupt, which the
    caller turns SIGTERM into as well) or until `stop_when()`; returns the exit code: 0, or
    `GAVE_UP_EXIT_CODE` once a process used up its restarts (the caller stops the rest)."""

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        while not stop_when():
            for name, running in list(stack.running.items()):
                code = running.process.poll()
                if code is None:
                    continue
                say(f"{name} exited unexpectedly (exit code {code}); its log ends with:")
                say(running.log_tail())
                delay = policy.backoff_after_death(name)
                if delay is None:
                    say(
                        f"Giving up on {name}: it died again after {policy.describe()}. "
                        f"Stopping the system; see {running.log_path}."
                    )
                    return GAVE_UP_EXIT_CODE
                say(
                    f"Restarting {name} in {delay:g} s "
                    f"(restart {policy.restarts_in_window(name)} of {policy.describe()})..."
                )
                wait(delay)
                _restart(stack, name, say)
            wait(interval)
    except KeyboardInterrupt:
        pass
    return 0


def _restart(stack: Stack, name: str, say: Callable[[str], None]) -> None:
    """Starts `name` again and waits for its health check; a process that does not become
    healthy is stopped, so the next round counts it as another death."""
    running = stack.restart(name)
    try:
        stack.wait_healthy(name)
    except ServiceFailedToStart as error:
        say(f"{name} did not come back: {str(error).splitlines()[0]}")
        if running.process.poll() is None:
            os.killpg(running.process.pid, signal.SIGKILL)
            running.process.wait()
        return
    say(f"{name} is healthy again.")
