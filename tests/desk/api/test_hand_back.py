"""The hand-back plug-in point: what `create_app(hand_back=...)` does with a resolution."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from desk.app import create_app
from desk.rasa_client import RasaUnavailable
from desk.services.agents import Actor
from desk.services.handoffs import Resolution
from desk.settings import DeskSettings
from desk.store.database import Database
from desk.store.repositories import HandoffRepository
from tests.desk.conftest import HANDOFF_SECRET, Browser, post_handoff

ContextFactory = Callable[..., dict[str, Any]]


class RecordingHandBack:
    """Remembers resolutions; answers True (handed back) or fails, as told."""

    def __init__(self, *, fail: bool = False, refusal: Exception | None = None) -> None:
        self.fail = fail
        self.refusal = refusal
        self.resolutions: list[Resolution] = []

    async def __call__(self, resolution: Resolution) -> bool:
        self.resolutions.append(resolution)
        if self.refusal is not None:
            raise self.refusal
        if self.fail:
            raise ConnectionError("Rasa is down")
        return True


@pytest.fixture
async def started(
    settings: DeskSettings, database: Database, actors: dict[str, Actor]
) -> AsyncIterator[Callable[[RecordingHandBack], Any]]:
    servers: list[TestServer] = []
    clients: list[Browser] = []

    async def start(hand_back: RecordingHandBack) -> tuple[Browser, Browser]:
        server = TestServer(create_app(settings, hand_back=hand_back))
        await server.start_server()
        servers.append(server)
        bot = Browser(server, {"Authorization": f"Bearer {HANDOFF_SECRET}"})
        agent = Browser(server)
        clients.extend([bot, agent])
        return bot, await agent.login("olivia")

    yield start
    for client in clients:
        await client.close()
    for server in servers:
        await server.close()


async def _resolve(bot: Browser, olivia: Browser, payload: dict[str, Any]) -> tuple[int, Any]:
    handoff_id = await post_handoff(bot, payload)
    await olivia.post(f"/api/handoffs/{handoff_id}/claim")
    return await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"refund_offered": True}},
    )


async def test_a_successful_hand_back_marks_the_handoff_handed_back(
    started: Callable[[RecordingHandBack], Any], context_factory: ContextFactory
) -> None:
    hand_back = RecordingHandBack()
    bot, olivia = await started(hand_back)
    payload = context_factory(sender_id="customer-7")

    status, body = await _resolve(bot, olivia, payload)

    assert status == 200
    assert body["handed_back"] is True
    assert body["handoff"]["status"] == "handed_back"
    assert body["handoff"]["handed_back_at"] is not None
    (resolution,) = hand_back.resolutions
    assert (resolution.sender_id, resolution.slots, resolution.agent_name) == (
        "customer-7",
        {"refund_offered": True},
        "Olivia",
    )


async def test_a_failed_hand_back_leaves_the_handoff_resolved(
    started: Callable[[RecordingHandBack], Any], context_factory: ContextFactory
) -> None:
    bot, olivia = await started(RecordingHandBack(fail=True))

    status, body = await _resolve(bot, olivia, context_factory())

    assert status == 200
    assert (body["handed_back"], body["handoff"]["status"]) == (False, "resolved")


def _refusals(database: Database, handoff_id: str) -> list[dict[str, Any]]:
    with database.session() as session:
        events = HandoffRepository(session).events(handoff_id)
    return [e.detail for e in events if e.kind == "hand_back_refused"]


@pytest.mark.parametrize(
    ("hand_back", "detail"),
    [
        (RecordingHandBack(fail=True), {"reason": "unexpected_error"}),
        (
            RecordingHandBack(refusal=RasaUnavailable("Rasa answered 500 (secret)", status=500)),
            {"reason": "rasa_unavailable", "status": 500},
        ),
    ],
)
async def test_a_refused_hand_back_is_recorded_without_rasas_text(
    started: Callable[[RecordingHandBack], Any],
    context_factory: ContextFactory,
    database: Database,
    hand_back: RecordingHandBack,
    detail: dict[str, Any],
) -> None:
    bot, olivia = await started(hand_back)

    status, body = await _resolve(bot, olivia, context_factory())

    assert (status, body["handed_back"]) == (200, False)
    assert _refusals(database, body["handoff"]["handoff_id"]) == [detail]


async def test_a_successful_hand_back_records_no_refusal(
    started: Callable[[RecordingHandBack], Any], context_factory: ContextFactory, database: Database
) -> None:
    bot, olivia = await started(RecordingHandBack())

    status, body = await _resolve(bot, olivia, context_factory())

    assert (status, body["handed_back"]) == (200, True)
    assert _refusals(database, body["handoff"]["handoff_id"]) == []
