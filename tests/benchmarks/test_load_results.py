"""The load benchmark's maths, targets and report, on recorded requests (no server)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from benchmarks.load_generator import ERROR, OK, UNEXPECTED, JobResult, Request
from benchmarks.load_results import (
    LEVELS,
    PROJECT,
    STOCK,
    LevelComparison,
    LevelStats,
    LoadResult,
    LoadRun,
    MemoryReading,
    SingleUser,
    SoakResult,
    level_schedule,
    load_json,
    load_lines,
    load_table,
    single_user_probes,
)
from benchmarks.report import (
    Results,
    ScenarioResult,
    markdown_report,
    markdown_table,
    to_json,
    verdict_lines,
)
from benchmarks.stats import summarise
from benchmarks.turns import SCENARIOS, Samples

KIB_PER_MIB = 1024


def request(started: float, milliseconds: float, outcome: str = OK, key: str = "k") -> Request:
    return Request(key, started, started + milliseconds / 1000, outcome)


def job(requests: Sequence[Request], cpu: float = 0.1, wall: float = 1.0) -> JobResult:
    return JobResult(list(requests), cpu_seconds=cpu, wall_seconds=wall)


def level(users: int, latencies_ms: Sequence[float], seconds: float = 10.0) -> LevelStats:
    """A level whose messages were all sent in the first half of its window (after 1 s of
    warm-up) and answered within it (latencies under half the window)."""
    step = seconds / 2 / len(latencies_ms)
    requests = [request(1.0 + i * step, ms) for i, ms in enumerate(latencies_ms)]
    return LevelStats.of([LoadRun(users, 1.0, seconds, job(requests))])


def single(
    stock_ms: Sequence[float], project_ms: Sequence[float], order_ms: Sequence[float]
) -> SingleUser:
    requests = []
    for index, ms in enumerate(stock_ms):
        key = "stock:stock_hi" if index % 2 == 0 else "stock:stock_bye"
        requests.append(request(index, ms, key=key))
    for index, ms in enumerate(project_ms):
        key = "project:bot_only" if index % 2 == 0 else "project:bye"
        requests.append(request(index, ms, key=key))
    requests += [request(i, ms, key="project:order_lookup") for i, ms in enumerate(order_ms)]
    return SingleUser(job(requests))


def soak(samples_mib: Sequence[tuple[float, float]]) -> SoakResult:
    return SoakResult(
        2.0,
        tuple((seconds, int(value * KIB_PER_MIB)) for seconds, value in samples_mib),
        level(10, [40.0, 50.0, 60.0]),
    )


def load_result(**changes: object) -> LoadResult:
    values: dict[str, object] = {
        "load_seconds": 30.0,
        "single": single([20.0, 20.0, 30.0, 30.0], [30.0, 30.0, 40.0, 40.0], [50.0, 70.0]),
        "levels": (
            LevelComparison(10, level(10, [100.0] * 50), level(10, [100.0] * 60)),
            LevelComparison(50, level(50, [500.0] * 50), level(50, [400.0] * 44 + [4900.0])),
        ),
        "after_warmup": MemoryReading(1000 * KIB_PER_MIB, 1050 * KIB_PER_MIB),
        "after_load": MemoryReading(1100 * KIB_PER_MIB, 1250 * KIB_PER_MIB),
        "soak": soak([(0, 1000.0), (60, 1000.0), (120, 1000.0)]),
        "other_cpu_share": 0.02,
        "soak_other_cpu_share": 0.01,
    }
    values.update(changes)
    return LoadResult(**values)  # type: ignore[arg-type]


# --- windows and levels ---------------------------------------------------------------------


def test_only_messages_sent_in_the_window_count_and_only_answers_in_it_make_throughput() -> None:
    run = LoadRun(
        users=2,
        warmup_seconds=1.0,
        seconds=2.0,
        result=job(
            [
                request(0.5, 100),  # sent during the warm-up: not measured
                request(1.0, 200),  # in the window
                request(1.5, 300, UNEXPECTED),  # answered, but not as expected
                request(2.0, 100, ERROR),  # no answer
                request(2.9, 500),  # sent in the window, answered after it (3.4 s)
                request(3.0, 50),  # sent when the window had closed
            ]
        ),
    )
    assert [r.started for r in run.measured()] == [1.0, 1.5, 2.0, 2.9]
    # Answers received in [1, 3): at 1.2 and 1.8 (unexpected, but an answer). Not the warm-up's
    # (0.6), not the error, not the answers at 3.05 and 3.4.
    assert run.answered_in_window() == 2


def test_a_level_combines_its_halves() -> None:
    first = LoadRun(10, 0.0, 5.0, job([request(0.1 * i, i + 1.0) for i in range(50)], 0.2, 5.0))
    second = LoadRun(
        10,
        0.0,
        5.0,
        job(
            [request(0.1 * i, i + 51.0) for i in range(48)]
            + [request(4.8, 9.0, ERROR), request(4.9, 99.0, UNEXPECTED)],
            0.6,
            5.0,
        ),
    )
    stats = LevelStats.of([first, second])
    assert stats.users == 10
    assert stats.seconds == 10.0
    assert stats.answered == 99  # every request but the error, all answered within 5 s
    assert stats.throughput == pytest.approx(9.9)
    assert (stats.errors, stats.unexpected) == (1, 1)
    assert stats.latency.count == 99
    assert sorted(stats.samples_ms) == pytest.approx([float(v) for v in range(1, 100)])
    # Linear interpolation between closest ranks over 1..99 ms.
    assert stats.latency.p50 == pytest.approx(50.0)
    assert stats.latency.p95 == pytest.approx(94.1)
    assert stats.latency.p99 == pytest.approx(98.02)
    assert stats.latency.max == pytest.approx(99.0)
    assert stats.latency.tail_ratio == pytest.approx(98.02 / 50.0)
    assert stats.generator_cpu_share == pytest.approx(0.12)  # the busier half


def test_runs_of_different_user_counts_do_not_combine() -> None:
    run = LoadRun(10, 0.0, 1.0, job([request(0.1, 10)]))
    other = LoadRun(50, 0.0, 1.0, job([request(0.1, 10)]))
    with pytest.raises(ValueError, match="same number of users"):
        LevelStats.of([run, other])
    with pytest.raises(ValueError, match="no messages were answered"):
        LevelStats.of([LoadRun(10, 0.0, 1.0, job([request(0.1, 10, ERROR)]))])


def test_the_levels_run_a_b_b_a_alternating_who_goes_first() -> None:
    assert level_schedule(LEVELS) == [
        (10, STOCK),
        (10, PROJECT),
        (10, PROJECT),
        (10, STOCK),
        (50, PROJECT),
        (50, STOCK),
        (50, STOCK),
        (50, PROJECT),
    ]
    schedule = level_schedule([1, 2, 3])
    for users in (1, 2, 3):
        halves = [target for u, target in schedule if u == users]
        assert sorted(halves) == [PROJECT, PROJECT, STOCK, STOCK]
        assert halves[0] == halves[3] != halves[1] == halves[2]


def test_throughput_is_compared_at_every_level_and_the_tail_at_50_users() -> None:
    fast = level(10, [100.0] * 60)
    slow = level(10, [100.0] * 50)
    assert LevelComparison(10, slow, fast).throughput_ratio == pytest.approx(1.2)
    assert LevelComparison(10, slow, fast).throughput_met is True
    assert LevelComparison(10, fast, slow).throughput_met is False
    assert LevelComparison(10, slow, slow).throughput_met is True  # equal is enough
    assert LevelComparison(10, slow, fast).tail_met is None

    even = level(50, [100.0] * 99 + [300.0])
    starved = level(50, [100.0] * 97 + [400.0, 400.0, 400.0])
    assert LevelComparison(50, starved, even).tail_met is True  # only the project's tail counts
    assert LevelComparison(50, even, starved).tail_met is False


# --- one user, memory, soak ----------------------------------------------------------------------


def test_one_user_pools_hi_and_bye_and_compares_with_stock_s_bot_only_turn() -> None:
    result = single([20.0, 22.0, 24.0, 26.0], [30.0, 33.0, 36.0, 39.0], [40.0, 44.0])
    assert result.bot_only(STOCK).p50 == pytest.approx(23.0)
    assert result.bot_only(STOCK).count == 4
    assert result.bot_only(PROJECT).p50 == pytest.approx(34.5)
    assert result.bot_only_ratio == pytest.approx(1.5)
    assert result.bot_only_met is False
    assert result.order_lookup.p50 == pytest.approx(42.0)
    assert result.order_lookup_ratio == pytest.approx(42.0 / 23.0)
    assert result.order_lookup_met is False

    quick = single([20.0, 20.0], [20.0, 20.0], [30.0])
    assert quick.bot_only_met is True  # 1.0x is within the target
    assert quick.order_lookup_met is True  # 1.5x too


def test_failed_turns_are_left_out_of_the_times_and_counted() -> None:
    requests = [
        request(0, 20.0, key="stock:stock_hi"),
        request(1, 9000.0, ERROR, key="stock:stock_bye"),
        request(2, 30.0, UNEXPECTED, key="project:bye"),
        request(3, 30.0, key="project:bot_only"),
    ]
    result = SingleUser(job(requests))
    assert result.bot_only(STOCK).count == 1
    assert result.bot_only(PROJECT).count == 2
    assert result.outcomes(ERROR) == {"stock:stock_bye": 1}
    assert result.outcomes(UNEXPECTED) == {"project:bye": 1}


def test_the_probes_name_each_bot_and_message() -> None:
    urls = {STOCK: "http://127.0.0.1:1", PROJECT: "http://127.0.0.1:2"}
    probes = single_user_probes(urls)
    assert [probe.key for probe in probes] == [
        "stock:stock_hi",
        "stock:stock_bye",
        "project:bot_only",
        "project:bye",
        "project:order_lookup",
    ]
    assert {p.base_url for p in probes if p.key.startswith("stock:")} == {urls[STOCK]}
    assert [p.message.text for p in probes] == [
        "hi",
        "bye",
        "hi",
        "bye",
        "where is my order ORD-100002?",
    ]
    assert probes[0].message.expected_text == "Hey! How are you?"


def test_memory_is_within_target_up_to_ten_percent_more_than_stock() -> None:
    assert MemoryReading(1000, 1100).met is True
    assert MemoryReading(1000, 1101).met is False
    assert MemoryReading(1000, 900).ratio == pytest.approx(0.9)


def test_the_soak_slope_is_fitted_by_least_squares() -> None:
    growing = soak([(0, 1000.0), (60, 1001.0), (120, 1002.0), (180, 1003.0)])
    assert growing.slope_mib_per_minute == pytest.approx(1.0)
    assert (growing.start_mib, growing.end_mib) == (1000.0, 1003.0)
    assert growing.fitted_growth_share == pytest.approx(0.003)
    assert growing.met is True

    # A spike in the middle does not make a flat series grow.
    flat = soak([(0, 1000.0), (60, 1030.0), (120, 1000.0)])
    assert flat.slope_mib_per_minute == pytest.approx(0.0)
    assert flat.met is True

    leaking = soak([(0, 1000.0), (600, 1006.0), (1200, 1012.0)])  # 1.2% over 20 minutes
    assert leaking.slope_mib_per_minute == pytest.approx(0.6)
    assert leaking.met is False


# --- the whole result and its report -------------------------------------------------------------


def test_the_verdicts_name_every_target() -> None:
    result = load_result()
    assert result.verdicts() == [
        ("bot-only p50 vs stock (1 user)", False),  # 35 / 25 ms
        ("order-lookup p50 vs stock's bot-only p50", False),  # 60 / 25 ms
        ("throughput vs stock at 10 users", True),  # 6.0 / 5.0 msg/s
        ("throughput vs stock at 50 users", False),  # 4.5 / 5.0 msg/s
        ("p99 / p50 at 50 users", False),  # one message in 45 waited 4.9 s
        ("Rasa RSS vs stock after warm-up", True),  # 1.05x
        ("Rasa RSS vs stock after the load", False),  # 1.14x
        ("no RSS growth in the soak", True),
    ]
    assert result.missed == [title for title, met in result.verdicts() if met is False]
    assert "no RSS growth in the soak" not in [t for t, _ in load_result(soak=None).verdicts()]


def test_the_table_sets_both_bots_side_by_side() -> None:
    table = load_table(load_result())
    lines = table.splitlines()
    assert lines[0] == (
        "| Load (REST, new sender per message) | Target | stock Rasa | this project "
        "| project / stock | Result |"
    )
    assert lines[1] == "| --- | --- | --- | --- | --- | --- |"
    assert (
        "| bot-only turn, 1 user, p50 (n = 4 / 4) | ≤ 1.0x stock | 25.0 ms | 35.0 ms | 1.40x "
        "| MISSED |"
    ) in lines
    assert any(
        line.startswith("| order-lookup turn, 1 user, p50 (n = 2)") and "| 2.40x | MISSED |" in line
        for line in lines
    )
    assert (
        "| 10 users: throughput (replies / 10 s counted) | ≥ 1.0x stock | 5.0 msg/s | 6.0 msg/s "
        "| 1.20x | PASS |"
    ) in lines
    assert "| 10 users: p50 / p95 / p99 | — | 100 / 100 / 100 ms | 100 / 100 / 100 ms |" in table
    assert "| 50 users: p99 / p50 | ≤ 3 (project) |" in table
    assert (
        "| Rasa RSS after warm-up | ≤ 1.10x stock | 1000 MiB | 1050 MiB | 1.05x | PASS |" in lines
    )
    assert any(line.startswith("| soak: 2 min at 10 users") for line in lines)
    assert not any("soak" in line for line in load_table(load_result(soak=None)).splitlines())


def test_the_console_lines_warn_about_noise_failures_and_a_busy_generator() -> None:
    quiet = load_lines(load_result())
    assert quiet[0] == "Other processes used 2% of the CPUs during the load."
    assert not any(line.startswith("WARNING") for line in quiet)

    errors = single([20.0, 20.0], [30.0, 30.0], [40.0])
    failing = SingleUser(
        JobResult(
            [*errors.result.requests, request(9, 100, ERROR, key="project:order_lookup")],
            cpu_seconds=0.9,
            wall_seconds=1.0,
        )
    )
    lines = load_lines(load_result(single=failing, other_cpu_share=0.3))
    assert lines[0].startswith("WARNING: Other processes used 30% of the CPUs during the load.")
    assert any(line.startswith("WARNING: The load generator used at most 90%") for line in lines)
    assert "WARNING: 1 user: turns that got no answer: {'project:order_lookup': 1}" in lines


def test_the_results_file_has_every_sample_and_verdict() -> None:
    result = load_result()
    written = load_json(result)
    assert written["single_user"]["bot_only_p50_ratio"] == 1.4
    assert written["single_user"]["samples_ms"]["project:order_lookup"] == [50.0, 70.0]
    assert written["levels"]["50"]["project"]["latency_ms"]["count"] == 45
    assert written["levels"]["10"]["throughput_met"] is True
    assert written["rss_kib"]["after_load"] == {"stock": 1100 * 1024, "project": 1250 * 1024}
    assert written["soak"]["slope_mib_per_minute"] == 0.0
    assert written["missed"] == result.missed
    assert load_json(load_result(soak=None))["soak"] is None


def test_the_benchmark_report_puts_the_load_below_the_turns_and_in_the_verdict() -> None:
    turns = [
        ScenarioResult(scenario, Samples([20.0, 25.0]), summarise([20.0, 25.0]))
        for scenario in SCENARIOS
    ]
    without = Results(None, turns, 0.01, {"git": "abc"})
    with_load = Results(None, turns, 0.01, {"git": "abc"}, load=load_result())
    assert markdown_report(with_load) == (
        markdown_table(without) + "\n\n" + load_table(load_result())
    )
    assert with_load.missed == [f"load: {title}" for title in load_result().missed]
    assert to_json(without)["load"] is None
    assert to_json(with_load)["load"] == load_json(load_result())
    lines = verdict_lines(with_load)
    assert "Other processes used 2% of the CPUs during the load." in lines
    assert lines[-1].startswith("MISSED: load: bot-only p50 vs stock (1 user)")
