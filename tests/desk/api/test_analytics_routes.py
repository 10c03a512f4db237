"""The supervisors' analytics routes (desk/api/analytics.py) and their page: who may use them,
how a bad query is refused, and the numbers of a hand-counted fact set
(`tests.support.analytics_facts`) as JSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analytics.settings import AnalyticsSettings
from contract.analytics_report import FMEA_COLUMNS, TABLE_COLUMNS, Fmea, Report
from desk.api.analytics import MAX_PERIOD_DAYS, csv_cell
from desk.api.pages import WEB_DIR
from desk.services.agents import create_agent
from desk.store.database import Database
from desk.store.models import AgentRole
from sqlsupport.types import utcnow
from tests.desk.conftest import PASSWORD, Browser
from tests.support import analytics_facts as facts

PERIOD = f"start={facts.PERIOD_START}&end={facts.PERIOD_END}"
REPORT = "/api/analytics/report?" + PERIOD
BRANCH = "leeds_park_row"


@pytest.fixture
def analytics_settings(tmp_path: Path, database_url: str) -> AnalyticsSettings:
    """A facts database holding the hand-counted set; no tracker store yet."""
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    facts.seed_facts(url)
    return AnalyticsSettings(
        database_url=url,
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        desk_database_url=database_url,
        timezone="Europe/London",
    )


@pytest.fixture
async def bea(database: Database, browsers: Callable[..., Browser]) -> Browser:
    """Bea's browser, logged in (branch staff of the Leeds branch)."""
    with database.session(write=True) as session:
        create_agent(
            session,
            username="bea",
            display_name="Bea",
            password=PASSWORD,
            role=AgentRole.BRANCH_STAFF,
            branch=BRANCH,
        )
    return await browsers().login("bea")


ROUTES = [
    ("GET", REPORT),
    ("GET", "/api/analytics/tables/kpis?" + PERIOD),
    ("GET", "/api/analytics/tables/kpis?format=csv&" + PERIOD),
    ("POST", "/api/analytics/build"),
    ("GET", "/api/analytics/fmea?" + PERIOD),
    ("GET", "/api/analytics/fmea?format=csv&" + PERIOD),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_only_supervisors_use_the_analytics(
    method: str, path: str, anonymous: Browser, olivia: Browser, bea: Browser, sam: Browser
) -> None:
    assert (await anonymous.request(method, path))[0] == 401
    for stranger in (olivia, bea):
        status, body = await stranger.request(method, path)
        assert (status, body) == (403, {"error": "the analytics are for supervisors"})
    assert (await sam.request(method, path))[0] == 200


async def test_the_dashboard_page_is_for_supervisors(
    anonymous: Browser, olivia: Browser, bea: Browser, sam: Browser
) -> None:
    for browser, where in ((anonymous, "/login"), (olivia, "/console"), (bea, "/branch")):
        response = await browser.raw("GET", "/supervisor", allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (302, where)
    page = await sam.raw("GET", "/supervisor")
    assert page.status == 200
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    html = await sam.get("/supervisor")
    assert '<script type="module" src="/static/supervisor.js"></script>' in html[1]
    assert '<script src="/static/chart.umd.min.js"></script>' in html[1]
    for name in ("supervisor.js", "supervisor.css", "chart.umd.min.js"):
        assert (await anonymous.raw("GET", f"/static/{name}")).status == 200, name
    # Chart.js is vendored with its licence (not served: the repository keeps it).
    assert (WEB_DIR / "chart.umd.min.js").read_text().startswith("/*!\n * Chart.js v4.5.1\n")
    assert (WEB_DIR / "chart.js.LICENSE.md").read_text().startswith("The MIT License (MIT)")


async def test_the_report_of_a_period(sam: Browser) -> None:
    status, body = await sam.get(REPORT + "&grain=week")
    assert status == 200, body
    report = Report.parse_obj(body)
    assert (report.period.start, report.period.end) == (facts.PERIOD_START, facts.PERIOD_END)
    assert report.period.previous_start == date(2026, 10, 26)
    tiles = {kpi.key: kpi for kpi in report.kpis}
    assert tiles["containment"].value == pytest.approx(facts.CONTAINMENT)
    assert tiles["containment"].previous == pytest.approx(facts.PREVIOUS_CONTAINMENT)
    assert (tiles["containment"].count, tiles["containment"].few) == (5, False)
    assert tiles["handoff_rate"].value == pytest.approx(facts.HANDOFF_RATE)
    assert (tiles["wait_p50_s"].value, tiles["wait_p50_s"].previous) == (45.0, 100.0)
    assert (tiles["wait_p50_s"].count, tiles["wait_p50_s"].few) == (2, True)
    assert tiles["wait_p95_s"].value == facts.WAIT_P95_S
    assert tiles["handle_p50_s"].value == facts.HANDLE_P50_S
    assert tiles["csat_bot_only"].value == pytest.approx(facts.CSAT_BOT_ONLY)
    assert [(p.bucket, p.engaged) for p in report.trends] == [(facts.PERIOD_START, 5)]
    assert report.freshness.built_at == facts.BUILT_AT
    assert report.freshness.unparseable_events == facts.UNPARSEABLE


async def test_a_cut_narrows_the_report(sam: Browser) -> None:
    status, body = await sam.get(REPORT + "&journey=order_status&channel=socketio")
    assert status == 200, body
    tiles = {kpi["key"]: kpi for kpi in body["kpis"]}
    # Conversations 1, 2 (contained) and 4 (handed off) are order_status on socketio.
    assert tiles["containment"]["value"] == pytest.approx(2 / 3)
    assert body["query"]["journey"] == "order_status"
    assert [row["key"] for row in body["handle_time_by_agent"]] == ["olivia"]


async def test_the_default_period_is_the_last_30_local_days(sam: Browser) -> None:
    status, body = await sam.get("/api/analytics/report")
    assert status == 200, body
    today = utcnow().astimezone(ZoneInfo("Europe/London")).date()
    assert body["period"]["end"] == today.isoformat()
    assert body["period"]["start"] == (today - timedelta(days=29)).isoformat()
    assert body["period"]["grain"] == "day"
    assert len(body["trends"]) == 30


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("start=2026-13-01", "start must be a date as YYYY-MM-DD"),
        ("start=20261101", "start must be a date as YYYY-MM-DD"),
        ("end=yesterday", "end must be a date as YYYY-MM-DD"),
        ("end=0001-01-05", "end must be a date from 1970-01-01 to 9998-12-31"),
        ("start=9999-12-31", "start must be a date from 1970-01-01 to 9998-12-31"),
        ("start=2026-11-08&end=2026-11-01", "end (2026-11-01) is before start (2026-11-08)"),
        ("start=2025-01-01&end=2026-01-02", f"the period is longer than {MAX_PERIOD_DAYS} days"),
        ("grain=month", "grain must be one of day, week"),
        ("queue=order support", "queue must be a name of letters, digits, '_', '.' or '-'"),
        ("journey=" + "a" * 65, "journey must be a name of letters, digits, '_', '.' or '-'"),
        ("reason_code=%3Dcmd", "reason_code must be a name of letters, digits, '_', '.' or '-'"),
        ("channel=web&channel=rest", "channel is given more than once"),
        ("agent=olivia", "unknown parameter 'agent'"),
    ],
)
async def test_a_bad_query_is_a_400_naming_it(sam: Browser, query: str, error: str) -> None:
    for path in ("/api/analytics/report?", "/api/analytics/tables/csat?"):
        status, body = await sam.get(path + query)
        assert status == 400, (path, body)
        assert body["error"].startswith(error), (path, body)


