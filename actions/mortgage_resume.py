"""Resuming a mortgage application in any chat, and carrying on from where it stands.

A customer back in a new chat ("I'd like to continue my mortgage application") gives the
reference and the e-mail on file; the desk sends a one-time code to that e-mail
(`contract.resume`) and the customer types it here. Only the desk's "granted" sets
`application_reference`: no slot the customer can fill, before or during the form, stands in
for it, and a code is only ever taken as the answer to the code question. A chat that already
knows its application (it made it, or verified it earlier) is not asked again.

`action_continue_application` then greets the customer with where things stand and carries on
by stage: the next document, a branch booking, the appointment's details, or an advisor. It
also serves the advisor's hand-back, honouring the next step the advisor set.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_ASK_NEXT_DOCUMENT,
    ACTION_ASK_RESUME_CODE,
    ACTION_CONTINUE_APPLICATION,
    ACTION_START_BOOKING,
    ACTION_SUBMIT_CSAT,
    INTENT_BOOK_APPOINTMENT,
    INTENT_CANCEL_APPOINTMENT,
    INTENT_RESCHEDULE_APPOINTMENT,
    REASON_NEEDS_ADVICE,
    SLOT_APPLICATION_REFERENCE,
    SLOT_HANDOFF_REASON,
    SLOT_HUMAN_OFFERED,
    SLOT_MORTGAGE_NEXT_STEP,
    SLOT_REQUESTED,
    SLOT_RESUME_ATTEMPTS_LEFT,
    SLOT_RESUME_CODE,
    SLOT_RESUME_EMAIL,
    SLOT_RESUME_REFERENCE,
    SLOT_RESUME_VERIFICATION,
    VALIDATE_RESUME_APPLICATION_FORM,
    ResumeVerification,
)
from actions.desk_client import DeskCallFailed, Granted, Locked, Refused
from actions.failsafe import GuardedFormValidationAction, apologise_on_failure
from actions.handoff.delivery import desk_client
from actions.mortgage_intake import validate_email
from actions.prompts import SlotPrompt
from contract.applications import ApplicationRecord, ApplicationStage, NextStep
from contract.appointments import AppointmentState
from contract.resume import CODE_DIGITS

#: Times are told in the bank's own time, like the branches' (all in the UK).
CUSTOMER_TIME_ZONE: Final = ZoneInfo("Europe/London")

REFERENCE_HINT: Final = (
    "That doesn't look like an application reference. It's MTG followed by 5 letters or "
    "digits, for example MTG-7K3Q9."
)
CODE_HINT: Final = (
    f"The code is the {CODE_DIGITS} digits in the e-mail we sent, for example 123456."
)
CODE_SENT: Final = (
    f"I've sent a {CODE_DIGITS}-digit code to the e-mail on file; please type it here."
)
CODE_AGAIN: Final = f"Please type the {CODE_DIGITS}-digit code from the e-mail again."
VERIFIED: Final = "Thanks, that's you verified."
DESK_DOWN: Final = (
    "Sorry, I can't reach our application records just now, so I can't check that. Nothing "
    "you've told me is lost: please try again in a few minutes."
)
NO_APPLICATION_IN_CHAT: Final = (
    'I don\'t have an application open in this chat yet. Say "continue my application" '
    "and I'll find yours with its reference."
)

_TYPED_REFERENCE: Final = re.compile(r"\bMTG[\s\-_]{0,3}([0-9A-Z]{5})\b", re.ASCII)
_CODE_SEPARATORS: Final = re.compile(r"[\s\-]")
_CODE: Final = re.compile(rf"[0-9]{{{CODE_DIGITS}}}", re.ASCII)
#: Slots of one resume attempt, emptied once it is over (the next one starts afresh).
RESUME_SLOTS: Final = (
    SLOT_RESUME_REFERENCE,
    SLOT_RESUME_EMAIL,
    SLOT_RESUME_CODE,
    SLOT_RESUME_ATTEMPTS_LEFT,
)


def parse_reference(text: str) -> str | None:
    """The reference in what the customer typed ("mtg 7k3q9" → "MTG-7K3Q9"), or None.

    Only the shape is checked here; the desk reads it again (and knows whether it exists).
    """
    typed = _TYPED_REFERENCE.search(unicodedata.normalize("NFKC", text or "").upper())
    return None if typed is None else f"MTG-{typed.group(1)}"


def parse_code(text: str) -> str | None:
    """The one-time code in what the customer typed ("123 456" → "123456"), or None."""
    candidate = _CODE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    return candidate if _CODE.fullmatch(candidate) else None


def local_time(moment: datetime) -> str:
    """A time as the customer reads it ("14:35"), in the bank's time."""
    return f"{moment.astimezone(CUSTOMER_TIME_ZONE):%H:%M}"


