"""Realistic conversations (Rasa tracker events as rasa-sdk gives them) and the handoff
contexts built from them, shared by the contract tests and the handoff action tests.

`python -m tests.support.handoff_examples` rewrites the golden file
`tests/contract/golden_handoff_context.json` from `order_delayed_context()`; review the diff.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

from actions.handoff.builder import build_handoff
from actions.handoff.routing import HandoffRouter
from actions.journeys import JOURNEYS
from actions.settings import PROJECT_ROOT
from contract.handoff_context import (
    ApplicationEvidence,
    Attempt,
    AttemptKind,
    Evidence,
    Flow,
    HandoffContext,
    OrderEvidence,
    OrderItem,
    TrackingEvent,
    TroubleshootingEvidence,
)

ROUTING_PATH = PROJECT_ROOT / "content" / "handoff_routing.yml"
GOLDEN_PATH = PROJECT_ROOT / "tests" / "contract" / "golden_handoff_context.json"
GOLDEN_HANDOFF_ID = UUID("5f0c6a7e-3b1d-4c8e-9a2f-1d7e4b6c8a90")
GOLDEN_NOW = datetime(2025, 3, 14, 9, 31, 0, tzinfo=timezone.utc)
SENDER_ID = "c0ffee00-7f3a-4b8e-b1c2-5d6e7f8a9b0c"
T0 = 1741944600.0  # 2025-03-14T09:30:00Z


def utc(offset_seconds: float) -> datetime:
    """T0 plus an offset, as an aware UTC datetime."""
    return datetime.fromtimestamp(T0 + offset_seconds, tz=timezone.utc)


# --- Event builders (the dict shapes rasa-sdk's Tracker.events holds) -------------------------


def action(name: str, at: float, policy: str | None = "RulePolicy") -> dict[str, Any]:
    """An `ActionExecuted` event."""
    return {
        "event": "action",
        "timestamp": T0 + at,
        "metadata": {},
        "name": name,
        "policy": policy,
        "confidence": 1.0,
        "action_text": None,
        "hide_rule_turn": False,
    }


def user(
    text: str | None,
    at: float,
    intent: str,
    confidence: float,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A `UserUttered` event with NLU parse data."""
    return {
        "event": "user",
        "timestamp": T0 + at,
        "metadata": {"model_id": "9c1f6b2e4d7a4f0e8b3c5a1d2e6f7a8b"},
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
            "text": text,
            "message_id": f"msg-{int(at * 10)}",
            "metadata": {},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
        },
        "input_channel": "rest",
        "message_id": f"msg-{int(at * 10)}",
    }


def bot(
    text: str,
    at: float,
    utter_action: str | None = None,
    buttons: list[tuple[str, str]] | None = None,
    agent: str | None = None,
) -> dict[str, Any]:
    """A `BotUttered` event; `utter_action` for responses, `agent` for desk messages."""
    metadata: dict[str, Any] = {}
    if utter_action:
        metadata["utter_action"] = utter_action
    if agent:
        metadata["handoff_agent"] = {"name": agent, "id": "agent-17"}
    return {
        "event": "bot",
        "timestamp": T0 + at,
        "metadata": metadata,
        "text": text,
        "data": {
            "elements": None,
            "quick_replies": None,
            "buttons": [{"title": t, "payload": p} for t, p in buttons] if buttons else None,
            "attachment": None,
            "image": None,
            "custom": None,
        },
    }


def slot(name: str, value: Any, at: float) -> dict[str, Any]:
    """A `SlotSet` event."""
    return {"event": "slot", "timestamp": T0 + at, "metadata": {}, "name": name, "value": value}


def other(kind: str, at: float, **fields: Any) -> dict[str, Any]:
    """Any other event (session_started, active_loop, user_featurization, ...)."""
    return {"event": kind, "timestamp": T0 + at, "metadata": {}, **fields}


# --- The order_delayed conversation -------------------------------------------------------------

ORDER_NUMBER = "ORD-204117"


