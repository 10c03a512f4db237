"""After a human: the bot takes the conversation back, asks for a rating, and carries on.

The desk hands a conversation back through Rasa's HTTP API: it appends the agent's slot
updates and `ConversationResumed`, then executes `action_welcome_back`. That action welcomes
the customer and starts the CSAT form (1-5 and an optional comment); `action_submit_csat`
stores the rating with the handoff at the desk. The same way, when nobody claims a handoff in
time and the customer chooses to leave a message, the desk executes `action_ask_callback`
(the callback form), and when the customer cancels the wait, `action_handoff_cancelled`.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_ASK_CALLBACK,
    ACTION_CONTINUE_APPLICATION,
    ACTION_HANDOFF_CANCELLED,
    ACTION_SUBMIT_CALLBACK,
    ACTION_SUBMIT_CSAT,
    ACTION_WELCOME_BACK,
    FORM_CALLBACK,
    FORM_CSAT,
    SLOT_CALLBACK_MESSAGE,
    SLOT_CLOSED_HANDOFF_ID,
    SLOT_CSAT_COMMENT,
    SLOT_CSAT_RATING,
    SLOT_HANDOFF_ID,
    SLOT_MORTGAGE_NEXT_STEP,
    SLOT_REQUESTED,
    VALIDATE_CALLBACK_FORM,
    VALIDATE_CSAT_FORM,
)
from actions.conversation import HELP_HINT
from actions.failsafe import GuardedFormValidationAction, apologise_on_failure
from actions.handoff.delivery import desk_client
from actions.prompts import ask
from contract.applications import NextStep
from contract.webchat import agent_of

#: Executed by the desk through Rasa's HTTP API, these actions are not followed by the
#: `action_listen` Rasa logs after a predicted turn; without it a form does not validate the
#: customer's next answer. So they log it themselves, as Rasa would have.
LISTEN = ActionExecuted("action_listen")

#: Longest comment or callback message kept (the desk accepts up to 1,000 characters).
MAX_FEEDBACK_CHARACTERS = 1000
_NO_COMMENT = frozenset({"no", "nope", "no thanks", "no, thanks", "nothing", "skip", "n/a", "-"})
_RATING_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_RATING = re.compile(r"(?<!\d)([1-5])(?!\d)")


def parse_rating(text: str) -> int | None:
    """A rating from 1 to 5 in the customer's words ("4", "5 stars", "four"), else None."""
    lowered = text.strip().lower()
    if len(lowered) > 100:
        return None
    matches = _RATING.findall(lowered)
    if len(matches) == 1:
        return int(matches[0])
    words = [value for word, value in _RATING_WORDS.items() if re.search(rf"\b{word}\b", lowered)]
    return words[0] if len(words) == 1 and not matches else None


def clean_feedback(text: str) -> str | None:
    """The customer's comment, trimmed to a length the desk stores; None for "no"."""
    stripped = " ".join(text.split())
    if stripped.lower().rstrip(".!") in _NO_COMMENT or not stripped:
        return None
    return stripped[:MAX_FEEDBACK_CHARACTERS]


#: What the bot tells the customer it will do next, by the advisor's next step; "{advisor}" is
#: the advisor's name as the customer saw it.
NEXT_STEP_LINES = {
    NextStep.COLLECT_DOCUMENTS.value: "{advisor} has asked me to collect your documents.",
    NextStep.BOOK_APPOINTMENT.value: (
        "{advisor} has asked me to help you book your signing at a branch."
    ),
}
#: Who the customer is told set the next step when no agent's turn names them.
DEFAULT_ADVISOR = "Your advisor"


def next_step(tracker: Tracker) -> str | None:
    """The next step the advisor set at hand-back (`NEXT_STEP_SLOT`) if the bot carries it out."""
    step = tracker.get_slot(SLOT_MORTGAGE_NEXT_STEP)
    return step if step in NEXT_STEP_LINES else None


