"""The mortgage journey's part of the Markdown report and of the results file."""

from __future__ import annotations

import json

from benchmarks.mortgage_latency import MORTGAGE_MEASURES, MortgageSamples
from benchmarks.report import (
    MortgageResult,
    Results,
    ScenarioResult,
    markdown_report,
    mortgage_table,
    to_json,
    verdict_lines,
)
from benchmarks.stats import summarise
from benchmarks.turns import SCENARIOS, Samples

ROUNDS = {
    "upload_to_screen_pop": [120.0, 130.0, 140.0, 150.0, 480.0],
    "upload_stored": [90.0, 95.0, 100.0, 105.0, 300.0],
    "returning_first_reply": [60.0, 70.0, 80.0, 90.0, 250.0],
    "bot_only_same_run": [20.0, 20.0, 20.0, 20.0, 30.0],
}


def mortgage_result(milliseconds: dict[str, list[float]], stale: int = 0) -> MortgageResult:
    samples = MortgageSamples()
    for number in range(len(milliseconds["upload_stored"])):
        samples.add({key: values[number] for key, values in milliseconds.items()}, 0)
    samples.stale_case_fetches = stale
    return MortgageResult.of(samples, warmup_rounds=2, other_cpu_share=0.01)


def results(mortgage: MortgageResult) -> Results:
    turns = [
        ScenarioResult(scenario, Samples([20.0, 25.0]), summarise([20.0, 25.0]))
        for scenario in SCENARIOS
    ]
    return Results(None, turns, 0.02, {"git": "abc"}, None, mortgage)


def test_the_issue_sets_p95_targets_for_the_upload_and_the_returning_customer() -> None:
    mortgage = mortgage_result(ROUNDS)

    assert [result.measure for result in mortgage.measures] == list(MORTGAGE_MEASURES)
    targets = {result.measure.key: result.target_ms for result in mortgage.measures}
    assert targets == {
        "upload_to_screen_pop": 500.0,
        "upload_stored": None,
        "returning_first_reply": 300.0,
        "bot_only_same_run": None,
    }
    assert mortgage.missed == []
    assert mortgage.returning_to_bot_only_ratio == 4.0


def test_a_slow_tail_misses_the_target_and_is_reported() -> None:
    slow = {**ROUNDS, "returning_first_reply": [60.0] * 18 + [400.0, 410.0]}
    slow = {key: (values * 4)[:20] if len(values) == 5 else values for key, values in slow.items()}

    mortgage = mortgage_result(slow, stale=3)
    report = results(mortgage)

    assert report.missed == [MORTGAGE_MEASURES[2].title]
    lines = verdict_lines(report)
    assert any("3 GET /api/cases" in line for line in lines)
    assert lines[-1].startswith("MISSED: Returning customer's one-time code")


def test_the_table_and_the_results_file() -> None:
    mortgage = mortgage_result(ROUNDS)

    table = mortgage_table(mortgage)
    file = json.loads(json.dumps(to_json(results(mortgage))))

    assert "| Mortgage journey | Target |" in table
    assert "p95 ≤ 500 ms" in table and "p95 ≤ 300 ms" in table
    assert "| 4.00x |" in table
    assert table in markdown_report(results(mortgage))
    measures = file["mortgage"]["measures"]
    assert measures["upload_to_screen_pop"]["samples_ms"] == ROUNDS["upload_to_screen_pop"]
    assert file["mortgage"]["returning_to_bot_only_p50_ratio"] == 4.0
    assert file["mortgage"]["warmup_rounds"] == 2
