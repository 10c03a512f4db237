"""The document routes (`desk.api.documents`) through the real app: the customer's upload
from the chat page, reading a document and reviewing it at the desk."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from contract.documents import MAX_DOCUMENT_BYTES
from contract.webchat import TRANSCRIPT_TOKEN_HEADER, transcript_key, transcript_token
from desk.services import applications
from desk.services.agents import create_agent
from desk.settings import DeskSettings
from desk.store.database import Database
from desk.store.models import AgentRole, BranchAppointment
from desk.store.types import utcnow
from tests.desk.api.test_live_handoff import settle
from tests.desk.conftest import HANDOFF_SECRET, PASSWORD, Browser, post_handoff
from tests.desk.rasa_stand_in import RASA_TOKEN, RasaStandIn
from tests.support.documents import (
    CHAT_ID,
    EXE_BYTES,
    HTML_BYTES,
    OTHER_CHAT_ID,
    collecting_application,
    jpeg_bytes,
    minimal_pdf,
    padded_pdf,
    png_bytes,
)

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

BRANCH = "leeds_park_row"
UPLOADS = "/chat/uploads"


@pytest.fixture
def documents_dir(tmp_path: Path) -> Path:
    return tmp_path / "documents"


@pytest.fixture
def settings(database_url: str, rasa: RasaStandIn, documents_dir: Path) -> DeskSettings:
    """The test settings, keeping documents in the test's own directory."""
    return DeskSettings(
        database_url=database_url,
        handoff_secret=HANDOFF_SECRET,
        rasa_auth_token=RASA_TOKEN,
        rasa_url=rasa.url,
        rasa_timeout_seconds=1.0,
        documents_dir=documents_dir,
    )


@pytest.fixture
def reference(database: Database) -> str:
    with database.session(write=True) as session:
        reference = collecting_application(session)
        # Mortgage advisors and branch staff work here too.
        for username, role, queues, branch in (
            ("maya", AgentRole.AGENT, ("mortgage_advisors",), None),
            ("bella", AgentRole.BRANCH_STAFF, (), BRANCH),
        ):
            create_agent(
                session,
                username=username,
                display_name=username.title(),
                password=PASSWORD,
                role=role,
                queues=queues,
                branch=branch,
            )
        return reference


@pytest.fixture
async def maya(browsers: Callable[..., Browser], reference: str) -> Browser:
    """Maya's browser, logged in (a mortgage advisor)."""
    return await browsers().login("maya")


@pytest.fixture
async def bella(browsers: Callable[..., Browser], reference: str) -> Browser:
    """Bella's browser, logged in (branch staff at Leeds)."""
    return await browsers().login("bella")


def opens(session_id: str, valid_for: float = 3600.0, secret: str = HANDOFF_SECRET) -> str:
    """The chat token of `session_id` (as `POST /chat/sessions` signs it)."""
    return transcript_token(transcript_key(secret), session_id, int(time.time() + valid_for))


@pytest.fixture
def customer(browsers: Callable[..., Browser]) -> Browser:
    """The customer's web chat page (nobody logged in), sending its chat's token."""
    return browsers({TRANSCRIPT_TOKEN_HEADER: opens(CHAT_ID)})


def form(
    reference: str,
    data: bytes = b"",
    *,
    file_name: str = "payslip.pdf",
    item: str = "payslips",
    session_id: str = CHAT_ID,
) -> FormData:
    """The form the chat page sends (claiming the type the name suggests, as browsers do),
    the file name as it is (a hostile client does not percent-encode it)."""
    body = FormData(quote_fields=False)
    body.add_field("session_id", session_id)
    body.add_field("reference", reference)
    body.add_field("item", item)
    body.add_field(
        "file", data or minimal_pdf(), filename=file_name, content_type="application/pdf"
    )
    return body


def stored(documents_dir: Path) -> list[Path]:
    if not documents_dir.exists():
        return []
    return sorted(path for path in documents_dir.rglob("*") if path.is_file())


def snapshot(database: Database, reference: str) -> tuple[str, int, int]:
    with database.session() as session:
        application = applications.load(session, reference)
        return application.stage, len(application.documents), len(application.events)


