"""A benchmark run's scratch directory goes away after a run, and stays after a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.workdir import scratch_workdir


def test_it_is_removed_after_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    with scratch_workdir("workdir-test-") as workdir:
        (workdir / "rasa.log").write_text("started\n")
        assert workdir.name.startswith("workdir-test-")
    assert not workdir.exists()
    assert capsys.readouterr().out == ""


def test_it_is_kept_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    with scratch_workdir("workdir-test-", keep=True) as workdir:
        (workdir / "rasa.log").write_text("started\n")
    try:
        assert (workdir / "rasa.log").read_text() == "started\n"
        assert str(workdir) in capsys.readouterr().out
    finally:
        (workdir / "rasa.log").unlink()
        workdir.rmdir()


def test_a_failed_run_keeps_it_and_says_where(capsys: pytest.CaptureFixture[str]) -> None:
    kept: Path | None = None
    with (
        pytest.raises(RuntimeError, match="Rasa did not start"),
        scratch_workdir("workdir-test-") as workdir,
    ):
        kept = workdir
        (workdir / "rasa.log").write_text("Traceback ...\n")
        raise RuntimeError("Rasa did not start")
    assert kept is not None and (kept / "rasa.log").exists()
    assert f"(logs and databases): {kept}" in capsys.readouterr().out
    (kept / "rasa.log").unlink()
    kept.rmdir()
