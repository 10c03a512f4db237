"""Conversation-wide actions: misunderstood messages, declining a human, cancelling a journey."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_CANCEL_FLOW,
    ACTION_DECLINE_HUMAN,
    ACTION_NLU_FALLBACK,
    ACTION_START_OVER,
    INTENT_NLU_FALLBACK,
    REASON_NLU_FALLBACK,
    SLOT_HANDOFF_REASON,
    SLOT_HUMAN_OFFERED,
    SLOT_MORTGAGE_INTERRUPTED,
    SLOT_REQUESTED,
)
from actions.dialogue import user_intents
from actions.failsafe import apologise_on_failure

#: Two misunderstood messages in a row and the bot offers a human.
FALLBACKS_BEFORE_OFFER = 2

#: What the bot can do, said after a misunderstanding or a cancel (handback.py uses it too).
HELP_HINT = "I can check an order, help with an error code, or start a mortgage application."

# Reasons set by assistant.components.input_guard in the message's parse data (`input_guard`).
_SCREENED_REPLIES = {
    "empty": "Your message came through empty. What can I help you with?",
    "too_long": (
        "That's a long message, more than I can read in one go. Could you tell me in a "
        "sentence or two what you need?"
    ),
    "no_words": (
        "I can only read words, not emoji or symbols on their own. What do you need help with?"
    ),
    "other_language": f"Sorry, I can only chat in English at the moment. {HELP_HINT}",
    "markup": f"That looks like code or markup, which I can't process. {HELP_HINT}",
}


def explain_misunderstanding(screened_reason: str | None) -> str:
    """Tells the customer, as precisely as we can, why the message was not understood."""
    return _SCREENED_REPLIES.get(
        screened_reason or "", f"Sorry, I didn't understand that. {HELP_HINT}"
    )


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the customer's latest messages in a row were not understood."""
    count = 0
    for intent in reversed(user_intents(tracker)):
        if intent != INTENT_NLU_FALLBACK:
            break
        count += 1
    return count


class ActionNluFallback(Action):
    """Explains a misunderstood message; the second in a row also offers a human."""

    def name(self) -> str:
        return ACTION_NLU_FALLBACK

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        guard = tracker.latest_message.get("input_guard") or {}
        dispatcher.utter_message(text=explain_misunderstanding(guard.get("reason")))
        # Inside a form the question is asked again instead: a yes/no offer there would be
        # confused with the answer (e.g. "did that fix it?"). "agent" works at any time.
        offer = (
            tracker.active_loop_name is None
            and consecutive_fallbacks(tracker) >= FALLBACKS_BEFORE_OFFER
        )
        if not offer:
            return [SlotSet(SLOT_HUMAN_OFFERED, False)]
        # The offer itself (utter_offer_human) follows by rule.
        return [
            SlotSet(SLOT_HUMAN_OFFERED, True),
            SlotSet(SLOT_HANDOFF_REASON, REASON_NLU_FALLBACK),
        ]


class ActionDeclineHuman(Action):
    """The customer said no to a person: carry on with the bot."""

    def name(self) -> str:
        return ACTION_DECLINE_HUMAN

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=f"No problem, let's carry on. {HELP_HINT} You can ask for a person at any time."
        )
        return [SlotSet(SLOT_HUMAN_OFFERED, False), SlotSet(SLOT_HANDOFF_REASON, None)]


class ActionCancelFlow(Action):
    """Stops the journey in progress ("never mind")."""

    def name(self) -> str:
        return ACTION_CANCEL_FLOW

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=f"OK, I've stopped that. {HELP_HINT}")
        return [
            ActiveLoop(None),
            SlotSet(SLOT_REQUESTED, None),
            SlotSet(SLOT_MORTGAGE_INTERRUPTED, False),
        ]


class ActionStartOver(Action):
    """Forgets the conversation so far ("start over") and says so."""

    def name(self) -> str:
        return ACTION_START_OVER

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=f"OK, let's start over. {HELP_HINT}")
        return [Restarted()]
