"""The action server's desk client against the real desk application on loopback."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from actions.desk_client import DeskCallFailed, DeskClient
from actions.handoff.delivery import HandoffClient
from contract.applications import ApplicationEventRequest
from desk.app import create_app
from desk.settings import DeskSettings
from desk.store.database import Database as DeskDatabase
from tests.desk.conftest import make_context
from tests.support.applications import new_application

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

SECRET = "desk-client-secret"
#: Nothing listens on the discard port.
NOWHERE = "http://127.0.0.1:9/api/handoffs"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[TestServer]:
    """The real desk application with a migrated database of its own."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    database = DeskDatabase(url)
    database.migrate()
    database.dispose()
    settings = DeskSettings(
        database_url=url,
        handoff_secret=SECRET,
        rasa_auth_token="rasa-token",
        rasa_url="http://127.0.0.1:9",
        rasa_timeout_seconds=0.5,
    )
    server = TestServer(create_app(settings))
    await server.start_server()
    yield server
    await server.close()


def handoff_url(server: TestServer) -> str:
    """HANDOFF_URL as the action server is configured with it."""
    return str(server.make_url("/api/handoffs"))


@pytest.fixture
async def client(desk: TestServer) -> AsyncIterator[DeskClient]:
    """A client of the desk, closed after the test."""
    desk_client = DeskClient(url=handoff_url(desk), secret=SECRET, timeout_seconds=2.0)
    yield desk_client
    await desk_client.close()


async def test_an_application_is_created_read_and_added_to(client: DeskClient) -> None:
    created = await client.create_application(new_application())

    read = await client.get_application(created.reference.lower())
    noted = await client.record_application_event(
        created.reference,
        ApplicationEventRequest(
            touchpoint="web_chat", kind="handed_to_advisor", actor_kind="bot", actor="bot"
        ),
    )

    assert read == created
    assert (created.loan_amount, created.annual_income) == (Decimal("200000"), Decimal("62500.5"))
    assert created.loan_to_value == Decimal("0.8")
    assert [event.kind for event in created.events] == ["chat_started", "form_completed"]
    assert noted.stage == "advice"
    assert [(e.touchpoint, e.kind, e.actor_kind) for e in noted.events][2:] == [
        ("web_chat", "handed_to_advisor", "bot")
    ]
    assert noted.created_at == created.created_at


async def test_an_unknown_reference_is_none(client: DeskClient) -> None:
    assert await client.get_application("MTG-00000") is None
    assert await client.get_application("../handoffs") is None


async def test_an_event_for_an_unknown_application_fails_with_the_status(
    client: DeskClient,
) -> None:
    event = ApplicationEventRequest(touchpoint="desk", kind="note")

    with pytest.raises(DeskCallFailed, match="404") as failed:
        await client.record_application_event("MTG-00000", event)

    assert failed.value.status == 404


async def test_one_session_serves_every_call_and_is_closed(client: DeskClient) -> None:
    created = await client.create_application(new_application())
    session = client._session
    await client.get_application(created.reference)

    assert client._session is session
    await client.close()
    assert session is not None and session.closed
    # A closed client opens a new session when used again.
    assert await client.get_application(created.reference) == created


async def test_handoffs_and_applications_share_the_one_client(desk: TestServer) -> None:
    handoffs = HandoffClient(
        url=handoff_url(desk), secret=SECRET, timeout_seconds=2, attempts=1, backoff_seconds=0
    )
    context = make_context(queue="mortgage_advisors")
    try:
        delivered = await handoffs.deliver_body(context["handoff_id"], json.dumps(context))
        session = handoffs._session
        created = await handoffs.create_application(new_application())
    finally:
        await handoffs.close()

    assert delivered.delivered and delivered.status_code == 201
    assert handoffs._session is None and session is not None and session.closed
    assert created.reference.startswith("MTG-")


async def test_a_wrong_secret_fails_clearly(desk: TestServer) -> None:
    client = DeskClient(url=handoff_url(desk), secret="wrong", timeout_seconds=2)
    try:
        with pytest.raises(DeskCallFailed, match=r"401.*bearer token") as failed:
            await client.create_application(new_application())
        with pytest.raises(DeskCallFailed, match="401"):
            await client.get_application("MTG-00000")
    finally:
        await client.close()

    assert failed.value.status == 401


async def test_after_a_handoff_the_desk_refusal_is_false_not_an_error(client: DeskClient) -> None:
    unknown = str(uuid.uuid4())

    assert await client.store_csat(unknown, 4, "kind") is False
    assert await client.store_callback(unknown, "call me") is False


async def test_an_unreachable_desk_fails_clearly() -> None:
    client = DeskClient(url=NOWHERE, secret=SECRET, timeout_seconds=2)
    try:
        with pytest.raises(DeskCallFailed, match="ClientConnectorError") as failed:
            await client.create_application(new_application())
        assert await client.store_csat(str(uuid.uuid4()), 5, None) is False
    finally:
        await client.close()

    assert failed.value.status is None


async def test_a_stalled_desk_times_out() -> None:
    released = asyncio.Event()  # set only after the client gave up: the desk never answers

    async def stall(_request: web.Request) -> web.Response:
        await released.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/api/applications/{reference}", stall)
    server = TestServer(app)
    await server.start_server()
    client = DeskClient(url=handoff_url(server), secret=SECRET, timeout_seconds=0.2)
    try:
        with pytest.raises(DeskCallFailed, match=r"timed out after 0\.2s"):
            await client.get_application("MTG-7K3Q9")
    finally:
        released.set()
        await client.close()
        await server.close()


async def test_an_answer_that_is_not_an_application_fails_clearly() -> None:
    async def not_an_application(_request: web.Request) -> web.Response:
        return web.json_response({"ok": 1}, status=201)

    app = web.Application()
    app.router.add_post("/api/applications", not_an_application)
    server = TestServer(app)
    await server.start_server()
    client = DeskClient(url=handoff_url(server), secret=SECRET, timeout_seconds=1)
    try:
        with pytest.raises(DeskCallFailed, match="is not an application"):
            await client.create_application(new_application())
    finally:
        await client.close()
        await server.close()
