"""The mortgage journey across every touchpoint, end to end, on one record.

Real processes on loopback (`tests/e2e/desk_system.py`): the customer in the web chat (socket.io)
applies, an advisor takes over and advises, hands back with the next step, the customer sends
the documents through the bot (one is rejected and sent again), leaves, comes back in a new
chat with a verification, books a branch slot, and branch staff sign. At every step the record
(stage, checklist, appointment) and its timeline must agree with what happened, and the bot
never asks for anything already on record.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from contract.documents import UPLOAD_METADATA_KEY
from harness.documents import pdf_of_size, png_bytes
from tests.e2e.desk_system import Agent, DeskStack, SocketCustomer, eventually
from tests.e2e.scripts import APPLICATION_REFERENCE, MORTGAGE_ANSWERS

pytestmark = pytest.mark.e2e

EMAIL = MORTGAGE_ANSWERS[1]
REJECTION = "Only two payslips are readable; we need the last three."


class Desk:
    """What the bot's bearer token and the customer's page reach at the desk."""

    def __init__(self, http: aiohttp.ClientSession, system: DeskStack) -> None:
        self.http = http
        self.system = system

    async def record(self, reference: str) -> dict[str, Any]:
        """The application as every touchpoint reads it."""
        async with self.http.get(
            f"{self.system.desk_url}/api/applications/{reference}",
            headers={"Authorization": f"Bearer {self.system.env.handoff_secret}"},
        ) as response:
            assert response.status == 200, await response.text()
            record: dict[str, Any] = await response.json()
            return record

    async def upload(
        self,
        opens: dict[str, str],
        reference: str,
        item: str,
        data: bytes,
        name: str,
        session_id: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """The chat page's upload of one checklist item, with the headers that open the chat
        (`SocketCustomer.opens`); older pages also sent the chat's `session_id`."""
        form = aiohttp.FormData()
        if session_id is not None:
            form.add_field("session_id", session_id)
        form.add_field("reference", reference)
        form.add_field("item", item)
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
        async with self.http.post(
            f"{self.system.desk_url}/chat/uploads", data=form, headers=opens
        ) as response:
            return response.status, await response.json()

    def code_for(self, reference: str) -> str | None:
        """The last one-time code the desk "e-mailed" for the application (the demo's log)."""
        if not self.system.codes_file.exists():
            return None
        lines = self.system.codes_file.read_text().splitlines()
        codes = [json.loads(line) for line in lines if line.strip()]
        mine = [str(entry["code"]) for entry in codes if entry["reference"] == reference]
        return mine[-1] if mine else None


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def kinds(record: dict[str, Any]) -> list[str]:
    """The timeline's kinds, oldest first."""
    return [entry["kind"] for entry in record["events"]]


def states(record: dict[str, Any]) -> dict[str, str]:
    """Each checklist item's state."""
    return {item["key"]: item["state"] for item in record["checklist"]}


def upload_prompts(messages: list[dict[str, Any]]) -> list[str]:
    """The checklist items the bot's messages offered the upload control for."""
    prompts = []
    for message in messages:
        metadata = message.get("metadata") or {}
        if UPLOAD_METADATA_KEY in metadata:
            prompts.append(str(metadata[UPLOAD_METADATA_KEY]["item"]))
    return prompts


