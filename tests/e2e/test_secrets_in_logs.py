"""No secret and no personal data in any process's log, on the real desk stack.

A stack of its own (desk, action server, Rasa; `desk_system.py`), so every line of its logs
comes from this module. The tests provoke what used to leak and then grep every log file:
- the action server unavailable (503 from a balancer): Rasa logged its URL with
  `?token=<ACTION_SERVER_TOKEN>`; the token now travels in a header;
- a customer message starting with "/" that fails to parse: Rasa quoted it verbatim;
- a web chat's transcript: the id, which logs carry, opens nothing without its token;
- a whole mortgage journey (intake with a known name, e-mail, phone and income, an advisor,
  a document uploaded and opened, the application resumed in a new chat with a one-time
  code): nothing of it may be in a log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from contract.documents import UPLOAD_METADATA_KEY, document_content_path
from contract.webchat import TRANSCRIPT_TOKEN_HEADER
from harness.documents import pdf_of_size
from tests.e2e.desk_system import Agent, DeskStack, SocketCustomer, eventually, running_desk_stack
from tests.e2e.environment import MODEL_PATH
from tests.e2e.scripts import APPLICATION_REFERENCE

pytestmark = pytest.mark.e2e

ACTIONS = "actions"
NAME = "Zebedee Quixwold"
EMAIL = "zebedee.quixwold@example.org"
PHONE = "07700 900417"
INCOME = "£83,417"
#: What must never be in a log: the values and the ways a program writes them.
PERSONAL = (NAME, "Zebedee", "Quixwold", EMAIL, PHONE, "07700900417", "83,417", "83417")
DOCUMENT_NAME = "quixwold-bank-statement-7731.pdf"
#: Twenty bytes of the document's content, inside its PDF comment.
DOCUMENT_MARKER = b"QuixwoldStatement731"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskStack]:
    """The desk stack of this module alone."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    with running_desk_stack(tmp_path_factory.mktemp("secrets-in-logs")) as running:
        yield running


def log_files(system: DeskStack) -> list[Path]:
    """Every log file the stack's processes write."""
    files = sorted(path for path in system.stack.log_dir.rglob("*") if path.is_file())
    assert {"rasa.log", "actions.log", "desk.log"} <= {path.name for path in files}
    return files


def hits(system: DeskStack, *needles: str | bytes) -> dict[str, int]:
    """How often each needle occurs in the logs, by `file: needle` (only those found)."""
    for running in system.stack.running.values():
        running.log_file.flush()
    found: dict[str, int] = {}
    for path in log_files(system):
        content = path.read_bytes()
        for needle in needles:
            raw = needle.encode() if isinstance(needle, str) else needle
            count = content.count(raw)
            if count:
                found[f"{path.name}: {needle!r}"] = count
    return found


def rasa_log(system: DeskStack) -> str:
    return (system.stack.log_dir / "rasa.log").read_text(errors="replace")


