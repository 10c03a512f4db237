"""What the customer sees when an action fails: an apology and the offer of a human.

A database outage or a bug must never leave the customer in silence. Every action's `run` is
wrapped by `apologise_on_failure`; the failure is logged (with personal data masked by the log
filter) and the conversation stays usable.
"""

from __future__ import annotations

import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.constants import REASON_ACTION_ERROR, SLOT_HANDOFF_REASON, SLOT_HUMAN_OFFERED

logger = logging.getLogger(__name__)

FAILURE_APOLOGY = (
    "Sorry, something went wrong on my side and I couldn't finish that. "
    "Would you like me to connect you with a person?"
)
OFFER_BUTTONS = [
    {"title": "Yes, connect me", "payload": "/affirm"},
    {"title": "No, thanks", "payload": "/deny"},
]

ActionT = TypeVar("ActionT", bound=Action)
RunMethod = Callable[
    [ActionT, CollectingDispatcher, Tracker, DomainDict], Awaitable[list[EventType]]
]


def failure_events() -> list[EventType]:
    """Slots that make the customer's next "yes" reach a human."""
    return [SlotSet(SLOT_HUMAN_OFFERED, True), SlotSet(SLOT_HANDOFF_REASON, REASON_ACTION_ERROR)]


def apologise_on_failure(run: RunMethod[ActionT]) -> RunMethod[ActionT]:
    """Wraps an action's `run` so an exception becomes an apology and the offer of a human."""

    @functools.wraps(run)
    async def guarded(
        self: ActionT, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return await run(self, dispatcher, tracker, domain)
        except Exception:
            return _apologise(self, dispatcher, tracker)

    return guarded


def _apologise(
    action: Action, dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[EventType]:
    """Logs the exception being handled; the apology and the offer replace any other reply."""
    logger.exception("Action %s failed in conversation %s", action.name(), tracker.sender_id)
    # Half-built replies from before the failure would mislead the customer.
    dispatcher.messages.clear()
    dispatcher.utter_message(text=FAILURE_APOLOGY, buttons=OFFER_BUTTONS)
    return failure_events()


class GuardedFormValidationAction(FormValidationAction, ABC):
    """A form's validation action whose failures become an apology and the offer of a person.

    The form stays active and asks its question again, so the customer can carry on, say
    "yes" to the person, or ask for one at any time.
    """

    @abstractmethod
    def name(self) -> str:
        """`validate_<form name>`."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return await super().run(dispatcher, tracker, domain)
        except Exception:
            # Rasa keeps every candidate value the validation does not answer for, and a form
            # whose slots are all filled ends: an order number that was never looked up would
            # end the order form as if it had been found. Unchecked values are not accepted.
            unchecked = [SlotSet(slot, None) for slot in tracker.slots_to_validate()]
            return [*_apologise(self, dispatcher, tracker), *unchecked]


def describe(value: Any, limit: int = 24) -> str:
    """A short, single-line rendering of customer input that is safe to echo back."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
