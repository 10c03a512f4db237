"""Booking, moving and cancelling the branch signing, against the desk's stand-in
(harness/journey_desk.py) on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest

from actions.branch_booking import (
    BOOKING_DOWN,
    RESUME_FIRST,
    SLOT_TAKEN,
    SLOTS_SHOWN,
    ActionAskAppointmentBranch,
    ActionAskAppointmentSlot,
    ActionCancelAppointment,
    ActionStartBooking,
    ValidateBranchBookingForm,
)
from actions.handoff.delivery import desk_client
from contract.appointments import BookAppointment, Slot, SlotList
from harness.recording_endpoint import RecordingEndpoint
from tests.actions.conftest import (
    ActionResult,
    Conversation,
    run_action,
    slot_changes,
    texts,
)
from tests.support.applications import new_application

SECRET = "booking-desk-secret"
FORM = "branch_booking_form"
LEEDS = "leeds_park_row"
LEEDS_PLACE = "Leeds, Park Row, 12 Park Row, Leeds LS1 5HD"
BRING_ID = "Please bring your passport or driving licence."

pytestmark = [
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*"),
    pytest.mark.usefixtures("action_env"),
]


@pytest.fixture
async def endpoint() -> AsyncIterator[RecordingEndpoint]:
    """The desk's stand-in: applications, branches, appointments."""
    async with RecordingEndpoint(secret=SECRET) as running:
        yield running


@pytest.fixture
def handoff_url(endpoint: RecordingEndpoint) -> str:
    return endpoint.url


@pytest.fixture
def handoff_secret() -> str:
    return SECRET


async def _application(endpoint: RecordingEndpoint, stage: str) -> str:
    created = await desk_client().create_application(new_application("the-first-chat"))
    endpoint.journey.set_stage(created.reference, stage)
    return created.reference


@pytest.fixture
async def ready(endpoint: RecordingEndpoint) -> str:
    """An application ready to sign, known in this chat."""
    return await _application(endpoint, "ready_to_sign")


async def _free(count: int = 2, start: date | None = None) -> tuple[Slot, ...]:
    return (await desk_client().free_slots(LEEDS, start=start, limit=count)).slots


async def _booked(endpoint: RecordingEndpoint) -> tuple[str, Slot]:
    reference = await _application(endpoint, "ready_to_sign")
    (slot,) = await _free(1)
    await desk_client().book_appointment(
        reference, BookAppointment(branch=LEEDS, starts_at=slot.starts_at)
    )
    return reference, slot


# --- Starting ----------------------------------------------------------------------------------


async def _start(intent: str, **slots: Any) -> ActionResult:
    conversation = Conversation().slots(**slots).user("...", intent)
    return await run_action(ActionStartBooking(), conversation.tracker())


async def test_a_booking_that_can_go_ahead_starts_afresh(ready: str) -> None:
    events, messages = await _start(
        "book_appointment", application_reference=ready, appointment_branch="old"
    )

    assert messages == []
    assert slot_changes(events) == {
        "appointment_request": "book",
        "appointment_branch": None,
        "appointment_slot": None,
        "appointment_slots_from": None,
    }


async def test_without_an_application_in_the_chat_it_is_verified_first() -> None:
    booking = await _start("book_appointment")
    moving = await _start("reschedule_appointment")

    assert texts(booking.messages) == [RESUME_FIRST]
    assert slot_changes(booking.events) == {
        "appointment_request": "resume_first",
        "mortgage_next_step": "book_appointment",
    }
    # A move is offered after the verification with the appointment's details.
    assert slot_changes(moving.events)["mortgage_next_step"] is None


async def test_booking_before_the_documents_are_accepted_says_what_is_missing(
    endpoint: RecordingEndpoint,
) -> None:
    reference = await _application(endpoint, "intake")
    endpoint.journey.add_checklist(reference, "Payslips", "Bank statements")

    events, messages = await _start("book_appointment", application_reference=reference)

    assert texts(messages) == [
        "Booking opens once every document is accepted. 2 documents still needed: payslips "
        "and bank statements."
    ]
    assert slot_changes(events) == {"appointment_request": "refused"}


async def test_booking_again_offers_to_move_or_cancel(endpoint: RecordingEndpoint) -> None:
    reference, slot = await _booked(endpoint)

    events, messages = await _start("book_appointment", application_reference=reference)

    assert texts(messages) == [f"You already have an appointment: {slot.label} at {LEEDS_PLACE}."]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/reschedule_appointment",
        "/cancel_appointment",
    ]
    assert slot_changes(events) == {"appointment_request": "refused"}