async def test_a_whole_leap_year_is_one_period(sam: Browser) -> None:
    status, body = await sam.get("/api/analytics/report?start=2024-01-01&end=2024-12-31&grain=week")
    assert status == 200, body
    buckets = [point["bucket"] for point in body["trends"]]
    assert (buckets[0], buckets[-1], len(buckets)) == ("2024-01-01", "2024-12-30", 53)
    status, body = await sam.get("/api/analytics/report?start=2024-01-01&end=2025-01-01")
    assert (status, body) == (400, {"error": f"the period is longer than {MAX_PERIOD_DAYS} days"})


async def test_a_table_as_json(sam: Browser) -> None:
    status, body = await sam.get("/api/analytics/tables/handle_time_by_agent?" + PERIOD)
    assert status == 200, body
    assert body["table"] == "handle_time_by_agent"
    assert body["columns"] == ["key", "parts", "p50_s", "p90_s", "p95_s", "mean_s"]
    assert [(row["key"], row["parts"], row["p50_s"]) for row in body["rows"]] == [
        ("maya", 1, 600.0),
        ("olivia", 1, 300.0),
    ]
    status, body = await sam.get("/api/analytics/tables/wait_outcomes?" + PERIOD)
    assert body["rows"] == [
        {
            "handoffs": 2,
            "claimed": 2,
            "abandoned": 0,
            "expired": 0,
            "transferred": 0,
            "waiting": 0,
            "callbacks_open": 0,
        }
    ]


async def test_a_table_as_csv(sam: Browser) -> None:
    path = "/api/analytics/tables/troubleshooting_steps?format=csv&" + PERIOD
    response = await sam.raw("GET", path)
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.charset == "utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="troubleshooting_steps-2026-11-02-2026-11-08.csv"'
    )
    rows = list(csv.reader(io.StringIO((await sam.get(path))[1])))
    assert tuple(rows[0]) == TABLE_COLUMNS["troubleshooting_steps"]
    assert rows[1:] == [["router_restart", "power_cycle", "3", "2", "0.6666666666666666"]]


