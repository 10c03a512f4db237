"""Booking, moving and cancelling the signing appointment at a branch (`contract.appointments`).

`action_start_booking` checks what the customer asked ("book", "move", "cancel my
appointment") against the application known in this chat, and sets `appointment_request`, on
which the rules start the booking form, the resume form (no application known here yet: it is
verified first, then the booking starts), or the cancellation's question. The booking form
offers the branches, then up to `SLOTS_SHOWN` free slots as buttons (the desk's labels;
"Other days" pages on); the chosen slot is booked (or the appointment moved to it) there and
then, so a slot taken meanwhile (409) is answered at once with the free slots as they are now.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from http import HTTPStatus
from typing import Any, Final
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_ASK_APPOINTMENT_BRANCH,
    ACTION_ASK_APPOINTMENT_SLOT,
    ACTION_CANCEL_APPOINTMENT,
    ACTION_START_BOOKING,
    ENTITY_APPOINTMENT_BRANCH,
    ENTITY_APPOINTMENT_SLOT,
    INTENT_AFFIRM,
    INTENT_CANCEL_APPOINTMENT,
    INTENT_CHOOSE_BRANCH,
    INTENT_CHOOSE_SLOT,
    INTENT_RESCHEDULE_APPOINTMENT,
    SLOT_APPLICATION_REFERENCE,
    SLOT_APPOINTMENT_BRANCH,
    SLOT_APPOINTMENT_REQUEST,
    SLOT_APPOINTMENT_SLOT,
    SLOT_APPOINTMENT_SLOTS_FROM,
    SLOT_HUMAN_OFFERED,
    SLOT_MORTGAGE_NEXT_STEP,
    VALIDATE_BRANCH_BOOKING_FORM,
    AppointmentRequest,
)
from actions.desk_client import DeskCallFailed
from actions.failsafe import GuardedFormValidationAction, apologise_on_failure
from actions.handoff.delivery import desk_client
from actions.mortgage_resume import (
    APPOINTMENT_BUTTONS,
    BOOK_BUTTON,
    appointment_phrase,
    where_things_stand,
)
from contract.applications import ApplicationRecord, ApplicationStage, NextStep
from contract.appointments import BookAppointment, Branch, Slot

#: How many slots are offered at once (buttons stay readable on a phone).
SLOTS_SHOWN: Final = 6
#: How many days of one branch's diary one offer looks through.
SLOT_DAYS: Final = 14
#: The payload prefix of "Other days": the day the next offer starts.
LATER_PREFIX: Final = "after:"

BOOKING_DOWN: Final = (
    "Sorry, I can't reach our booking system just now. Nothing is lost: please try again in "
    "a few minutes."
)
RESUME_FIRST: Final = "First I need to find your application, to keep it safe."
BRING_ID: Final = "Please bring your passport or driving licence."
SLOT_TAKEN: Final = "That slot was just taken, sorry. Here are the free times now."


def branch_button(branch: Branch) -> dict[str, str]:
    """A branch to choose: its name, and the payload that fills `appointment_branch`."""
    return {
        "title": branch.name,
        "payload": f'/{INTENT_CHOOSE_BRANCH}{{"{ENTITY_APPOINTMENT_BRANCH}": "{branch.key}"}}',
    }


def slot_button(slot: Slot) -> dict[str, str]:
    """A slot to choose: the desk's label, and its start (ISO, UTC) as the payload."""
    return _choice_button(slot.label, slot.starts_at.isoformat())


def later_button(start: date) -> dict[str, str]:
    """ "Other days": the free slots from `start` on."""
    return _choice_button("Other days", f"{LATER_PREFIX}{start.isoformat()}")


def _choice_button(title: str, value: str) -> dict[str, str]:
    return {
        "title": title,
        "payload": f'/{INTENT_CHOOSE_SLOT}{{"{ENTITY_APPOINTMENT_SLOT}": "{value}"}}',
    }


def booked_message(record: ApplicationRecord, *, moved: bool) -> str:
    """ "Booked: Thu 3 Dec, 09:45 at Leeds, Park Row, 12 Park Row, Leeds. Please bring ..."."""
    return f"{'Moved' if moved else 'Booked'}: {appointment_phrase(record)}. {BRING_ID}"