def advisor_name(tracker: Tracker) -> str:
    """The name of the agent who wrote the latest agent's turn (`contract.webchat`)."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            agent = agent_of(event.get("metadata"))
            if agent is not None:
                return agent.name
    return DEFAULT_ADVISOR


def welcome_back_text(tracker: Tracker) -> str:
    """The welcome, and what comes next when the advisor set a next step."""
    text = "Welcome back, you're chatting with the assistant again."
    step = next_step(tracker)
    if step is None:
        return text
    return f"{text} {NEXT_STEP_LINES[step].format(advisor=advisor_name(tracker))}"


def close_handoff(tracker: Tracker) -> list[EventType]:
    """The handoff is over: a new request for a person opens a new one, while the rating or
    callback message still to come is stored with the one that ended (`closed_handoff_id`)."""
    return [
        SlotSet(SLOT_CLOSED_HANDOFF_ID, tracker.get_slot(SLOT_HANDOFF_ID)),
        SlotSet(SLOT_HANDOFF_ID, None),
    ]


class ActionWelcomeBack(Action):
    """Executed by the desk at hand-back: welcome the customer, say what comes next if the
    advisor set a next step, and ask for a rating (the next step follows the rating, see
    `ActionSubmitCsat`)."""

    def name(self) -> str:
        return ACTION_WELCOME_BACK

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=welcome_back_text(tracker))
        # Activated by events, the form does not ask its first question itself.
        ask(dispatcher, SLOT_CSAT_RATING)
        return [
            *close_handoff(tracker),
            SlotSet(SLOT_CSAT_RATING, None),
            SlotSet(SLOT_CSAT_COMMENT, None),
            ActiveLoop(FORM_CSAT),
            SlotSet(SLOT_REQUESTED, SLOT_CSAT_RATING),
            LISTEN,
        ]


class ValidateCsatForm(GuardedFormValidationAction):
    """A rating from 1 to 5, then an optional comment."""

    def name(self) -> str:
        return VALIDATE_CSAT_FORM

    async def validate_csat_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        rating = parse_rating(str(value or ""))
        if rating is None:
            dispatcher.utter_message(text="Please choose a number from 1 (poor) to 5 (excellent).")
            return {SLOT_CSAT_RATING: None}
        return {SLOT_CSAT_RATING: float(rating)}

    async def validate_csat_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "no" fills the slot with an empty comment, so the form ends instead of re-asking.
        return {SLOT_CSAT_COMMENT: clean_feedback(str(value or "")) or ""}


class ActionSubmitCsat(Action):
    """Stores the rating with the handoff at the desk; the handoff is then closed for the bot.

    When the advisor set a next step (documents, a branch booking), the application continues
    (`ACTION_CONTINUE_APPLICATION`) now, after the rating rather than before it: the rating is
    about the advisor's part, which has just ended, and asked later it would break into the
    document uploads; and this predicted turn can hand over with a `FollowupAction`, which the
    desk-executed welcome cannot (the `action_listen` it logs would clear it).
    """

    def name(self) -> str:
        return ACTION_SUBMIT_CSAT

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        handoff_id = tracker.get_slot(SLOT_CLOSED_HANDOFF_ID)
        rating = tracker.get_slot(SLOT_CSAT_RATING)
        comment = tracker.get_slot(SLOT_CSAT_COMMENT) or None
        if handoff_id and rating is not None:
            await desk_client().store_csat(handoff_id, int(rating), comment)
        if next_step(tracker) is None:
            dispatcher.utter_message(text=f"Thank you for your feedback! {HELP_HINT}")
            return [SlotSet(SLOT_CLOSED_HANDOFF_ID, None)]
        dispatcher.utter_message(text="Thank you for your feedback!")
        # Done once: a later rating must not start the same step again.
        return [
            SlotSet(SLOT_CLOSED_HANDOFF_ID, None),
            SlotSet(SLOT_MORTGAGE_NEXT_STEP, None),
            FollowupAction(ACTION_CONTINUE_APPLICATION),
        ]


class ActionAskCallback(Action):
    """Executed by the desk when the customer chooses to leave a message for a callback."""

    def name(self) -> str:
        return ACTION_ASK_CALLBACK

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ask(dispatcher, SLOT_CALLBACK_MESSAGE)
        return [
            *close_handoff(tracker),
            SlotSet(SLOT_CALLBACK_MESSAGE, None),
            ActiveLoop(FORM_CALLBACK),
            SlotSet(SLOT_REQUESTED, SLOT_CALLBACK_MESSAGE),
            LISTEN,
        ]


class ValidateCallbackForm(GuardedFormValidationAction):
    """The customer's message for the callback (any text, trimmed)."""

    def name(self) -> str:
        return VALIDATE_CALLBACK_FORM

    async def validate_callback_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        message = clean_feedback(str(value or ""))
        if message is None:
            dispatcher.utter_message(text="What would you like the team to know when they call?")
        return {SLOT_CALLBACK_MESSAGE: message}


class ActionSubmitCallback(Action):
    """Stores the callback message with the handoff at the desk, then the bot carries on."""

    def name(self) -> str:
        return ACTION_SUBMIT_CALLBACK

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        handoff_id = tracker.get_slot(SLOT_CLOSED_HANDOFF_ID)
        message = tracker.get_slot(SLOT_CALLBACK_MESSAGE)
        stored = bool(handoff_id and message) and await desk_client().store_callback(
            handoff_id, message
        )
        if stored:
            dispatcher.utter_message(
                text=f"Thanks, your message is with the team and they'll call you back. "
                f"Meanwhile I'm here if you need me: {HELP_HINT}"
            )
        else:
            dispatcher.utter_message(
                text="Sorry, I couldn't pass your message on just now. Please try again in a "
                "few minutes, or ask for a person again."
            )
        return [SlotSet(SLOT_CLOSED_HANDOFF_ID, None), SlotSet(SLOT_CALLBACK_MESSAGE, None)]


class ActionHandoffCancelled(Action):
    """Executed by the desk when the customer cancels the wait for a person."""

    def name(self) -> str:
        return ACTION_HANDOFF_CANCELLED

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=f"OK, I've cancelled your request for a person. {HELP_HINT}")
        return [SlotSet(SLOT_HANDOFF_ID, None), LISTEN]