def locked_message(locked_until: datetime) -> str:
    """What the customer is told when resuming is locked."""
    return (
        f"For your security, resuming this application is locked until "
        f"{local_time(locked_until)}. Please try again then, or call us."
    )


def tries_left(attempts_left: int) -> str:
    """ "That code doesn't match; 3 tries left"."""
    tries = "try" if attempts_left == 1 else "tries"
    return f"That code doesn't match; {attempts_left} {tries} left."


def _first_name(record: ApplicationRecord) -> str:
    parts = record.applicant_name.split()
    return parts[0] if parts else record.applicant_name


def _titles(record: ApplicationRecord) -> str:
    """The missing documents' titles as one phrase: "payslips, ID and a bank statement"."""
    titles = [item.title[:1].lower() + item.title[1:] for item in record.missing_items]
    if len(titles) == 1:
        return titles[0]
    return ", ".join(titles[:-1]) + " and " + titles[-1]


def appointment_phrase(record: ApplicationRecord) -> str:
    """ "Thu 3 Dec, 09:45 at Leeds, Park Row, 12 Park Row, Leeds" (empty with no appointment)."""
    appointment = record.appointment
    if appointment is None:
        return ""
    place = ", ".join(p for p in (appointment.branch_name, appointment.branch_address) if p)
    return f"{appointment.label} at {place}"


def _documents_stand(record: ApplicationRecord) -> str:
    missing = len(record.missing_items)
    if missing == 0:
        return "all your documents are with us and being checked."
    noun = "document" if missing == 1 else "documents"
    return f"{missing} {noun} still needed: {_titles(record)}."


def _stage_sentence(record: ApplicationRecord) -> str:
    stage = record.stage
    if stage == ApplicationStage.INTAKE.value:
        return "we have your details; the next step is advice from one of our mortgage advisors."
    if stage == ApplicationStage.ADVICE.value:
        return "it's with our mortgage advisors for advice."
    if stage == ApplicationStage.DOCUMENTS.value:
        return _documents_stand(record)
    if stage == ApplicationStage.READY_TO_SIGN.value:
        return "everything is in place and it's ready to sign at a branch."
    if stage == ApplicationStage.APPOINTMENT_BOOKED.value:
        return f"you're booked to sign on {appointment_phrase(record)}."
    if stage == ApplicationStage.SIGNED.value:
        return "it's signed. Congratulations on your new mortgage!"
    if stage == ApplicationStage.WITHDRAWN.value:
        return "it was withdrawn, so it's closed."
    if stage == ApplicationStage.EXPIRED.value:
        return (
            "it has expired, so it's closed. If you'd still like a mortgage, I can start a "
            "new application."
        )
    return f'it\'s at the stage "{stage.replace("_", " ")}".'


def where_things_stand(record: ApplicationRecord) -> str:
    """The greeting of a returning customer: where their application stands, in one line.

    "Welcome back, Jane. Your application MTG-7K3Q9: 2 documents still needed: last 3
    payslips and bank statements."
    """
    return f"Welcome back, {_first_name(record)}. {application_status(record)}"


def application_status(record: ApplicationRecord) -> str:
    """Where the application stands: "Your application MTG-7K3Q9: 2 documents still needed:
    last 3 payslips and bank statements." """
    return f"Your application {record.reference}: {_stage_sentence(record)}"


# --- The resume form -------------------------------------------------------------------------