async def record_shows(
    desk: Desk, reference: str, what: str, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The record, once `check` holds (the desk's steps after an answer run in the background)."""

    async def read() -> dict[str, Any] | None:
        record = await desk.record(reference)
        return record if check(record) else None

    return await eventually(read, what)


async def test_one_record_from_web_chat_to_the_branch_signing(
    desk_stack: DeskStack,
    http: aiohttp.ClientSession,
    agents: Callable[[str], Awaitable[Agent]],
) -> None:
    desk = Desk(http, desk_stack)
    maya = await agents("maya")
    await maya.live()  # online, so the customer is not offered "leave a message"
    customer = SocketCustomer(desk_stack, "journey", sender=uuid.uuid4().hex)
    await customer.connect()
    try:
        # 1. Web chat intake: the application and the start of its timeline.
        intake_questions = await customer.turn("I want to apply for a mortgage")
        for answer in MORTGAGE_ANSWERS[:-1]:
            intake_questions += await customer.turn(answer)
        submitted = " ".join(await customer.turn(MORTGAGE_ANSWERS[-1]))
        found = APPLICATION_REFERENCE.search(submitted)
        assert found is not None, submitted
        reference = found.group(0)
        record = await desk.record(reference)
        assert record["stage"] == "intake"
        assert kinds(record) == ["chat_started", "form_completed"]
        asked_in_intake = {text for text in intake_questions if text.endswith("?")}

        # 2. Advice the bot must not give: Maya takes over, with the application in her pop.
        said = " ".join(await customer.turn("should I go for a fixed or a variable rate?"))
        assert "mortgage advisors" in said
        handoff_id = await maya.waiting_handoff_of(customer.sender)
        status, claimed = await maya.call("POST", f"/api/handoffs/{handoff_id}/claim")
        assert status == 200, claimed
        pop = await maya.screen_pop(handoff_id)
        evidence = pop["context"]["evidence"]["mortgage_application"]
        assert (evidence["reference"], evidence["stage"]) == (reference, "intake")
        record = await record_shows(
            desk, reference, "handed_to_advisor", lambda r: "handed_to_advisor" in kinds(r)
        )
        assert record["stage"] == "advice"
        status, _ = await maya.call(
            "POST",
            f"/api/handoffs/{handoff_id}/messages",
            json={"text": "Hi Jane, a 5-year fix suits your plans. Let's get your documents."},
        )
        assert status == 201
        assert "a 5-year fix" in str((await customer.bot_message())["text"])
        status, _ = await maya.call(
            "POST", f"/api/cases/{reference}/notes", json={"text": "Prefers a 5-year fix."}
        )
        assert status in (200, 201)
        status, case = await maya.call(
            "POST", f"/api/cases/{reference}/advice", json={"outcome": "proceed"}
        )
        assert status == 200, case
        record = await desk.record(reference)
        assert record["stage"] == "documents"
        # Self-employed: 2 years of accounts instead of payslips (the designers' checklist).
        checklist = [item["key"] for item in record["checklist"]]
        assert "accounts" in checklist and "payslips" not in checklist
        assert set(states(record).values()) == {"missing"}
        assert kinds(record)[-3:] == ["advisor_note", "advice_outcome", "documents_requested"]

        # 3. Hand-back with the next step: the bot asks for the documents, one at a time.
        status, resolved = await maya.call(
            "POST",
            f"/api/handoffs/{handoff_id}/resolve",
            json={"disposition": "resolved", "slots": {"mortgage_next_step": "collect_documents"}},
        )
        assert status == 200 and resolved["handed_back"] is True, resolved
        await customer.notice("has left the chat")
        welcome = [await customer.bot_message(), await customer.bot_message()]
        assert "asked me to collect your documents" in str(welcome[0]["text"])
        assert "How would you rate" in str(welcome[1]["text"])
        record = await record_shows(
            desk, reference, "handed_back", lambda r: "handed_back" in kinds(r)
        )
        await customer.turn("5")  # the rating
        first_asks = await customer.turn("no")  # no comment; then the documents
        assert upload_prompts(customer.said) == [checklist[0]], first_asks
        assert "Still needed" in " ".join(first_asks)

        # 4. Documents through the bot: each upload is thanked and the next one asked for.
        # The chat's id alone (which logs carry) sends nothing: the chat's token does.
        status, refused = await desk.upload(
            {}, reference, checklist[0], pdf_of_size(40_000), "forged.pdf", customer.sender
        )
        assert status == 401, refused
        assert kinds(await desk.record(reference)).count("document_uploaded") == 0
        for position, item in enumerate(checklist):
            asked_before = len(customer.said)
            status, stored = await desk.upload(
                customer.opens(), reference, item, pdf_of_size(40_000), f"{item}.pdf"
            )
            assert status == 201, stored
            assert stored["content_type"] == "application/pdf"
            if position + 1 < len(checklist):
                message = await customer.bot_message()
                while UPLOAD_METADATA_KEY not in (message.get("metadata") or {}):
                    message = await customer.bot_message()
                customer.said.append(message)
                assert upload_prompts(customer.said[asked_before:]) == [checklist[position + 1]]
        record = await record_shows(
            desk,
            reference,
            "every document uploaded",
            lambda r: set(states(r).values()) == {"uploaded"},
        )
        assert kinds(record).count("document_uploaded") == len(checklist)

        # 5. Maya reviews: the accounts are rejected with a reason, which reaches the customer.
        documents = {item["key"]: item["document_id"] for item in record["checklist"]}
        for item, document_id in documents.items():
            review = (
                {"decision": "reject", "reason": REJECTION}
                if item == "accounts"
                else {"decision": "accept"}
            )
            status, reviewed = await maya.call(
                "POST", f"/api/documents/{document_id}/review", json=review
            )
            assert status == 200, reviewed
        rejected = await customer.bot_message()
        while REJECTION not in str(rejected.get("text")):
            rejected = await customer.bot_message()
        assert upload_prompts([rejected]) == ["accounts"]
        record = await desk.record(reference)
        assert states(record)["accounts"] == "rejected"
        assert record["stage"] == "documents"

        status, stored = await desk.upload(
            customer.opens(), reference, "accounts", png_bytes(), "accounts.png", customer.sender
        )
        assert status == 201, stored
        status, reviewed = await maya.call(
            "POST", f"/api/documents/{stored['id']}/review", json={"decision": "accept"}
        )
        assert status == 200, reviewed
        record = await desk.record(reference)
        assert set(states(record).values()) == {"accepted"}
        assert record["stage"] == "ready_to_sign"
    finally:
        await customer.close()  # the customer leaves

    # 6. Back in a new chat (another browser): verification, then where things stand.
    returning = SocketCustomer(desk_stack, "journey-return", sender=uuid.uuid4().hex)
    await returning.connect()
    try:
        await returning.turn("I'd like to continue my mortgage application")
        await returning.turn(reference)
        await returning.turn(EMAIL)

        async def sent_code() -> str | None:
            return desk.code_for(reference)

        code = await eventually(sent_code, "the one-time code in the demo log")
        await returning.turn("000000" if code != "000000" else "111111")  # a wrong code first
        record = await desk.record(reference)
        assert kinds(record)[-1] == "verification_failed"
        greeting = " ".join(await returning.turn(code))
        assert reference in greeting
        record = await desk.record(reference)
        assert kinds(record)[-1] == "resumed"

        # 7. A branch slot, booked through the bot: the branch, then one of its free slots.
        await returning.turn("I'd like to book my signing appointment")
        leeds = _button(returning.said, "leeds_park_row")
        await returning.turn(leeds["payload"])
        slot = _button(returning.said, "choose_slot")
        confirmed = " ".join(await returning.turn(slot["payload"]))
        record = await record_shows(
            desk, reference, "the appointment", lambda r: r["stage"] == "appointment_booked"
        )
        appointment = record["appointment"]
        assert (appointment["branch"], appointment["state"]) == ("leeds_park_row", "booked")
        assert appointment["label"] == slot["title"]
        assert appointment["label"] in confirmed

        # Never asked again for what the intake already has.
        later_questions = {
            text
            for message in returning.said
            if (text := str(message.get("text") or "")).endswith("?")
        }
        assert not later_questions & asked_in_intake
    finally:
        await returning.close()

    # 8. The branch: identity against the record, then the signing.
    bea = await agents("bea")
    day = datetime.fromisoformat(appointment["starts_at"]).date().isoformat()
    status, today = await bea.call("GET", f"/api/branch/appointments?date={day}")
    assert status == 200, today
    listed = [a for a in today["appointments"] if a["reference"] == reference]
    assert len(listed) == 1
    appointment_id = listed[0]["appointment"]["id"]
    status, case = await bea.call("GET", f"/api/branch/cases/{reference}")
    assert status == 200, case
    status, body = await bea.call(
        "POST",
        f"/api/branch/appointments/{appointment_id}/identity-check",
        json={"document": "passport", "matches": True},
    )
    assert status == 200, body
    status, body = await bea.call("POST", f"/api/branch/appointments/{appointment_id}/signing")
    assert status == 200, body

    record = await desk.record(reference)
    assert record["stage"] == "signed"
    timeline = kinds(record)
    journey = [
        "chat_started",
        "form_completed",
        "handed_to_advisor",
        "advisor_note",
        "advice_outcome",
        "documents_requested",
        "handed_back",
        "document_uploaded",
        "document_rejected",
        "document_accepted",
        "resumed",
        "appointment_booked",
        "identity_checked",
        "signed",
    ]
    assert _in_order(journey, timeline), timeline
    who = {(e["kind"], e["actor_kind"]) for e in record["events"]}
    assert {
        ("form_completed", "customer"),
        ("advice_outcome", "agent"),
        ("document_uploaded", "customer"),
        ("document_rejected", "agent"),
        ("signed", "branch_staff"),
    } <= who
    assert {e["touchpoint"] for e in record["events"]} >= {"web_chat", "desk", "branch"}


def _button(messages: list[dict[str, Any]], payload_part: str) -> dict[str, Any]:
    """The first button whose payload contains `payload_part`, in the last message with one."""
    for message in reversed(messages):
        for button in message.get("quick_replies") or message.get("buttons") or []:
            if payload_part in str(button.get("payload")):
                return dict(button)
    raise AssertionError(f"no button with {payload_part!r} in {messages[-3:]}")


def _in_order(expected: list[str], actual: list[str]) -> bool:
    """Whether `expected` appears in `actual` in this order (other entries between)."""
    remaining = iter(actual)
    return all(any(kind == wanted for kind in remaining) for wanted in expected)
