"""Journey 1, order status: find the order, report it, hand delayed and lost ones to a human."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_ORDER_STATUS,
    ORDER_OUTCOME_ESCALATE,
    ORDER_OUTCOME_NOT_FOUND,
    ORDER_OUTCOME_REPORTED,
    REASON_ORDER_DELAYED,
    REASON_ORDER_LOST,
    REASON_ORDER_NOT_FOUND,
    SLOT_HANDOFF_REASON,
    SLOT_HUMAN_OFFERED,
    SLOT_ORDER_LOOKUP_FAILURES,
    SLOT_ORDER_LOOKUPS,
    SLOT_ORDER_NUMBER,
    SLOT_ORDER_OUTCOME,
    SLOT_ORDER_RECORD,
    SLOT_REQUESTED,
    VALIDATE_ORDER_FORM,
)
from actions.dialogue import latest_user_text
from actions.failsafe import GuardedFormValidationAction, apologise_on_failure, describe
from actions.store.database import get_database, utcnow
from actions.store.orders import OrderSnapshot, find_order, parse_order_number

#: After this many lookups of numbers that do not exist, the bot offers a human.
FAILED_LOOKUPS_BEFORE_OFFER = 2

#: Statuses the bot must not handle alone, with the handoff reason code for each.
ESCALATED_STATUSES = {"delayed": REASON_ORDER_DELAYED, "lost": REASON_ORDER_LOST}


def _lookup(order_number: str) -> OrderSnapshot | None:
    with get_database().session() as session:
        return find_order(session, order_number)


def _lookup_attempt(label: str, answer: str, outcome: str) -> dict[str, Any]:
    """One lookup the bot tried, in the shape of the contract's `Attempt`."""
    return {
        "kind": "order_lookup",
        "label": label,
        "description": (
            f"Looked up order {label}" if outcome != "malformed" else "Checked the order number"
        ),
        "cycle": None,
        "step": None,
        "answer": describe(answer, 200),
        "outcome": outcome,
        "asked_at": utcnow().isoformat(),
        "answered_at": None,
    }


class ValidateOrderForm(GuardedFormValidationAction):
    """Checks the order number's format and that the order exists."""

    def name(self) -> str:
        return VALIDATE_ORDER_FORM

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Finds numbers the entity extractor misses, such as "order 104233"."""
        if tracker.get_slot(SLOT_ORDER_NUMBER):
            return {}
        match = parse_order_number(latest_user_text(tracker))
        candidate = match.number or match.malformed
        return {SLOT_ORDER_NUMBER: candidate} if candidate else {}

    async def validate_order_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Accepts a well-formed number of an existing order; otherwise says why and re-asks."""
        text = str(slot_value or "")
        lookups = list(tracker.get_slot(SLOT_ORDER_LOOKUPS) or [])
        match = parse_order_number(text)
        if match.number is None:
            shown = describe(match.malformed or text)
            dispatcher.utter_message(
                text=f'"{shown}" doesn\'t look like an order number. Order numbers are '
                "ORD- followed by 6 digits, for example ORD-123456."
            )
            # A blank answer has nothing to show, but the attempt still needs a label.
            lookups.append(_lookup_attempt(shown or "(blank)", text, "malformed"))
            return {SLOT_ORDER_NUMBER: None, SLOT_ORDER_LOOKUPS: lookups}

        snapshot = await asyncio.to_thread(_lookup, match.number)
        if snapshot is not None:
            lookups.append(_lookup_attempt(match.number, text, "found"))
            return {
                SLOT_ORDER_NUMBER: match.number,
                SLOT_ORDER_RECORD: snapshot.to_evidence(),
                SLOT_ORDER_LOOKUP_FAILURES: 0,
                SLOT_ORDER_LOOKUPS: lookups,
            }

        failures = int(tracker.get_slot(SLOT_ORDER_LOOKUP_FAILURES) or 0) + 1
        lookups.append(_lookup_attempt(match.number, text, "not_found"))
        result: dict[str, Any] = {
            SLOT_ORDER_NUMBER: None,
            # An order found earlier in the conversation is not the one asked about now.
            SLOT_ORDER_RECORD: None,
            SLOT_ORDER_LOOKUP_FAILURES: failures,
            SLOT_ORDER_LOOKUPS: lookups,
        }
        if failures >= FAILED_LOOKUPS_BEFORE_OFFER:
            # Stop asking; action_order_status offers a human instead.
            result[SLOT_REQUESTED] = None
        else:
            dispatcher.utter_message(
                text=f"I couldn't find an order {match.number}. Could you check the number "
                "in your confirmation email?"
            )
        return result