@pytest.fixture
async def nothing_kept(
    database: Database, reference: str, documents_dir: Path, rasa: RasaStandIn, server: TestServer
) -> AsyncIterator[None]:
    """After the test: no row, no file, no timeline entry, and the bot said nothing."""
    before = snapshot(database, reference)
    yield
    await settle(server)
    assert snapshot(database, reference) == before
    assert stored(documents_dir) == []
    assert rasa.of_kind("execute") == []


async def fetch(browser: Browser, path: str) -> tuple[int, CIMultiDictProxy[str], bytes]:
    """GET as `browser`: the status, the headers and the body as bytes."""
    async with browser.session.get(browser.server.make_url(path)) as response:
        return response.status, response.headers, await response.read()


async def upload(customer: Browser, reference: str, data: bytes = b"", **fields: Any) -> Any:
    status, body = await customer.post(UPLOADS, data=form(reference, data, **fields))
    assert status == 201, body
    return body


# --- The customer's upload --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "data", "content_type"),
    [
        ("payslip.pdf", minimal_pdf(), "application/pdf"),
        ("scan.png", png_bytes(), "image/png"),
        ("photo.jpg", jpeg_bytes(), "image/jpeg"),
    ],
)
async def test_an_upload_is_201_stored_and_the_bot_thanks_the_chat(
    customer: Browser,
    server: TestServer,
    reference: str,
    documents_dir: Path,
    rasa: RasaStandIn,
    file_name: str,
    data: bytes,
    content_type: str,
) -> None:
    status, body = await customer.post(UPLOADS, data=form(reference, data, file_name=file_name))
    await settle(server)

    assert status == 201, body
    assert (body["reference"], body["item"], body["file_name"]) == (
        reference,
        "payslips",
        file_name,
    )
    assert (body["content_type"], body["size_bytes"], body["state"]) == (
        content_type,
        len(data),
        "uploaded",
    )
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    (path,) = stored(documents_dir)
    assert path.read_bytes() == data
    (call,) = rasa.of_kind("execute")
    assert (call.sender_id, call.body) == (CHAT_ID, {"name": "action_document_received"})


BAD_FILES = [
    pytest.param("payslip.pdf", EXE_BYTES, 415, "application/x-msdownload", id="exe-as-pdf"),
    pytest.param("scan.png", HTML_BYTES, 415, "not a PDF, JPEG or PNG", id="html-as-png"),
    pytest.param("payslip.pdf", b"%PDF-1.4\n%%EOF\n", 422, "damaged", id="corrupt-pdf"),
    pytest.param("scan.png", png_bytes()[:-12], 422, "damaged", id="corrupt-png"),
    pytest.param("../../payslip.pdf", minimal_pdf(), 422, "plain file name", id="path-up"),
    pytest.param("C:\\payslip.pdf", minimal_pdf(), 422, "plain file name", id="backslash"),
    pytest.param("pay\x01slip.pdf", minimal_pdf(), 422, "plain file name", id="control"),
]


@pytest.mark.usefixtures("nothing_kept")
@pytest.mark.parametrize(("file_name", "data", "status", "message"), BAD_FILES)
async def test_a_bad_file_gets_a_clear_message_and_nothing_is_kept(
    customer: Browser, reference: str, file_name: str, data: bytes, status: int, message: str
) -> None:
    answer, body = await customer.post(UPLOADS, data=form(reference, data, file_name=file_name))

    assert answer == status, body
    assert message in body["error"]


@pytest.mark.usefixtures("nothing_kept")
async def test_an_empty_file_is_422(customer: Browser, reference: str) -> None:
    body = FormData()
    for name, value in (("session_id", CHAT_ID), ("reference", reference), ("item", "payslips")):
        body.add_field(name, value)
    body.add_field("file", b"", filename="payslip.pdf", content_type="application/pdf")

    status, answer = await customer.post(UPLOADS, data=body)

    assert (status, answer["error"]) == (422, "the file is empty: choose the document again")


