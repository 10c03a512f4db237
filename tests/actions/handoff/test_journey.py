"""Journeys are plug-ins of the handoff.

A made-up fourth journey, declared here and registered in a test registry, hands over its
evidence, its display section, its summary sentence and its personal data in a context that
validates against the committed schema, with nothing outside this file changed.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker

from actions.handoff.journey import (
    Journey,
    JourneyRegistry,
    json_record,
    labelled_section,
)
from actions.handoff.routing import HandoffRouter, HandoffRoutingError
from actions.handoff_action import build_tracker_handoff
from actions.journeys import JOURNEYS
from actions.settings import PROJECT_ROOT
from contract.handoff_context import Evidence, EvidenceSection, HandoffContext
from contract.schema import validate_payload
from tests.actions.conftest import ROUTING_PATH, Conversation

# --- The made-up journey: a warranty claim --------------------------------------------------------

SERIAL_SLOT = "serial_number"
WARRANTY = {
    "serial_number": "SN-4711",
    "owner": "Jane Smith",
    "expires_on": "2025-01-31",
    "status": "expired",
}


async def warranty_evidence(tracker: Tracker, flow: str) -> Mapping[str, Any]:
    """The warranty record of the device, as a further evidence section."""
    serial = tracker.get_slot(SERIAL_SLOT)
    return {"warranty": {**WARRANTY, "serial_number": serial}} if serial else {}


def warranty_sentences(context: HandoffContext) -> list[str]:
    warranty = context.evidence.section("warranty")
    return [f"Warranty {warranty['serial_number']} is {warranty['status']}."] if warranty else []


def warranty_view(evidence: Evidence) -> list[EvidenceSection]:
    warranty = evidence.section("warranty")
    if warranty is None:
        return []
    labels = (("serial_number", "Serial no."), ("owner", "Owner"), ("expires_on", "Expires"))
    title = f"Warranty {warranty['serial_number']}"
    return [labelled_section("warranty", title, json_record(warranty), labels, personal=["owner"])]


WARRANTY_JOURNEY = Journey(
    flow="warranty_claim",
    phrase="was claiming a warranty",
    forms=frozenset({"warranty_form"}),
    actions=frozenset({"action_check_warranty"}),
    reason_details={"warranty_expired": "The warranty has expired; the customer wants a repair."},
    collect_evidence=warranty_evidence,
    summarize=warranty_sentences,
    customer_name=lambda evidence: (evidence.section("warranty") or {}).get("owner"),
    evidence_view=warranty_view,
    personal_slots=(SERIAL_SLOT,),
    personal_evidence={"warranty": ("owner",)},
)
TEST_JOURNEYS = JourneyRegistry((*JOURNEYS, WARRANTY_JOURNEY))


@pytest.fixture
def warranty_router(tmp_path: Path) -> HandoffRouter:
    """The shipped routing file plus the new journey's queue and reason code."""
    routing = yaml.safe_load(ROUTING_PATH.read_text(encoding="utf-8"))
    routing["flow_queues"]["warranty_claim"] = "general_support"
    routing["reason_codes"]["warranty_expired"] = {
        "trigger": "business_rule",
        "queue": "by_flow",
        "priority": "high",
    }
    path = tmp_path / "handoff_routing.yml"
    path.write_text(yaml.safe_dump(routing), encoding="utf-8")
    return HandoffRouter.load(path, TEST_JOURNEYS)


def warranty_tracker() -> Tracker:
    """A customer whose device's warranty has expired and who is handed over."""
    tracker = (
        Conversation()
        .user("my speaker broke, is it still under warranty?", "check_warranty")
        .ran("action_check_warranty")
        .bot("I'm sorry, the warranty of SN-4711 ended on 31 January 2025.")
        .slots(handoff_reason="warranty_expired")
        .user("ok", "affirm")
        .tracker()
    )
    # The journey's own slot: domain.yml (not changed by this test) does not declare it.
    return Tracker(
        tracker.sender_id,
        {**tracker.slots, SERIAL_SLOT: "SN-4711"},
        tracker.latest_message,
        tracker.events,
        tracker.is_paused(),
        tracker.followup_action,
        tracker.active_loop,
        tracker.latest_action_name,
    )


async def test_a_registered_journey_is_handed_over_completely(
    warranty_router: HandoffRouter,
) -> None:
    handoff = await build_tracker_handoff(warranty_tracker(), warranty_router, TEST_JOURNEYS)
    context = handoff.context
    payload: dict[str, Any] = json.loads(context.json())

    assert validate_payload(payload) == []
    assert payload["flow"] == "warranty_claim"
    assert payload["trigger"]["reason_code"] == "warranty_expired"
    assert payload["trigger"]["detail"] == "The warranty has expired; the customer wants a repair."
    assert payload["routing"]["queue"] == "general_support"
    assert handoff.decision.customer_label == "our customer service team"
    assert payload["evidence"]["warranty"] == WARRANTY
    assert payload["customer_name"] == "Jane Smith"
    assert payload["evidence_view"] == [
        {
            "key": "warranty",
            "title": "Warranty SN-4711",
            "fields": [
                {"label": "Serial no.", "value": "SN-4711", "personal": False},
                {"label": "Owner", "value": "Jane Smith", "personal": True},
                {"label": "Expires", "value": "2025-01-31", "personal": False},
            ],
            "tables": [],
        }
    ]
    assert context.summary.startswith(
        "Jane Smith was claiming a warranty. Handed over: warranty expired (business rule),"
        " routed to general_support at high priority. Warranty SN-4711 is expired."
    )
    assert payload["pii"] == [
        "/customer_name",
        "/slots/serial_number",
        "/transcript/*/text",
        "/evidence/warranty/owner",
        "/evidence_view/0/fields/1/value",
        "/summary",
    ]


