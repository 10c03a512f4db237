"""Resuming an application with verification, and what comes next for it, against the desk's
stand-in (harness/journey_desk.py) on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from actions.constants import ACTION_ASK_NEXT_DOCUMENT, ACTION_START_BOOKING
from actions.mortgage_resume import (
    CODE_AGAIN,
    CODE_HINT,
    CODE_SENT,
    DESK_DOWN,
    NO_APPLICATION_IN_CHAT,
    REFERENCE_HINT,
    VERIFIED,
    ActionAskResumeCode,
    ActionAskResumeEmail,
    ActionAskResumeReference,
    ActionContinueApplication,
    ValidateResumeApplicationForm,
    locked_message,
    parse_code,
    parse_reference,
    where_things_stand,
)
from actions.prompts import load_prompts
from contract.applications import ApplicationRecord
from contract.appointments import AppointmentRecord
from contract.documents import ChecklistItem
from contract.resume import MAX_FAILED_ATTEMPTS
from harness.recording_endpoint import RecordingEndpoint
from tests.actions.conftest import (
    ActionResult,
    Conversation,
    rasa_domain,
    run_action,
    slot_changes,
    texts,
)
from tests.support.applications import new_application

SECRET = "resume-desk-secret"
FORM = "resume_application_form"

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")


@pytest.fixture
async def endpoint() -> AsyncIterator[RecordingEndpoint]:
    """The desk's stand-in: applications, resume codes, appointments."""
    async with RecordingEndpoint(secret=SECRET) as running:
        yield running


@pytest.fixture
def handoff_url(endpoint: RecordingEndpoint) -> str:
    return endpoint.url


@pytest.fixture
def handoff_secret() -> str:
    return SECRET


@pytest.fixture
async def reference(endpoint: RecordingEndpoint, action_env: Any) -> str:
    """A stored application (Jane, jane@example.com), made in another chat."""
    from actions.handoff.delivery import desk_client

    created = await desk_client().create_application(new_application("the-first-chat"))
    return created.reference


# --- Pure parts ------------------------------------------------------------------------------


# Full-width characters are what some phone keyboards type.
@pytest.mark.parametrize(
    ("typed", "reference"),
    [
        ("mtg 7k3q9", "MTG-7K3Q9"),
        ("MTG-7K3Q9", "MTG-7K3Q9"),
        ("it's mtg7k3q9 thanks", "MTG-7K3Q9"),
        ("\uff2d\uff34\uff27\uff0d\uff17\uff2b\uff13\uff31\uff19", "MTG-7K3Q9"),  # full-width
        ("7K3Q9", None),
        ("MTG-7K3Q", None),
        ("<b>MTG-7K3Q9x</b>", None),
        ("'; DROP TABLE mortgage_applications; --", None),
    ],
)
def test_a_reference_is_read_from_how_people_type_it(typed: str, reference: str | None) -> None:
    assert parse_reference(typed) == reference


@pytest.mark.parametrize(
    ("typed", "code"),
    [("123456", "123456"), ("123 456", "123456"), ("12-34-56", "123456"), ("12345", None)],
)
def test_a_code_is_six_digits_however_spaced(typed: str, code: str | None) -> None:
    assert parse_code(typed) == code


def test_the_lock_says_until_when_in_uk_time() -> None:
    winter = datetime(2026, 12, 2, 14, 35, tzinfo=timezone.utc)
    summer = datetime(2026, 7, 2, 14, 35, tzinfo=timezone.utc)

    assert locked_message(winter) == (
        "For your security, resuming this application is locked until 14:35. "
        "Please try again then, or call us."
    )
    assert "until 15:35." in locked_message(summer)


def _item(title: str, state: str = "missing") -> ChecklistItem:
    return ChecklistItem(
        key="_".join(title.lower().split()),
        title=title,
        ask=f"Please send your {title.lower()}.",
        requested_by="checklist",
        state=state,
    )


NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
APPOINTMENT = AppointmentRecord(
    id=1,
    branch="leeds_park_row",
    branch_name="Leeds, Park Row",
    branch_address="12 Park Row, Leeds LS1 5HD",
    starts_at=datetime(2026, 12, 3, 9, 45, tzinfo=timezone.utc),
    ends_at=datetime(2026, 12, 3, 10, 30, tzinfo=timezone.utc),
    label="Thu 3 Dec, 09:45",
    state="booked",
)


