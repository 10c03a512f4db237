"""One Rasa event of a conversation, forwarded to the desk: `POST {desk}/api/conversation-events`.

The Rasa server's event broker (`assistant.desk_events`) sends the events an agent needs to follow
a conversation live, and the web chat channel relays the customer's typing; both with
`Authorization: Bearer $HANDOFF_SECRET`. Only `event.event` is checked: the rest is Rasa's, and
the desk reads it leniently, so what a customer said is never lost to a detail around it.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, Extra, Field, StrictStr, validator

EVENTS_PATH: Final = "/api/conversation-events"
#: The event the web chat channel sends when the customer types (not a Rasa event).
TYPING_EVENT: Final = "user_typing"


class ConversationEvent(BaseModel):
    """The body: whose conversation, and the event as Rasa serialises it."""

    sender_id: StrictStr = Field(..., min_length=1, max_length=255)
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
