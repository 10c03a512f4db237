"""Which Rasa events the desk needs, and what it gets of them: one definition, two paths.

The HTTP broker (`assistant.desk_events.DeskEventBroker`) and the desk's queue consumer
(`read_published_event` on what Rasa's pika broker publishes) must hand the desk the same thing
for the same Rasa event.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from assistant.desk_events import DeskEventBroker
from contract.conversation_events import (
    ConversationEvent,
    MalformedEvent,
    desk_event,
    read_published_event,
)

SENDER = "customer-7"

EVENTS: list[Event] = [
    UserUttered(
        "where is ORD-100005?",
        intent={"name": "order_status", "confidence": 0.91},
        entities=[{"entity": "order_id", "value": "ORD-100005"}],
        timestamp=1_764_672_000.25,
        input_channel="socketio",
        message_id="m-7",
        metadata={"page": "/chat"},
    ),
    UserUttered("hi", intent=None, timestamp=1_764_672_001.5),
    ActionExecuted("action_listen"),
    SlotSet("email", "ann@example.com"),
    BotUttered("Your order ORD-100005 is delayed, Ann."),
    ConversationPaused(),
    SessionStarted(),
]


def published(event: Event) -> dict[str, Any]:
    """What Rasa's tracker store hands every event broker: the sender id plus the event."""
    return {"sender_id": SENDER, **event.as_dict()}


def over_http(event: Event) -> tuple[str, dict[str, Any]] | None:
    """What the HTTP broker would POST for the event (its forwarder replaced by a recorder)."""
    broker = DeskEventBroker("http://desk.invalid", "secret")
    sent: list[tuple[str, dict[str, Any]]] = []
    broker.forwarder.submit = lambda sender_id, body: sent.append((sender_id, body))  # type: ignore[method-assign,assignment]
    broker.publish(published(event))
    assert len(sent) <= 1
    return sent[0] if sent else None


def over_the_queue(event: Event) -> tuple[str, dict[str, Any]] | None:
    """What the desk reads of the message Rasa's pika broker publishes (its JSON body)."""
    return read_published_event(json.dumps(published(event)).encode("utf-8"))


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{type(e).__name__}")
def test_both_paths_hand_the_desk_the_same_event(event: Event) -> None:
    assert over_http(event) == over_the_queue(event)


def test_a_customer_message_keeps_text_time_and_intent_only() -> None:
    forwarded = over_the_queue(EVENTS[0])

    assert forwarded == (
        SENDER,
        {
            "event": "user",
            "timestamp": 1_764_672_000.25,
            "text": "where is ORD-100005?",
            "message_id": "m-7",
            "input_channel": "socketio",
            "parse_data": {"intent": {"name": "order_status", "confidence": 0.91}},
        },
    )
    # ... and is what the HTTP route accepts.
    ConversationEvent(sender_id=forwarded[0], event=forwarded[1])


def test_only_customer_messages_are_needed() -> None:
    needed = [type(event).__name__ for event in EVENTS if desk_event(published(event))]
    assert needed == ["UserUttered", "UserUttered"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b"PRIVATE not json",
        b'["a", "list"]',
        b'"a string"',
        b'{"event": "user", "text": "PRIVATE"}',
        b'{"sender_id": "", "event": "user"}',
        b'{"sender_id": 7, "event": "user"}',
        b'{"sender_id": "s", "text": "PRIVATE"}',
        b'{"sender_id": "s", "event": ""}',
        json.dumps({"sender_id": "x" * 256, "event": "user"}).encode(),
    ],
)
def test_a_message_that_is_not_a_rasa_event_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedEvent) as raised:
        read_published_event(body)
    assert "PRIVATE" not in str(raised.value)  # the reason never quotes the body


def test_a_malformed_parse_is_read_as_no_intent() -> None:
    body = {"sender_id": "s", "event": "user", "text": "hi", "parse_data": {"intent": "greet"}}

    read = read_published_event(json.dumps(body).encode())

    assert read is not None
    assert read[1]["parse_data"] == {"intent": {"name": None, "confidence": None}}
