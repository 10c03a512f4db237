"""Read-only questions about the conversation so far, answered from the tracker."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker


def latest_user_text(tracker: Tracker) -> str:
    """The text of the customer's latest message ("" when there is none)."""
    return str(tracker.latest_message.get("text") or "")


def latest_intent(tracker: Tracker) -> str | None:
    """The name of the intent of the customer's latest message."""
    intent = tracker.latest_message.get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


def user_intents(tracker: Tracker) -> list[str | None]:
    """The intent of every customer message in order, oldest first."""
    return [
        (event.get("parse_data") or {}).get("intent", {}).get("name")
        for event in tracker.events
        if event.get("event") == "user"
    ]


def last_executed_action(tracker: Tracker) -> str | None:
    """The name of the action that ran last (before the one running now)."""
    for event in reversed(tracker.events):
        if event.get("event") == "action":
            return str(event.get("name"))
    return None


def event_time(event: dict[str, Any]) -> datetime:
    """The event's timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=timezone.utc)


def latest_event_time(tracker: Tracker, event_type: str) -> datetime | None:
    """When the latest event of a type ("user", "bot") happened."""
    for event in reversed(tracker.events):
        if event.get("event") == event_type:
            return event_time(event)
    return None
