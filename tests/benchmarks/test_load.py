"""The load benchmark's command-line options, alone and in `benchmarks.run`."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import load, run
from benchmarks.load_results import DEFAULT_LOAD_SECONDS, DEFAULT_SOAK_MINUTES
from launcher.stack import Service


def test_the_defaults_are_a_minute_per_part_and_a_20_minute_soak() -> None:
    args = load.parse_args([])
    assert (args.load_seconds, args.soak_minutes) == (60.0, 20.0)
    assert (DEFAULT_LOAD_SECONDS, DEFAULT_SOAK_MINUTES) == (60.0, 20.0)
    assert load.load_settings(args) == load.LoadSettings(60.0, 20.0)
    assert args.model == load.DEFAULT_MODEL
    assert args.json.name == "load.json"


def test_the_load_options() -> None:
    args = load.parse_args(["--load-seconds", "30", "--soak-minutes", "0"])
    assert load.load_settings(args) == load.LoadSettings(30.0, 0.0)
    assert load.parse_args(["--soak-minutes", "2.5"]).soak_minutes == 2.5


@pytest.mark.parametrize(
    "argv",
    [["--load-seconds", "1"], ["--load-seconds", "nan"], ["--soak-minutes", "-1"]],
)
def test_impossible_durations_are_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        load.parse_args(argv)
    assert "--" in capsys.readouterr().err


def test_the_whole_benchmark_runs_the_load_unless_skipped() -> None:
    args = run.parse_args([])
    assert (args.skip_load, args.load_seconds, args.soak_minutes) == (False, 60.0, 20.0)
    args = run.parse_args(["--skip-load", "--load-seconds", "20", "--soak-minutes", "0"])
    assert (args.skip_load, args.load_seconds, args.soak_minutes) == (True, 20.0, 0.0)


def test_a_missing_model_is_a_clear_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"{tmp_path}/none.tar.gz"
    assert load.main(["--model", missing, "--soak-minutes", "0"]) == 1
    assert f"No model at {missing}" in capsys.readouterr().err


def test_servers_get_ten_minutes_to_load_their_models_never_less_than_before() -> None:
    quick = Service("rasa", ["rasa"], "http://127.0.0.1:1/", startup_timeout=180.0)
    assert load.patient(quick).startup_timeout == load.START_TIMEOUT_SECONDS == 600.0
    assert load.patient(quick).argv == quick.argv
    slow = Service("rasa", ["rasa"], "http://127.0.0.1:1/", startup_timeout=900.0)
    assert load.patient(slow).startup_timeout == 900.0
