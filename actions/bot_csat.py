"""The short, skippable rating at the end of a journey the bot resolved on its own.

Hybrid and person-only conversations are asked for a rating at hand-back (`actions.handback`);
this asks the bot-only ones, so the supervisors can compare the three. The action that ends
a resolved journey asks itself, in the same turn and with no further call to the action
server (`offer_rating`): `action_order_status` for an order reported as fine, and
`action_offer_bot_csat`, which the rules run after a troubleshooting step that fixed it. When
the rating is due, it asks the question and starts `bot_csat_form` waiting for
`bot_csat_rating` (1 to 5, or skip), as `action_welcome_back` does for the hand-back rating.
The form handles the answer; `action_submit_bot_csat` thanks the customer. The rating stays
in the tracker, where the analytics read it (`contract.conversation_marks`): the form's
activation is "asked", a rating in the slot is "rated".

Once per conversation session, and never after a person: "asked" and "handed off" are read
from this session's events rather than kept in slots, because the domain carries slots over
to a new session (`carry_over_slots_to_new_session`), which would carry an "already asked"
over too. The re-ask count is read from the events since the form asked, for the same reason.

Skipping is free: deny and cancel ("no thanks", "never mind", the Skip button) and words such
as "skip" end the form without a rating. A new request instead of a rating ("where is my
order?", thanks, a person) is not an answer, so the form is rejected and the request served
as usual; if the conversation then comes back to the form, the moment has passed and the
form ends without asking again.

The answer is read by the validation action itself (the slot's mapping is `custom`): Rasa's
own mappings would record the raw answer in the rating slot before validation, and the
analytics would count "skip" as a rating given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_HANDOFF,
    ACTION_OFFER_BOT_CSAT,
    ACTION_SUBMIT_BOT_CSAT,
    FORM_BOT_CSAT,
    INTENT_AFFIRM,
    INTENT_CANCEL,
    INTENT_DENY,
    INTENT_INFORM,
    INTENT_NLU_FALLBACK,
    SLOT_BOT_CSAT_RATING,
    SLOT_CLOSED_HANDOFF_ID,
    SLOT_HANDOFF_ID,
    SLOT_MORTGAGE_INTERRUPTED,
    SLOT_REQUESTED,
    VALIDATE_BOT_CSAT_FORM,
)
from actions.conversation import HELP_HINT
from actions.dialogue import latest_intent, latest_user_text
from actions.failsafe import GuardedFormValidationAction, apologise_on_failure
from actions.handback import parse_rating
from actions.prompts import SlotPrompt, ask, load_prompts

logger = logging.getLogger(__name__)

#: The answer a deny or cancel ("no thanks", the Skip button) stands for.
SKIPPED = "skip"
SKIP_INTENTS = frozenset({INTENT_DENY, INTENT_CANCEL})
#: The intents of messages that answer the question; any other is a new request (a journey,
#: a person, thanks, a greeting), served by its own rules instead.
ANSWER_INTENTS = frozenset({INTENT_INFORM, INTENT_AFFIRM, INTENT_NLU_FALLBACK, *SKIP_INTENTS})
#: The rating buttons' payloads, answers whatever NLU makes of them.
BUTTON_RATINGS = frozenset({"1", "2", "3", "4", "5"})
#: Typed answers that skip the rating, whatever intent NLU gives them ("skip it" reads as
#: affirm, "skip" as a misunderstanding).
SKIP_PHRASES = frozenset(
    {
        "skip",
        "skip it",
        "skip this",
        "skip that",
        "i'll skip",
        "i'll skip it",
        "pass",
        "no",
        "nope",
        "no thanks",
        "no, thanks",
        "no thank you",
        "no, thank you",
        "not now",
        "rather not",
        "i'd rather not",
        "no rating",
        "n/a",
        "-",
    }
)
#: The form stops at the second answer since the question if that is no rating either: the
#: first unusable answer gets one re-ask.
ANSWERS_BEFORE_GIVING_UP = 2
REASK_TEXT = (
    "Sorry, I need a number from 1 (poor) to 5 (excellent). Or tap Skip if you'd rather not say."
)


def is_skip(text: str) -> bool:
    """Whether the customer's words decline the rating ("skip", "no thanks")."""
    return " ".join(text.lower().split()).rstrip(".!") in SKIP_PHRASES


def session_events(tracker: Tracker) -> list[dict[str, Any]]:
    """The events of the current conversation session (since the latest `session_started`)."""
    events: list[dict[str, Any]] = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            return events[index + 1 :]
    return events


def _named(events: Iterable[dict[str, Any]], kind: str, name: str) -> bool:
    return any(event.get("event") == kind and event.get("name") == name for event in events)


def handed_off_this_session(tracker: Tracker) -> bool:
    """Whether a person is or was part of this session: a handoff open or just handed back,
    or `action_handoff` run at all (also when the desk could not take it)."""
    if tracker.get_slot(SLOT_HANDOFF_ID) or tracker.get_slot(SLOT_CLOSED_HANDOFF_ID):
        return True
    return _named(session_events(tracker), "action", ACTION_HANDOFF)


def asked_this_session(tracker: Tracker) -> bool:
    """Whether the rating was asked in this session (the form's activation, as analytics count)."""
    return _named(session_events(tracker), "active_loop", FORM_BOT_CSAT)


