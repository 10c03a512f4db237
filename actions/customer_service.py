"""Support requests the assistant does not handle itself: refunds, returns, cancellations,
invoices and payments, accounts and passwords, delivery options, complaints and feedback.

The bot says plainly that it cannot do that here and offers customer service. If the customer
accepts, `action_handoff` hands over with the reason `out_of_scope_request`, and the topic
(`support_topic`) goes with the slots, so the agent knows what the customer wants at once.
One intent per topic (data/nlu/customer_service.yml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_OFFER_CUSTOMER_SERVICE,
    REASON_OUT_OF_SCOPE_REQUEST,
    SLOT_HANDOFF_REASON,
    SLOT_HUMAN_OFFERED,
    SLOT_SUPPORT_TOPIC,
)
from actions.dialogue import latest_intent
from actions.failsafe import apologise_on_failure


@dataclass(frozen=True)
class SupportTopic:
    """One kind of request the bot does not handle."""

    #: The `support_topic` slot's value (the evaluation set's `customer_service:<key>`).
    key: str
    #: Completes "I can't ... here" for the customer.
    cannot: str
    #: Completes "The customer asked about ..." for the agent.
    about: str


#: Each out-of-scope support intent with its topic.
TOPICS: Final[dict[str, SupportTopic]] = {
    "ask_refund": SupportTopic("refund", "arrange refunds", "a refund"),
    "ask_return": SupportTopic("return", "arrange returns or exchanges", "a return or exchange"),
    "ask_cancellation": SupportTopic(
        "cancellation", "cancel orders or subscriptions", "cancelling an order or subscription"
    ),
    "ask_invoice_payment": SupportTopic(
        "invoice_payment", "deal with invoices or payments", "an invoice or a payment"
    ),
    "ask_account": SupportTopic(
        "account", "change accounts or reset passwords", "their account or password"
    ),
    "ask_delivery_options": SupportTopic(
        "delivery",
        "answer questions about delivery options and times",
        "delivery options or times",
    ),
    "give_feedback": SupportTopic(
        "feedback", "take complaints or feedback", "a complaint or feedback"
    ),
}

BY_KEY: Final = {topic.key: topic for topic in TOPICS.values()}

OFFER_BUTTONS: Final = [
    {"title": "Yes, connect me", "payload": "/affirm"},
    {"title": "No thanks", "payload": "/deny"},
]


def offer_text(topic: SupportTopic) -> str:
    """What the customer is told: what the bot cannot do, and who can."""
    return (
        f"I'm sorry, I can't {topic.cannot} here: that's for our customer service team. "
        "I can pass you to them now, with what you've told me, so you won't need to repeat "
        "yourself. Would you like that?"
    )


def handoff_detail(topic_key: str | None) -> str:
    """The agent's line for an `out_of_scope_request` handoff."""
    topic = BY_KEY.get(topic_key or "")
    about = topic.about if topic else "something the bot does not handle"
    return (
        f"The customer asked about {about}, which the bot does not handle; they accepted a person."
    )


class ActionOfferCustomerService(Action):
    """Says the request is not handled here and offers customer service (yes/no)."""

    def name(self) -> str:
        return ACTION_OFFER_CUSTOMER_SERVICE

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        topic = TOPICS.get(latest_intent(tracker) or "")
        if topic is None:  # only the rules for TOPICS' intents run this action
            raise ValueError(f"no support topic for intent {latest_intent(tracker)!r}")
        dispatcher.utter_message(text=offer_text(topic), buttons=OFFER_BUTTONS)
        return [
            SlotSet(SLOT_SUPPORT_TOPIC, topic.key),
            SlotSet(SLOT_HUMAN_OFFERED, True),
            SlotSet(SLOT_HANDOFF_REASON, REASON_OUT_OF_SCOPE_REQUEST),
        ]
