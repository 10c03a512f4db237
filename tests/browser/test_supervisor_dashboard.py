"""The supervisors' dashboard in headless chromium against the real desk process.

The desk runs alone (`python -m desk` on a loopback port, its own migrated and seeded
database), with a facts database holding the hand-counted set of
`tests.support.analytics_facts` and no tracker store yet: the page shows what the real
analytics routes answer for it. The browser may reach the desk only; every other request is
aborted and recorded, and there must be none (the page works offline: Chart.js is vendored).

The live strip: the floor route (`GET /api/analytics/floor`) and the websocket's floor message
belong to the live-floor work of the same issue. If the desk serves the route, the strip must
show what it answers; if it does not (this branch alone), the strip must say the live data is
unavailable. A second test stands in the websocket (Playwright's `route_web_socket`) to push a
Floor with breaches and checks the strip shows it, while the polled route fails.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from contract.analytics_report import FLOOR_MESSAGE, Breach, Floor, QueueFloor
from tests.browser.conftest import Actor
from tests.browser.desk_alone import Desk, offline, running_desk
from tests.browser.desk_alone import log_in as log_in_at
from tests.support import analytics_facts as facts

pytestmark = pytest.mark.e2e

PERIOD = f"start={facts.PERIOD_START}&end={facts.PERIOD_END}"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The desk alone, on fresh databases, with the hand-counted facts."""
    with running_desk(tmp_path_factory.mktemp("dashboard"), facts.seed_facts) as running:
        yield running


def log_in(actor: Actor, desk: Desk, username: str) -> Any:
    return log_in_at(actor, desk, username, f"/supervisor?{PERIOD}")


def tile(page: Any, key: str, part: str) -> Any:
    return page.locator(f'#tiles .tile[data-key="{key}"] .tile-{part}')


def chart_data(page: Any, canvas: str) -> Any:
    """The datasets' values of the Chart.js chart on the canvas (None: no chart there)."""
    return page.evaluate(
        """id => {
            const chart = window.Chart.getChart(document.getElementById(id));
            return chart ? chart.data.datasets.map(d => d.data) : null;
        }""",
        canvas,
    )


