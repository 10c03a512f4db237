"""The web chat load benchmark's verdict, table, results file and options (its run needs the
whole system and a thousand clients: `python -m benchmarks.webchat_load`)."""

from __future__ import annotations

import argparse
import os

import pytest

from benchmarks.report import Results, ScenarioResult, markdown_report, to_json, verdict_lines
from benchmarks.run import parse_args
from benchmarks.stats import summarise
from benchmarks.turns import SCENARIOS, Samples
from benchmarks.webchat_load import (
    IdleFigures,
    LoadFigures,
    ProcessSample,
    TransportResult,
    WebchatResult,
    cpu_percent,
    options_from,
    transports_arg,
    webchat_json,
    webchat_lines,
    webchat_table,
)


def transport_result(
    transport: str, samples_ms: list[float], *, sent: int | None = None, confirmed: int = 1000
) -> TransportResult:
    load = LoadFigures(
        sent=len(samples_ms) if sent is None else sent,
        answered=len(samples_ms),
        samples_ms=samples_ms,
        kinds=["hi"] * len(samples_ms),
        sending_seconds=120.0,
        rasa_cpu_percent=40.0,
        rasa_rss_mb=1150.0,
        clients_cpu_percent=3.0,
        disconnects=0,
        disconnect_reasons={},
        skipped_busy=0,
        generator_late_p99_ms=1.0,
        transports_at_end={transport: confirmed},
        other_cpu_share=0.1,
    )
    return TransportResult(
        transport=transport,
        sessions=1000,
        confirmed=confirmed,
        failed=1000 - confirmed,
        first_error=None if confirmed == 1000 else "Error: websocket error",
        open_seconds=15.0,
        transports_open={transport: confirmed},
        idle=IdleFigures(60.0, 4.5, 1130.0, 70.0, 2.5),
        load=load,
    )


def result_of(*transports: TransportResult) -> WebchatResult:
    return WebchatResult(1000, 10.0, 120.0, 60.0, 1100.0, list(transports))


def test_the_target_is_every_message_answered_and_p99_within_a_second() -> None:
    fast = transport_result("websocket", [100.0] * 985 + [900.0] * 15)
    slow_tail = transport_result("polling", [100.0] * 980 + [1500.0] * 20)
    lost = transport_result("polling", [100.0] * 99, sent=100)
    refused = transport_result("websocket", [], confirmed=0)

    assert fast.met and fast.load.p99_ms == pytest.approx(900.0)
    assert not slow_tail.met
    assert not lost.met and not lost.all_answered
    assert not refused.met
    assert result_of(fast, slow_tail).missed == ["1,000 web chats over polling"]


def test_the_table_has_a_column_per_transport_and_the_verdict() -> None:
    result = result_of(
        transport_result("polling", [200.0] * 100 + [3000.0] * 5),
        transport_result("websocket", [100.0] * 105),
    )

    table = webchat_table(result)

    assert table.splitlines()[0] == "| 1,000 web chats, 10 msg/s for 120 s | polling | websocket |"
    assert "| reply time p99 (target ≤ 1,000 ms) | 3,000 ms | 100 ms |" in table
    assert "| Result | MISSED | PASS |" in table
    assert webchat_lines(result)[-1] == "MISSED: 1,000 web chats over polling"


def test_the_results_file_keeps_every_sample() -> None:
    result = result_of(transport_result("websocket", [120.0, 80.0]))

    written = webchat_json(result)["transports"]["websocket"]

    assert written["samples_ms"] == [120.0, 80.0]
    assert written["met"] is True
    assert written["idle"]["requests_per_second"] == 70.0


def test_the_benchmark_joins_the_main_report() -> None:
    turns = [
        ScenarioResult(scenario, Samples([20.0, 25.0]), summarise([20.0, 25.0]))
        for scenario in SCENARIOS
    ]
    webchat = result_of(transport_result("polling", [100.0] * 50, sent=60))
    results = Results(None, turns, 0.02, {}, webchat=webchat)

    assert webchat_table(webchat) in markdown_report(results)
    assert results.missed == ["1,000 web chats over polling"]
    assert verdict_lines(results)[-1] == "MISSED: 1,000 web chats over polling"
    assert to_json(results)["webchat"]["transports"]["polling"]["sent"] == 60
    assert to_json(Results(None, turns, 0.02, {}))["webchat"] is None


def test_the_options_inside_the_main_benchmark() -> None:
    args = parse_args(["--webchat-sessions", "200", "--webchat-transports", "websocket"])

    options = options_from(args, prefix="webchat-")

    assert options == argparse.Namespace(
        sessions=200, rate=10.0, duration=120.0, idle_seconds=60.0, transports=["websocket"]
    )
    assert parse_args(["--skip-webchat"]).skip_webchat is True


@pytest.mark.parametrize("text", ["", "carrier-pigeon", "polling,smoke"])
def test_an_unknown_transport_is_refused_with_the_known_ones(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="polling, websocket, default"):
        transports_arg(text)


def test_the_cpu_share_of_a_process() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    start = ProcessSample(10.0, 1000, 0)
    end = ProcessSample(20.0, 1000 + 5 * ticks, 0)

    assert cpu_percent(start, end) == pytest.approx(50.0)
    assert ProcessSample.of(os.getpid()).rss_bytes > 0
