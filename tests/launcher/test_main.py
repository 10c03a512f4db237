"""`make run`'s launcher: the system is stopped whatever happens once it was started."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from launcher.__main__ import _serve
from launcher.stack import Stack
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