async def test_a_file_of_exactly_the_limit_is_taken(
    customer: Browser, reference: str, documents_dir: Path
) -> None:
    largest = padded_pdf(MAX_DOCUMENT_BYTES)

    document = await upload(customer, reference, largest)

    assert document["size_bytes"] == MAX_DOCUMENT_BYTES
    assert [path.stat().st_size for path in stored(documents_dir)] == [MAX_DOCUMENT_BYTES]


@pytest.mark.usefixtures("nothing_kept")
async def test_a_file_over_the_limit_is_413(customer: Browser, reference: str) -> None:
    too_big = padded_pdf(MAX_DOCUMENT_BYTES + 1)

    status, body = await customer.post(UPLOADS, data=form(reference, too_big))

    assert status == 413
    assert "larger than 10 MB" in body["error"]


async def _streamed(reference: str, boundary: str, file_bytes: int) -> AsyncIterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n{CHAT_ID}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="reference"\r\n\r\n{reference}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="item"\r\n\r\npayslips\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    ).encode()
    chunk = b"0" * (1024 * 1024)
    for _ in range(file_bytes // len(chunk)):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


@pytest.mark.usefixtures("nothing_kept")
async def test_a_streamed_file_is_refused_once_it_passes_the_limit(
    customer: Browser, reference: str
) -> None:
    boundary = "uploadboundary42"
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    # Chunked (no Content-Length): the desk finds out only by reading, and stops at the limit.
    body = _streamed(reference, boundary, MAX_DOCUMENT_BYTES + 2 * 1024 * 1024)

    status, answer = await customer.post(UPLOADS, data=body, headers=headers)

    assert status == 413
    assert "larger than 10 MB" in answer["error"]


@pytest.mark.usefixtures("nothing_kept")
async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    customer: Browser, reference: str
) -> None:
    boundary = "uploadboundary42"
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(MAX_DOCUMENT_BYTES * 2),
    }

    async def nothing_much() -> AsyncIterator[bytes]:
        yield b"--" + boundary.encode()

    raw = await customer.raw("POST", UPLOADS, data=nothing_much(), headers=headers)

    assert raw.status == 413


@pytest.mark.usefixtures("nothing_kept")
@pytest.mark.parametrize("chat", [OTHER_CHAT_ID])
async def test_an_upload_for_someone_elses_application_is_403(
    browsers: Callable[..., Browser], reference: str, chat: str
) -> None:
    other_chat = browsers({TRANSCRIPT_TOKEN_HEADER: opens(chat)})

    status, body = await other_chat.post(UPLOADS, data=form(reference, session_id=chat))

    assert (status, body["error"]) == (403, "this chat cannot send documents for that application")


@pytest.mark.usefixtures("nothing_kept")
@pytest.mark.parametrize(
    ("token", "error"),
    [
        (None, "the chat's token is missing (X-Chat-Token): start a new chat"),
        (opens(CHAT_ID, valid_for=-1), "the chat token has expired: start a new chat"),
        (opens(CHAT_ID, secret="another"), "the chat token is not valid: start a new chat"),
        ("v1." + CHAT_ID, "the chat token is malformed: start a new chat"),
    ],
    ids=["only the id", "expired", "forged", "malformed"],
)
async def test_an_upload_without_the_chats_token_is_401(
    browsers: Callable[..., Browser], reference: str, token: str | None, error: str
) -> None:
    """The chat id, which logs carry, is no credential: the token is."""
    page = browsers({TRANSCRIPT_TOKEN_HEADER: token} if token is not None else None)

    status, body = await page.post(UPLOADS, data=form(reference))

    assert (status, body["error"]) == (401, error)


@pytest.mark.usefixtures("nothing_kept")
async def test_an_upload_naming_another_chat_than_its_tokens_is_403(
    customer: Browser, reference: str
) -> None:
    status, body = await customer.post(UPLOADS, data=form(reference, session_id=OTHER_CHAT_ID))

    assert (status, body["error"]) == (403, "session_id is not the chat this token opens")


async def test_the_token_alone_names_the_chat(
    customer: Browser, server: TestServer, reference: str, rasa: RasaStandIn
) -> None:
    body = FormData()
    body.add_field("reference", reference)
    body.add_field("item", "payslips")
    body.add_field("file", minimal_pdf(), filename="payslip.pdf", content_type="application/pdf")

    status, answer = await customer.post(UPLOADS, data=body)
    await settle(server)

    assert status == 201, answer
    (call,) = rasa.of_kind("execute")
    assert call.sender_id == CHAT_ID


