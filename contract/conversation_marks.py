"""What in a Rasa tracker tells the analytics where a conversation went.

The bot writes these names into Rasa's tracker store (intents, forms, actions, slots); the
analytics package (`analytics/`) reads them back from the same store to classify each
conversation: engaged or not, which journey, whether it handed off, whether the bot-only
rating was asked and given. The journeys' descriptors (`actions/orders.py`,
`actions/troubleshooting.py`, `actions/mortgage.py`) take their marks from here, so a journey
is recognised in the numbers exactly as the handoff recognises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

#: The journey of a conversation that is in none.
NO_JOURNEY: Final = "none"


@dataclass(frozen=True)
class JourneyMarks:
    """What puts a conversation in one journey.

    Attributes:
        flow: The journey's name (the handoff context's `flow`).
        intents: Customer intents that put the conversation in this journey, from anywhere.
        forms: Forms whose activity puts the conversation in this journey.
        actions: Actions whose running puts the conversation in this journey.
    """

    flow: str
    intents: frozenset[str] = frozenset()
    forms: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()


ORDER_STATUS: Final = JourneyMarks(
    flow="order_status",
    intents=frozenset({"check_order_status", "provide_order_number"}),
    forms=frozenset({"order_form"}),
    actions=frozenset({"action_order_status"}),
)
TROUBLESHOOTING: Final = JourneyMarks(
    flow="troubleshooting",
    intents=frozenset({"report_error_code"}),
    forms=frozenset({"troubleshooting_form"}),
    actions=frozenset({"action_start_troubleshooting"}),
)
MORTGAGE: Final = JourneyMarks(
    flow="mortgage",
    intents=frozenset(
        {
            "start_mortgage",
            "ask_mortgage_advice",
            "upload_documents",
            "resume_application",
            "book_appointment",
            "reschedule_appointment",
            "cancel_appointment",
        }
    ),
    forms=frozenset({"mortgage_form", "resume_application_form", "branch_booking_form"}),
    actions=frozenset(
        {
            "action_submit_mortgage_application",
            "action_ask_next_document",
            "action_document_received",
            "action_document_reviewed",
        }
    ),
)

#: Every journey's marks, by flow, in the order the handoff reports journeys.
JOURNEY_MARKS: Final[Mapping[str, JourneyMarks]] = MappingProxyType(
    {marks.flow: marks for marks in (ORDER_STATUS, TROUBLESHOOTING, MORTGAGE)}
)

#: Asking for a person is a request the assistant acts on (it hands off), in any journey.
INTENT_REQUEST_HUMAN: Final = "request_human"
#: The intent of a message NLU was not confident about (Rasa's FallbackClassifier).
INTENT_NLU_FALLBACK: Final = "nlu_fallback"
#: The action that hands the conversation to the desk; the slot it sets to the new handoff's id.
ACTION_HANDOFF: Final = "action_handoff"
SLOT_HANDOFF_ID: Final = "handoff_id"
#: The slot a form sets to the question it asks next (Rasa's own name).
SLOT_REQUESTED: Final = "requested_slot"
#: What the troubleshooting form records per answered step: a list of attempts, each a dict
#: with the step's `label` and its `outcome` ("resolved" or "not_resolved"); the tree's name.
SLOT_TROUBLESHOOTING_ATTEMPTS: Final = "troubleshooting_attempts"
SLOT_TROUBLESHOOTING_TREE: Final = "troubleshooting_tree"
STEP_RESOLVED: Final = "resolved"

#: The short, skippable rating at the end of a resolved bot-only journey: the form asks for
#: `SLOT_BOT_CSAT_RATING` (1-5); a skipped rating leaves it empty. Asking is the form's
#: activation (an `active_loop` event naming `FORM_BOT_CSAT`).
FORM_BOT_CSAT: Final = "bot_csat_form"
SLOT_BOT_CSAT_RATING: Final = "bot_csat_rating"

#: The forms whose questions are customer journeys' (re-asks of these count as failure points).
JOURNEY_FORMS: Final = frozenset(form for marks in JOURNEY_MARKS.values() for form in marks.forms)


def journey_of_intent(intent: str | None) -> str | None:
    """The journey an intent puts a conversation in, or None."""
    for marks in JOURNEY_MARKS.values():
        if intent in marks.intents:
            return marks.flow
    return None


def journey_of_step(name: str | None) -> str | None:
    """The journey a form or action puts a conversation in, or None."""
    for marks in JOURNEY_MARKS.values():
        if name in marks.forms or name in marks.actions:
            return marks.flow
    return None