async def test_a_move_starts_from_the_current_appointment(endpoint: RecordingEndpoint) -> None:
    reference, slot = await _booked(endpoint)

    events, messages = await _start("reschedule_appointment", application_reference=reference)

    assert texts(messages) == [
        f"Let's find a new time. Your appointment now is {slot.label} at {LEEDS_PLACE}."
    ]
    assert slot_changes(events)["appointment_request"] == "reschedule"


async def test_nothing_to_move_or_cancel_without_an_appointment(ready: str) -> None:
    moving = await _start("reschedule_appointment", application_reference=ready)
    cancelling = await _start("cancel_appointment", application_reference=ready)

    assert texts(moving.messages) == ["You don't have an appointment to move."]
    assert moving.messages[0]["buttons"][0]["payload"] == "/book_appointment"
    assert texts(cancelling.messages) == ["You don't have an appointment to cancel."]
    assert slot_changes(cancelling.events) == {"appointment_request": "refused"}


async def test_a_cancellation_asks_first(endpoint: RecordingEndpoint) -> None:
    reference, slot = await _booked(endpoint)

    events, messages = await _start(
        "cancel_appointment", application_reference=reference, human_offered=True
    )

    assert texts(messages) == [f"Shall I cancel your appointment on {slot.label} at {LEEDS_PLACE}?"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    # The "yes" answers this question, not an earlier offer of a person.
    assert slot_changes(events) == {"appointment_request": "cancel", "human_offered": False}
    stored = endpoint.application(reference)
    assert stored is not None and stored.stage == "appointment_booked"


async def test_with_the_desk_down_starting_apologises_clearly(
    endpoint: RecordingEndpoint, ready: str
) -> None:
    await endpoint.down()

    events, messages = await _start("book_appointment", application_reference=ready)

    assert texts(messages) == [BOOKING_DOWN]
    assert slot_changes(events) == {"appointment_request": "refused"}


# --- The form: asking --------------------------------------------------------------------------


def booking(reference: str, **earlier_slots: Any) -> Conversation:
    """The booking form is running for a known application."""
    conversation = Conversation().slots(application_reference=reference, **earlier_slots)
    conversation.user("book an appointment", "book_appointment")
    conversation.slots(appointment_request="book")
    conversation.form(FORM, "appointment_branch")
    return conversation


async def test_the_branches_are_offered_as_buttons(ready: str) -> None:
    _, messages = await run_action(ActionAskAppointmentBranch(), booking(ready).tracker())

    assert texts(messages) == ["Which branch would you like to sign at?"]
    payloads = [button["payload"] for button in messages[0]["buttons"]]
    assert payloads[0] == '/choose_branch{"appointment_branch": "leeds_park_row"}'
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "Leeds, Park Row",
        "Manchester, King Street",
    ]


async def test_the_first_free_slots_are_offered_with_other_days(ready: str) -> None:
    conversation = booking(ready, appointment_branch=LEEDS)

    _, messages = await run_action(ActionAskAppointmentSlot(), conversation.tracker())

    slots = await _free(SLOTS_SHOWN)
    buttons = messages[0]["buttons"]
    assert texts(messages) == [
        "These are the first free times at Leeds, Park Row. Which suits you?"
    ]
    assert [b["title"] for b in buttons] == [*(slot.label for slot in slots), "Other days"]
    chosen = json.loads(buttons[0]["payload"].removeprefix("/choose_slot"))
    assert datetime.fromisoformat(chosen["appointment_slot"]) == slots[0].starts_at
    assert buttons[-1]["payload"].startswith('/choose_slot{"appointment_slot": "after:')


async def test_other_days_offers_the_slots_from_the_next_day_on(ready: str) -> None:
    conversation = booking(ready, appointment_branch=LEEDS)
    _, offered = await run_action(ActionAskAppointmentSlot(), conversation.tracker())
    later = json.loads(offered[0]["buttons"][-1]["payload"].removeprefix("/choose_slot"))

    events, messages = await answer(conversation, "appointment_slot", later["appointment_slot"])
    _, offered_later = await run_action(ActionAskAppointmentSlot(), conversation.tracker())

    start = later["appointment_slot"].removeprefix("after:")
    assert messages == []
    assert slot_changes(events) == {"appointment_slot": None, "appointment_slots_from": start}
    first_later = (await _free(1, date.fromisoformat(start)))[0]
    assert offered_later[0]["buttons"][0]["title"] == first_later.label


async def answer(conversation: Conversation, slot: str, value: str) -> ActionResult:
    """The form asked for `slot`; the customer chose (or typed) `value`."""
    conversation.slots(requested_slot=slot).user(value, "choose_slot")
    result = await run_action(
        ValidateBranchBookingForm(), conversation.form_tracker(FORM, **{slot: value})
    )
    conversation.record(FORM, result)
    return result


# --- The form: choosing ------------------------------------------------------------------------