async def say_over_rest(system: DeskStack, sender: str, text: str) -> list[dict[str, object]]:
    """One turn over Rasa's REST channel; the answer comes once the turn is over."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{system.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        ) as response,
    ):
        assert response.status == 200, await response.text()
        replies: list[dict[str, object]] = await response.json()
        return replies


@asynccontextmanager
async def failing_action_server(port: int) -> AsyncIterator[list[web.Request]]:
    """In the action server's place: a balancer with no action server left behind it, which
    answers every call 503 (the requests it got are kept)."""
    received: list[web.Request] = []

    async def unavailable(request: web.Request) -> web.Response:
        received.append(request)
        return web.json_response({"error": "no server is available"}, status=503)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unavailable)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield received
    finally:
        await runner.cleanup()


async def test_the_action_server_token_is_never_in_a_url_nor_logged_when_calls_fail(
    system: DeskStack,
) -> None:
    token = system.env.action_server_token
    system.stack.stop(ACTIONS)
    try:
        before = len(rasa_log(system))
        async with failing_action_server(system.env.action_server_port) as received:
            replies = await say_over_rest(system, uuid.uuid4().hex, "where is my order ORD-100002?")

        assert "something went wrong" in " ".join(str(r.get("text")) for r in replies)
        assert received, "Rasa called the action server"
        for request in received:
            assert "token" not in request.query_string
            assert request.headers.get("Authorization") == f"Bearer {token}"
        assert "503" in rasa_log(system)[before:], "the failed calls are in Rasa's log"
    finally:
        system.stack.start(system.env.action_server())
        system.stack.wait_healthy(ACTIONS)

    assert hits(system, token) == {}


async def test_a_message_that_fails_to_parse_is_not_quoted_in_the_log(system: DeskStack) -> None:
    arguments = json.dumps({"name": NAME, "email": EMAIL, "phone": PHONE})
    sender = uuid.uuid4().hex

    await say_over_rest(system, sender, "/inform" + arguments[:-1])  # no closing brace
    await say_over_rest(system, sender, "/" + arguments)  # no intent at all

    assert hits(system, NAME, EMAIL, PHONE) == {}


async def test_a_transcript_opens_with_its_token_never_with_the_id_alone(
    system: DeskStack,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{system.desk_url}/chat/sessions") as response:
            assert response.status == 201
            chat = await response.json()
        customer = SocketCustomer(
            system, "transcript", sender=chat["session_id"], token=chat["token"]
        )
        await customer.connect()
        assert customer.sender == chat["session_id"]
        try:
            await customer.turn("hi there")
        finally:
            await customer.close()

        history_url = f"{system.desk_url}/chat/history"
        async with http.get(
            history_url, headers={TRANSCRIPT_TOKEN_HEADER: chat["token"]}
        ) as response:
            assert response.status == 200
            history = await response.json()
        assert history["session_id"] == chat["session_id"]
        assert "hi there" in [turn["text"] for turn in history["turns"]]
        async with http.get(history_url, params={"session_id": chat["session_id"]}) as response:
            assert response.status == 401
            assert "hi there" not in await response.text()

    desk_log = (system.stack.log_dir / "desk.log").read_text()
    assert "/chat/history" in desk_log, "the desk's access log records the requests"
    assert hits(system, chat["token"]) == {}


def document_content() -> bytes:
    """A well-formed PDF whose content includes DOCUMENT_MARKER."""
    pdf = pdf_of_size(4_000)
    padding = b"0" * len(DOCUMENT_MARKER)
    assert padding in pdf
    return pdf.replace(padding, DOCUMENT_MARKER, 1)


async def test_a_whole_mortgage_journey_leaves_no_personal_data_in_any_log(
    system: DeskStack,
) -> None:
    maya = await Agent(system).login("maya")
    await maya.live()
    customer = SocketCustomer(system, "secrets", sender=uuid.uuid4().hex)
    await customer.connect()
    try:
        # Intake over the web chat, with a phone number said on the way.
        await customer.turn("I want to apply for a mortgage")
        for answer in (NAME, EMAIL, "£310,000", "deposit 60k", "25 years", INCOME):
            await customer.turn(answer)
        submitted = " ".join(await customer.turn("self-employed"))
        found = APPLICATION_REFERENCE.search(submitted)
        assert found is not None, submitted
        reference = found.group(0)

        # An advisor takes over, and is given the phone number.
        await customer.turn("should I go for a fixed or a variable rate?")
        handoff_id = await maya.waiting_handoff_of(customer.sender)
        status, claimed = await maya.call("POST", f"/api/handoffs/{handoff_id}/claim")
        assert status == 200, claimed
        status, _ = await maya.call(
            "POST", f"/api/handoffs/{handoff_id}/messages", json={"text": f"Hi {NAME}!"}
        )
        assert status == 201
        await customer.page.say(f"please call me on {PHONE} or mail {EMAIL}")
        status, _ = await maya.call(
            "POST", f"/api/cases/{reference}/advice", json={"outcome": "proceed"}
        )
        assert status == 200
        status, resolved = await maya.call(
            "POST",
            f"/api/handoffs/{handoff_id}/resolve",
            json={"disposition": "resolved", "slots": {"mortgage_next_step": "collect_documents"}},
        )
        assert status == 200, resolved

        # A document through the chat page, opened by the advisor.
        async def asked_for_a_document() -> str | None:
            message = await customer.bot_message()
            marking = (message.get("metadata") or {}).get(UPLOAD_METADATA_KEY)
            return str(marking["item"]) if marking else None

        await customer.page.say("5")
        await customer.page.say("no")
        item = await eventually(asked_for_a_document, "the bot asking for a document")
        form = aiohttp.FormData()
        form.add_field("reference", reference)
        form.add_field("item", item)
        form.add_field(
            "file", document_content(), filename=DOCUMENT_NAME, content_type="application/pdf"
        )
        async with customer.http.post(
            f"{system.desk_url}/chat/uploads", data=form, headers=customer.opens()
        ) as response:
            stored = await response.json()
            assert response.status == 201, stored
        content_url = system.desk_url + document_content_path(stored["id"])
        async with maya.http.get(content_url) as response:
            assert response.status == 200
            assert DOCUMENT_MARKER in await response.read()
    finally:
        await customer.close()
        await maya.close()

    # Back in a new chat: the application is resumed with the e-mail address and a code the
    # desk "sends" (its demo sender logs that it did).
    returning = SocketCustomer(system, "secrets-return", sender=uuid.uuid4().hex)
    await returning.connect()
    try:
        await returning.turn("I'd like to continue my mortgage application")
        await returning.turn(reference)
        await returning.turn(EMAIL)

        async def code_sent() -> bool:
            return system.codes_file.exists() and reference in system.codes_file.read_text()

        await eventually(code_sent, "the one-time code sent")
    finally:
        await returning.close()

    assert hits(system, *PERSONAL, DOCUMENT_NAME, "bank-statement-7731", DOCUMENT_MARKER) == {}
