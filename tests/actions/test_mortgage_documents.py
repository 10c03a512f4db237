"""Journey 3, documents through the bot: asking one at a time, uploads and reviews answered.

The desk is a fake here (`FakeDesk`): it serves the application record the test builds, in the
shape the desk's `GET /api/applications/{reference}` answers, or fails as an unreachable desk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import mortgage_documents
from actions.desk_client import DeskCallFailed
from actions.failsafe import FAILURE_APOLOGY
from actions.mortgage_documents import (
    ALL_ACCEPTED,
    ALL_WITH_ADVISORS,
    DESK_DOWN,
    DOCUMENTS_ACCEPTED,
    NO_APPLICATION,
    NO_CHECKLIST,
    ActionAskNextDocument,
    ActionDocumentReceived,
    ActionDocumentReviewed,
    in_sentence,
    joined,
    pronoun,
    run_now,
)
from contract.applications import ApplicationEventRecord, ApplicationRecord
from contract.documents import (
    ALLOWED_CONTENT_TYPES,
    MAX_DOCUMENT_BYTES,
    UPLOAD_METADATA_KEY,
    ChecklistItem,
)
from tests.actions.conftest import make_tracker, plain, run_action, texts

REFERENCE = "MTG-7K3Q9"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
LISTEN = {"event": "action", "name": "action_listen", "policy": None, "confidence": None}
CONTINUE = {"event": "followup", "name": "action_continue_application"}

ITEMS = {
    "proof_of_identity": ("Proof of identity", "a photo or scan of your passport"),
    "payslips": ("Last 3 payslips", "your last 3 payslips (one file, or a PDF with all three)"),
    "bank_statements": ("Bank statements", "your last 3 months of bank statements"),
}


def item(key: str, state: str = "missing", reason: str | None = None) -> ChecklistItem:
    title, ask = ITEMS[key]
    return ChecklistItem(
        key=key,
        title=title,
        ask=ask,
        requested_by="checklist",
        state=state,
        rejection_reason=reason,
    )


def entry(kind: str, minutes: int, **detail: Any) -> ApplicationEventRecord:
    return ApplicationEventRecord(
        occurred_at=T0 + timedelta(minutes=minutes),
        touchpoint="web_chat" if kind == "document_uploaded" else "desk",
        kind=kind,
        actor_kind="customer" if kind == "document_uploaded" else "agent",
        actor=None if kind == "document_uploaded" else "Maya Patel",
        detail=detail,
    )


def record(
    *checklist: ChecklistItem, events: tuple[ApplicationEventRecord, ...] = ()
) -> ApplicationRecord:
    return ApplicationRecord(
        reference=REFERENCE,
        stage="documents" if checklist else "advice",
        applicant_name="Jane Smith",
        email="jane.smith@example.com",
        property_value=Decimal("350000"),
        deposit_amount=Decimal("70000"),
        loan_amount=Decimal("280000"),
        loan_to_value=Decimal("0.8"),
        term_years=25,
        annual_income=Decimal("72000"),
        employment_type="employed",
        currency="GBP",
        origin_channel="socketio",
        origin_sender_id="a" * 32,
        created_at=T0,
        updated_at=T0,
        checklist=checklist,
        events=(entry("chat_started", 0), entry("form_completed", 1), *events),
    )


class FakeDesk:
    """Answers `get_application` with the record it holds, or fails like an unreachable desk."""

    def __init__(self) -> None:
        self.record: ApplicationRecord | None = None
        self.down = False
        self.asked: list[str] = []

    async def get_application(self, reference: str) -> ApplicationRecord | None:
        self.asked.append(reference)
        if self.down:
            raise DeskCallFailed("ClientConnectorError: connection refused")
        return self.record


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch) -> FakeDesk:
    fake = FakeDesk()
    monkeypatch.setattr(mortgage_documents, "desk_client", lambda: fake)
    return fake


class ContinueRecorder:
    """Stands in for the served `action_continue_application` run in the same turn."""

    def __init__(self) -> None:
        self.runs: list[str] = []

    async def __call__(
        self, name: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        self.runs.append(name)
        dispatcher.utter_message(text="Which branch would you like to sign at?")
        return [{"event": "slot", "name": "requested_slot", "value": None}]


@pytest.fixture
def continued(monkeypatch: pytest.MonkeyPatch) -> Iterator[ContinueRecorder]:
    recorder = ContinueRecorder()
    monkeypatch.setattr(mortgage_documents, "run_now", recorder)
    yield recorder


def with_reference() -> Tracker:
    return make_tracker(
        "which documents do you need?",
        "upload_documents",
        slots={"application_reference": REFERENCE},
    )


def upload_prompt(key: str) -> dict[str, Any]:
    """The metadata that makes the page offer the upload of one item."""
    return {
        "reference": REFERENCE,
        "item": key,
        "title": ITEMS[key][0],
        "max_bytes": MAX_DOCUMENT_BYTES,
        "accept": tuple(ALLOWED_CONTENT_TYPES),
    }


def prompts(messages: list[dict[str, Any]]) -> list[Any]:
    return [message.get(UPLOAD_METADATA_KEY) for message in messages]


# --- Wording -----------------------------------------------------------------------------------


def test_titles_read_inside_a_sentence() -> None:
    assert in_sentence("Last 3 payslips") == "last 3 payslips"
    assert in_sentence("SA302 forms") == "SA302 forms"
    assert joined(["a"]) == "a"
    assert joined(["a", "b", "c"]) == "a, b and c"
    assert (pronoun("Bank statements"), pronoun("Proof of identity")) == ("them", "it")
    assert pronoun("Proof of address") == "it"


# --- Asking for the next document ----------------------------------------------------------------


async def test_the_first_missing_document_is_asked_for_with_the_upload_control(
    desk: FakeDesk,
) -> None:
    desk.record = record(
        item("proof_of_identity", "accepted"), item("payslips"), item("bank_statements")
    )

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [
        "Still needed: last 3 payslips and bank statements. Please upload your last 3 payslips "
        "(one file, or a PDF with all three)."
    ]
    assert prompts(result.messages) == [upload_prompt("payslips")]
    assert result.events == []
    assert desk.asked == [REFERENCE]


async def test_a_rejected_document_is_asked_for_again_with_the_reason(desk: FakeDesk) -> None:
    desk.record = record(
        item("proof_of_identity", "accepted"),
        item("payslips", "rejected", "Only 2 of the 3 months are there."),
        item("bank_statements"),
    )

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [
        "Still needed: last 3 payslips and bank statements. Your last 3 payslips could not be "
        "accepted: Only 2 of the 3 months are there. Please upload them again."
    ]
    assert prompts(result.messages) == [upload_prompt("payslips")]


async def test_what_is_on_record_is_never_asked_for(desk: FakeDesk) -> None:
    desk.record = record(
        item("proof_of_identity", "uploaded"), item("payslips", "accepted"), item("bank_statements")
    )

    result = await run_action(ActionAskNextDocument(), with_reference())

    [text] = texts(result.messages)
    assert text.startswith("Still needed: bank statements. Please upload your last 3 months")
    assert "identity" not in text and "payslips" not in text
    assert prompts(result.messages) == [upload_prompt("bank_statements")]


async def test_before_advice_there_is_no_checklist_yet(desk: FakeDesk) -> None:
    desk.record = record()

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [NO_CHECKLIST]
    assert prompts(result.messages) == [None]


async def test_everything_sent_and_waiting_for_the_advisors(desk: FakeDesk) -> None:
    desk.record = record(item("proof_of_identity", "accepted"), item("payslips", "uploaded"))

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [ALL_WITH_ADVISORS]
    assert prompts(result.messages) == [None]
    assert result.events == []


async def test_everything_accepted_continues_the_application(desk: FakeDesk) -> None:
    desk.record = record(item("proof_of_identity", "accepted"), item("payslips", "accepted"))

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [ALL_ACCEPTED]
    assert plain(result.events) == [CONTINUE]


async def test_with_the_signing_booked_the_booking_is_not_offered_again(desk: FakeDesk) -> None:
    accepted = record(item("proof_of_identity", "accepted"))
    desk.record = accepted.copy(update={"stage": "appointment_booked"})

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [DOCUMENTS_ACCEPTED]
    assert plain(result.events) == [CONTINUE]  # which says where things stand


@pytest.mark.parametrize("stage", ["withdrawn", "expired"])
async def test_an_ended_application_needs_no_documents(desk: FakeDesk, stage: str) -> None:
    desk.record = record(item("payslips")).copy(update={"stage": stage})

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [
        f"Your application {REFERENCE} is {stage}, so no documents are needed."
    ]
    assert prompts(result.messages) == [None]
    assert result.events == []


async def test_without_an_application_nothing_is_asked_of_the_desk(desk: FakeDesk) -> None:
    no_reference = make_tracker("what's still missing?", "upload_documents")

    result = await run_action(ActionAskNextDocument(), no_reference)

    assert texts(result.messages) == [NO_APPLICATION]
    assert desk.asked == []


async def test_an_unknown_reference_is_no_application(desk: FakeDesk) -> None:
    desk.record = None

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [NO_APPLICATION]


async def test_with_the_desk_down_the_customer_gets_a_clear_apology(desk: FakeDesk) -> None:
    desk.down = True

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [DESK_DOWN]
    assert prompts(result.messages) == [None]
    assert result.events == []


async def test_an_unexpected_failure_is_the_usual_apology(
    desk: FakeDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(reference: str) -> ApplicationRecord:
        raise RuntimeError("bug")

    monkeypatch.setattr(desk, "get_application", broken)

    result = await run_action(ActionAskNextDocument(), with_reference())

    assert texts(result.messages) == [FAILURE_APOLOGY]


# --- After an upload (executed by the desk) ------------------------------------------------------


async def test_an_upload_is_acknowledged_and_the_next_document_asked_for(desk: FakeDesk) -> None:
    desk.record = record(
        item("proof_of_identity", "uploaded"),
        item("payslips"),
        events=(entry("document_uploaded", 5, item="proof_of_identity", document_id=1),),
    )

    result = await run_action(ActionDocumentReceived(), with_reference())

    assert texts(result.messages) == [
        "Thanks, I've got your proof of identity. An advisor will check it.",
        "Still needed: last 3 payslips. Please upload your last 3 payslips (one file, or a PDF "
        "with all three).",
    ]
    assert prompts(result.messages) == [None, upload_prompt("payslips")]
    # Executed through Rasa's HTTP API: it logs the listen a predicted turn would get.
    assert plain(result.events) == [LISTEN]


async def test_the_last_upload_leaves_the_advisors_to_check(desk: FakeDesk) -> None:
    desk.record = record(
        item("proof_of_identity", "accepted"),
        item("payslips", "uploaded"),
        events=(entry("document_uploaded", 5, item="payslips", document_id=2),),
    )

    result = await run_action(ActionDocumentReceived(), with_reference())

    assert texts(result.messages) == [
        "Thanks, I've got your last 3 payslips. An advisor will check them.",
        ALL_WITH_ADVISORS,
    ]
    assert plain(result.events) == [LISTEN]


async def test_with_the_desk_down_an_upload_still_gets_an_answer_and_the_listen(
    desk: FakeDesk,
) -> None:
    desk.down = True

    result = await run_action(ActionDocumentReceived(), with_reference())

    assert texts(result.messages) == [DESK_DOWN]
    assert plain(result.events) == [LISTEN]


# --- After a review (executed by the desk) -------------------------------------------------------


async def test_a_rejection_asks_for_the_document_again_with_the_reason(desk: FakeDesk) -> None:
    desk.record = record(
        item("proof_of_identity", "accepted"),
        item("payslips", "rejected", "The scan is unreadable."),
        item("bank_statements", "uploaded"),
        events=(
            entry("document_accepted", 10, item="proof_of_identity", document_id=1),
            entry("document_rejected", 11, item="payslips", reason="The scan is unreadable."),
        ),
    )

    result = await run_action(ActionDocumentReviewed(), with_reference())

    assert texts(result.messages) == [
        "Your last 3 payslips could not be accepted: The scan is unreadable. "
        "Please upload them again."
    ]
    assert prompts(result.messages) == [upload_prompt("payslips")]
    assert plain(result.events) == [LISTEN]


async def test_a_rejection_already_answered_is_not_asked_for_again(desk: FakeDesk) -> None:
    # Rejected, and the customer sent it again before the bot was told.
    desk.record = record(
        item("proof_of_identity", "uploaded"),
        events=(
            entry("document_rejected", 10, item="proof_of_identity", reason="Expired."),
            entry("document_uploaded", 12, item="proof_of_identity", document_id=3),
        ),
    )

    result = await run_action(ActionDocumentReviewed(), with_reference())

    assert texts(result.messages) == [ALL_WITH_ADVISORS]
    assert prompts(result.messages) == [None]


async def test_an_acceptance_with_others_still_waiting_is_a_short_note(desk: FakeDesk) -> None:
    desk.record = record(
        item("proof_of_identity", "accepted"),
        item("payslips", "uploaded"),
        events=(entry("document_accepted", 10, item="proof_of_identity", document_id=1),),
    )

    result = await run_action(ActionDocumentReviewed(), with_reference())

    assert texts(result.messages) == ["Good news: your proof of identity is accepted."]
    assert plain(result.events) == [LISTEN]


async def test_an_acceptance_with_documents_still_missing_asks_for_the_next(
    desk: FakeDesk,
) -> None:
    desk.record = record(
        item("proof_of_identity", "accepted"),
        item("bank_statements"),
        events=(entry("document_accepted", 10, item="proof_of_identity", document_id=1),),
    )

    result = await run_action(ActionDocumentReviewed(), with_reference())

    assert texts(result.messages)[0] == "Good news: your proof of identity is accepted."
    assert texts(result.messages)[1].startswith("Still needed: bank statements.")
    assert prompts(result.messages) == [None, upload_prompt("bank_statements")]


async def test_the_last_acceptance_continues_the_application_in_the_same_turn(
    desk: FakeDesk, continued: ContinueRecorder
) -> None:
    desk.record = record(
        item("proof_of_identity", "accepted"),
        item("payslips", "accepted"),
        events=(entry("document_accepted", 10, item="payslips", document_id=2),),
    )

    result = await run_action(ActionDocumentReviewed(), with_reference())

    assert continued.runs == ["action_continue_application"]
    assert texts(result.messages) == [ALL_ACCEPTED, "Which branch would you like to sign at?"]
    # The continuing action's events, then the listen (a FollowupAction would be cleared by it).
    assert plain(result.events) == [
        {"event": "slot", "name": "requested_slot", "value": None},
        LISTEN,
    ]


async def test_a_review_of_an_item_no_longer_listed_says_where_things_stand(
    desk: FakeDesk,
) -> None:
    desk.record = record(
        item("payslips"),
        events=(entry("document_rejected", 10, item="p60", reason="Not needed."),),
    )

    result = await run_action(ActionDocumentReviewed(), with_reference())

    assert texts(result.messages)[0].startswith("Still needed: last 3 payslips.")


# --- Continuing in a desk-executed turn --------------------------------------------------------


async def test_an_action_that_is_not_served_is_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoActions:
        actions: dict[str, Any] = {}

    monkeypatch.setattr(mortgage_documents, "_served_actions", lambda: NoActions())
    dispatcher = CollectingDispatcher()

    events = await run_now("action_nobody_serves", dispatcher, make_tracker(), {})

    assert events == []
    assert dispatcher.messages == []


async def test_a_served_action_runs_with_the_same_dispatcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []

    async def served(
        dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        ran.append(tracker.sender_id)
        dispatcher.utter_message(text="next")
        return [{"event": "slot", "name": "x", "value": 1}]

    class Served:
        actions = {"action_continue_application": served}

    monkeypatch.setattr(mortgage_documents, "_served_actions", lambda: Served())
    dispatcher = CollectingDispatcher()
    tracker = make_tracker()

    events = await run_now("action_continue_application", dispatcher, tracker, {})

    assert events == [{"event": "slot", "name": "x", "value": 1}]
    assert ran == [tracker.sender_id]
    assert texts(dispatcher.messages) == ["next"]


def test_the_served_actions_are_the_action_servers() -> None:
    served = mortgage_documents._served_actions().actions

    assert {"action_document_received", "action_document_reviewed"} <= set(served)
    assert "action_ask_next_document" in served
