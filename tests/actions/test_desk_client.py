"""The action server's desk client against the real desk application on loopback."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from actions.desk_client import DeskCallFailed, DeskClient, Granted, Locked, Refused
from actions.handoff.delivery import HandoffClient
from contract.applications import ApplicationEventRequest
from contract.appointments import BookAppointment
from contract.resume import MAX_FAILED_ATTEMPTS, VerificationStarted
from desk.app import create_app
from desk.settings import DeskSettings
from desk.store.database import Database as DeskDatabase
from harness.recording_endpoint import RecordingEndpoint
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
    # Generous, for a busy machine: the time-out itself is tried below with its own client.
    desk_client = DeskClient(url=handoff_url(desk), secret=SECRET, timeout_seconds=10.0)
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


# --- Resuming and branch appointments, against the desk's stand-in ---------------------------
# The desk's own routes for these are built in parallel; the recording endpoint answers as
# `contract.resume` and `contract.appointments` say (harness/journey_desk.py).


@pytest.fixture
async def stand_in() -> AsyncIterator[RecordingEndpoint]:
    """The desk's stand-in, with its applications, codes and appointments."""
    async with RecordingEndpoint(secret=SECRET) as running:
        yield running


@pytest.fixture
async def journey_client(stand_in: RecordingEndpoint) -> AsyncIterator[DeskClient]:
    """A client of the stand-in, closed after the test."""
    desk_client = DeskClient(url=stand_in.url, secret=SECRET, timeout_seconds=2.0)
    yield desk_client
    await desk_client.close()


async def _ready_to_sign(client: DeskClient, stand_in: RecordingEndpoint) -> str:
    created = await client.create_application(new_application())
    stand_in.journey.set_stage(created.reference, "ready_to_sign")
    return created.reference


async def test_the_code_sent_to_the_email_on_file_grants_resuming(
    journey_client: DeskClient, stand_in: RecordingEndpoint
) -> None:
    created = await journey_client.create_application(new_application())

    started = await journey_client.start_verification(
        created.reference.lower(), "JANE@example.com", "new-chat"
    )
    code = stand_in.journey.last_code(created.reference)
    assert code is not None
    verdict = await journey_client.confirm_verification(created.reference, code, "new-chat")

    assert isinstance(started, VerificationStarted) and started.expires_in_seconds > 0
    assert isinstance(verdict, Granted)
    assert verdict.application.reference == created.reference
    assert verdict.application.events[-1].kind == "resumed"


async def test_a_wrong_code_is_refused_with_the_tries_left_then_locked(
    journey_client: DeskClient, stand_in: RecordingEndpoint
) -> None:
    created = await journey_client.create_application(new_application())
    await journey_client.start_verification(created.reference, "jane@example.com", "chat")

    verdicts = [
        await journey_client.confirm_verification(created.reference, "000000", "chat")
        for _ in range(MAX_FAILED_ATTEMPTS)
    ]

    assert verdicts[:2] == [Refused(attempts_left=4), Refused(attempts_left=3)]
    assert isinstance(verdicts[-1], Locked)
    assert verdicts[-1].locked_until > datetime.now(timezone.utc)
    # Locked: even a new code request says so.
    again = await journey_client.start_verification(created.reference, "jane@example.com", "c")
    assert isinstance(again, Locked)


async def test_a_wrong_email_sends_no_code_and_an_unknown_reference_answers_the_same(
    journey_client: DeskClient, stand_in: RecordingEndpoint
) -> None:
    created = await journey_client.create_application(new_application())

    wrong = await journey_client.start_verification(created.reference, "eve@example.com", "c")
    unknown = await journey_client.start_verification("MTG-00000", "jane@example.com", "c")

    assert wrong == unknown
    assert stand_in.journey.last_code(created.reference) is None


