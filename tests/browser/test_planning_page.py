"""The supervisors' planning page in headless chromium against the real desk process: the
journey map, the service blueprint (inline SVG, SVG and PNG downloads) and the FMEA, and the
repeat rate on the dashboard.

The desk runs alone, as for the dashboard (`test_supervisor_dashboard`), with the dashboard's
hand-counted facts and the planning facts on top (`tests.support.planning_facts`). The browser
may reach the desk only. Screenshots of the three views go to the test's tmp directory and,
when SCREENSHOT_DIR is set, there too.

The FMEA route (`GET /api/analytics/fmea`) is the FMEA work's; when the desk does not serve it
(this branch alone), the page is given a stand-in answer of the contract's shape.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from contract.analytics_report import Fmea, FmeaMode, Grain, Period
from tests.browser.conftest import Actor
from tests.browser.desk_alone import Desk, log_in, offline, running_desk
from tests.support import analytics_facts as facts
from tests.support.planning_facts import seed_planning_facts

pytestmark = pytest.mark.e2e

QUERY = f"start={facts.PERIOD_START}&end={facts.PERIOD_END}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The desk alone, with the dashboard's facts and the planning facts."""
    with running_desk(tmp_path_factory.mktemp("planning"), seed_planning_facts) as running:
        yield running


def keep(actor: Actor, name: str, directory: Path) -> None:
    """A full-page screenshot in `directory`, and in SCREENSHOT_DIR when it is set."""
    path = directory / f"{name}.png"
    actor.page.screenshot(path=str(path), full_page=True)
    wanted = os.environ.get("SCREENSHOT_DIR")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(wanted) / path.name)


def stand_in_fmea() -> Fmea:
    period = Period(
        start=facts.PERIOD_START,
        end=facts.PERIOD_END,
        previous_start=facts.PERIOD_START,
        previous_end=facts.PERIOD_END,
        grain=Grain.DAY,
        timezone="Europe/London",
    )
    mode = FmeaMode(
        mode="customer_repeats_information",
        label="Customer repeats information",
        effect="The customer says again what the bot knew",
        cause="The context lacked or hid a field",
        step="agent_work",
        journeys=["order_status"],
        severity=6,
        occurrences=1,
        exposure=2,
        per_thousand=500.0,
        occurrence=10,
        detection=2,
        detected_by=["repeat rate"],
        rpn=120,
        previous_occurrences=0,
        previous_rpn=12,
        examples=[facts.H1],
    )
    return Fmea(period=period, handoffs=2, modes=[mode])