def _locked_end(locked_until: datetime, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """The form stops here (requested slot None), and forgets what was typed."""
    dispatcher.utter_message(text=locked_message(locked_until))
    return {
        **{slot: None for slot in RESUME_SLOTS},
        SLOT_RESUME_VERIFICATION: ResumeVerification.LOCKED.value,
        SLOT_REQUESTED: None,
    }


class ValidateResumeApplicationForm(GuardedFormValidationAction):
    """The reference, the e-mail on file (the desk sends a code), then the code."""

    def name(self) -> str:
        return VALIDATE_RESUME_APPLICATION_FORM

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """A chat that already knows this application carries on at once."""
        known = tracker.get_slot(SLOT_APPLICATION_REFERENCE)
        typed = tracker.get_slot(SLOT_RESUME_REFERENCE)
        # `application_reference` is set only by actions (the intake, or a verification in
        # this chat): what the customer types lands in `resume_reference`.
        if known and (typed is None or parse_reference(str(typed)) == known):
            return [
                SlotSet(SLOT_RESUME_VERIFICATION, ResumeVerification.VERIFIED.value),
                SlotSet(SLOT_REQUESTED, None),
            ]
        return await super().run(dispatcher, tracker, domain)

    async def validate_resume_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # emptied by an action this turn: nothing was typed
            return {SLOT_RESUME_REFERENCE: None}
        reference = parse_reference(str(value or ""))
        if reference is None:
            dispatcher.utter_message(text=REFERENCE_HINT)
        # A new reference needs its own e-mail check and code.
        return {SLOT_RESUME_REFERENCE: reference, SLOT_RESUME_EMAIL: None, SLOT_RESUME_CODE: None}

    async def validate_resume_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {SLOT_RESUME_EMAIL: None}
        reference = tracker.get_slot(SLOT_RESUME_REFERENCE)
        email = validate_email(str(value or ""))
        if email.error is not None or email.value is None or not reference:
            dispatcher.utter_message(text=email.error or REFERENCE_HINT)
            return {SLOT_RESUME_EMAIL: None}
        try:
            started = await desk_client().start_verification(
                reference, email.value, tracker.sender_id
            )
        except DeskCallFailed:
            dispatcher.utter_message(text=DESK_DOWN)
            return {SLOT_RESUME_EMAIL: None}
        if isinstance(started, Locked):
            return _locked_end(started.locked_until, dispatcher)
        return {
            SLOT_RESUME_EMAIL: email.value,
            SLOT_RESUME_CODE: None,
            SLOT_RESUME_ATTEMPTS_LEFT: None,
        }

    async def validate_resume_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # A code counts only as the answer to the code question, once a code was sent:
        # never one carried over from earlier, nor typed before it was asked for.
        asked = value is not None and tracker.get_slot(SLOT_REQUESTED) == SLOT_RESUME_CODE
        reference = tracker.get_slot(SLOT_RESUME_REFERENCE)
        if not (asked and reference and tracker.get_slot(SLOT_RESUME_EMAIL)):
            return {SLOT_RESUME_CODE: None}
        code = parse_code(str(value or ""))
        if code is None:
            dispatcher.utter_message(text=CODE_HINT)
            return {SLOT_RESUME_CODE: None}
        try:
            verdict = await desk_client().confirm_verification(reference, code, tracker.sender_id)
        except DeskCallFailed:
            dispatcher.utter_message(text=DESK_DOWN)
            return {SLOT_RESUME_CODE: None}
        if isinstance(verdict, Locked):
            return _locked_end(verdict.locked_until, dispatcher)
        if isinstance(verdict, Refused):
            dispatcher.utter_message(text=tries_left(verdict.attempts_left))
            return {SLOT_RESUME_CODE: None, SLOT_RESUME_ATTEMPTS_LEFT: float(verdict.attempts_left)}
        return _granted(verdict, dispatcher)


def _granted(verdict: Granted, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    dispatcher.utter_message(text=VERIFIED)
    return {
        # The code itself is not kept.
        SLOT_RESUME_CODE: ResumeVerification.VERIFIED.value,
        SLOT_APPLICATION_REFERENCE: verdict.application.reference,
        SLOT_RESUME_VERIFICATION: ResumeVerification.VERIFIED.value,
        SLOT_REQUESTED: None,
    }


class ActionAskResumeReference(SlotPrompt):
    """Asks for the application's reference (the designers' words)."""

    slot = SLOT_RESUME_REFERENCE


class ActionAskResumeEmail(SlotPrompt):
    """Asks for the e-mail on file, where the desk sends the code (the designers' words)."""

    slot = SLOT_RESUME_EMAIL


class ActionAskResumeCode(Action):
    """Asks for the code: that it was sent, or, after a wrong one, to type it again."""

    def name(self) -> str:
        return ACTION_ASK_RESUME_CODE

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        retry = tracker.get_slot(SLOT_RESUME_ATTEMPTS_LEFT) is not None
        dispatcher.utter_message(text=CODE_AGAIN if retry else CODE_SENT)
        return []


# --- Carrying on -----------------------------------------------------------------------------


class ActionContinueApplication(Action):
    """Where the customer's application stands, then what comes next for it."""

    def name(self) -> str:
        return ACTION_CONTINUE_APPLICATION

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # `resume_verification` stays: the rule that ran this action matches on it, and every
        # attempt sets it afresh before the form ends.
        finished: list[EventType] = [SlotSet(slot, None) for slot in RESUME_SLOTS]
        reference = tracker.get_slot(SLOT_APPLICATION_REFERENCE)
        if not reference:
            dispatcher.utter_message(text=NO_APPLICATION_IN_CHAT)
            return finished
        try:
            record = await desk_client().get_application(reference)
        except DeskCallFailed:
            # The reference and the advisor's next step stay for the next try.
            dispatcher.utter_message(text=DESK_DOWN)
            return finished
        if record is None:
            dispatcher.utter_message(text=f"I can't find application {reference} any more.")
            return [*finished, SlotSet(SLOT_APPLICATION_REFERENCE, None)]
        if tracker.latest_action_name != ACTION_SUBMIT_CSAT:
            dispatcher.utter_message(text=where_things_stand(record))  # a returning customer
        elif record.stage != ApplicationStage.DOCUMENTS.value:
            # Right after rating the advisor: no welcome back; the request for the next
            # document says what is still needed itself.
            dispatcher.utter_message(text=application_status(record))
        next_step = tracker.get_slot(SLOT_MORTGAGE_NEXT_STEP)
        return [
            *finished,
            SlotSet(SLOT_MORTGAGE_NEXT_STEP, None),
            *carry_on(record, next_step, dispatcher),
        ]


def carry_on(
    record: ApplicationRecord, next_step: str | None, dispatcher: CollectingDispatcher
) -> list[EventType]:
    """What comes after the greeting: the advisor's next step if it still fits, else the
    stage's own (the next document, a booking, the appointment, an advisor)."""
    stage = record.stage
    if next_step == NextStep.BOOK_APPOINTMENT.value and stage == ApplicationStage.READY_TO_SIGN:
        return [FollowupAction(ACTION_START_BOOKING)]
    if stage == ApplicationStage.DOCUMENTS.value:
        return [FollowupAction(ACTION_ASK_NEXT_DOCUMENT)] if record.missing_items else []
    if stage == ApplicationStage.READY_TO_SIGN.value:
        _offer_booking(record, dispatcher)
    elif stage == ApplicationStage.APPOINTMENT_BOOKED.value:
        dispatcher.utter_message(
            text='To move it, say "move my appointment"; to cancel it, "cancel my appointment".',
            buttons=APPOINTMENT_BUTTONS,
        )
    elif stage in (ApplicationStage.INTAKE.value, ApplicationStage.ADVICE.value):
        dispatcher.utter_message(
            text="Would you like me to bring in one of our mortgage advisors?",
            buttons=[
                {"title": "Yes, please", "payload": "/affirm"},
                {"title": "Not now", "payload": "/deny"},
            ],
        )
        return [
            SlotSet(SLOT_HUMAN_OFFERED, True),
            SlotSet(SLOT_HANDOFF_REASON, REASON_NEEDS_ADVICE),
        ]
    return []


BOOK_BUTTON: Final = {
    "title": "Book a signing appointment",
    "payload": f"/{INTENT_BOOK_APPOINTMENT}",
}
APPOINTMENT_BUTTONS: Final = [
    {"title": "Move my appointment", "payload": f"/{INTENT_RESCHEDULE_APPOINTMENT}"},
    {"title": "Cancel my appointment", "payload": f"/{INTENT_CANCEL_APPOINTMENT}"},
]


def _offer_booking(record: ApplicationRecord, dispatcher: CollectingDispatcher) -> None:
    appointment = record.appointment
    if appointment is not None and appointment.state == AppointmentState.MISSED.value:
        text = f"You missed your appointment on {appointment.label}; shall we book a new one?"
    else:
        text = "Shall we book your signing appointment at a branch?"
    dispatcher.utter_message(text=text, buttons=[BOOK_BUTTON])
