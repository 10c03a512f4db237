"""One row of Rasa's tracker store, read into what the fold needs (`TrackerEvent`).

Rasa writes each event's JSON in `data`; the build reads the few fields it needs and nothing
else (no customer text). A row it cannot read raises `Unparseable` with the reason, which the
build counts and reports instead of failing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from contract.conversation_marks import INTENT_NLU_FALLBACK

#: The event types the fold reads; others are skipped without parsing.
USER: Final = "user"
ACTION: Final = "action"
SLOT: Final = "slot"
ACTIVE_LOOP: Final = "active_loop"
SESSION_STARTED: Final = "session_started"
RESTART: Final = "restart"
BOT: Final = "bot"
READ: Final = frozenset({USER, ACTION, SLOT, ACTIVE_LOOP, SESSION_STARTED, RESTART, BOT})
#: The action Rasa runs to start a new session.
ACTION_SESSION_START: Final = "action_session_start"


class Unparseable(ValueError):
    """A tracker row the build cannot read; the message says why (no content)."""


@dataclass(frozen=True)
class TrackerEvent:
    """What the fold needs of one event.

    Attributes:
        id: The row's id (the build's watermark).
        sender_id: The conversation's sender.
        kind: Rasa's event type (`user`, `action`, `slot`, ...).
        at: When it happened (UTC).
        name: The intent (user), action, slot or loop name; None when absent.
        value: A slot's value.
        channel: A user message's input channel.
        below_threshold: For an `nlu_fallback` message, the intent NLU ranked first under it.
    """

    id: int
    sender_id: str
    kind: str
    at: datetime
    name: str | None = None
    value: Any = None
    channel: str | None = None
    below_threshold: str | None = None


def parse_row(
    row_id: int,
    sender_id: str | None,
    kind: str | None,
    timestamp: float | None,
    intent_name: str | None,
    action_name: str | None,
    data: str | None,
) -> TrackerEvent | None:
    """The event of one `events` row; None for a type the fold does not read.

    Raises:
        Unparseable: The row lacks its sender or time, or its JSON is broken or of the wrong
            shape for its type.
    """
    if kind not in READ:
        return None
    if not sender_id:
        raise Unparseable("no sender_id")
    if timestamp is None or not math.isfinite(timestamp) or timestamp < 0:
        raise Unparseable("no valid timestamp")
    try:
        at = datetime.fromtimestamp(timestamp, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise Unparseable("timestamp out of range") from None
    if kind == ACTION:
        if not action_name:
            raise Unparseable("action without a name")
        return TrackerEvent(row_id, sender_id, kind, at, name=action_name)
    if kind in (SESSION_STARTED, RESTART, BOT):
        return TrackerEvent(row_id, sender_id, kind, at)
    body = _json_object(data)
    if kind == USER:
        return TrackerEvent(
            row_id,
            sender_id,
            kind,
            at,
            name=intent_name or _intent_of(body),
            channel=_text(body.get("input_channel")),
            below_threshold=_below_threshold(body) if intent_name == INTENT_NLU_FALLBACK else None,
        )
    name = body.get("name")
    if kind == SLOT:
        if not isinstance(name, str) or not name:
            raise Unparseable("slot event without a slot name")
        return TrackerEvent(row_id, sender_id, kind, at, name=name, value=body.get("value"))
    # active_loop: a null name ends the loop.
    if name is not None and not isinstance(name, str):
        raise Unparseable("active_loop event with a name that is not text")
    return TrackerEvent(row_id, sender_id, kind, at, name=name or None)


def _json_object(data: str | None) -> dict[str, Any]:
    if not data:
        raise Unparseable("no event data")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise Unparseable("event data is not JSON") from None
    if not isinstance(body, dict):
        raise Unparseable("event data is not a JSON object")
    return body


def _text(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) and value else None


def _intent_of(body: dict[str, Any]) -> str | None:
    parse_data = body.get("parse_data")
    intent = parse_data.get("intent") if isinstance(parse_data, dict) else None
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) and name else None


def _below_threshold(body: dict[str, Any]) -> str | None:
    """The best real intent of a fallback turn: the first of the ranking that is not the
    fallback itself."""
    parse_data = body.get("parse_data")
    ranking = parse_data.get("intent_ranking") if isinstance(parse_data, dict) else None
    if not isinstance(ranking, list):
        return None
    for entry in ranking:
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name and name != INTENT_NLU_FALLBACK:
            return name[:200]
    return None