async def test_slots_emptied_by_starting_afresh_are_not_complained_about(ready: str) -> None:
    conversation = booking(ready)
    tracker = conversation.form_tracker(FORM, appointment_branch=None, appointment_slot=None)

    events, messages = await run_action(ValidateBranchBookingForm(), tracker)

    assert messages == []
    assert slot_changes(events) == {"appointment_branch": None, "appointment_slot": None}


@pytest.mark.parametrize("typed", [LEEDS, "Leeds", "leeds, park row", "  LEEDS  "])
async def test_a_branch_is_taken_by_its_key_or_its_name(ready: str, typed: str) -> None:
    events, messages = await answer(booking(ready), "appointment_branch", typed)

    assert messages == []
    assert slot_changes(events) == {"appointment_branch": LEEDS, "appointment_slots_from": None}


@pytest.mark.parametrize(
    "typed", ["Narnia", "<script>alert(1)</script>", "'; DROP TABLE x; --", ""]
)
async def test_a_branch_that_is_not_one_is_asked_again(ready: str, typed: str) -> None:
    events, messages = await answer(booking(ready), "appointment_branch", typed)

    assert texts(messages) == ["Please choose one of the branches below."]
    assert slot_changes(events) == {"appointment_branch": None}


async def test_the_chosen_slot_is_booked_and_confirmed(
    endpoint: RecordingEndpoint, ready: str
) -> None:
    (slot,) = await _free(1)
    conversation = booking(ready, appointment_branch=LEEDS)

    events, messages = await answer(conversation, "appointment_slot", slot.starts_at.isoformat())

    assert texts(messages) == [f"Booked: {slot.label} at {LEEDS_PLACE}. {BRING_ID}"]
    assert slot_changes(events) == {
        "appointment_slot": slot.starts_at.isoformat(),
        "appointment_request": None,
    }
    stored = endpoint.application(ready)
    assert stored is not None and stored.stage == "appointment_booked"
    assert stored.appointment is not None and stored.appointment.starts_at == slot.starts_at


async def test_a_slot_can_be_chosen_by_typing_its_label(ready: str) -> None:
    (slot,) = await _free(1)

    _, messages = await answer(
        booking(ready, appointment_branch=LEEDS), "appointment_slot", slot.label.upper()
    )

    assert texts(messages) == [f"Booked: {slot.label} at {LEEDS_PLACE}. {BRING_ID}"]


async def test_a_slot_taken_meanwhile_is_said_and_fresh_slots_offered(
    endpoint: RecordingEndpoint, ready: str
) -> None:
    conversation = booking(ready, appointment_branch=LEEDS)
    (slot,) = await _free(1)
    # Another customer books it after it was offered; the stand-in then refuses it with 409
    # (a validation that re-reads the free slots would not even offer it).
    endpoint.journey.take_slot(LEEDS, slot.starts_at)
    events, messages = await run_action(
        ValidateBranchBookingForm(),
        conversation.slots(requested_slot="appointment_slot")
        .user(slot.starts_at.isoformat(), "choose_slot")
        .form_tracker(FORM, appointment_slot=slot.starts_at.isoformat()),
    )
    _, offered = await run_action(ActionAskAppointmentSlot(), conversation.tracker())

    assert texts(messages) == ["That time isn't free. Please choose one of these."]
    assert slot_changes(events) == {"appointment_slot": None}
    assert slot.label not in [b["title"] for b in offered[0]["buttons"]]
    stored = endpoint.application(ready)
    assert stored is not None and stored.appointment is None


