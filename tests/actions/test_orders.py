"""Journey 1, order status: the form's validation and the status report, on the demo orders."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from actions.orders import ActionOrderStatus, ValidateOrderForm, describe_order_status
from actions.store.database import Database
from actions.store.orders import find_order
from actions.store.seed import DEMO_ORDERS
from contract.handoff_context import Attempt
from tests.actions.conftest import (
    ActionResult,
    Conversation,
    entity,
    plain,
    run_action,
    slot_changes,
    slot_event,
    texts,
)

pytestmark = pytest.mark.usefixtures("app_database")

UNKNOWN = "ORD-999999"
FORMAT_HINT = "Ours are ORD- followed by 6 digits"


def asked_for_number() -> Conversation:
    """The customer asked about an order; the form is asking for the number."""
    return (
        Conversation()
        .user("where is my order?", "check_order_status")
        .form("order_form", "order_number")
        .bot("What's your order number? It looks like ORD-123456.")
    )


async def answer(conversation: Conversation, text: str, number: str | None = None) -> ActionResult:
    """The customer answers the form; the candidate is what Rasa's mappings extracted."""
    entities = [entity("order_number", number, text)] if number else []
    conversation.user(text, "inform", entities=entities)
    tracker = conversation.form_tracker("order_form", order_number=number or text)
    result = await run_action(ValidateOrderForm(), tracker)
    conversation.record("order_form", result)
    return result


def evidence_of(database: Database, number: str) -> dict[str, Any]:
    """The order as the store gives it, without the lookup time."""
    with database.session() as session:
        snapshot = find_order(session, number)
    assert snapshot is not None
    evidence = snapshot.to_evidence()
    del evidence["looked_up_at"]
    return evidence


def without_lookup_time(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "looked_up_at"}


def assert_valid_attempts(lookups: list[dict[str, Any]]) -> None:
    """Every recorded lookup must be a valid contract `Attempt` (the handoff parses them)."""
    for lookup in lookups:
        Attempt.parse_obj(lookup)


# --- ValidateOrderForm: extraction ----------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "hi, where is my order ord 100002?",
        "order #100002 hasn't arrived",
        "my order number is ORD100002",
        "100002",
    ],
)
async def test_the_number_is_found_in_free_text_when_the_form_starts(
    message: str, app_database: Database
) -> None:
    # No entity was extracted: the form starts with no candidates at all.
    conversation = Conversation().user(message, "check_order_status")

    events, messages = await run_action(
        ValidateOrderForm(), conversation.form_tracker("order_form")
    )

    assert messages == []
    assert [event["name"] for event in events] == [
        "order_number",
        "order_record",
        "order_lookup_failures",
        "order_lookups",
    ]
    slots = slot_changes(events)
    assert slots["order_number"] == "ORD-100002"
    assert without_lookup_time(slots["order_record"]) == evidence_of(app_database, "ORD-100002")
    assert slots["order_lookup_failures"] == 0
    [lookup] = slots["order_lookups"]
    # What was validated is the number read from the message.
    assert (lookup["label"], lookup["outcome"], lookup["answer"]) == (
        "ORD-100002",
        "found",
        "ORD-100002",
    )


async def test_a_message_without_a_number_changes_nothing() -> None:
    conversation = Conversation().user("where is my order?", "check_order_status")

    result = await run_action(ValidateOrderForm(), conversation.form_tracker("order_form"))

    assert result == ActionResult([], [])


async def test_a_number_already_extracted_is_not_replaced_by_the_text() -> None:
    # The entity extractor found ORD-100003; the text also holds something number-like.
    text = "it's ORD-100003, not the one from 2023"
    conversation = asked_for_number().user(
        text, "inform", entities=[entity("order_number", "ORD-100003", text)]
    )

    events, _ = await run_action(
        ValidateOrderForm(), conversation.form_tracker("order_form", order_number="ORD-100003")
    )

    assert slot_changes(events)["order_number"] == "ORD-100003"


