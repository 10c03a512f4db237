"""Restarting the processes that die: the policy alone, then the loop on real processes."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.loopback import free_ports
from launcher.stack import Service, Stack
from launcher.supervision import GAVE_UP_EXIT_CODE, RestartPolicy, supervise


class ManualClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_with_each_restart_up_to_the_cap() -> None:
    policy = RestartPolicy(
        max_restarts=10, window_seconds=300, first_backoff_seconds=1, max_backoff_seconds=8
    )

    delays = [policy.backoff_after_death("actions") for _ in range(6)]

    assert delays == [1, 2, 4, 8, 8, 8]


def test_it_gives_up_after_the_limit_within_the_window() -> None:
    clock = ManualClock()
    policy = RestartPolicy(max_restarts=3, window_seconds=300, clock=clock)

    allowed = [policy.backoff_after_death("rasa") for _ in range(3)]
    clock.now += 299

    assert None not in allowed
    assert policy.backoff_after_death("rasa") is None


def test_restarts_older_than_the_window_no_longer_count() -> None:
    clock = ManualClock()
    policy = RestartPolicy(max_restarts=2, window_seconds=300, clock=clock)
    policy.backoff_after_death("desk")
    policy.backoff_after_death("desk")

    clock.now += 300

    # A process that ran well for the whole window starts again quickly, and may die again.
    assert policy.backoff_after_death("desk") == 1
    assert policy.restarts_in_window("desk") == 1


def test_each_process_has_its_own_count() -> None:
    policy = RestartPolicy(max_restarts=1)

    assert policy.backoff_after_death("actions") == 1
    assert policy.backoff_after_death("desk") == 1
    assert policy.backoff_after_death("actions") is None


# --- The loop, on real processes --------------------------------------------------------------


def crash_once_then_serve(marker: Path) -> Service:
    """A process that exits 3 on its first run and serves HTTP on every later one."""
    port = free_ports(1)[0]
    code = (
        "import pathlib, sys, http.server\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.touch(); print('first run: crashing', flush=True); sys.exit(3)\n"
        "print('second run: serving', flush=True)\n"
        f"http.server.test(http.server.SimpleHTTPRequestHandler, port={port}, bind='127.0.0.1')\n"
    )
    return Service(
        "flaky", [sys.executable, "-c", code], f"http://127.0.0.1:{port}/", startup_timeout=30
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack logging to tmp_path; whatever a test leaves running is stopped."""
    started = Stack(tmp_path / "logs")
    yield started
    started.stop_all()


def test_a_process_that_dies_is_restarted_and_healthy_again(stack: Stack, tmp_path: Path) -> None:
    service = crash_once_then_serve(tmp_path / "ran-once")
    first = stack.start(service).process
    first.wait(30)
    waits: list[float] = []
    out = io.StringIO()

    code = supervise(
        stack,
        RestartPolicy(first_backoff_seconds=0.01),
        interval=0.05,
        out=out,
        wait=waits.append,
        stop_when=lambda: stack.running["flaky"].process is not first,
    )

    said = out.getvalue()
    assert code == 0
    assert (
        "flaky exited unexpectedly (exit code 3); its log ends with:\nfirst run: crashing" in said
    )
    assert "Restarting flaky in 0.01 s (restart 1 of 5 restarts within 5 min)" in said
    assert "flaky is healthy again." in said
    assert waits[0] == 0.01  # the backoff before the restart
    assert stack.running["flaky"].process.poll() is None
    log = stack.running["flaky"].log_tail().splitlines()
    assert log[:2] == ["first run: crashing", "second run: serving"]  # one log, continued


def test_a_process_that_keeps_dying_ends_the_supervision_with_an_error(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_ports(1)[0]
    service = Service(
        "doomed",
        [sys.executable, "-c", "import sys; print('no config', flush=True); sys.exit(2)"],
        f"http://127.0.0.1:{port}/",
        startup_timeout=30,
    )
    stack.start(service).process.wait(30)
    waits: list[float] = []
    out = io.StringIO()

    code = supervise(
        stack,
        RestartPolicy(max_restarts=2, first_backoff_seconds=1, max_backoff_seconds=30),
        interval=0.05,
        out=out,
        wait=waits.append,
    )

    said = out.getvalue()
    assert code == GAVE_UP_EXIT_CODE != 0
    assert said.count("doomed exited unexpectedly (exit code 2)") == 3
    assert "did not come back: doomed exited with 2" in said
    assert "Giving up on doomed: it died again after 2 restarts within 5 min." in said
    assert [w for w in waits if w >= 1] == [1, 2]  # the backoffs, doubling


def test_ctrl_c_ends_the_supervision_cleanly(stack: Stack) -> None:
    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    assert supervise(stack, RestartPolicy(), wait=interrupted) == 0