@pytest.mark.usefixtures("nothing_kept")
@pytest.mark.parametrize("typed", ["MTG-00000", "'; DROP TABLE mortgage_applications;--"])
async def test_an_unknown_reference_gets_the_same_403(
    customer: Browser, reference: str, typed: str
) -> None:
    status, body = await customer.post(UPLOADS, data=form(typed))

    assert (status, body["error"]) == (403, "this chat cannot send documents for that application")


@pytest.mark.usefixtures("nothing_kept")
async def test_an_item_not_on_the_checklist_is_422(customer: Browser, reference: str) -> None:
    status, body = await customer.post(UPLOADS, data=form(reference, item="<script>"))

    assert status == 422
    assert "is not on the checklist" in body["error"]


@pytest.mark.usefixtures("nothing_kept")
@pytest.mark.parametrize("session_id", ["", "0123", CHAT_ID.upper(), "../" + CHAT_ID[3:]])
async def test_a_malformed_session_id_is_400(
    customer: Browser, reference: str, session_id: str
) -> None:
    status, body = await customer.post(UPLOADS, data=form(reference, session_id=session_id))

    assert (status, body["error"]) == (
        400,
        "session_id must be 32 lowercase hexadecimal characters",
    )


@pytest.mark.usefixtures("nothing_kept")
async def test_a_body_that_is_not_a_multipart_form_is_415(
    customer: Browser, reference: str
) -> None:
    payload = {"session_id": CHAT_ID, "reference": reference, "item": "payslips"}

    status, body = await customer.post(UPLOADS, json=payload)

    assert status == 415
    assert "multipart/form-data" in body["error"]


@pytest.mark.usefixtures("nothing_kept")
async def test_an_unexpected_field_is_422(customer: Browser, reference: str) -> None:
    body = form(reference)
    body.add_field("note", "hello", filename="note.txt")

    status, answer = await customer.post(UPLOADS, data=body)

    assert status == 422
    assert "unexpected field 'note'" in answer["error"]


@pytest.mark.usefixtures("nothing_kept")
async def test_a_form_without_its_file_is_422_naming_what_is_missing(
    customer: Browser, reference: str
) -> None:
    boundary = "uploadboundary42"
    fields = {"session_id": CHAT_ID, "reference": reference}
    raw = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    status, answer = await customer.post(
        UPLOADS, data=f"{raw}--{boundary}--\r\n".encode(), headers=headers
    )

    assert status == 422
    assert answer["errors"] == ["/item: missing from the form", "/file: missing from the form"]


@pytest.mark.usefixtures("nothing_kept")
async def test_a_broken_multipart_body_is_400(customer: Browser, reference: str) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}

    status, body = await customer.post(UPLOADS, data=b"this is no form at all", headers=headers)

    assert status == 400
    assert "the form cannot be read" in body["error"]


@pytest.mark.usefixtures("nothing_kept")
async def test_a_part_whose_headers_are_not_headers_is_400(
    customer: Browser, reference: str
) -> None:
    # Schemathesis found this one: aiohttp's header parser raised InvalidHeader, a 500.
    headers = {"Content-Type": "multipart/form-data; boundary=b1d3"}

    status, body = await customer.post(
        UPLOADS, data=b"--b1d3\r\n493153--b1d3--\r\n", headers=headers
    )

    assert status == 400
    assert "the form cannot be read" in body["error"]


@pytest.mark.usefixtures("nothing_kept")
async def test_a_cross_site_upload_is_refused(customer: Browser, reference: str) -> None:
    status, body = await customer.post(
        UPLOADS, data=form(reference), headers={"Origin": "https://evil.example"}
    )

    assert (status, body["error"]) == (403, "cross-site request refused")


