"""The command line's desk options."""

from __future__ import annotations

import pytest

from benchmarks.run import parse_args


def test_the_desk_runs_by_default_with_40_rounds_after_3_warm_ups() -> None:
    args = parse_args([])
    assert (args.skip_desk, args.desk_rounds, args.desk_warmup) == (False, 40, 3)


def test_the_desk_options() -> None:
    args = parse_args(["--desk-rounds", "5", "--desk-warmup", "0", "--skip-desk"])
    assert (args.skip_desk, args.desk_rounds, args.desk_warmup) == (True, 5, 0)


@pytest.mark.parametrize("argv", [["--desk-rounds", "0"], ["--desk-warmup", "-1"]])
def test_impossible_desk_counts_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
