"""The synthetic history and the analytics benchmark, at a small size.

The generator's tracker store and desk database are read by the real `Builder` into a real
facts database (SQLite files in a temporary directory): every conversation and handoff made is
found, nothing is unreadable, and the rows are shaped as Rasa 3.6 writes them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.events import Event

from analytics.build import Builder
from analytics.settings import AnalyticsSettings
from analytics.store.database import FactsDatabase
from benchmarks.analytics_bench import (
    BASELINE_KEY,
    REPORT_MEASURES,
    AnalyticsResult,
    BuildFigure,
    ReportResult,
    analytics_json,
    analytics_table,
    hold_back,
    read_baseline,
    release,
    report_queries,
    route_parameters,
    run_analytics,
)
from benchmarks.report import Results, ScenarioResult, markdown_report, to_json, verdict_lines
from benchmarks.run import parse_args
from benchmarks.stats import summarise
from benchmarks.synthetic_history import (
    ASK_ORDER_NUMBER,
    DESK_FILE,
    MARKER_TABLE,
    PROJECT_ROOT,
    SENDER_PREFIX,
    TRACKER_FILE,
    HistorySize,
    SyntheticHistory,
    generate,
)
from benchmarks.turns import SCENARIOS, Samples
from contract.conversation_marks import FORM_BOT_CSAT, SLOT_BOT_CSAT_RATING, SLOT_HANDOFF_ID

SIZE = HistorySize(days=3, conversations=240, handoffs=48)
END = date(2026, 11, 30)


def rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> SyntheticHistory:
    return generate(tmp_path_factory.mktemp("history"), SIZE, seed=7, end=END)


@pytest.fixture(scope="module")
def facts(history: SyntheticHistory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("facts") / "facts.db"
    settings = AnalyticsSettings.from_env(
        {
            "ANALYTICS_DATABASE_URL": f"sqlite:///{path}",
            "TRACKER_STORE_URL": history.tracker_url,
            "DESK_DATABASE_URL": history.desk_url,
            # Small batches, so conversations and handoffs run across batches.
            "ANALYTICS_BATCH_EVENTS": "1000",
        }
    )
    database = FactsDatabase(settings.database_url)
    database.migrate()
    builder = Builder.from_settings(settings, database)
    try:
        builder.run()
    finally:
        builder.dispose()
        database.dispose()
    yield path


# --- what the builder reads -------------------------------------------------------------------


def test_the_builder_finds_every_conversation_and_handoff_made(facts: Path) -> None:
    assert rows(facts, "SELECT count(*) FROM conversation_facts") == [(SIZE.conversations,)]
    assert rows(facts, "SELECT count(*) FROM handoff_facts") == [(SIZE.handoffs,)]
    assert rows(facts, "SELECT count(*) FROM conversation_facts WHERE handed_off") == [
        (SIZE.handoffs,)
    ]
    # Each handed-off conversation is linked to its own handoff at the desk.
    linked = rows(
        facts,
        "SELECT count(DISTINCT h.handoff_id) FROM conversation_facts c "
        "JOIN handoff_facts h ON h.handoff_id = c.handoff_id AND h.sender_id = c.sender_id",
    )
    assert linked == [(SIZE.handoffs,)]


def test_no_row_is_unreadable(facts: Path) -> None:
    assert rows(facts, "SELECT count(*) FROM unparseable_events") == [(0,)]


def test_the_history_has_each_kind_of_thing_the_dashboard_counts(facts: Path) -> None:
    journeys = dict(rows(facts, "SELECT journey, count(*) FROM conversation_facts GROUP BY 1"))
    assert set(journeys) == {"order_status", "troubleshooting", "mortgage", "none"}
    failures = dict(rows(facts, "SELECT kind, count(*) FROM failure_points GROUP BY 1"))
    assert set(failures) == {"fallback", "step", "reask"}
    asked, rated = rows(
        facts,
        "SELECT sum(bot_csat_asked), count(bot_csat_rating) FROM conversation_facts "
        "WHERE NOT handed_off",
    )[0]
    assert 0 < rated < asked
    statuses = {s for (s,) in rows(facts, "SELECT DISTINCT status FROM handoff_facts")}
    assert statuses == {"resolved", "handed_back", "abandoned", "expired"}
    transfers, callbacks, rated_handoffs = rows(
        facts,
        "SELECT sum(transfers > 0), sum(callback_left), count(csat_rating) FROM handoff_facts",
    )[0]
    assert transfers > 0 and callbacks > 0 and rated_handoffs > 0
    assert (
        rows(facts, "SELECT count(*) FROM conversation_facts WHERE returned_at IS NOT NULL")[0][0]
        > 0
    )


def test_every_conversation_is_within_the_days_asked_for(facts: Path) -> None:
    first, last = rows(facts, "SELECT min(day), max(day) FROM conversation_facts")[0]
    # Days are cut in the reporting zone (London), the history's in UTC: at most a day after.
    assert date.fromisoformat(first) >= date(2026, 11, 28)
    assert date.fromisoformat(last) <= END


# --- marked synthetic, deterministic ----------------------------------------------------------


def test_the_history_is_marked_synthetic(history: SyntheticHistory) -> None:
    assert history.tracker_path.name == TRACKER_FILE == "synthetic-tracker.db"
    assert history.desk_path.name == DESK_FILE == "synthetic-desk.db"
    senders = rows(history.tracker_path, "SELECT DISTINCT sender_id FROM events")
    assert senders and all(s.startswith(SENDER_PREFIX) for (s,) in senders)
    desk_senders = rows(history.desk_path, "SELECT DISTINCT sender_id FROM handoffs")
    assert desk_senders and all(s.startswith(SENDER_PREFIX) for (s,) in desk_senders)
    for path in (history.tracker_path, history.desk_path):
        marker = dict(rows(path, f"SELECT key, value FROM {MARKER_TABLE}"))
        assert marker["generator"] == "benchmarks.synthetic_history"
        assert (marker["seed"], marker["conversations"], marker["handoffs"]) == ("7", "240", "48")


def test_the_demo_var_directory_is_refused() -> None:
    with pytest.raises(ValueError, match="demo"):
        generate(PROJECT_ROOT / "var", SIZE, end=END)


def test_impossible_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="handoffs"):
        generate(tmp_path, HistorySize(days=1, conversations=5, handoffs=6), end=END)
    assert not list(tmp_path.iterdir())


def _digest(path: Path, sql: str) -> str:
    return hashlib.sha256(repr(rows(path, sql)).encode()).hexdigest()


def test_the_same_seed_makes_the_same_history(history: SyntheticHistory, tmp_path: Path) -> None:
    again = generate(tmp_path, SIZE, seed=7, end=END)
    other = generate(tmp_path / "other", SIZE, seed=8, end=END)
    events, handoffs = "SELECT * FROM events ORDER BY id", "SELECT * FROM handoffs ORDER BY 1"
    history_events = _digest(history.tracker_path, events)
    assert _digest(again.tracker_path, events) == history_events
    assert _digest(again.desk_path, handoffs) == _digest(history.desk_path, handoffs)
    history_log = "SELECT * FROM handoff_events ORDER BY id"
    assert _digest(again.desk_path, history_log) == _digest(history.desk_path, history_log)
    assert _digest(other.tracker_path, events) != history_events


# --- shaped as Rasa and the desk write them ---------------------------------------------------


def test_the_events_table_has_rasa_s_columns(history: SyntheticHistory) -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    table = SQLTrackerStore.SQLEvent.__table__
    expected = [(c.name, str(c.type), not c.nullable) for c in table.columns]
    found = [(name, kind, bool(notnull)) for _, name, kind, notnull, _, _ in _columns(history)]
    assert found == expected


def _columns(history: SyntheticHistory) -> list[tuple[Any, ...]]:
    return rows(history.tracker_path, "PRAGMA table_info(events)")


def test_each_row_is_what_rasa_s_tracker_store_writes_for_its_event(
    history: SyntheticHistory,
) -> None:
    found = rows(
        history.tracker_path,
        "SELECT type_name, timestamp, intent_name, action_name, data FROM events",
    )
    kinds = set()
    for type_name, timestamp, intent_name, action_name, data in found:
        body = json.loads(data)
        kinds.add(type_name)
        # What SQLTrackerStore.save derives from the event's dict, and the dict itself is
        # what Rasa's own event class gives back for it.
        assert Event.from_parameters(body).as_dict() == body
        assert type_name == body["event"]
        assert timestamp == body["timestamp"]
        assert intent_name == body.get("parse_data", {}).get("intent", {}).get("name")
        assert action_name == body.get("name")
    assert kinds == {
        "action",
        "session_started",
        "user",
        "user_featurization",
        "bot",
        "slot",
        "active_loop",
        "resume",
    }


def test_the_bot_only_rating_and_the_handoff_marks_are_written(
    history: SyntheticHistory,
) -> None:
    loops = rows(
        history.tracker_path,
        "SELECT count(*) FROM events WHERE type_name = 'active_loop' AND action_name = ?",
        FORM_BOT_CSAT,
    )
    ratings = rows(
        history.tracker_path,
        "SELECT count(*) FROM events WHERE type_name = 'slot' AND action_name = ?",
        SLOT_BOT_CSAT_RATING,
    )
    handoff_slots = rows(
        history.tracker_path,
        "SELECT data FROM events WHERE type_name = 'slot' AND action_name = ?",
        SLOT_HANDOFF_ID,
    )
    desk_ids = {h for (h,) in rows(history.desk_path, "SELECT handoff_id FROM handoffs")}
    assert loops[0][0] > 0 and ratings[0][0] > 0
    # Each handoff's id is set in its conversation (and carried into the sender's next one).
    assert {json.loads(data)["value"] for (data,) in handoff_slots} == desk_ids


def test_the_conversations_reach_the_journey_stages(history: SyntheticHistory) -> None:
    tracker = history.tracker_path

    def slot_values(name: str) -> set[Any]:
        found = rows(
            tracker,
            "SELECT DISTINCT json_extract(data, '$.value') FROM events "
            "WHERE type_name = 'slot' AND action_name = ?",
            name,
        )
        return {value for (value,) in found}

    assert {1, 2, 3} <= slot_values("troubleshooting_cycle")
    assert {"resolved", "cycle_limit"} <= slot_values("troubleshooting_outcome")
    assert {"reported", "escalate"} <= slot_values("order_outcome")
    assert all(str(n).startswith("ORD-") for n in slot_values("order_number") - {None})
    assert None in slot_values("order_number")  # cleared after the lookup, as the bot does
    assert slot_values("csat_rating") - {None}
    notices = rows(
        tracker,
        "SELECT DISTINCT json_extract(data, '$.metadata.desk_notice') FROM events "
        "WHERE type_name = 'bot'",
    )
    assert {"queue_position", "agent_joined", "agent_left"} <= {n for (n,) in notices}
    agent_texts = {
        text
        for (text,) in rows(
            tracker,
            "SELECT json_extract(data, '$.text') FROM events WHERE type_name = 'bot' "
            "AND json_extract(data, '$.metadata.handoff_agent.id') IS NOT NULL",
        )
    }
    assert ASK_ORDER_NUMBER in agent_texts and len(agent_texts) > 1
    assert rows(tracker, "SELECT count(*) FROM events WHERE type_name = 'resume'")[0][0] > 0
    # Each handoff's context carries the values the bot knew (the repeat detector's input).
    contexts = [json.loads(c) for (c,) in rows(history.desk_path, "SELECT context FROM handoffs")]
    assert any("order_record" in c["slots"] for c in contexts)
    assert any("error_code" in c["slots"] for c in contexts)


def test_each_mortgage_application_has_a_timeline_from_its_chat(
    history: SyntheticHistory,
) -> None:
    desk = history.desk_path
    applications = rows(desk, "SELECT id, stage FROM mortgage_applications")
    assert applications
    timeline = rows(desk, "SELECT application_id, kind, stage FROM application_events ORDER BY id")
    by_application: dict[int, list[tuple[str, str]]] = {}
    for application_id, kind, stage in timeline:
        by_application.setdefault(application_id, []).append((kind, stage))
    assert set(by_application) == {application_id for application_id, _ in applications}
    for application_id, stage in applications:
        entries = by_application[application_id]
        assert [kind for kind, _ in entries[:2]] == ["chat_started", "form_completed"]
        assert entries[-1][1] == stage
    assert any(len(entries) > 2 for entries in by_application.values())


def _moment(stored: str) -> float:
    return datetime.fromisoformat(stored).replace(tzinfo=timezone.utc).timestamp()


def test_the_desk_queues_each_handoff_just_after_the_bot_hands_over(
    history: SyntheticHistory,
) -> None:
    # The handoff's id is set right after action_handoff ran (and carried into later sessions).
    handed = dict(
        rows(
            history.tracker_path,
            "SELECT json_extract(data, '$.value'), min(timestamp) FROM events "
            "WHERE type_name = 'slot' AND action_name = ? GROUP BY 1",
            SLOT_HANDOFF_ID,
        )
    )
    handoffs = rows(history.desk_path, "SELECT handoff_id, queued_at, context FROM handoffs")
    assert len(handoffs) == SIZE.handoffs
    for handoff_id, queued_at, context in handoffs:
        handed_at = handed[handoff_id]
        assert 0 < _moment(queued_at) - handed_at < 1
        last_customer_turn = json.loads(context)["transcript"][-1]["timestamp"]
        assert _moment(last_customer_turn.replace("Z", "")) < handed_at


def test_each_handoff_s_history_is_in_time_order_from_its_queueing(
    history: SyntheticHistory,
) -> None:
    log = rows(
        history.desk_path,
        "SELECT handoff_id, occurred_at, kind FROM handoff_events ORDER BY id",
    )
    by_handoff: dict[str, list[tuple[str, str]]] = {}
    for handoff_id, occurred_at, kind in log:
        by_handoff.setdefault(handoff_id, []).append((occurred_at, kind))
    assert len(by_handoff) == SIZE.handoffs
    for entries in by_handoff.values():
        assert entries[0][1] == "queued"
        assert [at for at, _ in entries] == sorted(at for at, _ in entries)


# --- the benchmark ----------------------------------------------------------------------------


def test_held_back_events_come_back_in_their_order(tmp_path: Path) -> None:
    small = generate(tmp_path, HistorySize(days=1, conversations=20, handoffs=4), end=END)
    before = rows(small.tracker_path, "SELECT * FROM events ORDER BY id")
    held = hold_back(small.tracker_path, 0.1)
    assert 0 < held < len(before)
    assert rows(small.tracker_path, "SELECT count(*) FROM events") == [(len(before) - held,)]
    release(small.tracker_path)
    assert rows(small.tracker_path, "SELECT * FROM events ORDER BY id") == before


def test_the_read_baseline_reads_every_row(history: SyntheticHistory) -> None:
    figure = read_baseline(history.tracker_url, batch=500)
    assert figure.events == history.tracker_events
    assert figure.seconds > 0


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> AnalyticsResult:
    size = HistorySize(days=2, conversations=100, handoffs=20)
    # No desk process in a unit test; the route's timing runs in `make bench`.
    return run_analytics(tmp_path_factory.mktemp("bench"), size, rounds=3, http=False)


def test_the_bench_builds_everything_once_and_then_only_what_is_new(
    bench: AnalyticsResult,
) -> None:
    assert (bench.conversations, bench.handoffs, bench.unparseable) == (100, 20, 0)
    assert bench.new_events.events > 0
    assert bench.full_build.events + bench.new_events.events == bench.tracker_events
    assert bench.nothing_new.events == 0
    assert bench.read_baseline.events == bench.full_build.events


def test_the_bench_times_every_report_and_the_baseline(bench: AnalyticsResult) -> None:
    assert [r.measure.key for r in bench.reports] == [m.key for m in REPORT_MEASURES]
    assert all(r.summary.count == 3 for r in bench.reports)
    assert bench.report(BASELINE_KEY).met is None
    assert bench.http_reports is None
    full_period = bench.report("full_period")
    assert full_period.cpu_ms is not None and len(full_period.cpu_ms) == 3
    table = analytics_table(bench)
    assert "Full build" in table and "Report, journey = order_status, by day" in table
    results = analytics_json(bench)
    assert set(results["reports"]) == {m.key for m in REPORT_MEASURES}
    assert len(results["reports"]["weekly"]["samples_ms"]) == 3
    assert len(results["reports"]["weekly"]["cpu_samples_ms"]) == 3


def test_the_analytics_options() -> None:
    args = parse_args([])
    defaults = (
        args.skip_analytics,
        args.analytics_days,
        args.analytics_conversations,
        args.analytics_handoffs,
        args.analytics_reports,
    )
    assert defaults == (False, 30, 100_000, 20_000, 20)
    args = parse_args(
        ["--skip-analytics", "--analytics-conversations", "500", "--analytics-handoffs", "50"]
    )
    assert (args.skip_analytics, args.analytics_conversations, args.analytics_handoffs) == (
        True,
        500,
        50,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--analytics-conversations", "0"],
        ["--analytics-conversations", "10", "--analytics-handoffs", "11"],
        ["--analytics-reports", "0"],
    ],
)
def test_impossible_analytics_sizes_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)


# --- verdicts and the report's wiring ---------------------------------------------------------


def made_result(*, build_seconds: float, report_ms: list[float]) -> AnalyticsResult:
    """A result of 1,000,000 events built in `build_seconds`, read in a quarter of that."""
    samples = {m.key: report_ms if m.has_target else [1.0, 2.0] for m in REPORT_MEASURES}
    reports = [ReportResult(m, samples[m.key], summarise(samples[m.key])) for m in REPORT_MEASURES]
    return AnalyticsResult(
        size=HistorySize(),
        tracker_events=1_010_000,
        handoff_events=100_000,
        generation_seconds=30.0,
        generation_cpu_seconds=20.0,
        conversations=100_000,
        handoffs=20_000,
        unparseable=0,
        read_baseline=BuildFigure(1_000_000, build_seconds / 4, build_seconds / 5),
        full_build=BuildFigure(1_000_000, build_seconds, build_seconds / 2),
        nothing_new=BuildFigure(0, 0.004, 0.003),
        new_events=BuildFigure(10_000, 0.5, 0.25),
        reports=reports,
        http_reports=None,
        other_cpu_share=0.01,
    )


def test_the_build_target_is_20000_events_a_second() -> None:
    assert made_result(build_seconds=50.0, report_ms=[100.0]).build_met
    slow = made_result(build_seconds=50.5, report_ms=[100.0])
    assert not slow.build_met
    assert slow.missed == ["analytics build throughput"]
    assert slow.read_to_build_ratio == 4.0 and slow.cpu_ratio == 2.5


def test_the_report_target_is_on_the_95th_percentile() -> None:
    tail = made_result(build_seconds=10.0, report_ms=[200.0] * 18 + [1500.0, 1600.0])
    assert tail.report("full_period").summary.p50 == 200.0
    assert tail.missed == [m.title for m in REPORT_MEASURES if m.has_target]
    assert tail.report(BASELINE_KEY).met is None
    assert made_result(build_seconds=10.0, report_ms=[200.0] * 20).missed == []


def test_the_analytics_table_and_results_join_the_benchmark_s() -> None:
    turns = [
        ScenarioResult(scenario, Samples([20.0, 25.0]), summarise([20.0, 25.0]))
        for scenario in SCENARIOS
    ]
    slow = made_result(build_seconds=100.0, report_ms=[200.0] * 20)
    results = Results(None, turns, 0.02, {"git": "abc"}, analytics=slow)
    report = markdown_report(results)
    assert analytics_table(slow) in report
    assert "| ≥ 20,000 events/s | 10,000 events/s |  |  | 1 | MISSED |" in report
    assert results.missed == ["analytics build throughput"]
    assert verdict_lines(results)[-1] == "MISSED: analytics build throughput"
    document = to_json(results)
    assert document["analytics"]["full_build"]["events_per_second"] == 10_000.0
    assert document["analytics"]["build_met"] is False
    assert to_json(Results(None, turns, 0.02, {}))["analytics"] is None


def test_the_route_is_asked_the_same_queries_as_the_function() -> None:
    queries = report_queries(date(2026, 11, 1), date(2026, 11, 30))
    assert route_parameters(queries["full_period"]) == {
        "start": "2026-11-01",
        "end": "2026-11-30",
        "grain": "day",
    }
    assert route_parameters(queries["journey_cut"])["journey"] == "order_status"
    assert route_parameters(queries["weekly"])["grain"] == "week"