def _record(stage: str, **changes: Any) -> ApplicationRecord:
    values: dict[str, Any] = {
        "reference": "MTG-7K3Q9",
        "stage": stage,
        "applicant_name": "Jane O'Neill-Smith",
        "email": "jane@example.com",
        "property_value": Decimal(250000),
        "deposit_amount": Decimal(50000),
        "loan_amount": Decimal(200000),
        "loan_to_value": Decimal("0.8"),
        "term_years": 25,
        "annual_income": Decimal(62500),
        "employment_type": "employed",
        "currency": "GBP",
        "origin_channel": "rest",
        "origin_sender_id": "first-chat",
        "created_at": NOW,
        "updated_at": NOW,
        "events": (),
    }
    values.update(changes)
    return ApplicationRecord(**values)


@pytest.mark.parametrize(
    ("record", "stands"),
    [
        (
            _record("intake"),
            "we have your details; the next step is advice from one of our mortgage advisors.",
        ),
        (_record("advice"), "it's with our mortgage advisors for advice."),
        (
            _record(
                "documents",
                checklist=(
                    _item("Proof of identity", "accepted"),
                    _item("Payslips"),
                    _item("A bank statement", "rejected"),
                ),
            ),
            "2 documents still needed: payslips and a bank statement.",
        ),
        (
            _record("documents", checklist=(_item("Payslips", "uploaded"),)),
            "all your documents are with us and being checked.",
        ),
        (
            _record("documents", checklist=(_item("Payslips"),)),
            "1 document still needed: payslips.",
        ),
        (_record("ready_to_sign"), "everything is in place and it's ready to sign at a branch."),
        (
            _record("appointment_booked", appointment=APPOINTMENT),
            "you're booked to sign on Thu 3 Dec, 09:45 at Leeds, Park Row, 12 Park Row, Leeds "
            "LS1 5HD.",
        ),
        (_record("signed"), "it's signed. Congratulations on your new mortgage!"),
        (_record("withdrawn"), "it was withdrawn, so it's closed."),
        (
            _record("expired"),
            "it has expired, so it's closed. If you'd still like a mortgage, I can start a "
            "new application.",
        ),
        (_record("on_hold"), 'it\'s at the stage "on hold".'),
    ],
)
def test_where_things_stand_at_every_stage(record: ApplicationRecord, stands: str) -> None:
    assert where_things_stand(record) == f"Welcome back, Jane. Your application MTG-7K3Q9: {stands}"


# --- The form --------------------------------------------------------------------------------


def resuming(**earlier_slots: Any) -> Conversation:
    """A new chat: the customer asked to continue their application; the form asks."""
    conversation = Conversation().user("I'd like to continue my mortgage application", "resume")
    conversation.form(FORM, "resume_reference")
    if earlier_slots:
        conversation.slots(**earlier_slots)
    return conversation


async def answer(conversation: Conversation, slot: str, text: str) -> ActionResult:
    """The form asked for `slot`; the customer typed `text` (a from_text mapping)."""
    conversation.slots(requested_slot=slot).user(text, "inform")
    result = await run_action(
        ValidateResumeApplicationForm(), conversation.form_tracker(FORM, **{slot: text})
    )
    conversation.record(FORM, result)
    return result


async def up_to_the_code(reference: str) -> Conversation:
    """The reference and the right e-mail were given; the code is on its way."""
    conversation = resuming()
    await answer(conversation, "resume_reference", reference.lower().replace("-", " "))
    await answer(conversation, "resume_email", "Jane@Example.com")
    return conversation