# --- ValidateOrderForm: validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("ORD-12", "ORD-12"),
        ("order 12345", "order 12345"),
        ("#1234567", "#1234567"),
        ("locate order 00123842", "order 00123842"),
    ],
)
async def test_a_malformed_number_is_explained_with_where_to_find_ours(
    text: str, shown: str
) -> None:
    conversation = asked_for_number()

    events, messages = await answer(conversation, text)

    assert texts(messages) == [
        f'"{shown}" doesn\'t look like one of our order numbers. {FORMAT_HINT}, for example '
        "ORD-123456: you'll find it in your order confirmation email and under your orders on "
        "our website."
    ]
    assert [event["name"] for event in events] == ["order_number", "order_lookups"]
    slots = slot_changes(events)
    assert slots["order_number"] is None
    [lookup] = slots["order_lookups"]
    assert lookup["kind"] == "order_lookup"
    assert lookup["outcome"] == "malformed"
    assert lookup["label"] == shown
    assert lookup["answer"] == text
    assert lookup["description"] == "Checked the order number"
    assert_valid_attempts(slots["order_lookups"])


async def test_a_blank_answer_is_recorded_as_a_valid_attempt() -> None:
    conversation = asked_for_number()

    events, messages = await answer(conversation, "   ")

    assert FORMAT_HINT in texts(messages)[0]
    lookups = slot_changes(events)["order_lookups"]
    assert lookups[0]["outcome"] == "malformed"
    assert_valid_attempts(lookups)


async def test_a_known_number_sets_the_record_and_resets_the_failures(
    app_database: Database,
) -> None:
    conversation = asked_for_number()
    await answer(conversation, UNKNOWN, UNKNOWN)  # one failure first

    events, messages = await answer(conversation, "ORD-100005", "ORD-100005")

    assert messages == []
    slots = slot_changes(events)
    assert slots["order_number"] == "ORD-100005"
    assert without_lookup_time(slots["order_record"]) == evidence_of(app_database, "ORD-100005")
    assert slots["order_record"]["status"] == "delayed"
    assert slots["order_lookup_failures"] == 0
    assert [(lookup["label"], lookup["outcome"]) for lookup in slots["order_lookups"]] == [
        (UNKNOWN, "not_found"),
        ("ORD-100005", "found"),
    ]
    assert_valid_attempts(slots["order_lookups"])
    assert "requested_slot" not in slots  # the form decides what comes next


async def test_an_unknown_number_is_reported_once_and_counted() -> None:
    conversation = asked_for_number()

    events, messages = await answer(conversation, "it is 999999")

    assert texts(messages) == [
        f"I couldn't find an order {UNKNOWN}. Could you check the number in your "
        "confirmation email?"
    ]
    slots = slot_changes(events)
    assert slots["order_number"] is None
    assert slots["order_lookup_failures"] == 1
    [lookup] = slots["order_lookups"]
    assert (lookup["label"], lookup["outcome"], lookup["answer"]) == (
        UNKNOWN,
        "not_found",
        "it is 999999",
    )
    # An order found earlier is not the one asked about now: no stale evidence.
    assert slots["order_record"] is None
    assert "requested_slot" not in slots


async def test_a_second_unknown_number_stops_the_form_silently() -> None:
    conversation = asked_for_number()
    await answer(conversation, UNKNOWN, UNKNOWN)

    events, messages = await answer(conversation, "ORD-888888", "ORD-888888")

    assert messages == []  # action_order_status apologises and offers a human instead
    slots = slot_changes(events)
    assert slots["order_number"] is None
    assert slots["order_lookup_failures"] == 2
    assert slots["requested_slot"] is None
    assert [(lookup["label"], lookup["outcome"]) for lookup in slots["order_lookups"]] == [
        (UNKNOWN, "not_found"),
        ("ORD-888888", "not_found"),
    ]
    assert_valid_attempts(slots["order_lookups"])