def order_record() -> dict[str, Any]:
    """The `order_record` slot as actions/orders.py sets it."""
    return {
        "order_number": ORDER_NUMBER,
        "status": "delayed",
        "carrier": "DHL",
        "tracking_number": "JD014600006281230941",
        "estimated_delivery": "2025-03-12",
        "estimated_delivery_missed": True,
        "placed_at": "2025-03-06T18:12:44+00:00",
        "updated_at": "2025-03-11T21:40:00+00:00",
        "items": [{"sku": "RTR-AX3000", "name": "AX3000 Wi-Fi 6 Router", "quantity": 1}],
        "tracking_events": [],
        "looked_up_at": "2025-03-14T09:30:22.300000+00:00",
    }


def order_delayed_events() -> list[dict[str, Any]]:
    """A customer asks where their order is; it is late, and they accept a human."""
    return [
        action("action_session_start", 0.0, policy=None),
        other("session_started", 0.01),
        action("action_listen", 0.02),
        user(
            "Hi, where is my order? It should have arrived by now",
            5.2,
            "check_order_status",
            0.9731,
        ),
        other("user_featurization", 5.3, use_text_for_featurization=False),
        action("order_form", 5.4),
        other("active_loop", 5.41, name="order_form"),
        slot("requested_slot", "order_number", 5.42),
        bot(
            "Sure, I can check that. What's your order number? It looks like ORD-123456.",
            5.5,
            utter_action="utter_ask_order_number",
        ),
        action("action_listen", 5.6),
        user(
            ORDER_NUMBER,
            21.8,
            "inform",
            0.9112,
            entities=[{"entity": "order_number", "start": 0, "end": 10, "value": ORDER_NUMBER}],
        ),
        action("order_form", 22.0),
        slot("order_number", ORDER_NUMBER, 22.1),
        slot("order_record", order_record(), 22.1),
        other("active_loop", 22.2, name=None),
        slot("requested_slot", None, 22.2),
        action("action_order_status", 22.3),
        bot(
            "Order ORD-204117 (AX3000 Wi-Fi 6 Router) shipped with DHL and was due on"
            " 12 March, but it is running late. The last scan was at the Leipzig hub on"
            " 11 March.",
            22.4,
        ),
        bot(
            "I'm sorry about the delay. Would you like me to pass you to our order support team?",
            22.5,
            utter_action="utter_offer_human",
            buttons=[("Yes, please", "/affirm"), ("No, thanks", "/deny")],
        ),
        slot("order_outcome", "escalate", 22.5),
        slot("human_offered", True, 22.5),
        slot("handoff_reason", "order_delayed", 22.5),
        action("action_listen", 22.6),
        user(
            "Yes. This is really frustrating, I needed it for my daughter's birthday on Saturday!",
            40.1,
            "affirm",
            0.8642,
        ),
        other("user_featurization", 40.2, use_text_for_featurization=False),
        action("action_handoff", 40.3),
    ]


def order_delayed_slots() -> dict[str, Any]:
    """The tracker's slots at the handoff, unset ones included (as rasa-sdk gives them)."""
    return {
        "order_number": ORDER_NUMBER,
        "order_lookup_failures": 0.0,
        "order_record": order_record(),
        "order_outcome": "escalate",
        "error_code": None,
        "troubleshooting_tree": None,
        "applicant_name": None,
        "email": None,
        "human_offered": True,
        "handoff_reason": "order_delayed",
        "handoff_id": None,
        "requested_slot": None,
        "session_started_metadata": None,
    }


def order_delayed_attempts() -> list[Attempt]:
    """The one successful lookup."""
    return [
        Attempt(
            kind=AttemptKind.ORDER_LOOKUP,
            label=ORDER_NUMBER,
            description=f"Looked up order {ORDER_NUMBER}",
            answer=ORDER_NUMBER,
            outcome="found",
            asked_at=utc(5.5),
            answered_at=utc(21.8),
        )
    ]