async def test_csv_text_that_a_spreadsheet_would_run_is_escaped(sam: Browser) -> None:
    status, text = await sam.get("/api/analytics/tables/handoffs_by_reason?format=csv&" + PERIOD)
    assert status == 200
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["key", "handoffs", "rate"],
        ["'" + facts.FORMULA_REASON, "1", "0.2"],
        ["customer_request", "1", "0.2"],
    ]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        (-2.5, -2.5),
        (None, ""),
        (True, "true"),
    ],
)
def test_csv_cells(value: Any, cell: Any) -> None:
    assert csv_cell(value) == cell


async def test_a_kpi_table_as_csv_keeps_empty_values_empty(sam: Browser) -> None:
    status, text = await sam.get(
        "/api/analytics/tables/kpis?format=csv&start=2020-01-01&end=2020-01-07"
    )
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    containment = next(row for row in rows if row["key"] == "containment")
    assert containment == {
        "key": "containment",
        "label": "Bot resolution",
        "unit": "ratio",
        "value": "",
        "previous": "",
        "count": "0",
        "few": "true",
    }


async def test_an_unknown_table_or_format(sam: Browser) -> None:
    status, body = await sam.get("/api/analytics/tables/salaries?" + PERIOD)
    assert status == 404
    assert body == {"error": "no table 'salaries'", "tables": list(TABLE_COLUMNS)}
    status, body = await sam.get("/api/analytics/tables/csat?format=xlsx&" + PERIOD)
    assert (status, body) == (400, {"error": "format must be one of json, csv"})


async def test_a_build_on_demand_answers_its_counts(sam: Browser) -> None:
    status, body = await sam.post("/api/analytics/build")
    assert status == 200, body
    assert set(body) == {
        "tracker_events",
        "conversations",
        "handoffs",
        "stage_changes",
        "unparseable",
        "seconds",
    }
    assert body["tracker_events"] == 0  # no tracker store yet
    status, report = await sam.get(REPORT)
    assert report["freshness"]["built_at"] > facts.BUILT_AT.isoformat()  # this build's
    # The facts already there stay.
    assert {k["key"]: k["count"] for k in report["kpis"]}["containment"] == 5


# --- The handoff FMEA ----------------------------------------------------------------------


async def test_the_fmea_of_a_period(sam: Browser) -> None:
    status, body = await sam.get("/api/analytics/fmea?" + PERIOD)
    assert status == 200, body
    found = Fmea.parse_obj(body)
    assert (found.period.start, found.period.previous_start) == (
        facts.PERIOD_START,
        date(2026, 10, 26),
    )
    assert found.handoffs == 2
    assert len(found.modes) == 10
    rpns = [mode.rpn for mode in found.modes]
    assert rpns == sorted(rpns, reverse=True)
    modes = {mode.mode: mode for mode in found.modes}
    # h2 waited 400 s for mortgage_advisors (level 600 s): in time; h1 45 s of 120 s.
    slow = modes["nobody_claims_in_time"]
    assert (slow.occurrences, slow.exposure, slow.previous_occurrences) == (0, 2, 0)
    # h1 is hybrid and rated 4; h2 (rated 2) is person-only.
    low = modes["low_csat_after_hybrid"]
    assert (low.occurrences, low.exposure) == (0, 1)


async def test_the_fmea_as_csv(sam: Browser) -> None:
    path = "/api/analytics/fmea?format=csv&" + PERIOD
    response = await sam.raw("GET", path)
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="fmea-2026-11-02-2026-11-08.csv"'
    )
    rows = list(csv.reader(io.StringIO((await sam.get(path))[1])))
    assert tuple(rows[0]) == FMEA_COLUMNS
    assert len(rows) == 11
    by_mode = {row[0]: dict(zip(FMEA_COLUMNS, row, strict=True)) for row in rows[1:]}
    repeats = by_mode["customer_repeats_information"]
    assert repeats["journeys"] == "order_status;troubleshooting;mortgage"
    assert repeats["detected_by"] == "dashboard_repeat_rate"
    assert by_mode["duplicate_handoff_suppressed"]["detected_by"] == ""


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("start=2026-13-01", "start must be a date as YYYY-MM-DD"),
        ("end=%3Dcmd", "end must be a date as YYYY-MM-DD"),
        ("start=2026-11-08&end=2026-11-01", "end (2026-11-01) is before start (2026-11-08)"),
        ("start=2025-01-01&end=2026-01-02", f"the period is longer than {MAX_PERIOD_DAYS} days"),
        ("format=xlsx", "format must be one of json, csv"),
        ("journey=mortgage", "unknown parameter 'journey'"),
        ("start=2026-11-01&start=2026-11-02", "start is given more than once"),
        ("%3Cscript%3E=1", "unknown parameter '<script>'"),
    ],
)
async def test_a_bad_fmea_query_is_a_400_naming_it(sam: Browser, query: str, error: str) -> None:
    status, body = await sam.get("/api/analytics/fmea?" + query)
    assert status == 400, body
    assert body["error"].startswith(error), body