def test_a_supervisor_reads_the_dashboard(desk: Desk, actors: Any) -> None:
    sam = actors("sam")
    elsewhere = offline(sam, desk)
    page = log_in(sam, desk, "sam")
    expect(page).to_have_url(re.compile(r"/console$"))
    page.locator("#dashboard-link").click()
    expect(page).to_have_url(re.compile(r"/supervisor\?"))
    page.goto(f"{desk.url}/supervisor?{PERIOD}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")

    # The tiles: this week, the week before, the change, the "few" marker.
    expect(tile(page, "containment", "value")).to_have_text("60.0%")
    expect(tile(page, "containment", "previous")).to_have_text("before: 75.0%")
    expect(tile(page, "containment", "change")).to_have_text("▼ -15.0 pts")
    expect(tile(page, "containment", "change")).to_have_attribute("data-verdict", "worse")
    expect(tile(page, "handoff_rate", "value")).to_have_text("40.0%")
    expect(tile(page, "durable_containment", "change")).to_have_text("= no change")
    expect(tile(page, "wait_p50_s", "value")).to_have_text("0:45")
    expect(tile(page, "wait_p50_s", "change")).to_have_text("▼ -0:55")
    expect(tile(page, "wait_p50_s", "change")).to_have_attribute("data-verdict", "better")
    expect(tile(page, "wait_p50_s", "count")).to_contain_text("n = 2")
    expect(tile(page, "wait_p50_s", "count").locator(".few")).to_be_visible()
    expect(tile(page, "wait_p95_s", "value")).to_have_text("6:40")
    expect(tile(page, "handle_p50_s", "value")).to_have_text("5:00")
    expect(tile(page, "system_p95_ms", "value")).to_have_text("1200 ms")
    expect(tile(page, "csat_bot_only", "value")).to_have_text("50.0%")
    expect(tile(page, "containment", "count")).to_have_text("n = 5")
    expect(tile(page, "containment", "count").locator(".few")).to_have_count(0)

    # The charts are drawn by Chart.js from the report.
    for canvas in ("chart-rates", "chart-waits", "chart-handle", "chart-csat", "chart-reasons"):
        assert chart_data(page, canvas) is not None, canvas
    assert chart_data(page, "chart-wait-distribution") == [[0, 1, 0, 0, 1, 0, 0]]
    rates = chart_data(page, "chart-rates")
    assert rates[0] == [1, 1, 1, 0, 0, None, None]  # bot resolution, 2 to 8 November

    # The tables and the freshness line.
    agents = page.locator('#table-handle_time_by_agent td[data-column="key"]')
    expect(agents).to_have_text(["maya", "olivia"])
    expect(page.locator('#table-handle_time_by_agent td[data-column="p50_s"]')).to_have_text(
        ["10:00", "5:00"]
    )
    expect(
        page.locator('#table-troubleshooting_steps td[data-column="not_helped_share"]')
    ).to_have_text(["66.7%"])
    expect(page.locator('#table-fallback_intents td[data-column="fallbacks"]')).to_have_text(["3"])
    expect(page.locator('#table-csat td[data-column="csat"]')).to_have_text(
        ["50.0%", "100.0%", "0.0%"]
    )
    expect(page.locator("#freshness")).to_have_text(
        "Facts built 9 Nov 2026, 06:00; 2 events could not be read."
    )

    assert_live_strip(page, sam)
    sam.shot("s01-supervisor-dashboard")

    # A CSV link downloads its table of the same query, formulas escaped.
    with page.expect_download() as download:
        page.locator('a.csv[data-table="handoffs_by_reason"]').first.click()
    assert download.value.suggested_filename == "handoffs_by_reason-2026-11-02-2026-11-08.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert list(csv.reader(io.StringIO(text))) == [
        ["key", "handoffs", "rate"],
        ["'" + facts.FORMULA_REASON, "1", "0.2"],
        ["customer_request", "1", "0.2"],
    ]

    # A cut: the journey offered from the report's own breakdown.
    page.locator("#journey").select_option("order_status")
    page.locator("#query button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"journey=order_status"))
    expect(tile(page, "containment", "value")).to_have_text("66.7%")
    href = page.locator('a.csv[data-table="kpis"]').get_attribute("href")
    assert href is not None and "journey=order_status" in href and "format=csv" in href

    # Refresh builds the facts now (nothing new to read): the freshness line moves to today.
    page.locator("#refresh").click()
    expect(page.locator("#freshness")).not_to_have_text(re.compile("9 Nov 2026"))
    expect(page.locator("#freshness")).to_have_text(re.compile(r"^Facts built .*2 events"))
    expect(page.locator("#refresh")).to_be_enabled()

    assert elsewhere == []
    assert [e for e in sam.errors if not _floor_absent_error(e)] == []


def assert_live_strip(page: Any, sam: Actor) -> None:
    """The strip shows the floor route's answer, or says it is unavailable without one."""
    answer = page.request.get(page.url.split("/supervisor")[0] + "/api/analytics/floor")
    status = page.locator("#floor-status")
    if answer.status == 404:
        expect(status).to_have_text("Live data unavailable")
        expect(page.locator("#floor")).to_have_attribute("data-state", "unavailable")
        return
    assert answer.status == 200, answer.text()
    floor = Floor.parse_obj(answer.json())
    expect(page.locator("#floor")).to_have_attribute("data-state", "live")
    expect(status).not_to_have_text("Live data unavailable")
    expect(page.locator("#floor-waiting")).to_have_text(str(floor.waiting))
    expect(page.locator("#floor-breach-count")).to_have_text(str(len(floor.breaches)))


def _floor_absent_error(message: str) -> bool:
    # Without the floor route (see the module doc) chromium logs the page's 404 as an error.
    return "404" in message


def test_the_strip_shows_a_pushed_floor(desk: Desk, actors: Any) -> None:
    sam = actors("sam-live")
    elsewhere = offline(sam, desk)
    floor = Floor(
        at=datetime(2026, 11, 9, 10, 0, tzinfo=timezone.utc),
        waiting=3,
        oldest_wait_s=125.0,
        agents_online=2,
        queues=[QueueFloor(queue="order_support", waiting=3, oldest_wait_s=125.0, sla_s=60.0)],
        breaches=[
            Breach(handoff_id=facts.H1, queue="order_support", waited_s=125.0, claimed=False),
            Breach(handoff_id=facts.H2, queue="mortgage_advisors", waited_s=90.0, claimed=True),
        ],
    )
    message = json.dumps({"type": FLOOR_MESSAGE, **json.loads(floor.json())})

    def stand_in(socket: Any) -> None:
        socket.on_message(lambda _: None)  # pings
        socket.send('{"type": "connected"}')
        socket.send(message)

    sam.page.route_web_socket(re.compile(r"/api/live$"), stand_in)
    sam.page.route(
        "**/api/analytics/floor",
        lambda route: route.fulfill(status=503, json={"error": "stand-in: the poll fails"}),
    )
    page = log_in(sam, desk, "sam")
    expect(page).to_have_url(re.compile(r"/console$"))
    page.goto(f"{desk.url}/supervisor?{PERIOD}")

    expect(page.locator("#floor")).to_have_attribute("data-state", "live")
    expect(page.locator("#floor-waiting")).to_have_text("3")
    expect(page.locator("#floor-oldest")).to_have_text("2:05")
    expect(page.locator("#floor-agents")).to_have_text("2")
    expect(page.locator("#floor-breaches li")).to_have_text(
        ["order_support 2:05 waiting", "mortgage_advisors 1:30 claimed"]
    )
    expect(page.locator("#floor")).to_have_attribute("data-breaches", "yes")
    sam.shot("s02-supervisor-live-strip")
    assert elsewhere == []


def test_an_agent_is_sent_to_the_console(desk: Desk, actors: Any) -> None:
    olivia = actors("olivia")
    page = log_in(olivia, desk, "olivia")
    expect(page).to_have_url(re.compile(r"/console$"))
    expect(page.locator("#me")).to_have_text(re.compile("Olivia"))
    expect(page.locator("#dashboard-link")).to_be_hidden()
    page.goto(f"{desk.url}/supervisor?{PERIOD}")
    expect(page).to_have_url(re.compile(r"/console$"))
    status = page.request.get(f"{desk.url}/api/analytics/report?{PERIOD}").status
    assert status == 403