def _format_date(value: str | None) -> str:
    if not value:
        return "not known yet"
    return date.fromisoformat(value[:10]).strftime("%A %d %B %Y")


def _latest_update(record: dict[str, Any]) -> str:
    events = record.get("tracking_events") or []
    if not events:
        return "no carrier updates yet"
    latest = events[-1]
    # Carriers do not always say where a scan happened.
    where = [latest.get("location"), _format_date(latest["occurred_at"])]
    return f"{latest['description']} ({', '.join(part for part in where if part)})"


def describe_order_status(record: dict[str, Any]) -> str:
    """What the customer is told about an order, built from the record the bot saw."""
    number = record["order_number"]
    carrier = record.get("carrier") or "the carrier"
    eta = _format_date(record.get("estimated_delivery"))
    status = record["status"]
    if status == "processing":
        return (
            f"Order {number} is being prepared and hasn't shipped yet. It will go with "
            f"{carrier}; estimated delivery: {eta}."
        )
    if status == "shipped":
        return (
            f"Order {number} has shipped with {carrier}. Estimated delivery: {eta}. "
            f"Latest update: {_latest_update(record)}."
        )
    if status == "out_for_delivery":
        return f"Good news: order {number} is out for delivery with {carrier} today."
    if status == "delivered":
        return (
            f"Order {number} was delivered by {carrier}. Latest update: {_latest_update(record)}."
        )
    if status == "delayed":
        return (
            f"I'm sorry, order {number} is delayed. It was due {eta} with {carrier}. "
            f"Latest update: {_latest_update(record)}."
        )
    if status == "lost":
        return (
            f"I'm really sorry, order {number} appears to be lost: {carrier} has had no "
            f"scan since {_latest_update(record)}."
        )
    return f"Order {number} has status {status}."


class ActionOrderStatus(Action):
    """Reports the order found by the form, or offers a human after failed lookups."""

    def name(self) -> str:
        return ACTION_ORDER_STATUS

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(SLOT_ORDER_NUMBER, None), SlotSet(SLOT_ORDER_LOOKUP_FAILURES, 0)]
        record = tracker.get_slot(SLOT_ORDER_RECORD)
        found = tracker.get_slot(SLOT_ORDER_NUMBER) is not None and record is not None

        if not found:
            # The offer itself (utter_offer_human) follows by rule.
            dispatcher.utter_message(
                text="I'm sorry, I still can't find that order, so a person from our order "
                "support team may be able to help."
            )
            return [
                *reset,
                SlotSet(SLOT_ORDER_OUTCOME, ORDER_OUTCOME_NOT_FOUND),
                SlotSet(SLOT_HUMAN_OFFERED, True),
                SlotSet(SLOT_HANDOFF_REASON, REASON_ORDER_NOT_FOUND),
            ]

        dispatcher.utter_message(text=describe_order_status(record))
        # A fresh result supersedes any earlier offer of a human.
        reset.append(SlotSet(SLOT_HUMAN_OFFERED, None))
        reason = ESCALATED_STATUSES.get(record["status"])
        if reason is not None:
            return [
                *reset,
                SlotSet(SLOT_ORDER_OUTCOME, ORDER_OUTCOME_ESCALATE),
                SlotSet(SLOT_HANDOFF_REASON, reason),
            ]
        return [*reset, SlotSet(SLOT_ORDER_OUTCOME, ORDER_OUTCOME_REPORTED)]