async def test_the_shipped_journeys_know_nothing_of_it(warranty_router: HandoffRouter) -> None:
    handoff = await build_tracker_handoff(warranty_tracker(), warranty_router, JOURNEYS)

    assert handoff.context.flow == "none"
    assert handoff.context.evidence_view == []
    assert handoff.context.summary.startswith("The customer was talking to the bot.")


def test_the_routing_file_must_route_a_registered_journey() -> None:
    with pytest.raises(HandoffRoutingError) as raised:
        HandoffRouter.load(ROUTING_PATH, TEST_JOURNEYS)

    assert "add them: warranty_expired" in str(raised.value)
    assert "no queue for flow 'warranty_claim'" in str(raised.value)


def test_a_flow_queue_without_a_journey_is_refused(tmp_path: Path) -> None:
    routing = yaml.safe_load(ROUTING_PATH.read_text(encoding="utf-8"))
    routing["flow_queues"]["warranty_claim"] = "general_support"
    path = tmp_path / "handoff_routing.yml"
    path.write_text(yaml.safe_dump(routing), encoding="utf-8")

    with pytest.raises(HandoffRoutingError, match=r"flow_queues\.warranty_claim: no journey"):
        HandoffRouter.load(path, JOURNEYS)


# --- The registry ---------------------------------------------------------------------------------


def test_two_journeys_cannot_claim_the_same_flow_or_step() -> None:
    twin = Journey(flow="order_status", phrase="twin", actions=frozenset({"action_order_status"}))

    with pytest.raises(ValueError, match="flow 'order_status'") as raised:
        JourneyRegistry((*JOURNEYS, twin))

    assert "form or action 'action_order_status'" in str(raised.value)


@pytest.mark.parametrize("flow", ["none", "Warranty Claim", "warranty_" * 4])
def test_a_journey_flow_is_a_short_snake_case_name_but_not_none(flow: str) -> None:
    with pytest.raises(ValueError, match="must be snake_case, at most 32 characters, and not"):
        JourneyRegistry((Journey(flow=flow, phrase="x"),))


def test_the_handoff_package_imports_no_journey() -> None:
    journey_modules = {
        "actions.orders",
        "actions.troubleshooting",
        "actions.mortgage",
        "actions.journeys",  # the registry: it reaches the handoff only through actions.wiring
        "actions.wiring",
    }
    imported = set()
    for path in (PROJECT_ROOT / "actions" / "handoff").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)

    assert imported & journey_modules == set()


# --- JourneyRegistry.current_flow --------------------------------------------------------------


def test_a_new_conversation_is_in_no_flow() -> None:
    assert JOURNEYS.current_flow(Conversation().user("hi", "greet").tracker()) == "none"


@pytest.mark.parametrize(
    ("form", "flow"),
    [
        ("order_form", "order_status"),
        ("troubleshooting_form", "troubleshooting"),
        ("mortgage_form", "mortgage"),
    ],
)
def test_the_active_form_is_the_flow(form: str, flow: str) -> None:
    conversation = (
        Conversation().ran("action_order_status").form(form, "x").user("agent", "request_human")
    )

    assert JOURNEYS.current_flow(conversation.tracker()) == flow


@pytest.mark.parametrize(
    ("action", "flow"),
    [
        ("action_order_status", "order_status"),
        ("action_start_troubleshooting", "troubleshooting"),
        ("action_submit_mortgage_application", "mortgage"),
    ],
)
def test_without_a_form_the_latest_journey_action_is_the_flow(action: str, flow: str) -> None:
    conversation = (
        Conversation()
        .user("where is ORD-100002?", "check_order_status")
        .form("order_form", "order_number")
        .ran("order_form", [{"event": "active_loop", "name": None}])
        .ran(action)
        .user("thanks", "thank")
        .ran("utter_you_are_welcome")
        .user("agent please", "request_human")
    )

    assert JOURNEYS.current_flow(conversation.tracker()) == flow


def test_asking_for_mortgage_advice_is_the_mortgage_flow_from_anywhere() -> None:
    conversation = (
        Conversation()
        .form("troubleshooting_form", "step_answer")
        .user("should I fix my mortgage rate for 5 years?", "ask_mortgage_advice")
    )

    assert JOURNEYS.current_flow(conversation.tracker()) == "mortgage"


def test_a_journey_before_starting_over_is_forgotten() -> None:
    conversation = (
        Conversation()
        .user("where is ORD-100002?", "check_order_status")
        .form("order_form", "order_number")
        .ran("action_order_status")
        .user("start over", "start_over")
        .ran("action_start_over", [{"event": "restart"}])
        .user("I want to talk to a person", "request_human")
    )

    assert JOURNEYS.current_flow(conversation.tracker()) == "none"