def rating_due(tracker: Tracker) -> bool:
    """The bot resolved a journey alone: ask, unless a person was involved or it asked already."""
    return not handed_off_this_session(tracker) and not asked_this_session(tracker)


def answers_since_asked(tracker: Tracker) -> int:
    """How many messages the customer sent since the form asked for the rating (none while
    the form is being activated: its activation is not in the tracker yet)."""
    answers = 0
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM_BOT_CSAT:
            return answers
        if event.get("event") == "user":
            answers += 1
    return 0


def moved_on(tracker: Tracker) -> bool:
    """Whether the customer's latest message was not an answer: the form was rejected for it
    (and the request it made was served instead)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action_execution_rejected" and event.get("name") == FORM_BOT_CSAT:
            return True
    return False


#: Logged after the question, as if the form had run and asked: a predicted action that starts
#: a form is followed by the form itself (Rasa's loop rules), which would take the message that
#: ended the journey for an answer; after the form's own run, the rules listen. The tracker
#: reads as it did when the form asked by itself (analytics, test stories).
FORM_ASKED = ActionExecuted(FORM_BOT_CSAT)


def offer_rating(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """At a resolved end: when the rating is due, asks for it and returns the events that start
    `bot_csat_form` waiting for the answer; nothing otherwise. Mid mortgage intake (an order
    question in between) the intake resumes instead, and nothing is asked."""
    if tracker.get_slot(SLOT_MORTGAGE_INTERRUPTED) or not rating_due(tracker):
        return []
    # Started by events, the form does not ask its first question itself. No rating is left in
    # the slot to fill it: the form records only ratings, and action_submit_bot_csat empties
    # the slot after each.
    ask(dispatcher, SLOT_BOT_CSAT_RATING)
    return [ActiveLoop(FORM_BOT_CSAT), SlotSet(SLOT_REQUESTED, SLOT_BOT_CSAT_RATING), FORM_ASKED]


class ActionOfferBotCsat(Action):
    """After a troubleshooting step that fixed the problem: asks for the rating when it is due
    (`offer_rating`); the conversation then waits for the customer either way."""

    def name(self) -> str:
        return ACTION_OFFER_BOT_CSAT

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return offer_rating(dispatcher, tracker)


class ActionAskBotCsatRating(SlotPrompt):
    """Asks for the rating in the designers' words; after an answer that is not one, re-asks
    once, saying what is needed."""

    slot = SLOT_BOT_CSAT_RATING

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if answers_since_asked(tracker) == 0:
            ask(dispatcher, self.slot)
        else:
            buttons = load_prompts()[self.slot].get("buttons") or []
            dispatcher.utter_message(text=REASK_TEXT, buttons=buttons)
        return []


class ValidateBotCsatForm(GuardedFormValidationAction):
    """A rating from 1 to 5; a skip, or a second answer that is not a rating, ends the form."""

    def name(self) -> str:
        return VALIDATE_BOT_CSAT_FORM

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Nothing once the customer moved on: back at the form after serving their new
        request, it ends instead of asking again."""
        return [] if moved_on(tracker) else domain_slots

    async def extract_bot_csat_rating(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The customer's answer while the form asks (a skip as `SKIPPED`); nothing for a new
        request, so that the form is rejected and the request served."""
        if tracker.get_slot(SLOT_REQUESTED) != SLOT_BOT_CSAT_RATING:
            return {}  # being activated: the message before the question is no answer
        intent = latest_intent(tracker)
        text = latest_user_text(tracker)
        if intent in SKIP_INTENTS:
            return {SLOT_BOT_CSAT_RATING: SKIPPED}
        if intent in ANSWER_INTENTS or text.strip() in BUTTON_RATINGS:
            return {SLOT_BOT_CSAT_RATING: text}
        return {}

    async def validate_bot_csat_rating(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Keeps a rating as a number; ends the form on a skip or a second unusable answer."""
        text = str(slot_value or "")
        if text == SKIPPED or is_skip(text):
            return {SLOT_BOT_CSAT_RATING: None, SLOT_REQUESTED: None}
        rating = parse_rating(text)
        if rating is not None:
            return {SLOT_BOT_CSAT_RATING: float(rating)}
        if answers_since_asked(tracker) >= ANSWERS_BEFORE_GIVING_UP:
            return {SLOT_BOT_CSAT_RATING: None, SLOT_REQUESTED: None}
        # The form asks again (ActionAskBotCsatRating words it as a re-ask).
        return {SLOT_BOT_CSAT_RATING: None}


class ActionSubmitBotCsat(Action):
    """Thanks the customer for a rating, or lets a skipped one go in a word; says nothing when
    the customer moved on to something else. The rating stays in the tracker only."""

    def name(self) -> str:
        return ACTION_SUBMIT_BOT_CSAT

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rating = tracker.get_slot(SLOT_BOT_CSAT_RATING)
        if rating is not None:
            logger.info("Bot-only journey rated %d", int(rating))
            dispatcher.utter_message(text=f"Thank you! {HELP_HINT}")
        elif not moved_on(tracker):
            dispatcher.utter_message(text=f"No problem. {HELP_HINT}")
        # The rating's SlotSet event above is the record. Emptied now, the slot is not carried
        # into the next session, where it would read as a rating given there.
        return [SlotSet(SLOT_BOT_CSAT_RATING, None)]
