"""Journey 3, mortgage intake: each answer's validation, storing the application, pausing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from actions.failsafe import FAILURE_APOLOGY
from actions.handoff.builder import build_handoff
from actions.handoff.routing import HandoffRouter
from actions.journeys import JOURNEYS
from actions.mortgage import (
    ActionPauseMortgage,
    ActionResumeMortgage,
    ActionSubmitMortgageApplication,
    ValidateMortgageForm,
    application_sections,
    draft_application,
    mortgage_evidence,
    mortgage_sentences,
    stored_application_evidence,
)
from contract.applications import ApplicationEventRecord, ApplicationRecord
from contract.appointments import AppointmentRecord
from contract.documents import ChecklistItem
from contract.handoff_context import ApplicationEvidence, Evidence, HandoffContext
from harness.recording_endpoint import RecordingEndpoint
from tests.actions.conftest import (
    CHANNEL,
    ROUTING_PATH,
    SENDER_ID,
    ActionResult,
    Conversation,
    run_action,
    slot_changes,
    texts,
)

SECRET = "mortgage-desk-secret"

pytestmark = [
    pytest.mark.usefixtures("app_database"),
    # SQLite keeps Numeric as floats; the store tests accept this warning the same way.
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*"),
]

FORM = "mortgage_form"


@pytest.fixture
async def endpoint() -> AsyncIterator[RecordingEndpoint]:
    """The desk, which stores the applications."""
    async with RecordingEndpoint(secret=SECRET) as running:
        yield running


@pytest.fixture
def handoff_url(endpoint: RecordingEndpoint) -> str:
    return endpoint.url


@pytest.fixture
def handoff_secret() -> str:
    return SECRET


NAME_HINT = (
    "Please type your full name using letters, spaces, hyphens or apostrophes — "
    "for example Jane O'Neill-Smith."
)
EMAIL_ERROR = (
    "That doesn't look like a complete email address. Please type it like name@example.com."
)


def intake(**earlier_slots: Any) -> Conversation:
    """The intake has started; earlier answers are already in the slots."""
    conversation = Conversation().user("I'd like to apply for a mortgage", "start_mortgage")
    conversation.form(FORM, "applicant_name")
    if earlier_slots:
        conversation.slots(**earlier_slots)
    return conversation


async def answer(conversation: Conversation, slot: str, text: str) -> ActionResult:
    """The form asked for `slot`; the customer typed `text` (a from_text mapping)."""
    conversation.slots(requested_slot=slot).user(text, "inform")
    result = await run_action(
        ValidateMortgageForm(), conversation.form_tracker(FORM, **{slot: text})
    )
    conversation.record(FORM, result)
    return result


async def accepted(slot: str, text: str, **earlier_slots: Any) -> Any:
    """The value the slot gets; the answer must be accepted silently."""
    events, messages = await answer(intake(**earlier_slots), slot, text)
    assert messages == []
    assert [event["name"] for event in events] == [slot]
    return events[0]["value"]


async def refused(slot: str, text: str, **earlier_slots: Any) -> str:
    """The message the customer gets; the slot must be emptied so the form asks again."""
    events, messages = await answer(intake(**earlier_slots), slot, text)
    assert slot_changes(events) == {slot: None}
    [message] = texts(messages)
    return message


# --- applicant_name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Jane O'Neill-Smith", "Jane O'Neill-Smith"),
        ("my name is José García", "José García"),
        ("  jane   smith ", "jane smith"),
    ],
)
async def test_a_name_is_accepted(text: str, name: str) -> None:
    assert await accepted("applicant_name", text) == name


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("jane@example.com", "That looks like an email address rather than a name."),
        ("R2D2", "A name can't contain numbers."),
        ("J", "A name needs between 2 and 100 characters."),
        ("Robert'); DROP TABLE applications;--", ""),
    ],
)
async def test_a_name_that_is_not_one_is_refused(text: str, why: str) -> None:
    message = await refused("applicant_name", text)

    assert message == f"{why} {NAME_HINT}".strip()


# --- email -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("jane@example.com", "jane@example.com"),
        ("my email is <jane@example.com>", "jane@example.com"),
        ("Jane.Smith@Example.COM", "Jane.Smith@example.com"),
    ],
)
async def test_an_email_is_accepted_and_normalised(text: str, email: str) -> None:
    assert await accepted("email", text, applicant_name="Jane Smith") == email


@pytest.mark.parametrize(
    "text", ["jane at example dot com", "jane@", "jane smith@example.com", "@example.com"]
)
async def test_a_bad_email_is_refused(text: str) -> None:
    assert await refused("email", text, applicant_name="Jane Smith") == EMAIL_ERROR


# --- property_value ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250k", 250_000.0),
        ("£250,000", 250_000.0),
        ("250 000", 250_000.0),
        ("about £1.2m", 1_200_000.0),
        ("£325,500.50", 325_500.5),
    ],
)
async def test_a_property_value_is_read_from_how_people_write_it(text: str, value: float) -> None:
    assert await accepted("property_value", text) == value


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("-250000", "The property value needs to be more than zero."),
        ("£0", "The property value needs to be more than zero."),
        ("£50bn", "I can only take applications for properties worth between £25,000 and"),
        ("5000", "I can only take applications for properties worth between £25,000 and"),
        ("1e309", "I couldn't find an amount in that."),
        ("no idea really", "I couldn't find an amount in that."),
    ],
)
async def test_a_property_value_out_of_range_is_refused(text: str, starts: str) -> None:
    assert (await refused("property_value", text)).startswith(starts)


# --- loan_amount (or the deposit) ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["200k", "I'd like to borrow £200,000", "a deposit of 50k"])
async def test_the_loan_or_the_deposit_gives_both_and_the_loan_to_value(text: str) -> None:
    events, messages = await answer(intake(property_value=250_000.0), "loan_amount", text)

    assert texts(messages) == [
        "Thanks: borrowing £200,000 with a deposit of £50,000, a loan-to-value of 80.0%."
    ]
    assert [(event["name"], event["value"]) for event in events] == [
        ("loan_amount", 200_000.0),
        ("deposit_amount", 50_000.0),
        ("loan_to_value", 0.8),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "300k",
            "The loan has to be less than the property value (£250,000). How much would you "
            "like to borrow? For example £200,000.",
        ),
        (
            "deposit 250k",
            "A deposit of the whole property value (£250,000) or more leaves nothing to borrow. "
            "How much would you like to borrow? For example £200,000.",
        ),
        (
            "deposit of 10k",
            "Most lenders need a deposit of at least 5% of the property value. For a £250,000 "
            "property that is at least £12,500, so the most you could borrow is £237,500. "
            "How much would you like to borrow?",
        ),
        ("-200k", "The amount you borrow needs to be more than zero. For example £200,000."),
        ("5k", "The smallest mortgage I can take an application for is £10,000."),
    ],
)
async def test_a_loan_that_does_not_fit_the_property_is_refused(text: str, message: str) -> None:
    assert (await refused("loan_amount", text, property_value=250_000.0)).startswith(message)


async def test_the_loan_needs_the_property_value_first() -> None:
    message = await refused("loan_amount", "200k")

    assert message == "I need the property value first. What is the property worth?"


# --- term_years, annual_income, employment_type -------------------------------------------------


@pytest.mark.parametrize(("text", "years"), [("25", 25), ("25 years please", 25), ("5", 5)])
async def test_a_term_is_accepted(text: str, years: int) -> None:
    assert await accepted("term_years", text) == years


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("50", "Mortgage terms run from 5 to 40 years."),
        ("25.5", "Please give a whole number of years between 5 and 40"),
        ("-25", "Please give a whole number of years between 5 and 40"),
        ("twenty five", "How many years would you like the mortgage to last?"),
    ],
)
async def test_a_term_out_of_range_is_refused(text: str, starts: str) -> None:
    assert (await refused("term_years", text)).startswith(starts)


@pytest.mark.parametrize(
    ("text", "income"),
    [("£45,000", 45_000.0), ("45k a year", 45_000.0), ("£3,000 a month", 36_000.0)],
)
async def test_an_income_is_accepted_yearly(text: str, income: float) -> None:
    assert await accepted("annual_income", text) == income


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("0", "Your income needs to be more than zero."),
        ("£20m", "That is more than £10,000,000 a year"),
        ("decent", "I couldn't find an amount in that."),
    ],
)
async def test_an_income_that_cannot_be_right_is_refused(text: str, starts: str) -> None:
    assert (await refused("annual_income", text)).startswith(starts)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("employed", "employed"),
        ("self-employed", "self_employed"),
        ("I run my own business", "self_employed"),
        ("I'm a contractor", "contractor"),
        ("retired", "retired"),
        ("unemployed at the moment", "other"),
    ],
)
async def test_the_employment_type_is_normalised(text: str, kind: str) -> None:
    assert await accepted("employment_type", text) == kind


async def test_an_unknown_employment_type_is_asked_again() -> None:
    assert (await refused("employment_type", "banana")).startswith(
        "How do you earn your income? Please say employed, self-employed, contractor, retired "
        "or other"
    )


# --- The whole intake, stored --------------------------------------------------------------------

ANSWERS = [
    ("applicant_name", "My name is Jane Smith"),
    ("email", "jane.smith@example.com"),
    ("property_value", "£350,000"),
    ("loan_amount", "deposit of 70k"),
    ("term_years", "25"),
    ("annual_income", "72k"),
    ("employment_type", "employed"),
]


async def completed_intake() -> Conversation:
    conversation = intake()
    for slot, text in ANSWERS:
        events, _ = await answer(conversation, slot, text)
        assert slot_changes(events)[slot] is not None
    return conversation.ran(
        FORM,
        [
            {"event": "active_loop", "name": None},
            {"event": "slot", "name": "requested_slot", "value": None},
        ],
    )


async def test_the_completed_intake_is_stored_and_its_reference_given(
    endpoint: RecordingEndpoint,
) -> None:
    conversation = await completed_intake()

    events, messages = await run_action(ActionSubmitMortgageApplication(), conversation.tracker())

    reference = slot_changes(events)["application_reference"]
    assert [(event["name"], event["value"]) for event in events] == [
        ("application_reference", reference),
        ("mortgage_interrupted", False),
    ]
    [text] = texts(messages)
    assert text.startswith(
        f"Thank you, Jane Smith. Your application is saved with reference {reference}: "
        "borrowing £280,000 over 25 years on a £350,000 property (loan-to-value 80.0%)."
    )
    stored = endpoint.application(reference)
    assert stored is not None
    assert (stored.applicant_name, stored.email, stored.employment_type) == (
        "Jane Smith",
        "jane.smith@example.com",
        "employed",
    )
    assert (stored.property_value, stored.deposit_amount, stored.loan_amount) == (
        Decimal("350000"),
        Decimal("70000"),
        Decimal("280000"),
    )
    assert (stored.loan_to_value, stored.term_years, stored.annual_income) == (
        Decimal("0.8"),
        25,
        Decimal("72000"),
    )
    assert (stored.stage, stored.currency) == ("intake", "GBP")
    assert (stored.origin_channel, stored.origin_sender_id) == (CHANNEL, SENDER_ID)
    assert [event.kind for event in stored.events] == ["chat_started", "form_completed"]


async def test_the_application_evidence_is_the_stored_one_once_saved(
    endpoint: RecordingEndpoint,
) -> None:
    conversation = await completed_intake()
    events, _ = await run_action(ActionSubmitMortgageApplication(), conversation.tracker())
    reference = slot_changes(events)["application_reference"]
    stored = endpoint.application(reference)

    evidence = await stored_application_evidence(reference)

    assert stored is not None
    assert evidence == stored.to_evidence()
    assert evidence["reference"] == reference
    # What the handoff reads from the desk, by the reference as the customer may type it.
    assert await stored_application_evidence(reference.lower()) == evidence


async def test_no_reference_or_an_unknown_one_has_no_stored_evidence() -> None:
    assert await stored_application_evidence(None) is None
    assert await stored_application_evidence("MTG-00000") is None


async def test_with_the_desk_down_the_draft_stands_in_and_submitting_apologises(
    endpoint: RecordingEndpoint,
) -> None:
    conversation = await completed_intake()
    await endpoint.down()

    events, messages = await run_action(ActionSubmitMortgageApplication(), conversation.tracker())

    assert await stored_application_evidence("MTG-7K3Q9") is None
    assert texts(messages) == [FAILURE_APOLOGY]
    assert "application_reference" not in slot_changes(events)


# --- Pausing and the draft ---------------------------------------------------------------------


async def test_pausing_keeps_the_answers_for_later() -> None:
    conversation = intake(applicant_name="Jane Smith").user(
        "actually, where's my order?", "check_order_status"
    )

    events, messages = await run_action(ActionPauseMortgage(), conversation.tracker())

    assert texts(messages) == [
        "Sure, let's look at that first. I'll keep your mortgage answers and we'll come back "
        "to the application afterwards."
    ]
    assert [(event["name"], event["value"]) for event in events] == [("mortgage_interrupted", True)]


async def test_resuming_goes_back_to_the_intake() -> None:
    conversation = intake(applicant_name="Jane Smith", mortgage_interrupted=True)

    events, messages = await run_action(ActionResumeMortgage(), conversation.tracker())

    assert texts(messages) == ["Now, back to your mortgage application."]
    assert [(event["name"], event["value"]) for event in events] == [
        ("mortgage_interrupted", False)
    ]


async def test_the_draft_holds_the_answers_so_far() -> None:
    tracker = intake(
        applicant_name="Jane Smith",
        email="jane.smith@example.com",
        property_value=350_000.0,
        loan_amount=280_000.0,
        deposit_amount=70_000.0,
        loan_to_value=0.8,
    ).tracker()

    draft = draft_application(tracker)

    assert draft == {
        "reference": None,
        "status": "draft",
        "applicant_name": "Jane Smith",
        "email": "jane.smith@example.com",
        "property_value": 350_000.0,
        "deposit_amount": 70_000.0,
        "loan_amount": 280_000.0,
        "loan_to_value": 0.8,
        "term_years": None,
        "annual_income": None,
        "employment_type": None,
        "currency": "GBP",
        "created_at": None,
        "stage": None,
        "documents": None,
        "appointment": None,
    }
    handed_over = await mortgage_evidence(tracker, "mortgage")
    assert handed_over["mortgage_application"] == ApplicationEvidence.parse_obj(draft)
    ApplicationEvidence.parse_obj(draft)  # the handoff sends it as evidence


# --- Handoff context 1.2: stage, documents, appointment and the timeline ----------------------

T_APPLIED = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
REJECTION = "The scan of page 2 is unreadable; please send a clearer copy."


def timeline_entry(
    minutes: int, kind: str, actor_kind: str, actor: str | None = None, **detail: Any
) -> ApplicationEventRecord:
    return ApplicationEventRecord(
        occurred_at=T_APPLIED + timedelta(minutes=minutes),
        touchpoint="web_chat" if actor_kind in ("customer", "bot") else "desk",
        kind=kind,
        actor_kind=actor_kind,
        actor=actor,
        detail=detail,
    )


def checklist_item(key: str, title: str, state: str, reason: str | None = None) -> ChecklistItem:
    return ChecklistItem(
        key=key,
        title=title,
        ask=f"your {title.lower()}",
        requested_by="checklist",
        state=state,
        rejection_reason=reason,
    )


def application_in_documents(*, appointment: bool = False) -> ApplicationRecord:
    """An application after advice: one document accepted, one rejected, one missing."""
    return ApplicationRecord(
        reference="MTG-7K3Q9",
        stage="appointment_booked" if appointment else "documents",
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
        created_at=T_APPLIED,
        updated_at=T_APPLIED + timedelta(hours=2),
        checklist=(
            checklist_item("proof_of_identity", "Proof of identity", "accepted"),
            checklist_item("payslips", "Last 3 payslips", "rejected", REJECTION),
            checklist_item("bank_statements", "Bank statements", "missing"),
        ),
        appointment=AppointmentRecord(
            id=4,
            branch="leeds_park_row",
            branch_name="Leeds Park Row",
            branch_address="1 Park Row, Leeds",
            starts_at=datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc),
            ends_at=datetime(2026, 12, 8, 10, 30, tzinfo=timezone.utc),
            label="Tue 8 Dec, 10:00",
            state="booked",
        )
        if appointment
        else None,
        events=(
            timeline_entry(0, "chat_started", "customer"),
            timeline_entry(5, "form_completed", "bot"),
            timeline_entry(30, "advisor_note", "agent", "Maya Patel", note="Wants a 5-year fix."),
            timeline_entry(
                40, "document_accepted", "agent", "Maya Patel", item="proof_of_identity"
            ),
            timeline_entry(41, "document_rejected", "agent", "Maya Patel", reason=REJECTION),
        ),
    )


def documents_context(record: ApplicationRecord) -> HandoffContext:
    """The context an advisor gets for this application (built as the handoff action does)."""
    evidence = Evidence.parse_obj(application_sections(record.to_evidence()))
    return build_handoff(
        sender_id="a" * 32,
        channel="socketio",
        language="en",
        events=[],
        slots={"application_reference": record.reference},
        reason_code="customer_request",
        detail="The customer asked for a person.",
        flow="mortgage",
        attempts=[],
        evidence=evidence,
        router=HandoffRouter.load(ROUTING_PATH, JOURNEYS),
        journeys=JOURNEYS,
    ).context


def test_the_stored_application_brings_its_stage_documents_and_appointment() -> None:
    record = application_in_documents(appointment=True)

    sections = application_sections(record.to_evidence())

    application = sections["mortgage_application"]
    assert (application.reference, application.stage) == ("MTG-7K3Q9", "appointment_booked")
    assert [(d.key, d.state, d.rejection_reason) for d in application.documents] == [
        ("proof_of_identity", "accepted", None),
        ("payslips", "rejected", REJECTION),
        ("bank_statements", "missing", None),
    ]
    assert application.appointment is not None
    assert (application.appointment.branch_name, application.appointment.label) == (
        "Leeds Park Row",
        "Tue 8 Dec, 10:00",
    )
    timeline = sections["mortgage_timeline"]
    assert [entry["kind"] for entry in timeline["entries"]] == [
        "chat_started",
        "form_completed",
        "advisor_note",
        "document_accepted",
        "document_rejected",
    ]
    assert timeline["omitted"] == 0


def test_before_documents_are_requested_they_are_null() -> None:
    record = application_in_documents().copy(update={"checklist": ()})

    sections = application_sections(record.to_evidence())

    assert sections["mortgage_application"].documents is None
    assert sections["mortgage_application"].appointment is None


def test_a_long_timeline_hands_over_its_newest_entries() -> None:
    record = application_in_documents()
    many = tuple(timeline_entry(m, "note", "agent", "Maya Patel") for m in range(60))
    long = record.copy(update={"events": many})

    timeline = application_sections(long.to_evidence())["mortgage_timeline"]

    assert len(timeline["entries"]) == 50
    assert timeline["omitted"] == 10
    assert timeline["entries"][-1]["occurred_at"] == many[-1].occurred_at.isoformat()


async def test_the_draft_has_no_stage_documents_appointment_or_timeline() -> None:
    tracker = intake(applicant_name="Jane Smith").tracker()

    sections = await mortgage_evidence(tracker, "mortgage")

    draft = sections["mortgage_application"]
    assert (draft.stage, draft.documents, draft.appointment) == (None, None, None)
    assert "mortgage_timeline" not in sections


def test_every_new_personal_field_is_marked() -> None:
    context = documents_context(application_in_documents(appointment=True))

    assert "/evidence/mortgage_application/documents/*/rejection_reason" in context.pii
    assert "/evidence/mortgage_timeline/entries/*/actor" in context.pii
    assert "/evidence/mortgage_timeline/entries/*/detail" in context.pii
    # And what the agent's screen shows of them.
    views = {section.key: section for section in context.evidence_view}
    documents = views["mortgage"].tables[0]
    timeline = views["mortgage_timeline"].tables[0]
    index = [section.key for section in context.evidence_view]
    assert documents.personal_columns == [2]
    assert timeline.personal_columns == [2, 4]
    for key, table_pointer in (("mortgage", 2), ("mortgage_timeline", 2), ("mortgage_timeline", 4)):
        pointer = f"/evidence_view/{index.index(key)}/tables/0/rows/*/{table_pointer}"
        assert pointer in context.pii


def test_no_rejection_no_reason_pointer() -> None:
    record = application_in_documents()
    accepted = record.copy(
        update={
            "checklist": (checklist_item("proof_of_identity", "Proof of identity", "accepted"),)
        }
    )

    context = documents_context(accepted)

    assert not any("rejection_reason" in pointer for pointer in context.pii)


def test_the_agents_screen_shows_the_documents_the_appointment_and_the_timeline() -> None:
    context = documents_context(application_in_documents(appointment=True))

    views = {section.key: section for section in context.evidence_view}
    assert list(views) == ["mortgage", "mortgage_appointment", "mortgage_timeline"]
    stage = next(f for f in views["mortgage"].fields if f.label == "Status")
    assert stage.value == "appointment_booked"
    documents = views["mortgage"].tables[0]
    assert (documents.caption, documents.columns) == ("Documents", ["Document", "State", "Reason"])
    assert documents.rows == [
        ["Proof of identity", "accepted", None],
        ["Last 3 payslips", "rejected", REJECTION],
        ["Bank statements", "missing", None],
    ]
    appointment = views["mortgage_appointment"]
    assert appointment.title == "Branch appointment"
    assert [(f.label, f.value) for f in appointment.fields] == [
        ("Branch", "Leeds Park Row"),
        ("When", "Tue 8 Dec, 10:00"),
        ("Starts (UTC)", "2026-12-08T10:00:00+00:00"),
        ("State", "booked"),
    ]
    timeline = views["mortgage_timeline"].tables[0]
    assert timeline.columns == ["When", "Where", "Who", "What", "Detail"]
    assert timeline.rows[0] == [
        "2026-12-01T09:00:00+00:00",
        "web chat",
        "customer",
        "chat started",
        None,
    ]
    assert timeline.rows[2] == [
        "2026-12-01T09:30:00+00:00",
        "desk",
        "Maya Patel (agent)",
        "advisor note",
        "note: Wants a 5-year fix.",
    ]
    assert timeline.rows[4][3:] == ["document rejected", f"reason: {REJECTION}"]


def test_the_summary_says_the_stage_and_what_is_missing() -> None:
    sentences = mortgage_sentences(documents_context(application_in_documents(appointment=True)))

    assert sentences == [
        "Mortgage application MTG-7K3Q9 is at the appointment booked stage, loan-to-value 80.0%.",
        "Documents still needed: Last 3 payslips and Bank statements.",
        "Branch signing booked: Leeds Park Row, Tue 8 Dec, 10:00.",
    ]


def test_the_summary_of_complete_or_waiting_documents() -> None:
    record = application_in_documents()
    accepted = record.copy(
        update={
            "checklist": (checklist_item("proof_of_identity", "Proof of identity", "accepted"),)
        }
    )
    waiting = record.copy(
        update={
            "checklist": (checklist_item("proof_of_identity", "Proof of identity", "uploaded"),)
        }
    )

    assert mortgage_sentences(documents_context(accepted))[1] == "All documents are accepted."
    assert mortgage_sentences(documents_context(waiting))[1] == (
        "All documents are sent and waiting for review."
    )