def order_delayed_evidence() -> Evidence:
    """The order as the handoff action reads it from the store (owner confirmed)."""
    return Evidence(
        order=OrderEvidence(
            order_number=ORDER_NUMBER,
            status="delayed",
            customer_name="Jane Smith",
            customer_email="jane.smith@example.com",
            items=[OrderItem(sku="RTR-AX3000", name="AX3000 Wi-Fi 6 Router", quantity=1)],
            carrier="DHL",
            tracking_number="JD014600006281230941",
            estimated_delivery=date(2025, 3, 12),
            placed_at=datetime(2025, 3, 6, 18, 12, 44, tzinfo=timezone.utc),
            tracking_events=[
                TrackingEvent(
                    occurred_at=datetime(2025, 3, 7, 14, 5, tzinfo=timezone.utc),
                    location="Amsterdam, NL",
                    description="Shipment picked up",
                    status="shipped",
                ),
                TrackingEvent(
                    occurred_at=datetime(2025, 3, 11, 21, 40, tzinfo=timezone.utc),
                    location="Leipzig hub, DE",
                    description="Delayed at sorting facility",
                    status="delayed",
                ),
            ],
            looked_up_at=utc(22.3),
        )
    )


def order_delayed_context(router: HandoffRouter) -> HandoffContext:
    """The golden context: the order_delayed conversation with a fixed id and time."""
    return build_handoff(
        sender_id=SENDER_ID,
        channel="rest",
        language="en",
        events=order_delayed_events(),
        slots=order_delayed_slots(),
        reason_code="order_delayed",
        detail="Order ORD-204117 missed its estimated delivery date (2025-03-12).",
        flow=Flow.ORDER_STATUS,
        attempts=order_delayed_attempts(),
        evidence=order_delayed_evidence(),
        router=router,
        journeys=JOURNEYS,
        handoff_id=GOLDEN_HANDOFF_ID,
        now=GOLDEN_NOW,
    ).context


# --- One context per trigger type ----------------------------------------------------------------


def troubleshooting_events() -> list[dict[str, Any]]:
    """Error E42 on a router; two cycles of steps fail."""
    return [
        action("action_listen", 0.0),
        user("my router shows error E42", 3.0, "report_error_code", 0.95),
        action("action_start_troubleshooting", 3.2),
        bot("Let's fix error E42 (no internet connection).", 3.3),
        action("troubleshooting_form", 3.4),
        bot(
            "Step 1: unplug the router for 30 seconds. Did that fix it?",
            3.5,
            utter_action="utter_ask_step_answer",
            buttons=[("Yes", "/affirm"), ("No", "/deny")],
        ),
        action("action_listen", 3.6),
        user("no, still the same", 60.0, "deny", 0.97),
        action("troubleshooting_form", 60.2),
        bot("Step 2: check the cable into the wall socket. Did that fix it?", 60.3),
        action("action_listen", 60.4),
        user("No. This is useless!!", 120.0, "deny", 0.92),
    ]


def troubleshooting_attempts() -> list[Attempt]:
    """Two failed steps in the second cycle."""
    return [
        Attempt(
            kind=AttemptKind.TROUBLESHOOTING_STEP,
            label="power_cycle",
            description="Unplug the router for 30 seconds, then plug it back in.",
            cycle=2,
            step=1,
            answer="no, still the same",
            outcome="unresolved",
            asked_at=utc(3.5),
            answered_at=utc(60.0),
        ),
        Attempt(
            kind=AttemptKind.TROUBLESHOOTING_STEP,
            label="check_wall_cable",
            description="Check the cable into the wall socket.",
            cycle=2,
            step=2,
            answer="No. This is useless!!",
            outcome="unresolved",
            asked_at=utc(60.3),
            answered_at=utc(120.0),
        ),
    ]


