"""The Rasa events of a conversation the desk needs, and how they reach it.

Two paths carry them, and both use the one definition here of which events the desk needs and
what it gets of them (`desk_event`):

- embedded (default): the Rasa server's event broker (`assistant.desk_events.DeskEventBroker`)
  forwards them as `POST {desk}/api/conversation-events` (body `ConversationEvent`), and the
  web chat channel relays the customer's typing the same way; both with
  `Authorization: Bearer $HANDOFF_SECRET`;
- scaled: Rasa's own RabbitMQ broker (`type: pika`) publishes *every* tracker event, as Rasa
  serialises it plus `sender_id`, to a fanout exchange (`DEFAULT_EXCHANGE`); the desk consumes
  the durable queue `DEFAULT_QUEUE` bound to it (`desk.event_queue`) and reads each message
  with `read_published_event`, which applies the same filter.

Only `event.event` is checked: the rest is Rasa's, and the desk reads it leniently, so what a
customer said is never lost to a detail around it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from pydantic import BaseModel, Extra, Field, StrictStr, validator

EVENTS_PATH: Final = "/api/conversation-events"
#: The event the web chat channel sends when the customer types (not a Rasa event).
TYPING_EVENT: Final = "user_typing"
#: The exchange Rasa's pika broker publishes to (its default, `rasa.core.brokers.pika`): fanout,
#: not durable. Whoever declares it must declare it exactly so, or RabbitMQ refuses.
DEFAULT_EXCHANGE: Final = "rasa-exchange"
#: The durable queue the desk consumes. Rasa's `queues:` names it, so the publisher itself
#: declares and binds it before it publishes anything (see docs/desk-design.md).
DEFAULT_QUEUE: Final = "desk-conversation-events"
#: The tracker events the desk needs (everything else is dropped): what the customer says. The
#: desk relays it to the agent and acts on a waiting customer's choice; everything else it
#: would need it reads from Rasa's tracker. The HTTP broker sends only these (one POST per
#: turn, and the bot's words, which may repeat personal data, stay out of the desk's traffic);
#: Rasa's pika broker publishes every event and the desk drops the others as it reads them.
FORWARDED_EVENTS: Final = frozenset({"user"})
#: The longest conversation id the desk stores (`handoffs.sender_id`).
SENDER_ID_MAX_CHARS: Final = 255


class MalformedEvent(ValueError):
    """A message on the event queue that is not a Rasa event of a conversation."""


class ConversationEvent(BaseModel):
    """The body: whose conversation, and the event as Rasa serialises it."""

    sender_id: StrictStr = Field(..., min_length=1, max_length=SENDER_ID_MAX_CHARS)
    event: dict[str, Any]

    class Config:
        extra = Extra.forbid

    @validator("event", pre=True)
    def _an_object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value

    @validator("event")
    def _has_a_type(cls, event: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(event.get("event"), str) or not event["event"]:
            raise ValueError('must be a Rasa event with a string "event" field')
        return event


def conversation_event(sender_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for one event."""
    return {"sender_id": sender_id, "event": event}


def desk_event(event: dict[str, Any]) -> dict[str, Any] | None:
    """The part of a Rasa event the desk needs, or None when the desk does not need the event.

    `event` is what Rasa publishes: the event's dict plus `sender_id` (which is not kept).
    `user` events keep the text, timestamp, message id, input channel and the intent's name and
    confidence (no entities, ranking or channel metadata).
    """
    kind = event.get("event")
    if kind not in FORWARDED_EVENTS:
        return None
    parse_data = event.get("parse_data")
    intent = parse_data.get("intent") if isinstance(parse_data, dict) else None
    intent = intent if isinstance(intent, dict) else {}
    return {
        "event": "user",
        "timestamp": event.get("timestamp"),
        "text": event.get("text"),
        "message_id": event.get("message_id"),
        "input_channel": event.get("input_channel"),
        "parse_data": {
            "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")}
        },
    }


def read_published_event(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """Read one message of Rasa's pika broker: `(sender_id, desk_event)`, or None when the desk
    does not need the event (most of them: the bot's turns, slots, actions).

    The body is the event as Rasa serialises it plus `sender_id`, JSON in UTF-8. The checks are
    those of `ConversationEvent`, the HTTP path's body, so both paths accept the same events.

    Raises:
        MalformedEvent: the body is not JSON, not an object, or lacks a `sender_id` or an
            `event` type; the reason never quotes the body (it may hold what a customer said).
    """
    try:
        published = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedEvent(f"not JSON in UTF-8 ({type(error).__name__})") from None
    if not isinstance(published, dict):
        raise MalformedEvent(f"a JSON {type(published).__name__}, not an object")
    sender_id = published.get("sender_id")
    if not isinstance(sender_id, str) or not 1 <= len(sender_id) <= SENDER_ID_MAX_CHARS:
        raise MalformedEvent(f"no sender_id of 1 to {SENDER_ID_MAX_CHARS} characters")
    kind = published.get("event")
    if not isinstance(kind, str) or not kind:
        raise MalformedEvent('no string "event" field')
    forwarded = desk_event(published)
    return None if forwarded is None else (sender_id, forwarded)


def mask_sender(sender_id: str) -> str:
    """A stable, short stand-in for a conversation id in logs (the id itself may be personal).

    The same on both sides of the wire, so one conversation is found in the Rasa server's log
    and the desk's. Any str works, a lone surrogate too (`surrogatepass`), so logging a failure
    never fails.
    """
    digest = hashlib.sha256(sender_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"sender#{digest}"
