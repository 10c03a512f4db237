"""`make run`'s launcher: the system is stopped whatever happens once it was started."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from launcher.__main__ import _serve
from launcher.stack import PROJECT_ROOT, Stack
from tests.launcher.test_stack import python, web_server


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def test_serve_runs_what_follows_once_all_are_up_then_stops_them(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "logs")
    web = web_server(tmp_path)
    seen: list[bool] = []

    def started() -> int:
        seen.append(_answers(web.health_url))
        return 7

    assert _serve(stack, [web], "the test system", started) == 7
    assert seen == [True]
    assert stack.running == {}
    assert not _answers(web.health_url)


def test_serve_reports_a_process_that_did_not_start_and_stops_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = Stack(tmp_path / "logs")
    web = web_server(tmp_path)
    broken = python("broken", "import sys; print('no config'); sys.exit(3)")

    assert _serve(stack, [web, broken], "the test system", lambda: pytest.fail("not all up")) == 1
    assert "Could not start the test system: broken exited with 3" in capsys.readouterr().err
    assert stack.running == {}
    assert not _answers(web.health_url)


def test_sigterm_stops_a_supervised_system_cleanly_with_0(tmp_path: Path) -> None:
    web = web_server(tmp_path)
    code = f"""
import sys
from functools import partial
from pathlib import Path
from launcher.__main__ import _serve, _until_stopped
from launcher.stack import Service, Stack
from launcher.supervision import RestartPolicy
stack = Stack(Path({str(tmp_path / "logs")!r}))
web = Service("web", {web.argv!r}, {web.health_url!r}, startup_timeout=30)
supervised = partial(_until_stopped, stack, "RUNNING", RestartPolicy())
sys.exit(_serve(stack, [web], "the test system", supervised))
"""
    launcher = subprocess.Popen(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=subprocess.PIPE
    )
    assert launcher.stdout is not None
    printed = b""
    try:
        deadline = time.monotonic() + 60
        while b"RUNNING" not in printed:
            assert time.monotonic() < deadline, f"no banner; printed: {printed!r}"
            if select.select([launcher.stdout], [], [], 1)[0]:
                printed += os.read(launcher.stdout.fileno(), 4096)
        assert _answers(web.health_url)

        launcher.send_signal(signal.SIGTERM)

        assert launcher.wait(30) == 0
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert b"Stopping..." in printed + launcher.stdout.read()
    assert not _answers(web.health_url)