def _requested(tracker: Tracker) -> AppointmentRequest:
    intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
    if intent == INTENT_RESCHEDULE_APPOINTMENT:
        return AppointmentRequest.RESCHEDULE
    if intent == INTENT_CANCEL_APPOINTMENT:
        return AppointmentRequest.CANCEL
    # The intent to book, or a hand-back / resume that set the next step to booking.
    return AppointmentRequest.BOOK


def _request(request: AppointmentRequest, *extra: EventType) -> list[EventType]:
    return [SlotSet(SLOT_APPOINTMENT_REQUEST, request.value), *extra]


class ActionStartBooking(Action):
    """Checks a booking, move or cancellation can be done for this chat's application."""

    def name(self) -> str:
        return ACTION_START_BOOKING

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        request = _requested(tracker)
        reference = tracker.get_slot(SLOT_APPLICATION_REFERENCE)
        if not reference:
            dispatcher.utter_message(text=RESUME_FIRST)
            # After the verification, `action_continue_application` starts the booking (a
            # move or a cancellation is offered there with the appointment's details).
            next_step = (
                NextStep.BOOK_APPOINTMENT.value if request is AppointmentRequest.BOOK else None
            )
            return _request(
                AppointmentRequest.RESUME_FIRST, SlotSet(SLOT_MORTGAGE_NEXT_STEP, next_step)
            )
        try:
            record = await desk_client().get_application(reference)
        except DeskCallFailed:
            dispatcher.utter_message(text=BOOKING_DOWN)
            return _request(AppointmentRequest.REFUSED)
        if record is None:
            dispatcher.utter_message(text=f"I can't find application {reference} any more.")
            return _request(AppointmentRequest.REFUSED)
        if request is AppointmentRequest.CANCEL:
            return _start_cancelling(record, dispatcher)
        return _start_choosing(record, request, dispatcher)


def _start_choosing(
    record: ApplicationRecord, request: AppointmentRequest, dispatcher: CollectingDispatcher
) -> list[EventType]:
    booked = record.stage == ApplicationStage.APPOINTMENT_BOOKED.value
    fresh = [
        SlotSet(SLOT_APPOINTMENT_BRANCH, None),
        SlotSet(SLOT_APPOINTMENT_SLOT, None),
        SlotSet(SLOT_APPOINTMENT_SLOTS_FROM, None),
    ]
    if request is AppointmentRequest.RESCHEDULE and booked:
        dispatcher.utter_message(
            text=f"Let's find a new time. Your appointment now is {appointment_phrase(record)}."
        )
        return _request(request, *fresh)
    if request is AppointmentRequest.BOOK and record.stage == ApplicationStage.READY_TO_SIGN.value:
        return _request(request, *fresh)
    if booked:
        dispatcher.utter_message(
            text=f"You already have an appointment: {appointment_phrase(record)}.",
            buttons=APPOINTMENT_BUTTONS,
        )
    elif request is AppointmentRequest.RESCHEDULE:
        buttons = [BOOK_BUTTON] if record.stage == ApplicationStage.READY_TO_SIGN.value else []
        dispatcher.utter_message(text="You don't have an appointment to move.", buttons=buttons)
    elif record.stage == ApplicationStage.DOCUMENTS.value:
        dispatcher.utter_message(
            text="Booking opens once every document is accepted. "
            + where_things_stand(record).split(": ", 1)[1]
        )
    else:
        dispatcher.utter_message(
            text=f"There's no appointment to book at this stage. {where_things_stand(record)}"
        )
    return _request(AppointmentRequest.REFUSED)


def _start_cancelling(
    record: ApplicationRecord, dispatcher: CollectingDispatcher
) -> list[EventType]:
    if record.stage != ApplicationStage.APPOINTMENT_BOOKED.value:
        dispatcher.utter_message(text="You don't have an appointment to cancel.")
        return _request(AppointmentRequest.REFUSED)
    dispatcher.utter_message(
        text=f"Shall I cancel your appointment on {appointment_phrase(record)}?",
        buttons=[
            {"title": "Yes, cancel it", "payload": f"/{INTENT_AFFIRM}"},
            {"title": "No, keep it", "payload": "/deny"},
        ],
    )
    # A "yes" now answers this question, not an earlier offer of a person.
    return _request(AppointmentRequest.CANCEL, SlotSet(SLOT_HUMAN_OFFERED, False))


