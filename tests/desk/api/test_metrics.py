"""`GET /metrics` (`desk.api.metrics`): Prometheus' bearer token, and the exposition it gets
for a hand-built database, parsed as Prometheus parses it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from desk.app import create_app
from desk.services.agents import Actor
from desk.settings import DeskSettings
from desk.store.database import Database
from tests.desk.conftest import Browser
from tests.desk.floor_world import build_world

METRICS_TOKEN = "test-metrics-token"


@pytest.fixture
def settings(settings: DeskSettings) -> DeskSettings:
    """The conftest's settings, with a metrics token."""
    return settings.copy(update={"metrics_token": METRICS_TOKEN})


def values(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer"],
)
async def test_a_scrape_without_the_token_is_refused(
    anonymous: Browser, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = await anonymous.raw("GET", "/metrics", headers=headers)

    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert await response.json() == {"error": "missing or wrong bearer token"}


async def test_a_session_is_not_a_metrics_token(sam: Browser) -> None:
    assert (await sam.get("/metrics"))[0] == 401


async def test_prometheus_reads_the_desk_with_the_token(
    database: Database,
    actors: dict[str, Actor],
    context_factory: Callable[..., dict[str, Any]],
    browsers: Callable[..., Browser],
    olivia: Browser,
) -> None:
    build_world(database, context_factory, actors)
    console = await olivia.live()
    assert (await console.receive_json(timeout=5))["type"] == "connected"
    prometheus = browsers({"Authorization": f"Bearer {METRICS_TOKEN}"})

    response = await prometheus.raw("GET", "/metrics")

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = values(await response.text())
    assert found[("desk_agents_online", ())] == 1
    assert found[("desk_queue_waiting", (("queue", "order_support"),))] == 2
    assert found[("desk_queue_waiting", (("queue", "vip_lounge"),))] == 1
    assert {
        labels[0][1]: value
        for (name, labels), value in found.items()
        if name == "desk_handoffs_total"
    } == {
        "queued": 10,
        "claimed": 5,
        "resolved": 2,
        "handed_back": 1,
        "abandoned": 1,
        "expired": 1,
    }
    assert found[("desk_handoff_wait_seconds_count", ())] == 5
    assert found[("desk_handoff_wait_seconds_sum", ())] == 2790.0
    assert found[("desk_handoff_wait_seconds_bucket", (("le", "300.0"),))] == 3
    assert found[("desk_handoff_handle_seconds_sum", ())] == 460.0
    await console.close()


async def test_without_a_token_configured_no_metrics_are_served(
    settings: DeskSettings, database: Database
) -> None:
    server = TestServer(create_app(settings.copy(update={"metrics_token": None})))
    await server.start_server()
    try:
        browser = Browser(server, {"Authorization": "Bearer "})
        status, body = await browser.get("/metrics")
        await browser.close()
    finally:
        await server.close()

    assert (status, body) == (
        404,
        {"error": "metrics are off: set DESK_METRICS_TOKEN to serve them"},
    )
