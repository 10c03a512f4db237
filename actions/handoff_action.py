"""`action_handoff`: the one action that hands a conversation to a human, for every trigger.

It works out why (the reason code), builds the versioned `HandoffContext`, stores it in the
outbox and delivers it to the desk, tells the customer truthfully what happens next, and
pauses the conversation so the bot stays silent until it is handed back.
"""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_HANDOFF,
    FLOW_NONE,
    INTENT_REQUEST_HUMAN,
    REASON_ACTION_ERROR,
    REASON_CUSTOMER_REQUEST,
    REASON_NLU_FALLBACK,
    REASON_OUT_OF_SCOPE_REQUEST,
    SLOT_HANDOFF_ID,
    SLOT_HANDOFF_REASON,
    SLOT_HUMAN_OFFERED,
    SLOT_REQUESTED,
    SLOT_SUPPORT_TOPIC,
)
from actions.customer_service import OFFER_BUTTONS, handoff_detail
from actions.dialogue import last_executed_action, latest_intent
from actions.failsafe import apologise_on_failure
from actions.handoff.builder import BuiltHandoff, build_handoff, turn_handoff_id
from actions.handoff.journey import JourneyRegistry
from actions.handoff.outbox import DispatchStatus
from actions.handoff.routing import HandoffRouter
from actions.wiring import handoff_services

logger = logging.getLogger(__name__)

LANGUAGE = "en"

# The agent's line for the reason codes of no particular journey; journeys declare their own
# (`Journey.reason_details`).
_DETAIL = {
    REASON_CUSTOMER_REQUEST: "The customer asked for a person.",
    REASON_NLU_FALLBACK: (
        "The bot misunderstood two messages in a row; the customer accepted a person."
    ),
    REASON_ACTION_ERROR: "One of the bot's actions failed; the customer accepted a person.",
}


ALREADY_QUEUED = (
    "You're already in the queue for a person, with everything we've discussed. They'll be "
    "with you as soon as they can."
)


def handoff_reason(tracker: Tracker, journeys: JourneyRegistry) -> str:
    """Why the bot hands over now: the customer's words, or what the previous action set."""
    intent = latest_intent(tracker)
    if last_executed_action(tracker) == "action_listen":
        # The customer's own words are the trigger: asking for a person, or a journey's
        # trigger intent (e.g. asking for mortgage advice).
        if intent == INTENT_REQUEST_HUMAN:
            return REASON_CUSTOMER_REQUEST
        reason_of_intent = journeys.reason_of_intent(intent)
        if reason_of_intent:
            return reason_of_intent
    # Set by the action that decided a human is needed (or that offered one).
    reason = tracker.get_slot(SLOT_HANDOFF_REASON)
    return str(reason) if reason else REASON_CUSTOMER_REQUEST


def reason_detail(reason: str, journeys: JourneyRegistry, tracker: Tracker) -> str:
    """The one line the agent reads about the reason (a request the bot does not handle
    names its topic)."""
    if reason == REASON_OUT_OF_SCOPE_REQUEST:
        return handoff_detail(tracker.get_slot(SLOT_SUPPORT_TOPIC))
    return journeys.reason_detail(reason) or _DETAIL.get(reason, reason.replace("_", " "))


def _customer_message(status: DispatchStatus, label: str) -> str:
    if status is DispatchStatus.DELIVERED:
        return (
            f"I'm passing you to {label} now. Everything we've discussed, including the "
            "details you gave me, goes with you, so you won't need to repeat yourself. "
            "Please stay in this chat."
        )
    # Stored in the outbox: the relay keeps trying, and the customer is told so.
    return (
        f"I'm passing you to {label}. Our support desk isn't reachable this very moment, so "
        "I've saved your request with everything we've discussed; it will reach the team "
        "automatically as soon as the desk is back. Please stay in this chat."
    )


class ActionHandoff(Action):
    """Hands the conversation to a human with a complete `HandoffContext`."""

    def name(self) -> str:
        return ACTION_HANDOFF

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = handoff_services()
        reset: list[EventType] = [
            SlotSet(SLOT_HANDOFF_REASON, None),
            SlotSet(SLOT_HUMAN_OFFERED, None),
            ActiveLoop(None),
            SlotSet(SLOT_REQUESTED, None),
        ]
        if tracker.get_slot(SLOT_HANDOFF_ID):
            # A second trigger while a handoff is open opens nothing new.
            dispatcher.utter_message(text=ALREADY_QUEUED)
            return [*reset, ConversationPaused()]
        unconfirmed = (
            services.journeys.unconfirmed_trigger(tracker)
            if last_executed_action(tracker) == "action_listen"
            else None
        )
        if unconfirmed is not None:
            # e.g. "how soon can I expect the product" read as mortgage advice: the team is
            # asked for only once the customer says yes (the "accepts the offered human" rule).
            dispatcher.utter_message(text=unconfirmed.confirm_question, buttons=OFFER_BUTTONS)
            return [
                *reset,
                SlotSet(SLOT_HUMAN_OFFERED, True),
                SlotSet(SLOT_HANDOFF_REASON, handoff_reason(tracker, services.journeys)),
            ]

        handoff = await build_tracker_handoff(tracker, services.router, services.journeys)
        context = handoff.context
        outcome = await services.dispatcher.dispatch(context)
        if outcome.status is DispatchStatus.DUPLICATE or (
            outcome.status is DispatchStatus.DELIVERED
            and outcome.handoff_id != str(context.handoff_id)
        ):
            # The desk already holds an open handoff for this conversation (the bot missed its
            # outcome, e.g. the action server died after delivering): that one stands.
            logger.info("Handoff %s: the conversation's open handoff stands", outcome.handoff_id)
            dispatcher.utter_message(text=ALREADY_QUEUED)
            return [*reset, SlotSet(SLOT_HANDOFF_ID, outcome.handoff_id), ConversationPaused()]
        if outcome.status is DispatchStatus.REJECTED:
            logger.error("The desk rejected handoff %s: %s", context.handoff_id, outcome.error)
            dispatcher.utter_message(
                text="I'm sorry, I couldn't pass your conversation to a person because of a "
                "problem on our side. It has been logged for our team. You can keep chatting "
                "with me, or try asking for a person again in a little while."
            )
            return reset

        label = handoff.decision.customer_label
        dispatcher.utter_message(text=_customer_message(outcome.status, label))
        logger.info(
            "Handoff %s (%s, %s) %s",
            context.handoff_id,
            context.trigger.reason_code,
            context.routing.queue,
            outcome.status.value,
        )
        return [*reset, SlotSet(SLOT_HANDOFF_ID, str(context.handoff_id)), ConversationPaused()]


async def build_tracker_handoff(
    tracker: Tracker, router: HandoffRouter, journeys: JourneyRegistry
) -> BuiltHandoff:
    """The context for this conversation as the bot sees it now, and its routing decision."""
    reason = handoff_reason(tracker, journeys)
    flow = journeys.current_flow(tracker)
    if flow == FLOW_NONE:
        # e.g. mortgage advice confirmed with a "yes": the reason's journey is the flow.
        flow = journeys.flow_of_reason(reason) or FLOW_NONE
    return build_handoff(
        handoff_id=turn_handoff_id(tracker.sender_id, tracker.events),
        sender_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        language=LANGUAGE,
        events=tracker.events,
        slots=tracker.slots,
        reason_code=reason,
        detail=reason_detail(reason, journeys, tracker),
        flow=flow,
        attempts=journeys.collect_attempts(tracker),
        evidence=await journeys.collect_evidence(tracker, flow),
        router=router,
        journeys=journeys,
    )