class ActionCancelAppointment(Action):
    """The answer to "Shall I cancel your appointment?": cancels it at the desk, or keeps it."""

    def name(self) -> str:
        return ACTION_CANCEL_APPOINTMENT

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        done: list[EventType] = [SlotSet(SLOT_APPOINTMENT_REQUEST, None)]
        reference = tracker.get_slot(SLOT_APPLICATION_REFERENCE)
        if tracker.get_intent_of_latest_message() != INTENT_AFFIRM or not reference:
            dispatcher.utter_message(text="OK, your appointment stays as it is.")
            return done
        try:
            await desk_client().cancel_appointment(reference)
        except DeskCallFailed as error:
            if error.status == HTTPStatus.CONFLICT:
                dispatcher.utter_message(text="There's no booked appointment to cancel any more.")
            else:
                dispatcher.utter_message(
                    text="Sorry, I couldn't cancel it just now, so your appointment still "
                    "stands. Please try again in a few minutes."
                )
            return done
        dispatcher.utter_message(
            text="Done: your appointment is cancelled. Whenever you're ready, I can book a "
            "new one.",
            buttons=[BOOK_BUTTON],
        )
        return done


# --- The booking form ------------------------------------------------------------------------


def _later_day(slots: tuple[Slot, ...], branch: Branch) -> date:
    """The day after the last slot offered, in the branch's own calendar."""
    return slots[-1].starts_at.astimezone(ZoneInfo(branch.timezone)).date() + timedelta(days=1)


def _start_day(tracker: Tracker) -> date | None:
    start = tracker.get_slot(SLOT_APPOINTMENT_SLOTS_FROM)
    try:
        return date.fromisoformat(str(start)) if start else None
    except ValueError:
        return None


class ActionAskAppointmentBranch(Action):
    """Offers the branches as buttons."""

    def name(self) -> str:
        return ACTION_ASK_APPOINTMENT_BRANCH

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            branches = await desk_client().branches()
        except DeskCallFailed:
            dispatcher.utter_message(text=BOOKING_DOWN)
            return []
        dispatcher.utter_message(
            text="Which branch would you like to sign at?",
            buttons=[branch_button(branch) for branch in branches],
        )
        return []


class ActionAskAppointmentSlot(Action):
    """Offers the branch's first free slots as buttons, and "Other days"."""

    def name(self) -> str:
        return ACTION_ASK_APPOINTMENT_SLOT

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        branch_key = str(tracker.get_slot(SLOT_APPOINTMENT_BRANCH))
        start = _start_day(tracker)
        try:
            offer = await desk_client().free_slots(
                branch_key, start=start, days=SLOT_DAYS, limit=SLOTS_SHOWN
            )
        except DeskCallFailed:
            dispatcher.utter_message(text=BOOKING_DOWN)
            return []
        branch = offer.branch
        if not offer.slots:
            first = start or datetime.now(ZoneInfo(branch.timezone)).date()
            dispatcher.utter_message(
                text=f"There are no free times at {branch.name} in the {SLOT_DAYS} days from "
                f"{first:%a} {first.day} {first:%b}. Try later days?",
                buttons=[later_button(first + timedelta(days=SLOT_DAYS))],
            )
            return []
        dispatcher.utter_message(
            text=f"These are the first free times at {branch.name}. Which suits you?",
            buttons=[
                *(slot_button(slot) for slot in offer.slots),
                later_button(_later_day(offer.slots, branch)),
            ],
        )
        return []


def _matching_slot(value: str, slots: tuple[Slot, ...]) -> Slot | None:
    """The offered slot the customer chose: by its start (a button) or its label (typed)."""
    wanted = " ".join(value.split()).casefold()
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        moment = None
    for slot in slots:
        if moment is not None and moment.tzinfo is not None and slot.starts_at == moment:
            return slot
        if slot.label.casefold() == wanted:
            return slot
    return None