async def test_a_wrong_secret_at_the_confirmation_is_a_failure_not_a_refusal(
    stand_in: RecordingEndpoint,
) -> None:
    client = DeskClient(url=stand_in.url, secret="wrong", timeout_seconds=2)
    try:
        with pytest.raises(DeskCallFailed, match="401") as failed:
            await client.confirm_verification("MTG-7K3Q9", "123456", "chat")
    finally:
        await client.close()

    assert failed.value.status == 401


async def test_branches_and_their_free_slots(journey_client: DeskClient) -> None:
    branches = await journey_client.branches()
    offer = await journey_client.free_slots(branches[0].key, days=14, limit=4)

    assert [branch.key for branch in branches] == ["leeds_park_row", "manchester_king_street"]
    assert offer.branch == branches[0]
    assert 0 < len(offer.slots) <= 4
    assert all(slot.starts_at > datetime.now(timezone.utc) for slot in offer.slots)
    assert [slot.starts_at for slot in offer.slots] == sorted(s.starts_at for s in offer.slots)


async def test_an_unknown_branch_fails_with_the_status(journey_client: DeskClient) -> None:
    with pytest.raises(DeskCallFailed, match="404") as failed:
        await journey_client.free_slots("../applications")

    assert failed.value.status == 404


async def test_an_appointment_is_booked_moved_and_cancelled(
    journey_client: DeskClient, stand_in: RecordingEndpoint
) -> None:
    reference = await _ready_to_sign(journey_client, stand_in)
    first, second = (await journey_client.free_slots("leeds_park_row", limit=2)).slots

    booked = await journey_client.book_appointment(
        reference, BookAppointment(branch="leeds_park_row", starts_at=first.starts_at)
    )
    moved = await journey_client.reschedule_appointment(
        reference, BookAppointment(branch="leeds_park_row", starts_at=second.starts_at)
    )
    cancelled = await journey_client.cancel_appointment(reference)

    assert booked.stage == "appointment_booked"
    assert booked.appointment is not None and booked.appointment.label == first.label
    assert moved.appointment is not None and moved.appointment.starts_at == second.starts_at
    assert (cancelled.stage, cancelled.appointment) == ("ready_to_sign", None)
    assert [e.kind for e in cancelled.events][-3:] == [
        "appointment_booked",
        "appointment_rescheduled",
        "appointment_cancelled",
    ]


async def test_a_slot_taken_meanwhile_is_a_conflict_and_nothing_is_booked(
    journey_client: DeskClient, stand_in: RecordingEndpoint
) -> None:
    reference = await _ready_to_sign(journey_client, stand_in)
    (slot,) = (await journey_client.free_slots("leeds_park_row", limit=1)).slots
    stand_in.journey.take_slot("leeds_park_row", slot.starts_at)

    with pytest.raises(DeskCallFailed, match="409") as failed:
        await journey_client.book_appointment(
            reference, BookAppointment(branch="leeds_park_row", starts_at=slot.starts_at)
        )

    assert failed.value.status == 409
    after = await journey_client.get_application(reference)
    assert after is not None and (after.stage, after.appointment) == ("ready_to_sign", None)


async def test_the_new_calls_fail_clearly_when_the_desk_is_down() -> None:
    client = DeskClient(url=NOWHERE, secret=SECRET, timeout_seconds=2)
    slot = BookAppointment(branch="leeds_park_row", starts_at=datetime.now(timezone.utc))
    calls = [
        client.start_verification("MTG-7K3Q9", "jane@example.com", "chat"),
        client.confirm_verification("MTG-7K3Q9", "123456", "chat"),
        client.branches(),
        client.free_slots("leeds_park_row"),
        client.book_appointment("MTG-7K3Q9", slot),
        client.reschedule_appointment("MTG-7K3Q9", slot),
        client.cancel_appointment("MTG-7K3Q9"),
    ]
    try:
        for call in calls:
            with pytest.raises(DeskCallFailed) as failed:
                await call
            assert failed.value.status is None
    finally:
        await client.close()
