"""Conversation-wide actions: misunderstood messages, declining a human, cancelling a journey."""

from __future__ import annotations

import re

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
    SLOT_HANDOFF_REASON,
    SLOT_HUMAN_OFFERED,
    SLOT_MORTGAGE_INTERRUPTED,
    SLOT_REQUESTED,
)
from actions.dialogue import latest_user_text, user_intents
from actions.failsafe import apologise_on_failure

#: Two misunderstood messages in a row and the bot offers a human.
FALLBACKS_BEFORE_OFFER = 2
REASON_NLU_FALLBACK = "nlu_fallback"

# Reasons set by assistant.components.input_guard.InputGuard in the message's parse data.
_GUARD_REPLIES = {
    "empty": "Your message came through empty. What can I help you with?",
    "too_long": (
        "That's a long message, more than I can read in one go. Could you tell me in a "
        "sentence or two what you need?"
    ),
    "no_words": (
        "I can only read words, not emoji or symbols on their own. What do you need help with?"
    ),
}

_MARKUP_OR_CODE = re.compile(
    r"<\s*/?\s*[a-z!][^>]*>|\b(select|insert|update|delete|drop|union)\b.+\b(from|into|table|set|select)\b"
    r"|;\s*--|\{\{|\$\{|javascript:",
    re.IGNORECASE | re.DOTALL,
)
# Common words that tell English apart from the languages customers most often write in.
_ENGLISH_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "you",
        "my",
        "me",
        "is",
        "are",
        "was",
        "it",
        "this",
        "that",
        "to",
        "for",
        "of",
        "and",
        "or",
        "not",
        "no",
        "yes",
        "can",
        "do",
        "what",
        "where",
        "when",
        "how",
        "why",
        "please",
        "help",
        "order",
        "error",
        "code",
        "mortgage",
        "with",
        "on",
        "in",
        "have",
        "has",
    ]
)
_FOREIGN_WORDS = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "es",
        "est",
        "und",
        "der",
        "die",
        "das",
        "ist",
        "nicht",
        "ich",
        "je",
        "suis",
        "le",
        "les",
        "une",
        "des",
        "pas",
        "pour",
        "que",
        "por",
        "favor",
        "mi",
        "mijn",
        "het",
        "een",
        "niet",
        "il",
        "della",
        "sono",
        "non",
        "mio",
        "dove",
        "ou",
        "où",
        "wo",
        "ist",
        "meine",
        "mon",
        "pedido",
        "commande",
        "bestellung",
        "hola",
        "bonjour",
        "hallo",
        "ciao",
        "obrigado",
        "gracias",
        "merci",
        "danke",
    ]
)

HELP_HINT = "I can check an order, help with an error code, or start a mortgage application."


def explain_misunderstanding(text: str, guard_reason: str | None) -> str:
    """Tells the customer, as precisely as we can, why the message was not understood."""
    if guard_reason in _GUARD_REPLIES:
        return _GUARD_REPLIES[guard_reason]
    if _MARKUP_OR_CODE.search(text):
        return f"That looks like code or markup, which I can't process. {HELP_HINT}"
    if looks_like_another_language(text):
        return f"Sorry, I can only chat in English at the moment. {HELP_HINT}"
    return f"Sorry, I didn't understand that. {HELP_HINT}"


def looks_like_another_language(text: str) -> bool:
    """A cheap check: mostly non-Latin letters, or foreign function words and no English ones."""
    letters = [character for character in text if character.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for character in letters if ord(character) > 0x24F)
    if non_latin / len(letters) > 0.3:
        return True
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    return bool(words & _FOREIGN_WORDS) and not (words & _ENGLISH_WORDS)


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
        dispatcher.utter_message(
            text=explain_misunderstanding(latest_user_text(tracker), guard.get("reason"))
        )
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