# --- ActionOrderStatus ---------------------------------------------------------------------------


async def lookup_done(number: str) -> Conversation:
    """The form found the order and completed."""
    conversation = asked_for_number()
    await answer(conversation, number, number)
    return conversation.ran(
        "order_form", [{"event": "active_loop", "name": None}, slot_event("requested_slot", None)]
    )


def long_date(value: str | None) -> str:
    assert value is not None
    return date.fromisoformat(value[:10]).strftime("%A %d %B %Y")


REPORTED = ["processing", "shipped", "out_for_delivery", "delivered"]


@pytest.mark.parametrize(("number", "status"), [(n, s.value) for n, s in DEMO_ORDERS.items()])
async def test_every_status_is_reported_with_number_and_carrier(
    number: str, status: str, app_database: Database
) -> None:
    conversation = await lookup_done(number)
    record = evidence_of(app_database, number)

    events, messages = await run_action(ActionOrderStatus(), conversation.tracker())

    text, *rest = texts(messages)
    assert number in text
    assert (record["carrier"] or "the carrier") in text
    if status in {"processing", "shipped", "delayed"}:
        assert long_date(record["estimated_delivery"]) in text
    if status in {"shipped", "delivered", "delayed", "lost"}:
        latest = record["tracking_events"][-1]
        assert latest["description"] in text
        assert long_date(latest["occurred_at"]) in text
    expected = [
        slot_event("order_number", None),
        slot_event("order_lookup_failures", 0),
        slot_event("human_offered", None),
    ]
    if status in REPORTED:
        # Resolved by the bot alone: the same action asks for the bot-only rating and starts its
        # form (actions/bot_csat.py), with no further call to the action server.
        expected += [
            slot_event("order_outcome", "reported"),
            {"event": "active_loop", "name": "bot_csat_form"},
            slot_event("requested_slot", "bot_csat_rating"),
            {"event": "action", "name": "bot_csat_form", "policy": None, "confidence": None},
        ]
        assert [line.split(":")[0] for line in rest] == ["Before you go"]
    else:
        expected += [
            slot_event("order_outcome", "escalate"),
            slot_event("handoff_reason", f"order_{status}"),
        ]
        assert rest == []
    assert plain(events) == expected


async def test_no_rating_is_asked_when_the_order_question_interrupted_a_mortgage_intake() -> None:
    conversation = await lookup_done("ORD-100002")
    conversation.slots(mortgage_interrupted=True)

    events, messages = await run_action(ActionOrderStatus(), conversation.tracker())

    assert len(messages) == 1  # the status only: the intake resumes next
    assert slot_event("order_outcome", "reported") in plain(events)
    assert all(event["event"] == "slot" for event in events)


async def test_delayed_and_lost_orders_apologise() -> None:
    delayed = await lookup_done("ORD-100005")
    lost = await lookup_done("ORD-100006")

    _, delayed_messages = await run_action(ActionOrderStatus(), delayed.tracker())
    _, lost_messages = await run_action(ActionOrderStatus(), lost.tracker())

    assert texts(delayed_messages)[0].startswith("I'm sorry, order ORD-100005 is delayed.")
    assert texts(lost_messages)[0].startswith(
        "I'm really sorry, order ORD-100006 appears to be lost: Royal Mail has had no scan since"
    )


async def test_after_two_failed_lookups_a_human_is_offered() -> None:
    conversation = asked_for_number()
    await answer(conversation, UNKNOWN, UNKNOWN)
    await answer(conversation, "ORD-888888", "ORD-888888")
    conversation.ran("order_form", [{"event": "active_loop", "name": None}])

    events, messages = await run_action(ActionOrderStatus(), conversation.tracker())

    assert texts(messages) == [
        "I'm sorry, I still can't find that order, so a person from our order support team "
        "may be able to help."
    ]
    assert plain(events) == [
        slot_event("order_number", None),
        slot_event("order_lookup_failures", 0),
        slot_event("order_outcome", "not_found"),
        slot_event("human_offered", True),
        slot_event("handoff_reason", "order_not_found"),
    ]