def mortgage_evidence(reference: str | None = "MA-7Q2K9") -> Evidence:
    """A submitted mortgage application (or a draft when `reference` is None)."""
    return Evidence(
        mortgage_application=ApplicationEvidence(
            reference=reference,
            status="advice_requested" if reference else "draft",
            applicant_name="Jane Smith",
            email="jane.smith@example.com",
            property_value=350_000.0,
            deposit_amount=70_000.0,
            loan_amount=280_000.0,
            loan_to_value=0.8,
            term_years=25,
            annual_income=72_000.0,
            employment_type="employed",
            currency="GBP",
            created_at=utc(200.0) if reference else None,
        )
    )


def context_for(reason_code: str, router: HandoffRouter) -> HandoffContext:
    """A realistic context for a reason code (one per trigger type and then some)."""
    common: dict[str, Any] = {
        "sender_id": SENDER_ID,
        "channel": "rest",
        "language": "en",
        "router": router,
        "journeys": JOURNEYS,
        "handoff_id": GOLDEN_HANDOFF_ID,
        "now": GOLDEN_NOW,
        "reason_code": reason_code,
    }
    if reason_code == "order_delayed":
        return order_delayed_context(router)
    if reason_code == "order_lost":
        return build_handoff(
            **common,
            events=order_delayed_events(),
            slots=order_delayed_slots(),
            detail="The carrier reports the parcel lost.",
            flow=Flow.ORDER_STATUS,
            attempts=order_delayed_attempts(),
            evidence=order_delayed_evidence(),
        ).context
    if reason_code == "cycle_limit":
        return build_handoff(
            **common,
            events=troubleshooting_events(),
            slots={"error_code": "E42", "troubleshooting_tree": "no_internet", "email": None},
            detail="Two troubleshooting cycles for E42 did not fix it.",
            flow=Flow.TROUBLESHOOTING,
            attempts=troubleshooting_attempts(),
            evidence=Evidence(
                troubleshooting=TroubleshootingEvidence(
                    error_code="E42",
                    tree="no_internet",
                    tree_title="No internet connection",
                    known_code=True,
                    cycles_completed=2,
                    cycle_limit=2,
                )
            ),
        ).context
    if reason_code == "needs_advice":
        return build_handoff(
            **common,
            events=[
                action("action_listen", 0.0),
                user("Should I take a 25 or a 30 year term?", 250.0, "ask_mortgage_advice", 0.9),
            ],
            slots={"applicant_name": "Jane Smith", "email": "jane.smith@example.com"},
            detail="The customer asked for advice on their mortgage term.",
            flow=Flow.MORTGAGE,
            attempts=[],
            evidence=mortgage_evidence(),
        ).context
    if reason_code == "nlu_fallback":
        return build_handoff(
            **common,
            events=[
                action("action_listen", 0.0),
                user("blorp the thing wont frobnicate", 2.0, "nlu_fallback", 0.31),
                bot("Sorry, I didn't get that. Could you rephrase?", 2.2),
                action("action_listen", 2.3),
                user("frobnicate!!! the thing!!", 9.0, "nlu_fallback", 0.28),
            ],
            slots={},
            detail="Two messages in a row were not understood.",
            flow=Flow.NONE,
            attempts=[],
            evidence=Evidence(),
        ).context
    # customer_request and anything else: asked for a human mid-application (a draft).
    return build_handoff(
        **common,
        events=[
            action("action_listen", 0.0),
            user("I'd rather talk to a person", 30.0, "request_human", 0.99),
        ],
        slots={"applicant_name": "Jane Smith", "property_value": 350000.0},
        detail="The customer asked for a human.",
        flow=Flow.MORTGAGE,
        attempts=[],
        evidence=mortgage_evidence(reference=None),
    ).context


def write_golden(path: Path = GOLDEN_PATH) -> None:
    """Rewrite the golden file from `order_delayed_context`."""
    context = order_delayed_context(HandoffRouter.load(ROUTING_PATH, JOURNEYS))
    path.write_text(json.dumps(json.loads(context.json()), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_golden()
    print(f"Wrote {GOLDEN_PATH}")