async def test_while_an_advisor_has_the_chat_the_bot_stays_quiet(
    customer: Browser,
    bot: Browser,
    server: TestServer,
    reference: str,
    rasa: RasaStandIn,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    await post_handoff(bot, context_factory(queue="mortgage_advisors", sender_id=CHAT_ID))
    await settle(server)

    await upload(customer, reference)
    await settle(server)

    assert rasa.of_kind("execute") == []


# --- Reading a document at the desk -----------------------------------------------------------


async def test_a_document_is_shown_inline_with_its_detected_type_and_safe_headers(
    customer: Browser, maya: Browser, reference: str
) -> None:
    data = png_bytes()
    document = await upload(customer, reference, data, file_name='scan "final" été.png')

    status, headers, body = await fetch(maya, f"/api/documents/{document['id']}/content")

    assert (status, body) == (200, data)
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == (
        'inline; filename="scan _final_ _t_.png"; '
        "filename*=UTF-8''scan%20%22final%22%20%C3%A9t%C3%A9.png"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    # The document's own sandbox, and no other site may frame it (the desk's middleware).
    assert headers["Content-Security-Policy"] == "sandbox; frame-ancestors 'none'"
    assert headers["Cache-Control"] == "no-store"


async def test_download_1_sends_the_document_as_an_attachment(
    customer: Browser, maya: Browser, reference: str
) -> None:
    document = await upload(customer, reference)

    response = await maya.raw("GET", f"/api/documents/{document['id']}/content?download=1")

    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="payslip.pdf"')
    assert response.headers["Content-Type"] == "application/pdf"


async def test_who_may_read_a_document(
    customer: Browser,
    maya: Browser,
    sam: Browser,
    olivia: Browser,
    bella: Browser,
    anonymous: Browser,
    database: Database,
    reference: str,
) -> None:
    document = await upload(customer, reference)
    path = f"/api/documents/{document['id']}/content"

    assert (await maya.raw("GET", path)).status == 200
    assert (await sam.raw("GET", path)).status == 200
    assert (await olivia.get(path)) == (404, {"error": f"no document {document['id']}"})
    assert (await bella.get(path))[0] == 404
    assert (await anonymous.get(path)) == (401, {"error": "log in first"})

    with database.session(write=True) as session:
        starts = utcnow() + timedelta(days=1)
        application = applications.load(session, reference)
        application.appointments.append(
            BranchAppointment(
                branch=BRANCH, desk=1, starts_at=starts, ends_at=starts + timedelta(minutes=45)
            )
        )

    assert (await bella.raw("GET", path)).status == 200


@pytest.mark.parametrize("document_id", ["999", "abc", "99999999999999999999", "-1"])
async def test_an_unknown_document_is_404(maya: Browser, document_id: str) -> None:
    status, _ = await maya.get(f"/api/documents/{document_id}/content")

    assert status == 404


async def test_a_file_missing_from_the_store_is_404_not_a_crash(
    customer: Browser, maya: Browser, reference: str, documents_dir: Path
) -> None:
    document = await upload(customer, reference)
    for path in stored(documents_dir):
        path.unlink()

    status, body = await maya.get(f"/api/documents/{document['id']}/content")

    assert (status, body["error"]) == (404, f"the file of document {document['id']} is missing")


# --- Reviewing a document ---------------------------------------------------------------------


async def test_an_accepted_document_is_200_and_the_bot_tells_the_chat(
    customer: Browser, maya: Browser, server: TestServer, reference: str, rasa: RasaStandIn
) -> None:
    document = await upload(customer, reference)

    status, body = await maya.post(
        f"/api/documents/{document['id']}/review", json={"decision": "accept"}
    )
    await settle(server)

    assert status == 200, body
    assert (body["state"], body["reviewed_by"]) == ("accepted", "Maya")
    actions = [(call.sender_id, call.body["name"]) for call in rasa.of_kind("execute")]
    assert actions == [
        (CHAT_ID, "action_document_received"),
        (CHAT_ID, "action_document_reviewed"),
    ]


async def test_a_rejection_without_a_reason_is_422_and_changes_nothing(
    customer: Browser, maya: Browser, database: Database, reference: str
) -> None:
    document = await upload(customer, reference)
    before = snapshot(database, reference)

    status, body = await maya.post(
        f"/api/documents/{document['id']}/review", json={"decision": "reject", "reason": " "}
    )

    assert status == 422
    assert "a rejection needs a reason" in body["error"]
    assert snapshot(database, reference) == before


async def test_a_second_review_is_409(customer: Browser, maya: Browser, reference: str) -> None:
    document = await upload(customer, reference)
    path = f"/api/documents/{document['id']}/review"
    rejection = {"decision": "reject", "reason": "The photo is blurred: please retake it."}

    first = await maya.post(path, json=rejection)
    second = await maya.post(path, json={"decision": "accept"})

    assert first[0] == 200 and first[1]["rejection_reason"] == rejection["reason"]
    assert second == (409, {"error": f"document {document['id']} was already rejected"})


async def test_only_case_workers_review(
    customer: Browser, olivia: Browser, bella: Browser, database: Database, reference: str
) -> None:
    document = await upload(customer, reference)
    before = snapshot(database, reference)

    for browser in (olivia, bella):
        status, _ = await browser.post(
            f"/api/documents/{document['id']}/review", json={"decision": "accept"}
        )
        assert status == 404

    assert snapshot(database, reference) == before


# --- Never served or logged without authorisation ----------------------------------------------

#: A name and content no log line may carry.
SECRET_FILE_NAME = "quixwold-passport-scan.pdf"
SECRET_CONTENT = b"QuixwoldPassport0042"


def marked_pdf() -> bytes:
    """A PDF whose bytes carry SECRET_CONTENT (inside a comment, so it stays well-formed)."""
    return minimal_pdf().replace(b"%PDF-1.4\n", b"%PDF-1.4\n%" + SECRET_CONTENT + b"\n", 1)


async def test_a_document_is_served_only_to_who_may_see_its_application(
    customer: Browser,
    bella: Browser,
    bot: Browser,
    browsers: Callable[..., Browser],
    database: Database,
    reference: str,
) -> None:
    with database.session(write=True) as session:
        create_agent(
            session,
            username="bruno",
            display_name="Bruno",
            password=PASSWORD,
            role=AgentRole.BRANCH_STAFF,
            queues=(),
            branch="manchester_king_street",
        )
        starts = utcnow() + timedelta(days=1)
        application = applications.load(session, reference)
        application.appointments.append(
            BranchAppointment(
                branch=BRANCH, desk=1, starts_at=starts, ends_at=starts + timedelta(minutes=45)
            )
        )
    bruno = await browsers().login("bruno")
    document = await upload(customer, reference, marked_pdf(), file_name=SECRET_FILE_NAME)
    path = f"/api/documents/{document['id']}/content"

    status, _, body = await fetch(bella, path)
    assert (status, SECRET_CONTENT in body) == (200, True)  # the appointment's branch
    for who in (bruno, bot, customer):  # another branch, the bot's token, the chat page
        status, _, body = await fetch(who, path + f"?session_id={CHAT_ID}")
        assert status in (401, 404), who
        assert SECRET_CONTENT not in body and SECRET_FILE_NAME.encode() not in body


async def test_no_log_line_carries_a_documents_name_or_content(
    customer: Browser,
    maya: Browser,
    olivia: Browser,
    anonymous: Browser,
    documents_dir: Path,
    reference: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    document = await upload(customer, reference, marked_pdf(), file_name=SECRET_FILE_NAME)
    path = f"/api/documents/{document['id']}/content"
    await fetch(maya, path)
    await fetch(maya, path + "?download=1")
    await fetch(olivia, path)
    await fetch(anonymous, path)
    await customer.post(  # refused: not what its name says
        UPLOADS, data=form(reference, b"<html>" + SECRET_CONTENT, file_name=SECRET_FILE_NAME)
    )
    for stored_file in stored(documents_dir):
        stored_file.unlink()
    await fetch(maya, path)  # the file missing from the store: logged as an error
    await maya.post(f"/api/documents/{document['id']}/review", json={"decision": "accept"})

    lines = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    assert any("missing from the store" in line for line in lines)
    for line in lines:
        assert SECRET_FILE_NAME not in line and "quixwold" not in line.lower()
        assert SECRET_CONTENT.decode() not in line