@pytest.mark.usefixtures("action_env")
async def test_the_right_code_verifies_and_sets_the_reference(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    conversation = await up_to_the_code(reference)
    code = endpoint.journey.last_code(reference)
    assert code is not None
    asked = await run_action(ActionAskResumeCode(), conversation.tracker())

    events, messages = await answer(conversation, "resume_code", f"{code[:3]} {code[3:]}")

    assert texts(asked.messages) == [CODE_SENT]
    assert texts(messages) == [VERIFIED]
    assert slot_changes(events) == {
        "resume_code": "verified",
        "application_reference": reference,
        "resume_verification": "verified",
        "requested_slot": None,
    }
    stored = endpoint.application(reference)
    assert stored is not None and stored.events[-1].kind == "resumed"


@pytest.mark.usefixtures("action_env")
async def test_a_wrong_code_says_the_tries_left_and_asks_again(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    conversation = await up_to_the_code(reference)

    events, messages = await answer(conversation, "resume_code", "000000")
    asked = await run_action(ActionAskResumeCode(), conversation.tracker())

    assert texts(messages) == ["That code doesn't match; 4 tries left."]
    assert slot_changes(events) == {"resume_code": None, "resume_attempts_left": 4.0}
    assert texts(asked.messages) == [CODE_AGAIN]
    # The code sent still works: the customer had mistyped it.
    code = endpoint.journey.last_code(reference)
    assert code is not None
    events, messages = await answer(conversation, "resume_code", code)
    assert texts(messages) == [VERIFIED]
    assert slot_changes(events)["application_reference"] == reference


@pytest.mark.usefixtures("action_env")
async def test_too_many_wrong_codes_lock_resuming_and_end_the_form(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    conversation = await up_to_the_code(reference)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        await answer(conversation, "resume_code", "000000")

    events, messages = await answer(conversation, "resume_code", "000000")

    [message] = texts(messages)
    assert message.startswith("For your security, resuming this application is locked until ")
    assert message.endswith(". Please try again then, or call us.")
    assert slot_changes(events) == {
        "resume_reference": None,
        "resume_email": None,
        "resume_code": None,
        "resume_attempts_left": None,
        "resume_verification": "locked",
        "requested_slot": None,
    }


@pytest.mark.usefixtures("action_env")
async def test_once_locked_a_new_attempt_stops_at_the_email(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    conversation = await up_to_the_code(reference)
    for _ in range(MAX_FAILED_ATTEMPTS):
        await answer(conversation, "resume_code", "000000")
    again = resuming()
    await answer(again, "resume_reference", reference)

    events, messages = await answer(again, "resume_email", "jane@example.com")

    assert texts(messages)[0].startswith("For your security, resuming this application is")
    assert slot_changes(events)["resume_verification"] == "locked"
    assert endpoint.journey.last_code(reference) is None


@pytest.mark.usefixtures("action_env")
async def test_an_unknown_reference_behaves_like_a_wrong_email(endpoint: RecordingEndpoint) -> None:
    conversation = resuming()
    await answer(conversation, "resume_reference", "MTG-00000")

    events, messages = await answer(conversation, "resume_email", "jane@example.com")

    assert messages == []
    assert slot_changes(events)["resume_email"] == "jane@example.com"
    events, messages = await answer(conversation, "resume_code", "123456")
    assert texts(messages) == [f"That code doesn't match; {MAX_FAILED_ATTEMPTS - 2} tries left."]


@pytest.mark.usefixtures("action_env")
async def test_slots_emptied_by_an_action_this_turn_are_not_complained_about(
    endpoint: RecordingEndpoint,
) -> None:
    conversation = resuming()
    conversation.user("continue my application", "resume_application")
    tracker = conversation.form_tracker(
        FORM, resume_reference=None, resume_email=None, resume_code=None
    )

    events, messages = await run_action(ValidateResumeApplicationForm(), tracker)

    assert messages == []
    assert set(slot_changes(events).values()) == {None}
    assert endpoint.journey.verifications == {}


@pytest.mark.usefixtures("action_env")
async def test_a_reference_that_is_not_one_is_asked_again() -> None:
    events, messages = await answer(resuming(), "resume_reference", "my house on Elm Street")

    assert texts(messages) == [REFERENCE_HINT]
    assert slot_changes(events)["resume_reference"] is None


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>@example.com",
        "' OR 1=1; DROP TABLE resume_codes; --",
        "x" * 400 + "@example.com",
    ],
)
@pytest.mark.usefixtures("action_env")
async def test_a_hostile_email_is_answered_clearly_and_nothing_is_sent(
    endpoint: RecordingEndpoint, reference: str, hostile: str
) -> None:
    conversation = resuming()
    await answer(conversation, "resume_reference", reference)

    events, messages = await answer(conversation, "resume_email", hostile)

    assert texts(messages) == [
        "That doesn't look like a complete email address. Please type it like name@example.com."
    ]
    assert slot_changes(events) == {"resume_email": None}
    assert endpoint.journey.verifications == {}


@pytest.mark.parametrize("hostile", ["'; DROP TABLE resume_codes; --", "<img src=x>", "1" * 40])
@pytest.mark.usefixtures("action_env")
async def test_a_hostile_code_is_answered_clearly_and_not_counted(
    endpoint: RecordingEndpoint, reference: str, hostile: str
) -> None:
    conversation = await up_to_the_code(reference)

    events, messages = await answer(conversation, "resume_code", hostile)

    assert texts(messages) == [CODE_HINT]
    assert slot_changes(events) == {"resume_code": None}
    assert endpoint.journey.verifications[reference].failures == 0


@pytest.mark.usefixtures("action_env")
async def test_with_the_desk_down_the_customer_is_told_and_nothing_is_lost(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    conversation = resuming()
    await answer(conversation, "resume_reference", reference)
    await endpoint.down()

    events, messages = await answer(conversation, "resume_email", "jane@example.com")

    assert texts(messages) == [DESK_DOWN]
    assert slot_changes(events) == {"resume_email": None}
    # The reference stays; the e-mail is simply asked again.
    assert conversation.tracker().get_slot("resume_reference") == reference


# --- Verification is never skipped -----------------------------------------------------------


def test_no_message_can_fill_the_slots_that_mean_verified() -> None:
    slots = {slot.name: slot for slot in rasa_domain().slots}

    for name in ("application_reference", "resume_verification"):
        assert [m["type"] for m in slots[name].mappings] == ["custom"], name


@pytest.mark.usefixtures("action_env")
async def test_prefilled_answers_do_not_stand_in_for_the_code(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    # Everything carried in at once (say from an earlier, abandoned attempt), code included.
    conversation = Conversation().user("continue my application", "resume_application")
    tracker = conversation.form_tracker(
        FORM, resume_reference=reference, resume_email="jane@example.com", resume_code="123456"
    )

    events, _ = await run_action(ValidateResumeApplicationForm(), tracker)

    changes = slot_changes(events)
    assert changes["resume_code"] is None
    assert "application_reference" not in changes
    assert endpoint.journey.verifications[reference].failures == 0


@pytest.mark.usefixtures("action_env")
async def test_a_code_typed_before_it_was_asked_for_is_not_tried(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    conversation = resuming()
    await answer(conversation, "resume_reference", reference)
    code_now = "123456"

    conversation.slots(requested_slot="resume_email").user(code_now, "inform")
    tracker = conversation.form_tracker(FORM, resume_code=code_now)
    events, _ = await run_action(ValidateResumeApplicationForm(), tracker)

    assert slot_changes(events)["resume_code"] is None
    assert "application_reference" not in slot_changes(events)
    assert reference not in endpoint.journey.verifications


@pytest.mark.usefixtures("action_env")
async def test_a_chat_that_knows_its_application_is_not_asked_again(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    conversation = Conversation().slots(application_reference=reference)
    conversation.user("I'd like to continue my mortgage application", "resume_application")

    events, messages = await run_action(
        ValidateResumeApplicationForm(), conversation.form_tracker(FORM)
    )

    assert messages == []
    assert slot_changes(events) == {"resume_verification": "verified", "requested_slot": None}


@pytest.mark.usefixtures("action_env")
async def test_another_reference_than_the_chat_knows_is_verified(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    conversation = Conversation().slots(application_reference="MTG-AAAAA")
    conversation.user(f"continue {reference}", "resume_application")

    events, _ = await run_action(
        ValidateResumeApplicationForm(),
        conversation.form_tracker(FORM, resume_reference=reference),
    )

    assert slot_changes(events)["resume_reference"] == reference
    assert "resume_verification" not in slot_changes(events)


# --- Carrying on -----------------------------------------------------------------------------


def _followups(events: list[dict[str, Any]]) -> list[str]:
    return [event["name"] for event in events if event["event"] == "followup"]


async def _continue(**slots: Any) -> ActionResult:
    conversation = Conversation().slots(**slots)
    return await run_action(ActionContinueApplication(), conversation.tracker())


@pytest.mark.usefixtures("action_env")
async def test_documents_still_needed_are_named_then_the_next_one_asked(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    endpoint.journey.add_checklist(reference, "Payslips", "Bank statements")

    events, messages = await _continue(application_reference=reference)

    assert texts(messages) == [
        f"Welcome back, Jane. Your application {reference}: 2 documents still needed: "
        "payslips and bank statements."
    ]
    assert _followups(events) == [ACTION_ASK_NEXT_DOCUMENT]
    assert slot_changes(events)["resume_reference"] is None


@pytest.mark.usefixtures("action_env")
async def test_ready_to_sign_offers_the_booking(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    endpoint.journey.set_stage(reference, "ready_to_sign")

    events, messages = await _continue(application_reference=reference)

    assert texts(messages)[1] == "Shall we book your signing appointment at a branch?"
    assert messages[1]["buttons"] == [
        {"title": "Book a signing appointment", "payload": "/book_appointment"}
    ]
    assert _followups(events) == []


@pytest.mark.usefixtures("action_env")
async def test_after_a_missed_appointment_a_new_one_is_offered(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    from actions.handoff.delivery import desk_client
    from contract.appointments import BookAppointment

    endpoint.journey.set_stage(reference, "ready_to_sign")
    (slot,) = (await desk_client().free_slots("leeds_park_row", limit=1)).slots
    await desk_client().book_appointment(
        reference, BookAppointment(branch="leeds_park_row", starts_at=slot.starts_at)
    )
    endpoint.journey.mark_missed(reference)

    _, messages = await _continue(application_reference=reference)

    assert texts(messages)[1] == (
        f"You missed your appointment on {slot.label}; shall we book a new one?"
    )


@pytest.mark.usefixtures("action_env")
async def test_the_advisors_next_step_is_honoured_and_cleared(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    endpoint.journey.set_stage(reference, "ready_to_sign")

    events, messages = await _continue(
        application_reference=reference, mortgage_next_step="book_appointment"
    )

    assert _followups(events) == [ACTION_START_BOOKING]
    assert slot_changes(events)["mortgage_next_step"] is None
    assert len(messages) == 1  # the greeting; the booking asks its own question


@pytest.mark.usefixtures("action_env")
async def test_a_booked_appointment_is_described_with_how_to_change_it(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    from actions.handoff.delivery import desk_client
    from contract.appointments import BookAppointment

    endpoint.journey.set_stage(reference, "ready_to_sign")
    (slot,) = (await desk_client().free_slots("leeds_park_row", limit=1)).slots
    await desk_client().book_appointment(
        reference, BookAppointment(branch="leeds_park_row", starts_at=slot.starts_at)
    )

    _, messages = await _continue(application_reference=reference)

    assert f"you're booked to sign on {slot.label} at Leeds, Park Row" in texts(messages)[0]
    assert [b["payload"] for b in messages[1]["buttons"]] == [
        "/reschedule_appointment",
        "/cancel_appointment",
    ]


@pytest.mark.usefixtures("action_env")
async def test_before_the_documents_an_advisor_is_offered(reference: str) -> None:
    events, messages = await _continue(application_reference=reference)

    assert texts(messages)[1] == "Would you like me to bring in one of our mortgage advisors?"
    assert slot_changes(events)["human_offered"] is True
    assert slot_changes(events)["handoff_reason"] == "needs_advice"


@pytest.mark.usefixtures("action_env")
async def test_without_an_application_in_the_chat_it_says_how_to_resume() -> None:
    events, messages = await _continue()

    assert texts(messages) == [NO_APPLICATION_IN_CHAT]
    assert "application_reference" not in slot_changes(events)


@pytest.mark.usefixtures("action_env")
async def test_with_the_desk_down_the_reference_and_the_next_step_are_kept(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    await endpoint.down()

    events, messages = await _continue(
        application_reference=reference, mortgage_next_step="collect_documents"
    )

    assert texts(messages) == [DESK_DOWN]
    changes = slot_changes(events)
    assert "application_reference" not in changes
    assert "mortgage_next_step" not in changes


async def test_the_reference_and_the_email_are_asked_in_plain_words() -> None:
    reference = await run_action(ActionAskResumeReference(), resuming().tracker())
    email = await run_action(ActionAskResumeEmail(), resuming().tracker())

    prompts = load_prompts()
    assert texts(reference.messages) == [prompts["resume_reference"]["text"]]
    assert "MTG-7K3Q9" in texts(reference.messages)[0]
    assert texts(email.messages) == [prompts["resume_email"]["text"]]
    assert (reference.events, email.events) == ([], [])


@pytest.mark.usefixtures("action_env")
async def test_right_after_the_rating_the_documents_are_asked_for_without_a_welcome_back(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    endpoint.journey.add_checklist(reference, "Payslips", "Bank statements")
    conversation = Conversation().slots(application_reference=reference).ran("action_submit_csat")

    events, messages = await run_action(ActionContinueApplication(), conversation.tracker())

    assert texts(messages) == []  # the request for the next document names what is needed
    assert _followups(events) == [ACTION_ASK_NEXT_DOCUMENT]


@pytest.mark.usefixtures("action_env")
async def test_right_after_the_rating_other_stages_are_told_without_a_welcome_back(
    endpoint: RecordingEndpoint, reference: str
) -> None:
    endpoint.journey.set_stage(reference, "ready_to_sign")
    conversation = Conversation().slots(application_reference=reference).ran("action_submit_csat")

    _, messages = await run_action(ActionContinueApplication(), conversation.tracker())

    assert texts(messages)[0].startswith(f"Your application {reference}: ")
    assert "Welcome back" not in " ".join(texts(messages))