def test_the_three_planning_views(desk: Desk, actors: Any, tmp_path: Path) -> None:
    sam = actors("sam-planning")
    elsewhere = offline(sam, desk)
    page = log_in(sam, desk, "sam", f"/supervisor?{QUERY}")
    expect(page).to_have_url(re.compile(r"/console$"))
    fmea_served = page.request.get(f"{desk.url}/api/analytics/fmea?{QUERY}").status == 200
    if not fmea_served:
        answer = json.loads(stand_in_fmea().json())
        page.route(
            re.compile(r"/api/analytics/fmea\?"),
            lambda route: route.fulfill(status=200, json=answer),
        )
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    # From the dashboard's header.
    page.goto(f"{desk.url}/supervisor?{QUERY}")
    page.locator("#planning-link").click()
    expect(page).to_have_url(re.compile(r"/supervisor/planning"))
    page.goto(f"{desk.url}/supervisor/planning?{QUERY}&journey=order_status")

    # The journey map: conversations 1, 2 and 4.
    expect(page.locator("#view-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#map-units")).to_have_text("3 conversations started in the period")
    stages = page.locator("#map-stages .stage")
    expect(stages.first.locator("h3")).to_have_text("Asked about an order")
    looked_up = page.locator('#map-stages .stage[data-stage="looked_up"]')
    expect(looked_up.locator(".reached")).to_have_text("3")
    expect(looked_up.locator(".to-next")).to_have_text("0:03")  # 2, 3 and 4 s
    expect(looked_up.locator(".next li")).to_have_text(["→ reported: 2", "→ escalated: 1"])
    emotion = page.evaluate(
        "() => window.Chart.getChart(document.getElementById('chart-emotion'))"
        ".data.datasets[0].data"
    )
    assert len(emotion) == stages.count() and emotion[0] is not None
    keep(sam, "planning-journey-map", tmp_path)

    # A filter changes the request (and the page's own address).
    page.locator("#outcome").select_option("handed_off")
    page.locator("#query button[type=submit]").click()
    expect(page.locator("#map-units")).to_have_text("1 conversation started in the period")
    assert any("journey-map" in url and "outcome=handed_off" in url for url in requests)
    expect(page).to_have_url(re.compile(r"outcome=handed_off"))
    page.locator("#outcome").select_option("all")
    page.locator("#query button[type=submit]").click()
    expect(page.locator("#map-units")).to_have_text("3 conversations started in the period")

    # The service blueprint, drawn inline from the desk's SVG.
    page.locator("#tab-blueprint").click()
    expect(page.locator("#view-blueprint")).to_have_attribute("data-state", "ready")
    figure = page.locator("#blueprint-figure svg")
    expect(figure.locator('g[data-step="lookup"] text').last).to_have_text("p50 6.0 s · n=3")
    expect(figure.locator('g[data-step="queue_wait"] circle')).to_have_count(1)
    expect(figure.locator("text", has_text="line of visibility")).to_have_count(1)
    keep(sam, "planning-blueprint", tmp_path)
    with page.expect_download() as download:
        page.locator("#download-svg").click()
    assert download.value.suggested_filename == "blueprint-order_status-2026-11-02-2026-11-08.svg"
    assert "<svg" in Path(download.value.path()).read_text(encoding="utf-8")
    with page.expect_download() as download:
        page.locator("#download-png").click()
    assert download.value.suggested_filename == "blueprint-order_status-2026-11-02-2026-11-08.png"
    png = Path(download.value.path()).read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000

    # The FMEA, ranked, its examples opening the handoff in the console.
    page.locator("#tab-fmea").click()
    expect(page.locator("#view-fmea")).to_have_attribute("data-state", "ready")
    rows = page.locator("#fmea-table tbody tr")
    expect(rows.first).to_be_visible()
    rpns = [int(text) for text in rows.locator('td[data-column="rpn"]').all_text_contents()]
    assert rpns == sorted(rpns, reverse=True)
    if not fmea_served:
        expect(rows.first.locator('td[data-column="previous_rpn"]')).to_have_text("▲ +108 (was 12)")
        link = rows.first.locator('td[data-column="examples"] a')
        expect(link).to_have_attribute("href", f"/console#handoff={facts.H1}")
    href = page.locator("#download-csv").get_attribute("href")
    assert href == f"/api/analytics/fmea?{QUERY}&format=csv"
    keep(sam, "planning-fmea", tmp_path)

    assert elsewhere == []
    assert [e for e in sam.errors if "404" not in e] == []


def test_the_dashboard_shows_the_repeat_rate(desk: Desk, actors: Any) -> None:
    sam = actors("sam-repeats")
    offline(sam, desk)
    page = log_in(sam, desk, "sam", f"/supervisor?{QUERY}")
    expect(page).to_have_url(re.compile(r"/console$"))
    page.goto(f"{desk.url}/supervisor?{QUERY}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    # H1 (claimed) repeated its order number; H2 (claimed) carried no field.
    expect(page.locator("#repeat-rate")).to_have_text(
        "50.0% of 2 claimed handoffs had a repeat (1)."
    )
    fields = page.locator("#table-repeat_fields tbody tr")
    expect(fields.locator('td[data-column="field"]')).to_have_text(["email", "order number"])
    expect(fields.locator('td[data-column="rate"]')).to_have_text(["0.0%", "100.0%"])
    example = page.locator("#repeat-examples li a")
    expect(example).to_have_text("order status: order number")
    # The facts' handoff is not in this desk's database: the console asks for it all the same.
    with page.expect_response(re.compile(f"/api/handoffs/{facts.H1}$")) as opened:
        example.click()
    expect(page).to_have_url(re.compile(f"/console#handoff={facts.H1}$"))
    assert opened.value.status == 404