def _matching_branch(value: str, branches: tuple[Branch, ...]) -> Branch | None:
    """The branch chosen by its key (a button) or named in the customer's words ("Leeds")."""
    wanted = " ".join(value.split()).casefold()
    exact = [b for b in branches if wanted in (b.key.casefold(), b.name.casefold())]
    named = [b for b in branches if wanted and wanted in b.name.casefold()]
    found = exact or named
    return found[0] if len(found) == 1 else None


class ValidateBranchBookingForm(GuardedFormValidationAction):
    """The branch, then the slot, which is booked (or the appointment moved to it) at once."""

    def name(self) -> str:
        return VALIDATE_BRANCH_BOOKING_FORM

    async def validate_appointment_branch(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # emptied by `action_start_booking` this turn: nothing was chosen
            return {SLOT_APPOINTMENT_BRANCH: None}
        try:
            branch = _matching_branch(str(value or ""), await desk_client().branches())
        except DeskCallFailed:
            dispatcher.utter_message(text=BOOKING_DOWN)
            return {SLOT_APPOINTMENT_BRANCH: None}
        if branch is None:
            dispatcher.utter_message(text="Please choose one of the branches below.")
            return {SLOT_APPOINTMENT_BRANCH: None}
        # A new branch starts its own diary from today.
        return {SLOT_APPOINTMENT_BRANCH: branch.key, SLOT_APPOINTMENT_SLOTS_FROM: None}

    async def validate_appointment_slot(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {SLOT_APPOINTMENT_SLOT: None}
        text = str(value)
        if text.startswith(LATER_PREFIX):
            return _later(text.removeprefix(LATER_PREFIX))
        branch = tracker.get_slot(SLOT_APPOINTMENT_BRANCH)
        reference = tracker.get_slot(SLOT_APPLICATION_REFERENCE)
        if not branch or not reference:
            return {SLOT_APPOINTMENT_SLOT: None}
        try:
            offer = await desk_client().free_slots(
                branch, start=_start_day(tracker), days=SLOT_DAYS, limit=SLOTS_SHOWN
            )
        except DeskCallFailed:
            dispatcher.utter_message(text=BOOKING_DOWN)
            return {SLOT_APPOINTMENT_SLOT: None}
        slot = _matching_slot(text, offer.slots)
        if slot is None:
            dispatcher.utter_message(text="That time isn't free. Please choose one of these.")
            return {SLOT_APPOINTMENT_SLOT: None}
        moving = tracker.get_slot(SLOT_APPOINTMENT_REQUEST) == AppointmentRequest.RESCHEDULE.value
        return await _book(reference, slot, moving, dispatcher)


def _later(day: str) -> dict[str, Any]:
    """ "Other days": the next offer starts that day (a day that is not one is ignored)."""
    try:
        start: str | None = date.fromisoformat(day).isoformat()
    except ValueError:
        start = None
    return {SLOT_APPOINTMENT_SLOT: None, SLOT_APPOINTMENT_SLOTS_FROM: start}


async def _book(
    reference: str, slot: Slot, moving: bool, dispatcher: CollectingDispatcher
) -> dict[str, Any]:
    """Books the slot (or moves the appointment to it); a slot taken meanwhile is re-asked."""
    choice = BookAppointment(branch=slot.branch, starts_at=slot.starts_at)
    client = desk_client()
    try:
        if moving:
            record = await client.reschedule_appointment(reference, choice)
        else:
            record = await client.book_appointment(reference, choice)
    except DeskCallFailed as error:
        taken = error.status == HTTPStatus.CONFLICT
        dispatcher.utter_message(text=SLOT_TAKEN if taken else BOOKING_DOWN)
        return {SLOT_APPOINTMENT_SLOT: None}
    dispatcher.utter_message(text=booked_message(record, moved=moving))
    return {
        SLOT_APPOINTMENT_SLOT: slot.starts_at.isoformat(),
        SLOT_APPOINTMENT_REQUEST: None,
    }
