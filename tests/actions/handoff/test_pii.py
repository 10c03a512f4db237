"""Where personal data is, and masking it in payloads (log records: tests/logsupport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from actions.handoff.pii import mask_name, mask_payload, pii_paths
from actions.journeys import JOURNEYS
from contract.handoff_context import HandoffContext, Speaker
from logsupport.masking import mask_email

MakeContext = Callable[..., HandoffContext]


def payload_of(context: HandoffContext) -> dict[str, Any]:
    """The context as sent."""
    payload: dict[str, Any] = json.loads(context.json())
    return payload


# --- pii_paths ------------------------------------------------------------------------------------


def test_paths_of_the_order_context(order_delayed_context: HandoffContext) -> None:
    assert pii_paths(order_delayed_context, JOURNEYS) == [
        "/customer_name",
        "/slots/order_record",
        "/transcript/*/text",
        "/attempts/*/answer",
        "/evidence/order/customer_name",
        "/evidence/order/customer_email",
        "/evidence/order/tracking_events/*/location",
        "/evidence_view/0/fields/2/value",
        "/evidence_view/0/fields/3/value",
        "/evidence_view/0/tables/1/rows/*/1",
        "/summary",
    ]
    assert order_delayed_context.pii == pii_paths(order_delayed_context, JOURNEYS)


def test_paths_of_a_mortgage_context(make_context: MakeContext) -> None:
    paths = pii_paths(make_context("needs_advice"), JOURNEYS)

    assert paths == [
        "/customer_name",
        "/slots/applicant_name",
        "/slots/email",
        "/transcript/*/text",
        "/evidence/mortgage_application/applicant_name",
        "/evidence/mortgage_application/email",
        "/evidence/mortgage_application/annual_income",
        "/evidence_view/0/fields/2/value",
        "/evidence_view/0/fields/3/value",
        "/evidence_view/0/fields/9/value",
        "/summary",
    ]


def test_only_fields_that_are_filled_are_listed(make_context: MakeContext) -> None:
    # No name anywhere, no evidence, no answers: only the customer's messages.
    assert pii_paths(make_context("nlu_fallback"), JOURNEYS) == ["/transcript/*/text"]


def test_agent_names_are_personal(make_context: MakeContext) -> None:
    context = make_context("nlu_fallback")
    agent_turn = context.transcript[-1].copy(
        update={"speaker": Speaker.AGENT, "agent_name": "Sam Patel", "intent": None}
    )
    context = context.copy(update={"transcript": [*context.transcript, agent_turn]})

    assert "/transcript/*/agent_name" in pii_paths(context, JOURNEYS)


@pytest.mark.parametrize(
    "reason_code", ["order_delayed", "cycle_limit", "needs_advice", "customer_request"]
)
def test_every_path_points_at_a_value(make_context: MakeContext, reason_code: str) -> None:
    context = make_context(reason_code)
    payload = payload_of(context)

    for path in context.pii:
        assert mask_payload(payload, [path]) != payload, f"{path} matched nothing"


def test_personal_slots_are_data_in_one_place() -> None:
    assert {"applicant_name", "email", "order_record"} <= set(JOURNEYS.personal_slots)


# --- mask_payload ---------------------------------------------------------------------------------


def test_masking_removes_every_personal_value(order_delayed_context: HandoffContext) -> None:
    payload = payload_of(order_delayed_context)

    masked = json.dumps(mask_payload(payload, order_delayed_context.pii))

    for secret in ("Jane", "Smith", "jane.smith@example.com", "birthday", "Leipzig"):
        assert secret not in masked


def test_masked_values_keep_a_hint(order_delayed_context: HandoffContext) -> None:
    payload = payload_of(order_delayed_context)

    masked = mask_payload(payload, order_delayed_context.pii)

    order = masked["evidence"]["order"]
    assert order["customer_email"] == "j***@e***.com"
    assert order["customer_name"] == "J*** S***"
    assert masked["transcript"][0]["text"] == "[redacted 52 chars]"
    assert masked["attempts"][0]["answer"] == "[redacted 10 chars]"
    # Non-personal fields are untouched.
    assert order["order_number"] == "ORD-204117"
    assert masked["transcript"][0]["intent"] == "check_order_status"


def test_masking_copies(order_delayed_context: HandoffContext) -> None:
    payload = payload_of(order_delayed_context)
    before = json.dumps(payload)

    mask_payload(payload, order_delayed_context.pii)

    assert json.dumps(payload) == before


def test_structured_slots_are_masked_leaf_by_leaf() -> None:
    payload = {"slots": {"order_record": {"customer_email": "a.b@shop.co.uk", "quantity": 2}}}

    masked = mask_payload(payload, ["/slots/order_record"])

    assert masked["slots"]["order_record"] == {
        "customer_email": "a***@s***.uk",
        "quantity": "[redacted]",
    }


def test_absent_paths_and_nulls_are_skipped() -> None:
    payload = {"slots": {}, "evidence": {"order": None}, "transcript": []}

    masked = mask_payload(
        payload, ["/slots/email", "/evidence/order/customer_name", "/transcript/*/text"]
    )

    assert masked == payload


def test_pointer_escapes_and_indices() -> None:
    payload = {"slots": {"a/b": "secret"}, "items": ["x", "yy"]}

    masked = mask_payload(payload, ["/slots/a~1b", "/items/1"])

    assert masked == {"slots": {"a/b": "[redacted 6 chars]"}, "items": ["x", "[redacted 2 chars]"]}


def test_hints() -> None:
    assert mask_email("jane.smith@example.com") == "j***@e***.com"
    assert mask_name("Jane  van der Berg") == "J*** v*** d*** B***"
    assert mask_name("") == "***"