async def test_a_conflict_at_booking_says_the_slot_was_just_taken(
    endpoint: RecordingEndpoint, ready: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = booking(ready, appointment_branch=LEEDS)
    shown = await desk_client().free_slots(LEEDS, limit=SLOTS_SHOWN)
    slot = shown.slots[0]

    async def as_shown(*_args: Any, **_kwargs: Any) -> SlotList:
        # The race: the slot goes between the bot's last look and the booking itself.
        endpoint.journey.take_slot(LEEDS, slot.starts_at)
        return shown

    monkeypatch.setattr(desk_client(), "free_slots", as_shown)
    events, messages = await answer(conversation, "appointment_slot", slot.starts_at.isoformat())
    monkeypatch.undo()
    _, offered = await run_action(ActionAskAppointmentSlot(), conversation.tracker())

    assert texts(messages) == [SLOT_TAKEN]
    assert slot_changes(events) == {"appointment_slot": None}
    assert slot.label not in [b["title"] for b in offered[0]["buttons"]]
    stored = endpoint.application(ready)
    assert stored is not None and (stored.stage, stored.appointment) == ("ready_to_sign", None)


async def test_a_move_frees_the_old_slot(endpoint: RecordingEndpoint) -> None:
    reference, old = await _booked(endpoint)
    conversation = booking(reference, appointment_branch=LEEDS)
    conversation.slots(appointment_request="reschedule")
    new = next(slot for slot in await _free(3) if slot.starts_at != old.starts_at)

    _, messages = await answer(conversation, "appointment_slot", new.starts_at.isoformat())

    assert texts(messages) == [f"Moved: {new.label} at {LEEDS_PLACE}. {BRING_ID}"]
    stored = endpoint.application(reference)
    assert stored is not None and stored.appointment is not None
    assert stored.appointment.starts_at == new.starts_at
    assert [e.kind for e in stored.events][-1] == "appointment_rescheduled"


@pytest.mark.parametrize(
    "hostile", ["'; DROP TABLE branch_appointments; --", "<b>now</b>", "2026-13-45T99:99"]
)
async def test_a_slot_that_is_not_offered_is_asked_again(ready: str, hostile: str) -> None:
    events, messages = await answer(
        booking(ready, appointment_branch=LEEDS), "appointment_slot", hostile
    )

    assert texts(messages) == ["That time isn't free. Please choose one of these."]
    assert slot_changes(events) == {"appointment_slot": None}


async def test_with_the_desk_down_the_choice_is_kept_and_the_customer_told(
    endpoint: RecordingEndpoint, ready: str
) -> None:
    (slot,) = await _free(1)
    conversation = booking(ready, appointment_branch=LEEDS)
    await endpoint.down()

    events, messages = await answer(conversation, "appointment_slot", slot.starts_at.isoformat())
    _, asked = await run_action(ActionAskAppointmentSlot(), conversation.tracker())

    assert texts(messages) == [BOOKING_DOWN]
    assert slot_changes(events) == {"appointment_slot": None}
    assert texts(asked) == [BOOKING_DOWN]
    assert conversation.tracker().get_slot("appointment_branch") == LEEDS


# --- Cancelling --------------------------------------------------------------------------------


async def _answer_cancel(reference: str, intent: str) -> ActionResult:
    conversation = Conversation().slots(
        application_reference=reference, appointment_request="cancel"
    )
    conversation.press(f"/{intent}")
    return await run_action(ActionCancelAppointment(), conversation.tracker())


async def test_yes_cancels_the_appointment(endpoint: RecordingEndpoint) -> None:
    reference, _ = await _booked(endpoint)

    events, messages = await _answer_cancel(reference, "affirm")

    assert texts(messages)[0].startswith("Done: your appointment is cancelled.")
    assert slot_changes(events) == {"appointment_request": None}
    stored = endpoint.application(reference)
    assert stored is not None and (stored.stage, stored.appointment) == ("ready_to_sign", None)


async def test_no_keeps_the_appointment(endpoint: RecordingEndpoint) -> None:
    reference, _ = await _booked(endpoint)

    events, messages = await _answer_cancel(reference, "deny")

    assert texts(messages) == ["OK, your appointment stays as it is."]
    assert slot_changes(events) == {"appointment_request": None}
    stored = endpoint.application(reference)
    assert stored is not None and stored.stage == "appointment_booked"


async def test_cancelling_what_is_no_longer_booked_says_so(ready: str) -> None:
    events, messages = await _answer_cancel(ready, "affirm")

    assert texts(messages) == ["There's no booked appointment to cancel any more."]
    assert slot_changes(events) == {"appointment_request": None}


async def test_with_the_desk_down_the_appointment_still_stands(
    endpoint: RecordingEndpoint,
) -> None:
    reference, _ = await _booked(endpoint)
    await endpoint.down()

    _, messages = await _answer_cancel(reference, "affirm")

    assert texts(messages) == [
        "Sorry, I couldn't cancel it just now, so your appointment still stands. Please try "
        "again in a few minutes."
    ]
    await endpoint.up()
    stored = endpoint.application(reference)
    assert stored is not None and stored.stage == "appointment_booked"


async def test_with_no_free_times_later_days_are_offered(
    ready: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = await desk_client().free_slots(LEEDS, limit=1)

    async def fully_booked(*_args: Any, **_kwargs: Any) -> SlotList:
        return listing.copy(update={"slots": ()})

    monkeypatch.setattr(desk_client(), "free_slots", fully_booked)
    conversation = booking(ready, appointment_branch=LEEDS, appointment_slots_from="2026-12-07")

    events, messages = await run_action(ActionAskAppointmentSlot(), conversation.tracker())

    assert events == []
    assert texts(messages) == [
        "There are no free times at Leeds, Park Row in the 14 days from Mon 7 Dec. Try later days?"
    ]
    assert messages[0]["buttons"] == [
        {"title": "Other days", "payload": '/choose_slot{"appointment_slot": "after:2026-12-21"}'}
    ]
