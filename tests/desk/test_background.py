"""`desk.background`: the repeated work keeps going after a failing run."""

from __future__ import annotations

import asyncio

import pytest

from desk.background import Periodic


async def test_a_failing_run_is_logged_and_the_next_run_still_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0
    third = asyncio.Event()

    async def work() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            third.set()
        if runs == 1:
            raise RuntimeError("database hiccup")

    periodic = Periodic(work, 0.01, "test work")
    periodic.start()
    periodic.start()  # a second start does not start a second task
    await asyncio.wait_for(third.wait(), timeout=5)
    await periodic.stop()
    stopped_at = runs

    assert "test work failed" in caplog.text and "database hiccup" in caplog.text
    assert len([t for t in asyncio.all_tasks() if t.get_name() == "test work"]) == 0
    assert stopped_at >= 3
