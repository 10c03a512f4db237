"""`action_handoff` against a real desk endpoint on loopback, for every trigger.

The conversations are played through the real actions (order lookups, troubleshooting walks,
misunderstood messages, ...) so the slots the handoff reads are exactly the ones those actions
set, and the context the desk receives is checked against the committed JSON Schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from rasa_sdk import Action
from sqlalchemy import select

from actions.conversation import ActionNluFallback
from actions.customer_service import ActionOfferCustomerService
from actions.handoff.builder import turn_handoff_id
from actions.handoff.delivery import HandoffClient
from actions.handoff.outbox import OutboxPolicy, OutboxRelay
from actions.handoff_action import ALREADY_QUEUED, ActionHandoff
from actions.mortgage import JOURNEY as MORTGAGE_JOURNEY
from actions.mortgage import ActionSubmitMortgageApplication
from actions.orders import ActionOrderStatus, ValidateOrderForm
from actions.store.database import Database
from actions.store.models import HandoffOutboxEntry
from actions.troubleshooting import (
    ActionAskStepAnswer,
    ActionStartTroubleshooting,
    ValidateTroubleshootingForm,
)
from actions.wiring import handoff_services
from contract.schema import validate_payload
from harness.recording_endpoint import RecordingEndpoint
from tests.actions.conftest import (
    CHANNEL,
    ROUTING_PATH,
    SECRET,
    SENDER_ID,
    ActionResult,
    Conversation,
    FakeClock,
    entity,
    plain,
    run_action,
    slot_changes,
    slot_event,
    texts,
)

pytestmark = [
    pytest.mark.usefixtures("app_database"),
    # SQLite keeps Numeric as floats; the store tests accept this warning the same way.
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*"),
]

OFFER = "Would you like me to connect you with a person?"
TROUBLESHOOTING = "troubleshooting_form"


@pytest.fixture
def handoff_url(endpoint: RecordingEndpoint) -> str:
    """The action server sends handoffs to the recording endpoint."""
    return endpoint.url


@pytest.fixture
def handoff_secret() -> str:
    """The secret the recording endpoint expects."""
    return SECRET


@pytest.fixture(autouse=True)
async def close_handoff_services(app_database: Database) -> AsyncIterator[None]:
    """The desk client's HTTP session belongs to this test's event loop: close it after."""
    yield
    if handoff_services.cache_info().currsize:
        services = handoff_services()
        await services.relay.stop()
        await services.dispatcher._client.close()  # the one shared client, not public


def labels() -> dict[str, str]:
    """What the customer is told for each queue ("I'm passing you to ...")."""
    routing = yaml.safe_load(ROUTING_PATH.read_text(encoding="utf-8"))
    return {name: queue["customer_label"] for name, queue in routing["queues"].items()}


def delivered_message(queue: str) -> str:
    return (
        f"I'm passing you to {labels()[queue]} now. Everything we've discussed, including the "
        "details you gave me, goes with you, so you won't need to repeat yourself. Please stay "
        "in this chat."
    )


def queued_message(queue: str) -> str:
    return (
        f"I'm passing you to {labels()[queue]}. Our support desk isn't reachable this very "
        "moment, so I've saved your request with everything we've discussed; it will reach the "
        "team automatically as soon as the desk is back. Please stay in this chat."
    )


def handed_off_events(handoff_id: str) -> list[dict[str, Any]]:
    return [
        slot_event("handoff_reason", None),
        slot_event("human_offered", None),
        {"event": "active_loop", "name": None},
        slot_event("requested_slot", None),
        slot_event("handoff_id", handoff_id),
        {"event": "pause"},
    ]


def outbox_rows(database: Database) -> list[HandoffOutboxEntry]:
    with database.session() as session:
        return list(session.scalars(select(HandoffOutboxEntry)))


# --- The conversations -----------------------------------------------------------------------


async def play(conversation: Conversation, action_name: str, action: Action) -> ActionResult:
    result = await run_action(action, conversation.tracker())
    conversation.record(action_name, result)
    return result


async def order_looked_up(*numbers: str) -> Conversation:
    """The customer asked about an order and gave these numbers; the form is done."""
    conversation = (
        Conversation()
        .user("hi, where is my order?", "check_order_status")
        .form("order_form", "order_number")
        .bot("What's your order number? It looks like ORD-123456.")
    )
    for number in numbers:
        conversation.user(
            f"it's {number}",
            "inform",
            entities=[entity("order_number", number, f"it's {number}")],
        )
        validation = await run_action(
            ValidateOrderForm(), conversation.form_tracker("order_form", order_number=number)
        )
        conversation.record("order_form", validation)
    conversation.ran("order_form", [{"event": "active_loop", "name": None}])
    await play(conversation, "action_order_status", ActionOrderStatus())
    return conversation


async def order_delayed() -> Conversation:
    # The rule runs action_handoff straight after action_order_status.
    return await order_looked_up("ORD-100005")


async def order_lost() -> Conversation:
    return await order_looked_up("ORD-100006")


async def order_not_found_accepted() -> Conversation:
    conversation = await order_looked_up("ORD-999999", "ORD-888888")
    return conversation.ran("utter_offer_human").bot(OFFER).user("yes please", "affirm")


async def customer_request_without_journey() -> Conversation:
    return (
        Conversation()
        .user("hello", "greet")
        .bot("Hi! I'm the support assistant.")
        .user("I want to talk to a real person", "request_human")
    )


async def customer_request_during_order_lookup() -> Conversation:
    return (
        Conversation()
        .user("where is my order?", "check_order_status")
        .form("order_form", "order_number")
        .bot("What's your order number? It looks like ORD-123456.")
        .user("just get me an agent", "request_human")
    )


async def needs_advice_during_intake() -> Conversation:
    return (
        Conversation()
        .user("I want to apply for a mortgage", "start_mortgage")
        .form("mortgage_form", "applicant_name")
        .slots(
            applicant_name="Jane Smith",
            email="jane.smith@example.com",
            property_value=350_000.0,
            loan_amount=280_000.0,
            deposit_amount=70_000.0,
            loan_to_value=0.8,
            requested_slot="term_years",
        )
        .user("should I take a fixed or a tracker rate?", "ask_mortgage_advice")
    )


async def walked_to_the_cycle_limit(code: str = "E-1042") -> Conversation:
    message = f"my hub keeps showing {code}"
    conversation = Conversation().user(
        message, "report_error_code", entities=[entity("error_code", code, message)]
    )
    await play(conversation, "action_start_troubleshooting", ActionStartTroubleshooting())
    validated = await run_action(
        ValidateTroubleshootingForm(), conversation.form_tracker(TROUBLESHOOTING, error_code=code)
    )
    activation = [
        {"event": "active_loop", "name": TROUBLESHOOTING},
        *validated.events,
        slot_event("requested_slot", "step_answer"),
    ]
    conversation.ran(TROUBLESHOOTING, activation, validated.messages)
    while True:
        await play(conversation, "action_ask_step_answer", ActionAskStepAnswer())
        conversation.press("/deny")
        result = await run_action(
            ValidateTroubleshootingForm(),
            conversation.form_tracker(TROUBLESHOOTING, step_answer="no"),
        )
        conversation.record(TROUBLESHOOTING, result)
        if slot_changes(result.events).get("troubleshooting_outcome") == "cycle_limit":
            break
    # The form is complete; the rule runs action_handoff straight away.
    return conversation.ran(
        TROUBLESHOOTING,
        [{"event": "active_loop", "name": None}, slot_event("requested_slot", None)],
    )


async def nlu_fallback_accepted() -> Conversation:
    conversation = Conversation().user("hi", "greet").bot("Hi! What can I do for you?")
    for text in ("flurble wibble", "zxcv qwer"):
        conversation.user(text, "nlu_fallback", confidence=0.3)
        await play(conversation, "action_nlu_fallback", ActionNluFallback())
    return conversation.ran("utter_offer_human").bot(OFFER).press("/affirm")


async def action_error_accepted() -> Conversation:
    # The designers shortened the E-5003 tree mid-walk: asking step 4 fails.
    message = "my hub shows E-5003"
    conversation = (
        Conversation()
        .user(message, "report_error_code", entities=[entity("error_code", "E-5003", message)])
        .slots(
            error_code="E-5003",
            troubleshooting_tree="E-5003",
            troubleshooting_step=4,
            troubleshooting_cycle=1,
        )
        .form(TROUBLESHOOTING, "step_answer")
    )
    failed = await play(conversation, "action_ask_step_answer", ActionAskStepAnswer())
    assert slot_changes(failed.events)["handoff_reason"] == "action_error"
    return conversation.press("/affirm")


async def needs_advice_in_mortgage_words() -> Conversation:
    return Conversation().user(
        "should I take a 5 year fix on my mortgage or go variable?", "ask_mortgage_advice"
    )


#: A message misread as mortgage advice: no mortgage words, no mortgage journey.
MISREAD_AS_ADVICE = "how soon can I expect the product"


async def needs_advice_confirmed() -> Conversation:
    conversation = Conversation().user(MISREAD_AS_ADVICE, "ask_mortgage_advice")
    await play(conversation, "action_handoff", ActionHandoff())
    return conversation.press("/affirm")


async def out_of_scope_request_accepted() -> Conversation:
    conversation = Conversation().user("can I get my money back for the kettle", "ask_refund")
    await play(conversation, "action_offer_customer_service", ActionOfferCustomerService())
    return conversation.press("/affirm")


Scenario = Callable[[], Awaitable[Conversation]]

TRIGGERS = [
    pytest.param(
        customer_request_without_journey,
        ("customer_request", "user_request", "general_support", "none"),
        id="customer_request",
    ),
    pytest.param(
        customer_request_during_order_lookup,
        ("customer_request", "user_request", "order_support", "order_status"),
        id="customer_request_in_order_lookup",
    ),
    pytest.param(
        needs_advice_during_intake,
        ("needs_advice", "needs_advice", "mortgage_advisors", "mortgage"),
        id="needs_advice",
    ),
    pytest.param(
        needs_advice_in_mortgage_words,
        ("needs_advice", "needs_advice", "mortgage_advisors", "mortgage"),
        id="needs_advice_outside_the_intake",
    ),
    pytest.param(
        needs_advice_confirmed,
        ("needs_advice", "needs_advice", "mortgage_advisors", "mortgage"),
        id="needs_advice_confirmed_by_the_customer",
    ),
    pytest.param(
        out_of_scope_request_accepted,
        ("out_of_scope_request", "user_request", "general_support", "none"),
        id="out_of_scope_request",
    ),
    pytest.param(
        order_delayed,
        ("order_delayed", "business_rule", "order_support", "order_status"),
        id="order_delayed",
    ),
    pytest.param(
        order_lost,
        ("order_lost", "business_rule", "order_support", "order_status"),
        id="order_lost",
    ),
    pytest.param(
        walked_to_the_cycle_limit,
        ("cycle_limit", "cycle_limit", "tech_support_l2", "troubleshooting"),
        id="cycle_limit",
    ),
    pytest.param(
        nlu_fallback_accepted,
        ("nlu_fallback", "nlu_fallback", "general_support", "none"),
        id="nlu_fallback",
    ),
    pytest.param(
        order_not_found_accepted,
        ("order_not_found", "user_request", "order_support", "order_status"),
        id="order_not_found",
    ),
    pytest.param(
        action_error_accepted,
        ("action_error", "business_rule", "tech_support_l2", "troubleshooting"),
        id="action_error",
    ),
]


async def hand_off(
    conversation: Conversation, endpoint: RecordingEndpoint
) -> tuple[ActionResult, dict[str, Any]]:
    """Run action_handoff at the end of the conversation; its result and the delivered context."""
    result = await run_action(ActionHandoff(), conversation.tracker())

    [payload] = (await endpoint.wait_for_handoffs(1)).values()
    return result, payload


# --- Every trigger ---------------------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "expected"), TRIGGERS)
async def test_every_trigger_reaches_the_right_queue(
    scenario: Scenario,
    expected: tuple[str, str, str, str],
    endpoint: RecordingEndpoint,
    app_database: Database,
) -> None:
    reason, trigger_type, queue, flow = expected

    (events, messages), payload = await hand_off(await scenario(), endpoint)

    assert validate_payload(payload) == []
    assert payload["trigger"]["reason_code"] == reason
    assert payload["trigger"]["type"] == trigger_type
    assert payload["routing"]["queue"] == queue
    assert payload["flow"] == flow
    assert payload["conversation"] == {"sender_id": SENDER_ID, "channel": CHANNEL, "language": "en"}
    assert payload["transcript"], "the agent needs the conversation"
    assert plain(events) == handed_off_events(payload["handoff_id"])
    assert texts(messages) == [delivered_message(queue)]
    [row] = outbox_rows(app_database)
    assert (row.handoff_id, row.status, row.sender_id) == (
        payload["handoff_id"],
        "delivered",
        SENDER_ID,
    )
    [request] = endpoint.requests
    assert request.status == 201
    assert request.headers["Idempotency-Key"] == payload["handoff_id"]


async def test_advice_asked_without_mortgage_context_is_confirmed_before_any_handoff(
    endpoint: RecordingEndpoint, app_database: Database
) -> None:
    conversation = Conversation().user(MISREAD_AS_ADVICE, "ask_mortgage_advice")

    events, messages = await run_action(ActionHandoff(), conversation.tracker())

    assert endpoint.requests == [] and outbox_rows(app_database) == []
    assert [message["text"] for message in messages] == [MORTGAGE_JOURNEY.confirm_question]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert slot_changes(events)["human_offered"] is True
    assert slot_changes(events)["handoff_reason"] == "needs_advice"
    assert {"event": "pause"} not in plain(events)


@pytest.mark.parametrize(
    "earlier",
    [
        pytest.param(lambda c: c.form("mortgage_form", "term_years"), id="intake_active"),
        pytest.param(
            lambda c: c.ran("action_submit_mortgage_application"), id="application_made_earlier"
        ),
    ],
)
async def test_advice_without_mortgage_words_goes_straight_through_in_the_mortgage_journey(
    earlier: Callable[[Conversation], Conversation], endpoint: RecordingEndpoint
) -> None:
    conversation = earlier(Conversation().user("I want to apply for a mortgage", "start_mortgage"))
    conversation.user("can I afford this?", "ask_mortgage_advice")

    _, payload = await hand_off(conversation, endpoint)

    assert payload["routing"]["queue"] == "mortgage_advisors"


async def test_an_out_of_scope_request_names_its_topic_for_the_agent(
    endpoint: RecordingEndpoint,
) -> None:
    _, payload = await hand_off(await out_of_scope_request_accepted(), endpoint)

    assert payload["trigger"]["detail"] == (
        "The customer asked about a refund, which the bot does not handle; they accepted a person."
    )
    assert payload["slots"]["support_topic"] == "refund"


async def test_a_second_trigger_opens_nothing_new(
    endpoint: RecordingEndpoint, app_database: Database
) -> None:
    conversation = await customer_request_without_journey()
    first = await run_action(ActionHandoff(), conversation.tracker())
    conversation.record("action_handoff", first)
    conversation.user("hello?? is anyone there? I want a human", "request_human")

    events, messages = await run_action(ActionHandoff(), conversation.tracker())

    assert texts(messages) == [
        "You're already in the queue for a person, with everything we've discussed. They'll "
        "be with you as soon as they can."
    ]
    assert plain(events) == [
        slot_event("handoff_reason", None),
        slot_event("human_offered", None),
        {"event": "active_loop", "name": None},
        slot_event("requested_slot", None),
        {"event": "pause"},
    ]
    assert len(endpoint.requests) == 1
    assert len(outbox_rows(app_database)) == 1


async def test_the_desks_open_handoff_stands_when_the_bot_missed_it(
    endpoint: RecordingEndpoint, app_database: Database
) -> None:
    """The action server died after delivering; the customer asks again, in a new turn."""
    open_id = "6f1c2b1e-0d5e-4a53-9a0e-1b2c3d4e5f60"
    endpoint.hold_open(SENDER_ID, open_id)
    conversation = await customer_request_without_journey()

    events, messages = await run_action(ActionHandoff(), conversation.tracker())

    assert texts(messages) == [ALREADY_QUEUED]
    assert slot_changes(events)["handoff_id"] == open_id
    assert plain(events)[-1] == {"event": "pause"}
    assert endpoint.handoffs == {}, "nothing new was queued"


async def test_the_handoff_id_is_the_turns_own(endpoint: RecordingEndpoint) -> None:
    """The same turn always makes the same id (the idempotency key); another turn another."""
    conversation = await customer_request_without_journey()
    tracker = conversation.tracker()
    same = turn_handoff_id(tracker.sender_id, tracker.events)
    conversation.user("a person please", "request_human")
    later = conversation.tracker()

    assert turn_handoff_id(tracker.sender_id, tracker.events) == same
    assert turn_handoff_id(later.sender_id, later.events) != same
    assert turn_handoff_id("someone-else", tracker.events) != same
    (_, _), payload = await hand_off(conversation, endpoint)
    assert payload["handoff_id"] == str(turn_handoff_id(later.sender_id, later.events))


# --- The desk is down, or refuses ------------------------------------------------------------


async def test_when_the_desk_is_down_the_handoff_waits_in_the_outbox(
    endpoint: RecordingEndpoint,
    app_database: Database,
    clock: FakeClock,
) -> None:
    await endpoint.down()
    conversation = await order_delayed()

    events, messages = await run_action(ActionHandoff(), conversation.tracker())

    assert texts(messages) == [queued_message("order_support")]
    handoff_id = slot_changes(events)["handoff_id"]
    assert plain(events) == handed_off_events(handoff_id)
    [row] = outbox_rows(app_database)
    assert (row.handoff_id, row.status, row.attempts) == (handoff_id, "pending", 2)
    assert row.last_error
    stored = json.loads(row.payload)
    assert validate_payload(stored) == []
    assert stored["trigger"]["reason_code"] == "order_delayed"

    # Once the desk is back, the outbox relay delivers exactly what was stored.
    await endpoint.up()
    client = HandoffClient(
        url=endpoint.url, secret=SECRET, timeout_seconds=2, attempts=1, backoff_seconds=0
    )
    clock.advance(3600)
    relay = OutboxRelay(
        app_database,
        client,
        OutboxPolicy.for_client(client, retry_backoff_seconds=1),
        interval_seconds=1,
        clock=clock,
    )
    try:
        report = await relay.run_once()
    finally:
        await client.close()
    assert report.delivered == 1
    assert (await endpoint.wait_for_handoffs(1)) == {handoff_id: stored}


async def test_when_the_desk_refuses_the_customer_is_told_and_stays_with_the_bot(
    endpoint: RecordingEndpoint, app_database: Database
) -> None:
    endpoint.fail_next(422)
    conversation = await customer_request_without_journey()

    events, messages = await run_action(ActionHandoff(), conversation.tracker())

    assert texts(messages) == [
        "I'm sorry, I couldn't pass your conversation to a person because of a problem on our "
        "side. It has been logged for our team. You can keep chatting with me, or try asking "
        "for a person again in a little while."
    ]
    assert plain(events) == [
        slot_event("handoff_reason", None),
        slot_event("human_offered", None),
        {"event": "active_loop", "name": None},
        slot_event("requested_slot", None),
    ]
    [row] = outbox_rows(app_database)
    assert row.status == "rejected"


# --- Evidence and attempts -------------------------------------------------------------------


async def test_the_order_record_and_lookups_go_with_the_handoff(
    endpoint: RecordingEndpoint,
) -> None:
    conversation = await order_looked_up("ORD-12", "ORD-100005")
    record = conversation.tracker().get_slot("order_record")

    _, payload = await hand_off(conversation, endpoint)

    order = payload["evidence"]["order"]
    for field in ("order_number", "status", "carrier", "tracking_number", "estimated_delivery"):
        assert order[field] == record[field]
    assert order["items"] == record["items"]
    assert [event["description"] for event in order["tracking_events"]] == [
        event["description"] for event in record["tracking_events"]
    ]
    # Whoever typed the number is not known to own the order: no name or e-mail.
    assert (order["customer_name"], order["customer_email"]) == (None, None)
    assert [(a["kind"], a["label"], a["outcome"]) for a in payload["attempts"]] == [
        ("order_lookup", "ORD-12", "malformed"),
        ("order_lookup", "ORD-100005", "found"),
    ]
    assert payload["evidence"]["mortgage_application"] is None
    assert payload["evidence"]["troubleshooting"] is None


async def test_the_order_goes_labelled_for_the_agents_screen(endpoint: RecordingEndpoint) -> None:
    _, payload = await hand_off(await order_delayed(), endpoint)

    order = payload["evidence"]["order"]
    [section] = payload["evidence_view"]
    assert (section["key"], section["title"]) == ("order", "Order ORD-100005")
    assert [(field["label"], field["value"]) for field in section["fields"]] == [
        ("Order", "ORD-100005"),
        ("Status", "delayed"),
        ("Customer", None),
        ("E-mail", None),
        ("Carrier", order["carrier"]),
        ("Tracking no.", order["tracking_number"]),
        ("Estimated delivery", order["estimated_delivery"]),
        ("Placed", order["placed_at"]),
        ("Looked up by the bot", order["looked_up_at"]),
    ]
    items, tracking = section["tables"]
    assert items["rows"] == [[i["sku"], i["name"], i["quantity"]] for i in order["items"]]
    assert (tracking["caption"], tracking["columns"]) == (
        "Tracking",
        ["When", "Where", "What", "Status"],
    )
    assert tracking["rows"] == [
        [scan["occurred_at"], scan["location"], scan["description"], scan["status"]]
        for scan in order["tracking_events"]
    ]
    # Whoever typed the number is not known to own the order: no name, so nothing personal
    # in the fields; the scans' locations are.
    assert payload["customer_name"] is None
    assert [p for p in payload["pii"] if p.startswith("/evidence_view")] == [
        "/evidence_view/0/tables/1/rows/*/1"
    ]


async def test_the_draft_names_the_customer(endpoint: RecordingEndpoint) -> None:
    _, payload = await hand_off(await needs_advice_during_intake(), endpoint)

    [section] = payload["evidence_view"]
    assert (section["key"], section["title"]) == ("mortgage", "Mortgage application (draft)")
    assert payload["customer_name"] == "Jane Smith"
    assert payload["summary"].startswith("Jane Smith was applying for a mortgage.")
    assert {"/customer_name", "/evidence_view/0/fields/2/value"} <= set(payload["pii"])


async def test_a_stored_application_goes_by_its_reference(endpoint: RecordingEndpoint) -> None:
    conversation = Conversation().slots(
        applicant_name="Jane Smith",
        email="jane.smith@example.com",
        property_value=350_000.0,
        deposit_amount=70_000.0,
        loan_amount=280_000.0,
        loan_to_value=0.8,
        term_years=25.0,
        annual_income=72_000.0,
        employment_type="employed",
    )
    submitted = await play(
        conversation, "action_submit_mortgage_application", ActionSubmitMortgageApplication()
    )
    reference = slot_changes(submitted.events)["application_reference"]
    conversation.user("which mortgage would suit me best?", "ask_mortgage_advice")

    _, payload = await hand_off(conversation, endpoint)

    stored = endpoint.application(reference)
    assert stored is not None
    application = payload["evidence"]["mortgage_application"]
    assert application["reference"] == reference
    assert application["status"] == application["stage"] == "intake"
    assert application["loan_amount"] == 280_000
    assert application["term_years"] == 25
    assert datetime.fromisoformat(application["created_at"]) == stored.created_at
    assert payload["trigger"]["reason_code"] == "needs_advice"


async def test_an_unfinished_intake_goes_as_a_draft(endpoint: RecordingEndpoint) -> None:
    _, payload = await hand_off(await needs_advice_during_intake(), endpoint)

    application = payload["evidence"]["mortgage_application"]
    assert application == {
        "reference": None,
        "status": "draft",
        "applicant_name": "Jane Smith",
        "email": "jane.smith@example.com",
        "property_value": 350_000.0,
        "deposit_amount": 70_000.0,
        "loan_amount": 280_000.0,
        "loan_to_value": 0.8,
        "term_years": None,
        "annual_income": None,
        "employment_type": None,
        "currency": "GBP",
        "created_at": None,
        "stage": None,
        "documents": None,
        "appointment": None,
    }


async def test_the_troubleshooting_walk_goes_with_the_handoff(
    endpoint: RecordingEndpoint,
) -> None:
    _, payload = await hand_off(await walked_to_the_cycle_limit(), endpoint)

    assert payload["evidence"]["troubleshooting"] == {
        "error_code": "E-1042",
        "tree": "E-1042",
        "tree_title": "No internet connection",
        "known_code": True,
        "cycles_completed": 3,
        "cycle_limit": 3,
    }
    attempts = payload["attempts"]
    assert [(a["cycle"], a["step"]) for a in attempts] == [
        (cycle, step) for cycle in (1, 2, 3) for step in (1, 2, 3, 4)
    ]
    assert {(a["kind"], a["answer"], a["outcome"]) for a in attempts} == {
        ("troubleshooting_step", "no", "unresolved")
    }


async def test_an_unknown_code_mid_walk_is_reported_as_the_general_tree(
    endpoint: RecordingEndpoint,
) -> None:
    conversation = (
        Conversation()
        .slots(
            error_code="E-9999",
            troubleshooting_tree="general",
            troubleshooting_step=2,
            troubleshooting_cycle=2,
        )
        .form(TROUBLESHOOTING, "step_answer")
        .user("this isn't working, get me a person", "request_human")
    )

    _, payload = await hand_off(conversation, endpoint)

    assert payload["evidence"]["troubleshooting"] == {
        "error_code": "E-9999",
        "tree": "general",
        "tree_title": "General connection and device problems",
        "known_code": False,
        "cycles_completed": 1,
        "cycle_limit": 3,
    }
    assert payload["routing"]["queue"] == "tech_support_l2"


def attempt(kind: str, label: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "label": label,
        "description": f"{kind} {label}",
        "cycle": fields.get("cycle"),
        "step": fields.get("step"),
        "answer": "no",
        "outcome": fields.get("outcome", "unresolved"),
        "asked_at": at.isoformat(),
        "answered_at": (at + timedelta(seconds=20)).isoformat(),
    }


async def test_attempts_are_sorted_by_when_they_were_made(endpoint: RecordingEndpoint) -> None:
    start = datetime(2025, 11, 24, 9, 0, tzinfo=timezone.utc)
    lookups = [
        attempt("order_lookup", "ORD-999999", start + timedelta(minutes=2), outcome="not_found"),
        attempt("order_lookup", "ORD-100002", start + timedelta(minutes=9), outcome="found"),
    ]
    steps = [
        attempt(
            "troubleshooting_step", "restart_hub", start + timedelta(minutes=5), cycle=1, step=1
        ),
        attempt("troubleshooting_step", "check_cables", start, cycle=1, step=2),
    ]
    conversation = (
        Conversation()
        .slots(order_lookups=lookups, troubleshooting_attempts=steps)
        .user("agent", "request_human")
    )

    _, payload = await hand_off(conversation, endpoint)

    assert [a["label"] for a in payload["attempts"]] == [
        "check_cables",
        "ORD-999999",
        "restart_hub",
        "ORD-100002",
    ]
