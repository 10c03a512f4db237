"""Assembling the handoff context."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from actions.handoff.builder import build_handoff, set_slots
from actions.handoff.routing import HandoffRouter, UnknownReasonCodeError
from actions.journeys import JOURNEYS
from contract.handoff_context import Evidence, Flow, HandoffContext, Priority, TriggerType
from contract.schema import validate_payload
from tests.support import handoff_examples
from tests.support.handoff_examples import action, user


def build(router: HandoffRouter, **overrides: Any) -> HandoffContext:
    """The order_delayed context, with overrides."""
    arguments: dict[str, Any] = {
        "sender_id": handoff_examples.SENDER_ID,
        "channel": "rest",
        "language": "en",
        "events": handoff_examples.order_delayed_events(),
        "slots": handoff_examples.order_delayed_slots(),
        "reason_code": "order_delayed",
        "detail": "Order ORD-204117 missed its estimated delivery date (2025-03-12).",
        "flow": Flow.ORDER_STATUS,
        "attempts": handoff_examples.order_delayed_attempts(),
        "evidence": handoff_examples.order_delayed_evidence(),
        "router": router,
        "journeys": JOURNEYS,
    }
    arguments.update(overrides)
    return build_handoff(**arguments).context


def test_builds_a_valid_context(router: HandoffRouter) -> None:
    context = build(router)

    assert validate_payload(json.loads(context.json())) == []


def test_injected_id_and_time_make_it_deterministic(router: HandoffRouter) -> None:
    handoff_id = UUID("00000000-0000-4000-8000-000000000001")
    now = datetime(2025, 3, 14, 10, 0, tzinfo=timezone.utc)

    first = build(router, handoff_id=handoff_id, now=now)
    second = build(router, handoff_id=handoff_id, now=now)

    assert first.json() == second.json()
    assert first.handoff_id == handoff_id and first.created_at == now


def test_defaults_to_a_fresh_id_and_the_current_time(router: HandoffRouter) -> None:
    before = datetime.now(timezone.utc)
    first, second = build(router), build(router)

    assert first.handoff_id != second.handoff_id
    assert first.handoff_id.version == 4
    assert before <= first.created_at <= before + timedelta(minutes=1)
    assert first.created_at.tzinfo is not None


def test_a_non_utc_time_is_normalised(router: HandoffRouter) -> None:
    amsterdam = timezone(timedelta(hours=1))

    context = build(router, now=datetime(2025, 3, 14, 11, 0, tzinfo=amsterdam))

    assert context.created_at == datetime(2025, 3, 14, 10, 0, tzinfo=timezone.utc)
    assert context.json().count("+00:00") > 0


def test_only_set_slots_are_included(router: HandoffRouter) -> None:
    context = build(router)

    assert set(context.slots) == {
        "order_number",
        "order_lookup_failures",
        "order_record",
        "order_outcome",
        "human_offered",
        "handoff_reason",
    }
    assert set_slots({"a": None, "b": False, "c": 0, "d": ""}) == {"b": False, "c": 0, "d": ""}


def test_trigger_and_routing_come_from_the_router(router: HandoffRouter) -> None:
    context = build(router, reason_code="order_lost", detail="Carrier reports it lost.")

    assert context.trigger.type is TriggerType.BUSINESS_RULE
    assert context.trigger.reason_code == "order_lost"
    assert context.routing.queue == "order_support"
    assert context.routing.priority is Priority.HIGH


def test_last_intent_is_the_latest_customer_intent(router: HandoffRouter) -> None:
    assert build(router).last_intent == "affirm"
    assert build(router, events=[action("action_listen", 0.0)]).last_intent is None


def test_sentiment_is_over_customer_messages(router: HandoffRouter) -> None:
    context = build(router)

    assert context.sentiment.turns_scored == 3
    assert context.sentiment.label.value == "negative"


def test_an_upset_customer_raises_the_priority(router: HandoffRouter) -> None:
    events = [
        user("This is terrible, I'm furious. Worst service ever!", 1.0, "complain", 0.8),
        user("Useless bot. I hate this, it's awful!", 5.0, "request_human", 0.9),
    ]

    context = build(router, events=events, reason_code="customer_request")

    assert context.sentiment.score <= -0.5
    assert context.routing.priority is Priority.HIGH


def test_summary_and_pii_are_filled_in(router: HandoffRouter) -> None:
    context = build(router)

    assert context.summary.startswith("Jane Smith asked about an order.")
    assert "/evidence/order/customer_email" in context.pii
    assert "/summary" in context.pii


def test_flow_may_be_given_as_text(router: HandoffRouter) -> None:
    context = build(router, flow="none", reason_code="customer_request", evidence=Evidence())

    assert context.flow == Flow.NONE
    assert context.routing.queue == "general_support"


def test_an_unknown_reason_code_is_refused(router: HandoffRouter) -> None:
    with pytest.raises(UnknownReasonCodeError):
        build(router, reason_code="gut_feeling")
