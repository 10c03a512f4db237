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

from actions.bot_csat import offer_rating
from actions.constants import (
    ACTION_ORDER_STATUS,
    FLOW_ORDER_STATUS,
    FORM_ORDER,
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
from actions.handoff.journey import Journey, json_record, labelled_section, pick_fields
from actions.handoff.summary import clip, humanize
from actions.store.database import get_database, utcnow
from actions.store.orders import OrderSnapshot, find_order, parse_order_number
from contract.handoff_context import (
    AttemptKind,
    Evidence,
    EvidenceSection,
    EvidenceTable,
    HandoffContext,
    OrderEvidence,
)

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
                text=f'"{shown}" doesn\'t look like one of our order numbers. Ours are '
                "ORD- followed by 6 digits, for example ORD-123456: you'll find it in your "
                "order confirmation email and under your orders on our website."
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
    """Reports the order found by the form (then asks for the bot-only rating when it is due,
    `actions.bot_csat.offer_rating`), or offers a human after failed lookups."""

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
        # A resolved journey: the bot-only rating's question may follow in this same action.
        return [
            *reset,
            SlotSet(SLOT_ORDER_OUTCOME, ORDER_OUTCOME_REPORTED),
            *offer_rating(dispatcher, tracker),
        ]


# --- What the handoff gets from this journey ---------------------------------------------------

#: Order fields that are personal data (and so listed in the context's `pii`). The final
#: tracking scans can name the delivery address.
PERSONAL_ORDER_FIELDS = ("customer_name", "customer_email", "tracking_events/*/location")
ORDER_LABELS = (
    ("order_number", "Order"),
    ("status", "Status"),
    ("customer_name", "Customer"),
    ("customer_email", "E-mail"),
    ("carrier", "Carrier"),
    ("tracking_number", "Tracking no."),
    ("estimated_delivery", "Estimated delivery"),
    ("placed_at", "Placed"),
    ("looked_up_at", "Looked up by the bot"),
)
#: The tracking table's "Where" column holds the scans' locations (personal, see above).
TRACKING_WHERE_COLUMN = 1


async def order_evidence(tracker: Tracker, flow: str) -> dict[str, Any]:
    """The order record as the bot saw it, if it found one."""
    order = tracker.get_slot(SLOT_ORDER_RECORD)
    if not order:
        return {}
    return {"order": OrderEvidence.parse_obj(pick_fields(OrderEvidence, order))}


def order_sentences(context: HandoffContext) -> list[str]:
    """The order's state, or how many lookups failed when none was found."""
    order = context.evidence.order
    if order:
        return [_order_sentence(order)]
    lookups = [a for a in context.attempts if a.kind is AttemptKind.ORDER_LOOKUP]
    if lookups:
        failed = [a for a in lookups if a.outcome != "found"]
        return [f"{len(failed)} of {len(lookups)} order lookups failed."]
    return []


def _order_sentence(order: OrderEvidence) -> str:
    parts = [f"Order {order.order_number} is {humanize(order.status)}"]
    if order.carrier:
        parts.append(f"carrier {clip(order.carrier)}")
    if order.estimated_delivery:
        parts.append(f"estimated delivery {order.estimated_delivery.isoformat()}")
    if order.tracking_events:
        latest = max(order.tracking_events, key=lambda event: event.occurred_at)
        parts.append(f"last scan {humanize(latest.status)} on {latest.occurred_at.date()}")
    return ", ".join(parts) + "."


def order_view(evidence: Evidence) -> list[EvidenceSection]:
    """The order, its lines and its tracking scans, labelled for the agent."""
    if evidence.order is None:
        return []
    record = json_record(evidence.order)
    tables = []
    if record["items"]:
        tables.append(
            EvidenceTable(
                caption="Items",
                columns=["SKU", "Product", "Qty"],
                rows=[[item["sku"], item["name"], item["quantity"]] for item in record["items"]],
            )
        )
    if record["tracking_events"]:
        tables.append(
            EvidenceTable(
                caption="Tracking",
                columns=["When", "Where", "What", "Status"],
                rows=[
                    [scan["occurred_at"], scan["location"], scan["description"], scan["status"]]
                    for scan in record["tracking_events"]
                ],
                personal_columns=[TRACKING_WHERE_COLUMN],
            )
        )
    section = labelled_section(
        "order",
        f"Order {evidence.order.order_number}",
        record,
        ORDER_LABELS,
        personal=PERSONAL_ORDER_FIELDS,
        tables=tables,
    )
    return [section]


JOURNEY = Journey(
    flow=FLOW_ORDER_STATUS,
    phrase="asked about an order",
    forms=frozenset({FORM_ORDER}),
    actions=frozenset({ACTION_ORDER_STATUS}),
    reason_details={
        REASON_ORDER_DELAYED: "The order is delayed; the bot apologised and escalated.",
        REASON_ORDER_LOST: "The order appears lost in transit; the bot apologised and escalated.",
        REASON_ORDER_NOT_FOUND: "Two lookups found no order; the customer accepted a person.",
    },
    collect_evidence=order_evidence,
    attempts_slot=SLOT_ORDER_LOOKUPS,
    summarize=order_sentences,
    customer_name=lambda evidence: evidence.order.customer_name if evidence.order else None,
    evidence_view=order_view,
    # The record carries the customer's name and e-mail.
    personal_slots=(SLOT_ORDER_RECORD,),
    personal_evidence={"order": PERSONAL_ORDER_FIELDS},
)
