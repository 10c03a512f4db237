"""`GET /api/analytics/floor` and the strip pushed to the supervisors' consoles (`desk.floor`),
through the desk's HTTP API and websocket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from contract.analytics_report import FLOOR_MESSAGE, Floor
from desk.app import create_app
from desk.services.agents import Actor
from desk.services.service_levels import ServiceLevelFileError
from desk.settings import DeskSettings
from desk.store.database import Database
from tests.desk.conftest import PASSWORD, Browser, post_handoff
from tests.support.mortgage_cases import add_case_people

ContextFactory = Callable[..., dict[str, Any]]
WAIT = 5.0
FLOOR_PATH = "/api/analytics/floor"


async def connect(browser: Browser) -> ClientWebSocketResponse:
    socket = await browser.live()
    assert (await socket.receive_json(timeout=WAIT))["type"] == "connected"
    return socket


async def floor_where(socket: ClientWebSocketResponse, matches: Callable[[Floor], bool]) -> Floor:
    """The first strip pushed to `socket` that `matches` (earlier ones and other messages are
    skipped), within WAIT seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        message = await socket.receive_json(timeout=max(0.1, deadline - loop.time()))
        if message.pop("type") == FLOOR_MESSAGE:
            floor = Floor.parse_obj(message)
            if matches(floor):
                return floor


async def test_a_supervisor_reads_the_strip(
    bot: Browser,
    sam: Browser,
    olivia: Browser,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await post_handoff(bot, context_factory(queue="tech_support_l2"))
    console = await connect(olivia)

    status, body = await sam.get(FLOOR_PATH)

    assert status == 200, body
    floor = Floor.parse_obj(body)
    assert (floor.waiting, floor.agents_online, floor.breaches) == (1, 1, [])
    tech = next(queue for queue in floor.queues if queue.queue == "tech_support_l2")
    assert (tech.waiting, tech.sla_s) == (1, 300.0)  # content/service_levels.yml
    assert tech.oldest_wait_s is not None and 0 <= tech.oldest_wait_s < WAIT
    assert floor.oldest_wait_s == tech.oldest_wait_s
    assert handoff_id not in str(body["queues"])  # no handoff is named unless it breaches
    await console.close()


async def test_only_supervisors_read_the_strip(
    database: Database,
    actors: dict[str, Actor],
    browsers: Callable[..., Browser],
    olivia: Browser,
    anonymous: Browser,
) -> None:
    add_case_people(database, PASSWORD)
    bea = await browsers().login("bea")  # branch staff

    assert await olivia.get(FLOOR_PATH) == (403, {"error": "the live floor is for supervisors"})
    assert await bea.get(FLOOR_PATH) == (403, {"error": "the live floor is for supervisors"})
    assert await anonymous.get(FLOOR_PATH) == (401, {"error": "log in first"})


async def test_the_strip_is_pushed_to_supervisors_and_not_to_agents(
    bot: Browser, sam: Browser, olivia: Browser, context_factory: ContextFactory
) -> None:
    olivia_live = await connect(olivia)
    sam_live = await connect(sam)
    # Sam's console connecting changed who is online: the strip says so.
    online = await floor_where(sam_live, lambda floor: floor.agents_online == 2)
    assert online.waiting == 0

    first = await post_handoff(bot, context_factory(queue="order_support"))
    assert (await floor_where(sam_live, lambda floor: floor.waiting == 1)).queues[0].waiting == 1
    second = await post_handoff(bot, context_factory(queue="order_support"))
    await floor_where(sam_live, lambda floor: floor.waiting == 2)

    # Olivia heard of both handoffs and of nothing between them: the strips pushed to Sam
    # before the second handoff would have come first.
    seen = [await olivia_live.receive_json(timeout=WAIT) for _ in range(2)]
    assert [(m["type"], m["handoff_id"]) for m in seen] == [
        ("queue_changed", first),
        ("queue_changed", second),
    ]

    status, body = await olivia.post(f"/api/handoffs/{first}/claim")
    assert status == 200, body
    claimed = await floor_where(sam_live, lambda floor: floor.waiting == 1)
    assert claimed.queues[0].waiting == 1
    await olivia_live.close()
    gone = await floor_where(sam_live, lambda floor: floor.agents_online == 1)
    assert gone.waiting == 1
    await sam_live.close()


async def test_a_broken_service_level_file_stops_the_desk_at_start_up(
    settings: DeskSettings, tmp_path: Path
) -> None:
    broken = tmp_path / "service_levels.yml"
    broken.write_text("version: 1\ndefault_claim_seconds: 60\nqueues:\n  nowhere: 5\n")

    with pytest.raises(ServiceLevelFileError, match=r"queues\.nowhere: unknown queue"):
        create_app(settings.copy(update={"service_levels_path": broken}))