async def test_a_record_from_an_earlier_lookup_does_not_count_as_found() -> None:
    # ORD-100002 was reported earlier; now two other numbers were not found.
    conversation = await lookup_done("ORD-100002")
    conversation.record(
        "action_order_status", await run_action(ActionOrderStatus(), conversation.tracker())
    )
    conversation.user("and my other order?", "check_order_status").form(
        "order_form", "order_number"
    )
    await answer(conversation, UNKNOWN, UNKNOWN)
    await answer(conversation, "ORD-888888", "ORD-888888")

    events, _ = await run_action(ActionOrderStatus(), conversation.tracker())

    assert slot_changes(events)["order_outcome"] == "not_found"


# --- describe_order_status -----------------------------------------------------------------------


def record(status: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_number": "ORD-204117",
        "status": status,
        "carrier": "DHL",
        "estimated_delivery": "2025-03-12",
        "tracking_events": [
            {
                "occurred_at": "2025-03-07T14:05:00+00:00",
                "location": "Amsterdam, NL",
                "description": "Shipment picked up",
                "status": "shipped",
            },
            {
                "occurred_at": "2025-03-11T21:40:00+00:00",
                "location": "Leipzig hub, DE",
                "description": "Delayed at sorting facility",
                "status": status,
            },
        ],
    }
    base.update(fields)
    return base


LATEST = "Delayed at sorting facility (Leipzig hub, DE, Tuesday 11 March 2025)"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            "processing",
            "Order ORD-204117 is being prepared and hasn't shipped yet. It will go with DHL; "
            "estimated delivery: Wednesday 12 March 2025.",
        ),
        (
            "shipped",
            "Order ORD-204117 has shipped with DHL. Estimated delivery: Wednesday 12 March 2025. "
            f"Latest update: {LATEST}.",
        ),
        ("out_for_delivery", "Good news: order ORD-204117 is out for delivery with DHL today."),
        ("delivered", f"Order ORD-204117 was delivered by DHL. Latest update: {LATEST}."),
        (
            "delayed",
            "I'm sorry, order ORD-204117 is delayed. It was due Wednesday 12 March 2025 with "
            f"DHL. Latest update: {LATEST}.",
        ),
        (
            "lost",
            "I'm really sorry, order ORD-204117 appears to be lost: DHL has had no scan since "
            f"{LATEST}.",
        ),
        ("returned", "Order ORD-204117 has status returned."),
    ],
)
def test_describe_order_status(status: str, expected: str) -> None:
    assert describe_order_status(record(status)) == expected


def test_describe_order_status_before_the_carrier_and_date_are_known() -> None:
    text = describe_order_status(
        record("processing", carrier=None, estimated_delivery=None, tracking_events=[])
    )

    assert text == (
        "Order ORD-204117 is being prepared and hasn't shipped yet. It will go with the "
        "carrier; estimated delivery: not known yet."
    )
    assert describe_order_status(record("shipped", tracking_events=[])).endswith(
        "Latest update: no carrier updates yet."
    )


def test_describe_order_status_without_a_location() -> None:
    events = [
        {
            "occurred_at": "2025-03-11T21:40:00+00:00",
            "location": None,
            "description": "Delivered to a neighbour",
            "status": "delivered",
        }
    ]

    text = describe_order_status(record("delivered", tracking_events=events))

    assert text == (
        "Order ORD-204117 was delivered by DHL. Latest update: Delivered to a neighbour "
        "(Tuesday 11 March 2025)."
    )


def test_describe_order_status_uses_the_date_of_a_full_timestamp() -> None:
    when = datetime(2025, 3, 12, 23, 30, tzinfo=timezone.utc) + timedelta(days=1)

    text = describe_order_status(record("processing", estimated_delivery=when.isoformat()))

    assert "Thursday 13 March 2025" in text
