"""`action_handoff`: the one action that hands a conversation to a human, for every trigger.

It works out why (the reason code), builds the versioned `HandoffContext`, stores it in the
outbox and delivers it to the desk, tells the customer truthfully what happens next, and
pauses the conversation so the bot stays silent until it is handed back.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_HANDOFF,
    FLOW_MORTGAGE,
    INTENT_ASK_MORTGAGE_ADVICE,
    INTENT_REQUEST_HUMAN,
    REASON_ACTION_ERROR,
    REASON_CUSTOMER_REQUEST,
    REASON_CYCLE_LIMIT,
    REASON_NEEDS_ADVICE,
    REASON_NLU_FALLBACK,
    REASON_ORDER_DELAYED,
    REASON_ORDER_LOST,
    REASON_ORDER_NOT_FOUND,
    SLOT_APPLICANT_NAME,
    SLOT_APPLICATION_REFERENCE,
    SLOT_ERROR_CODE,
    SLOT_HANDOFF_ID,
    SLOT_HANDOFF_REASON,
    SLOT_HUMAN_OFFERED,
    SLOT_ORDER_LOOKUPS,
    SLOT_ORDER_RECORD,
    SLOT_REQUESTED,
    SLOT_TROUBLESHOOTING_ATTEMPTS,
    SLOT_TROUBLESHOOTING_CYCLE,
    SLOT_TROUBLESHOOTING_OUTCOME,
    SLOT_TROUBLESHOOTING_TREE,
    TROUBLESHOOTING_CYCLE_LIMIT,
)
from actions.dialogue import current_flow, last_executed_action, latest_intent
from actions.failsafe import apologise_on_failure
from actions.handoff.builder import build_handoff_context, turn_handoff_id
from actions.handoff.outbox import DispatchStatus
from actions.handoff.wiring import handoff_services
from actions.mortgage import draft_application, stored_application_evidence
from actions.troubleshooting import GENERAL_TREE, tree_for, troubleshooting_catalog
from contract.handoff_context import (
    ApplicationEvidence,
    Attempt,
    Evidence,
    HandoffContext,
    OrderEvidence,
    TroubleshootingEvidence,
)

logger = logging.getLogger(__name__)

LANGUAGE = "en"

# Reason codes that need no slot: the customer's own words are the trigger.
_REASON_OF_INTENT = {
    INTENT_REQUEST_HUMAN: REASON_CUSTOMER_REQUEST,
    INTENT_ASK_MORTGAGE_ADVICE: REASON_NEEDS_ADVICE,
}

_DETAIL = {
    REASON_ORDER_DELAYED: "The order is delayed; the bot apologised and escalated.",
    REASON_ORDER_LOST: "The order appears lost in transit; the bot apologised and escalated.",
    REASON_ORDER_NOT_FOUND: "Two lookups found no order; the customer accepted a person.",
    REASON_CYCLE_LIMIT: "Troubleshooting steps did not resolve the error after the cycle limit.",
    REASON_NEEDS_ADVICE: "The customer asked for mortgage advice the bot must not give.",
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


def handoff_reason(tracker: Tracker) -> str:
    """Why the bot hands over now: the customer's words, or what the previous action set."""
    intent = latest_intent(tracker)
    just_heard_customer = last_executed_action(tracker) == "action_listen"
    if just_heard_customer and intent in _REASON_OF_INTENT:
        return _REASON_OF_INTENT[str(intent)]
    # Set by the action that decided a human is needed (or that offered one).
    reason = tracker.get_slot(SLOT_HANDOFF_REASON)
    return str(reason) if reason else REASON_CUSTOMER_REQUEST


def _pick(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Only the fields the contract model has (records may carry more)."""
    return {key: value for key, value in data.items() if key in model.__fields__}


def collect_attempts(tracker: Tracker) -> list[Attempt]:
    """Everything the bot tried: order lookups and troubleshooting steps, oldest first."""
    raw = [
        *(tracker.get_slot(SLOT_ORDER_LOOKUPS) or []),
        *(tracker.get_slot(SLOT_TROUBLESHOOTING_ATTEMPTS) or []),
    ]
    attempts = [Attempt.parse_obj(_pick(Attempt, item)) for item in raw]
    return sorted(attempts, key=lambda attempt: attempt.asked_at)


async def collect_evidence(tracker: Tracker, flow: str) -> Evidence:
    """The records the bot saw: the order, the application (or its draft), the tree walked."""
    order = tracker.get_slot(SLOT_ORDER_RECORD)
    evidence: dict[str, Any] = {}
    if order:
        evidence["order"] = OrderEvidence.parse_obj(_pick(OrderEvidence, order))

    reference = tracker.get_slot(SLOT_APPLICATION_REFERENCE)
    if reference or flow == FLOW_MORTGAGE or tracker.get_slot(SLOT_APPLICANT_NAME):
        record = await stored_application_evidence(reference)
        application = record or draft_application(tracker)
        evidence["mortgage_application"] = ApplicationEvidence.parse_obj(
            _pick(ApplicationEvidence, application)
        )

    code = tracker.get_slot(SLOT_ERROR_CODE)
    tree_name = tracker.get_slot(SLOT_TROUBLESHOOTING_TREE)
    if code and tree_name:
        catalog = troubleshooting_catalog()
        tree = tree_for(catalog, tree_name)
        cycle = int(tracker.get_slot(SLOT_TROUBLESHOOTING_CYCLE) or 1)
        outcome = tracker.get_slot(SLOT_TROUBLESHOOTING_OUTCOME)
        evidence["troubleshooting"] = TroubleshootingEvidence(
            error_code=code,
            tree=tree_name,
            tree_title=tree.title,
            known_code=tree_name != GENERAL_TREE,
            cycles_completed=cycle if outcome == TROUBLESHOOTING_CYCLE_LIMIT else cycle - 1,
            cycle_limit=catalog.cycle_limit,
        )
    return Evidence(**evidence)


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

        context = await self.build_context(tracker)
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

        label = services.router.route(
            context.trigger.reason_code, context.flow, context.sentiment
        ).customer_label
        dispatcher.utter_message(text=_customer_message(outcome.status, label))
        logger.info(
            "Handoff %s (%s, %s) %s",
            context.handoff_id,
            context.trigger.reason_code,
            context.routing.queue,
            outcome.status.value,
        )
        return [*reset, SlotSet(SLOT_HANDOFF_ID, str(context.handoff_id)), ConversationPaused()]

    async def build_context(self, tracker: Tracker) -> HandoffContext:
        """The context for this conversation, as the bot sees it now."""
        reason = handoff_reason(tracker)
        flow = current_flow(tracker)
        return build_handoff_context(
            handoff_id=turn_handoff_id(tracker.sender_id, tracker.events),
            sender_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "unknown",
            language=LANGUAGE,
            events=tracker.events,
            slots=tracker.slots,
            reason_code=reason,
            detail=_DETAIL.get(reason, reason.replace("_", " ")),
            flow=flow,
            attempts=collect_attempts(tracker),
            evidence=await collect_evidence(tracker, flow),
            router=handoff_services().router,
        )
