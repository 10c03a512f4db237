"""The model-load benchmark's order, summary, verdict and report (the loads themselves are
Rasa's and run in `make bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.model_load import (
    QUICK,
    STOCK,
    ModelLoadFailed,
    ModelLoadResult,
    alternating,
    model_load_json,
    model_load_table,
    run_model_loads,
    time_in_a_process,
)
from benchmarks.report import Results, ScenarioResult, markdown_report, to_json
from benchmarks.stats import summarise
from benchmarks.turns import SCENARIOS, Samples

MODEL = Path("models/support-assistant.tar.gz")


def with_turns(model_load: ModelLoadResult | None) -> Results:
    """A benchmark's results: every scenario's turns, and the model loads."""
    turns = [
        ScenarioResult(scenario, Samples([20.0, 25.0]), summarise([20.0, 25.0]))
        for scenario in SCENARIOS
    ]
    return Results(None, turns, 0.02, {}, model_load=model_load)


def test_the_kinds_alternate_a_b_b_a() -> None:
    assert alternating(3) == [STOCK, QUICK, QUICK, STOCK, STOCK, QUICK]
    assert alternating(0) == []


def test_each_kind_gets_its_own_timings_in_the_order_they_ran() -> None:
    ran: list[str] = []
    seconds = iter([30.0, 6.0, 5.0, 34.0, 32.0, 7.0])

    def time_one(kind: str, model: Path) -> float:
        assert model == MODEL
        ran.append(kind)
        return next(seconds)

    result = run_model_loads(MODEL, 3, time_one)

    assert ran == alternating(3)
    assert result.stock_seconds == [30.0, 34.0, 32.0]
    assert result.quick_seconds == [6.0, 5.0, 7.0]
    assert (result.stock.p50, result.quick.p50) == (32.0, 6.0)
    assert result.ratio == pytest.approx(6.0 / 32.0)
    assert result.met


def test_a_quick_load_over_half_of_rasas_misses_the_target() -> None:
    slow = ModelLoadResult(stock_seconds=[10.0, 10.0], quick_seconds=[6.0, 6.0])
    results = with_turns(slow)

    assert not slow.met
    assert "model load" in results.missed
    assert model_load_json(slow)["met"] is False


def test_the_report_has_both_kinds_and_the_ratio() -> None:
    result = ModelLoadResult(stock_seconds=[30.0, 34.0, 32.0], quick_seconds=[6.0, 5.0, 7.0])

    table = model_load_table(result)

    assert "| Model load (`Agent.load`), Rasa's own `RasaModel.load` |  | 32.0 s |" in table
    assert "| Model load (`Agent.load`), quick (`python -m assistant`) |  | 6.0 s |" in table
    assert "0.19x" in table
    report = markdown_report(with_turns(result))
    assert table in report


def test_the_results_file_has_every_sample() -> None:
    result = ModelLoadResult(stock_seconds=[30.0, 34.0], quick_seconds=[6.0, 5.0])

    written = to_json(with_turns(result))["model_load"]

    assert written["stock_s"] == [30.0, 34.0] and written["quick_s"] == [6.0, 5.0]
    assert written["quick_to_stock_p50_ratio"] == pytest.approx(5.5 / 32.0, abs=1e-3)
    assert to_json(with_turns(None))["model_load"] is None


def test_a_load_process_that_fails_is_reported_with_its_output() -> None:
    with pytest.raises(ModelLoadFailed, match="the neither load exited with 2") as failure:
        time_in_a_process("neither", MODEL)
    assert "invalid choice: 'neither'" in str(failure.value)
