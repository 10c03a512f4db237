"""The desk's part of the Markdown report and of the results file."""

from __future__ import annotations

from typing import Any

from benchmarks.desk_latency import DESK_MEASURES, DeskSamples, RoundTimes
from benchmarks.report import (
    DeskResult,
    Results,
    ScenarioResult,
    desk_json,
    desk_table,
    markdown_report,
    markdown_table,
    to_json,
    verdict_lines,
)
from benchmarks.stats import summarise
from benchmarks.turns import SCENARIOS, Samples

#: Per measure key, the milliseconds of each round.
FAST: dict[str, list[float]] = {
    "handoff_to_console": [100.0, 110.0, 120.0, 130.0, 240.0],
    "handoff_to_queue_changed": [80.0, 90.0, 95.0, 100.0, 200.0],
    "agent_to_customer": [40.0, 45.0, 50.0, 55.0, 90.0],
    "hand_back_to_bot": [60.0, 70.0, 80.0, 90.0, 290.0],
}


def desk_result(
    milliseconds: dict[str, list[float]], *, stale: int = 0, wait_choices: int = 0
) -> DeskResult:
    samples = DeskSamples()
    rounds = len(next(iter(milliseconds.values())))
    for number in range(rounds):
        samples.add(RoundTimes({key: values[number] for key, values in milliseconds.items()}))
    samples.stale_queue_fetches = stale
    samples.wait_choices = wait_choices
    return DeskResult.of(samples, warmup_rounds=3, other_cpu_share=0.01)


def results(desk: DeskResult | None) -> Results:
    turns = [
        ScenarioResult(scenario, Samples([20.0, 25.0]), summarise([20.0, 25.0]))
        for scenario in SCENARIOS
    ]
    return Results(None, turns, 0.02, {"git": "abc"}, desk)


def test_every_measure_is_summarised_in_order() -> None:
    desk = desk_result(FAST)
    assert [result.measure for result in desk.measures] == list(DESK_MEASURES)
    assert desk.rounds == 5
    console = desk.measures[0]
    assert (console.summary.p50, console.summary.max) == (120.0, 240.0)
    assert console.samples_ms == FAST["handoff_to_console"]


def test_targets_are_on_the_95th_percentile() -> None:
    desk = desk_result(FAST)
    by_key = {result.measure.key: result for result in desk.measures}
    assert by_key["handoff_to_console"].target_ms == 250.0
    assert by_key["agent_to_customer"].target_ms == 100.0
    assert by_key["hand_back_to_bot"].target_ms == 300.0
    assert by_key["handoff_to_queue_changed"].target_ms is None
    assert by_key["handoff_to_queue_changed"].met is None
    assert all(result.met is not False for result in desk.measures)
    assert desk.missed == []

    # p50 well inside, but the tail beyond the target: missed.
    slow_tail = {key: values * 4 for key, values in FAST.items()}
    slow_tail["agent_to_customer"] = [40.0] * 18 + [150.0, 160.0]
    missed = desk_result(slow_tail)
    assert [r.measure.key for r in missed.measures if r.met is False] == ["agent_to_customer"]
    assert missed.missed == [DESK_MEASURES[2].title]


def test_the_desk_table_shows_target_percentiles_and_verdict() -> None:
    table = desk_table(desk_result({**FAST, "agent_to_customer": [90.0, 95.0, 99.0, 120.0, 200.0]}))
    lines = table.splitlines()
    assert lines[0] == "| Desk (live handoff) | Target | p50 / median | p95 | max | n | Result |"
    assert lines[1] == "| --- | --- | --- | --- | --- | --- | --- |"
    assert len(lines) == 2 + len(DESK_MEASURES)
    console, queue_changed, message, hand_back = lines[2:]
    assert "| p95 ≤ 250 ms | 120.0 ms | 218.0 ms | 240.0 ms | 5 | PASS |" in console
    assert queue_changed.endswith("| — | 95.0 ms | 180.0 ms | 200.0 ms | 5 | info |")
    assert message.endswith("| p95 ≤ 100 ms | 99.0 ms | 184.0 ms | 200.0 ms | 5 | MISSED |")
    assert "| p95 ≤ 300 ms |" in hand_back


def test_the_report_adds_the_desk_table_below_the_turns() -> None:
    without = results(None)
    assert markdown_report(without) == markdown_table(without)
    desk = desk_result(FAST)
    report = markdown_report(results(desk))
    assert report == markdown_table(results(desk)) + "\n\n" + desk_table(desk)


def test_a_missed_desk_target_is_in_the_verdict() -> None:
    slow = desk_result({**FAST, "hand_back_to_bot": [400.0] * 5})
    lines = verdict_lines(results(slow))
    assert "Other processes used 1% of the CPUs during the desk rounds." in lines
    assert lines[-1] == f"MISSED: {DESK_MEASURES[3].title}"
    assert verdict_lines(results(desk_result(FAST)))[-1] == "All targets met."


def test_desk_anomalies_are_warned_about() -> None:
    lines = verdict_lines(results(desk_result(FAST, stale=2, wait_choices=1)))
    assert any("2 GET /api/queues answers" in line for line in lines)
    assert any("wait choice 1 times" in line for line in lines)
    assert not any("WARNING: desk" in line for line in verdict_lines(results(desk_result(FAST))))


def test_the_results_file_has_the_desk_with_every_sample() -> None:
    desk = desk_result(FAST, stale=1)
    written: dict[str, Any] = to_json(results(desk))
    assert written["desk"] == desk_json(desk)
    assert written["desk"]["rounds"] == 5
    assert written["desk"]["warmup_rounds"] == 3
    assert written["desk"]["stale_queue_fetches"] == 1
    assert written["desk"]["other_processes_cpu_share"] == 0.01
    agent = written["desk"]["measures"]["agent_to_customer"]
    assert agent["target_p95_ms"] == 100.0
    assert agent["met"] is True
    assert agent["samples_ms"] == FAST["agent_to_customer"]
    assert agent["summary_ms"]["p50"] == 50.0
    assert list(written["desk"]["measures"]) == [measure.key for measure in DESK_MEASURES]
    assert to_json(results(None))["desk"] is None
