"""The planning views' benchmark on a small synthetic history: every journey's map and blueprint
timed with the report beside them, and the table and results file say so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from analytics.settings import AnalyticsSettings
from analytics.stages import stage_catalog
from benchmarks.planning_bench import (
    PlanningResult,
    build_history,
    planning_json,
    planning_lines,
    planning_table,
    run_planning,
)
from benchmarks.run import parse_args
from benchmarks.synthetic_history import HistorySize

SIZE = HistorySize(days=3, conversations=300, handoffs=80)
END = date(2026, 11, 30)
ROUNDS = 2


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> PlanningResult:
    workdir: Path = tmp_path_factory.mktemp("planning")
    history, facts_url = build_history(workdir, SIZE, seed=5)
    settings = AnalyticsSettings.from_env({"ANALYTICS_DATABASE_URL": facts_url})
    return run_planning(facts_url, settings, history.first_day, history.last_day, ROUNDS)


def test_every_journey_is_timed_with_units_in_it(result: PlanningResult) -> None:
    assert [j.journey for j in result.journeys] == list(stage_catalog().journeys)
    for journey in result.journeys:
        assert journey.units > 0, journey.journey
        assert len(journey.journey_map.wall_ms) == len(journey.blueprint.wall_ms) == ROUNDS
        pairs = zip(journey.journey_map.wall_ms, journey.blueprint.wall_ms, strict=True)
        assert journey.together.wall_ms == [a + b for a, b in pairs]
    assert len(result.report.wall_ms) == ROUNDS
    assert result.stage_facts > 0


def test_the_table_and_the_results_file(result: PlanningResult) -> None:
    table = planning_table(result, SIZE)
    for journey in result.journeys:
        assert f"{journey.journey}: map + blueprint" in table
    assert "Dashboard report, same period and facts" in table
    assert "Map + blueprint / report (medians)" in table
    lines = planning_lines(result)
    assert lines[-1] in ("Planning views: all targets met.", "MISSED: " + "; ".join(result.missed))
    written = planning_json(result)
    assert set(written["journeys"]) == {j.journey for j in result.journeys}
    assert all(len(j["map"]["samples_ms"]) == ROUNDS for j in written["journeys"].values())
    assert written["target_p95_ms"] == 2000.0


def test_the_planning_options() -> None:
    args = parse_args(["--planning-rounds", "5"])
    assert (args.planning_rounds, args.skip_planning) == (5, False)
    assert parse_args(["--skip-planning"]).skip_planning is True
    with pytest.raises(SystemExit):
        parse_args(["--planning-rounds", "0"])
