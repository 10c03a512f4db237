"""The planning views' routes (desk/api/analytics.py): the journey map and the service
blueprint (JSON and SVG), supervisors only, and the page that shows them
(`tests.support.planning_facts`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from analytics.settings import AnalyticsSettings
from contract.analytics_report import Blueprint, JourneyMap
from desk.services.agents import create_agent
from desk.store.database import Database
from desk.store.models import AgentRole
from tests.desk.conftest import PASSWORD, Browser
from tests.support import analytics_facts as facts
from tests.support.planning_facts import seed_planning_facts

QUERY = f"start={facts.PERIOD_START}&end={facts.PERIOD_END}&journey=order_status"
MAP = "/api/analytics/journey-map?" + QUERY
BLUEPRINT = "/api/analytics/blueprint?" + QUERY
SVG = BLUEPRINT + "&format=svg"


@pytest.fixture
def analytics_settings(tmp_path: Path, database_url: str) -> AnalyticsSettings:
    """The dashboard's hand-counted set with the planning facts on top."""
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    seed_planning_facts(url)
    return AnalyticsSettings(
        database_url=url,
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        desk_database_url=database_url,
        timezone="Europe/London",
    )


@pytest.fixture
async def bea(database: Database, browsers: Callable[..., Browser]) -> Browser:
    """Branch staff, logged in."""
    with database.session(write=True) as session:
        create_agent(
            session,
            username="bea",
            display_name="Bea",
            password=PASSWORD,
            role=AgentRole.BRANCH_STAFF,
            branch="leeds_park_row",
        )
    return await browsers().login("bea")


@pytest.mark.parametrize("path", [MAP, BLUEPRINT, SVG])
async def test_only_supervisors_see_the_planning_views(
    path: str, anonymous: Browser, olivia: Browser, bea: Browser, sam: Browser
) -> None:
    assert (await anonymous.get(path))[0] == 401
    for stranger in (olivia, bea):
        assert await stranger.get(path) == (403, {"error": "the analytics are for supervisors"})
    assert (await sam.get(path))[0] == 200


async def test_the_journey_map(sam: Browser) -> None:
    status, body = await sam.get(MAP + "&outcome=handed_off")
    assert status == 200, body
    found = JourneyMap.parse_obj(body)
    assert (found.units, found.query.outcome.value) == (1, "handed_off")
    assert found.stages[0].stage == "asked"


async def test_the_blueprint_as_json(sam: Browser) -> None:
    status, body = await sam.get(BLUEPRINT)
    assert status == 200, body
    found = Blueprint.parse_obj(body)
    steps = {step.step: step for step in found.steps}
    assert steps["lookup"].duration_s.p50 == 6.0  # 4, 6, 8 s
    assert steps["claim"].duration_s.p50 == 45.0
    # The FMEA catalog's modes (content/handoff_fmea.yml) on their steps.
    assert "no_agent_online" in steps["queue_wait"].failure_modes


async def test_the_blueprint_as_svg(sam: Browser) -> None:
    response = await sam.raw("GET", SVG + "&queue=order_support")
    assert response.status == 200
    assert response.content_type == "image/svg+xml"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="blueprint-order_status-2026-11-02-2026-11-08.svg"'
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    root = ET.fromstring(await response.text())
    steps = [g.get("data-step") for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert "queue_wait" in steps and "order_db" in steps


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("start=2026-11-02", "journey must be one of order_status, troubleshooting, mortgage"),
        ("journey=weather", "journey must be one of order_status"),
        ("journey=order_status&start=2026-02-30", "start must be a date as YYYY-MM-DD"),
        ("journey=order_status&start=2026-11-08&end=2026-11-01", "end (2026-11-01) is before"),
        ("journey=order_status&outcome=happy", "outcome must be one of all, bot_only, handed_"),
        ("journey=order_status&queue=nowhere", "queue must be one of order_support"),
        ("journey=order_status&queue=a&queue=b", "queue is given more than once"),
        ("journey=order_status&grain=week", "unknown parameter 'grain'"),
    ],
)
async def test_a_bad_planning_query_is_a_400_naming_it(
    sam: Browser, query: str, error: str
) -> None:
    for path in ("/api/analytics/journey-map?", "/api/analytics/blueprint?"):
        status, body = await sam.get(path + query)
        assert status == 400, (path, body)
        assert body["error"].startswith(error), (path, body)


async def test_an_unknown_blueprint_format_is_a_400(sam: Browser) -> None:
    assert await sam.get(BLUEPRINT + "&format=png") == (
        400,
        {"error": "format must be one of json, svg"},
    )
    assert (await sam.get(MAP + "&format=svg"))[0] == 400


async def test_the_planning_page_is_for_supervisors(
    anonymous: Browser, olivia: Browser, bea: Browser, sam: Browser
) -> None:
    for browser, where in ((anonymous, "/login"), (olivia, "/console"), (bea, "/branch")):
        response = await browser.raw("GET", "/supervisor/planning", allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (302, where)
    page = await sam.raw("GET", "/supervisor/planning")
    assert page.status == 200
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    html = (await sam.get("/supervisor/planning"))[1]
    assert '<script type="module" src="/static/planning.js"></script>' in html
    assert "<script>" not in html
    for name in ("planning.js", "planning.css"):
        assert (await anonymous.raw("GET", f"/static/{name}")).status == 200, name
    dashboard = (await sam.get("/supervisor"))[1]
    assert 'href="/supervisor/planning"' in dashboard
