"""Turn Rasa tracker events (as rasa-sdk's `Tracker.events` gives them) into a transcript."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from contract.handoff_context import Speaker, Turn
from contract.webchat import AGENT_METADATA_KEY

Event = Mapping[str, Any]

EVENT_USER = "user"
EVENT_BOT = "bot"
EVENT_ACTION = "action"


def build_transcript(events: Iterable[Event]) -> list[Turn]:
    """The customer, bot and agent messages of a conversation, oldest first.

    A bot message is attributed to `metadata.utter_action` when Rasa recorded it (responses),
    otherwise to the latest action event before it: Rasa logs an action's `action` event before
    the bot events that action produced. Bot events whose metadata names a `handoff_agent` are
    an agent's messages. Every other event is skipped.
    """
    turns: list[Turn] = []
    last_action: str | None = None
    last_timestamp = 0.0
    for event in events:
        kind = event.get("event")
        last_timestamp = _timestamp(event, fallback=last_timestamp)
        if kind == EVENT_ACTION:
            last_action = event.get("name") or None
        elif kind == EVENT_USER:
            turns.append(_customer_turn(event, last_timestamp))
            # Bot messages after this point answer the new message, not an older action.
            last_action = None
        elif kind == EVENT_BOT:
            turns.append(_bot_or_agent_turn(event, last_timestamp, last_action))
    return turns


def customer_texts(events: Iterable[Event]) -> list[str]:
    """What the customer sent, oldest first (None becomes "")."""
    return [_text(event) for event in events if event.get("event") == EVENT_USER]


def _customer_turn(event: Event, timestamp: float) -> Turn:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    confidence = intent.get("confidence")
    return Turn(
        speaker=Speaker.CUSTOMER,
        text=_text(event),
        timestamp=_utc(timestamp),
        intent=intent.get("name") or None,
        confidence=None if confidence is None else _clamp_unit(float(confidence)),
    )


def _bot_or_agent_turn(event: Event, timestamp: float, last_action: str | None) -> Turn:
    metadata = event.get("metadata") or {}
    agent = metadata.get(AGENT_METADATA_KEY)
    if isinstance(agent, Mapping):
        return Turn(
            speaker=Speaker.AGENT,
            text=_text(event),
            timestamp=_utc(timestamp),
            agent_name=agent.get("name") or None,
        )
    return Turn(
        speaker=Speaker.BOT,
        text=_text(event),
        timestamp=_utc(timestamp),
        action=metadata.get("utter_action") or last_action,
        buttons=_button_titles(event),
    )


def _button_titles(event: Event) -> list[str] | None:
    buttons = (event.get("data") or {}).get("buttons") or []
    titles = [str(button.get("title") or "") for button in buttons if isinstance(button, Mapping)]
    return titles or None


def _text(event: Event) -> str:
    text = event.get("text")
    return "" if text is None else str(text)


def _timestamp(event: Event, fallback: float) -> float:
    # Rasa always stamps events; if one is missing we keep the transcript in order by reusing
    # the previous stamp rather than failing the handoff.
    raw = event.get("timestamp")
    return fallback if raw is None else float(raw)


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)


def _clamp_unit(value: float) -> float:
    # NLU confidences are probabilities, but float noise can land just outside [0, 1].
    return min(1.0, max(0.0, value))
