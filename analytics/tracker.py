"""One row of Rasa's tracker store, read into what the fold needs (`TrackerEvent`).

Rasa writes each event's JSON in `data`; the build reads the few fields it needs. A customer's
or an agent's words are read only to be scored and checked by the fold (the journey map's
sentiment, the repeat detector), never stored. A row it cannot read raises `Unparseable` with
the reason, which the build counts and reports instead of failing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from contract.conversation_marks import INTENT_NLU_FALLBACK
from contract.desk_notices import DESK_NOTICE_KEY
from contract.webchat import AGENT_METADATA_KEY

#: The event types the fold reads; others are skipped without parsing.
USER: Final = "user"
ACTION: Final = "action"
SLOT: Final = "slot"
ACTIVE_LOOP: Final = "active_loop"
SESSION_STARTED: Final = "session_started"
RESTART: Final = "restart"
BOT: Final = "bot"
#: The desk gave a paused conversation back to the bot (Rasa's `ConversationResumed`).
RESUME: Final = "resume"
READ: Final = frozenset({USER, ACTION, SLOT, ACTIVE_LOOP, SESSION_STARTED, RESTART, BOT, RESUME})
#: The longest text the fold reads of a message (the scorer reads less still).
MAX_TEXT: Final = 2_000
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
        text: A customer message's text, or an agent's (a `bot` event the desk wrote for the
            agent); None for the bot's own messages.
        notice: For a desk message, its kind (`contract.desk_notices.DeskNotice`).
    """

    id: int
    sender_id: str
    kind: str
    at: datetime
    name: str | None = None
    value: Any = None
    channel: str | None = None
    below_threshold: str | None = None
    text: str | None = None
    notice: str | None = None

    @property
    def agent_wrote(self) -> bool:
        """A `bot` event carrying an agent's words."""
        return self.kind == BOT and self.text is not None


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
    if kind in (SESSION_STARTED, RESTART, RESUME):
        return TrackerEvent(row_id, sender_id, kind, at)
    if kind == BOT:
        return _desk_message(row_id, sender_id, at, data)
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
            text=_words(body.get("text")),
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


def _desk_message(row_id: int, sender_id: str, at: datetime, data: str | None) -> TrackerEvent:
    """A bot event: the desk's notices and agents' words are marked in its metadata; the
    bot's own messages (most of them) are not read further."""
    plain = TrackerEvent(row_id, sender_id, BOT, at)
    if not data or (DESK_NOTICE_KEY not in data and AGENT_METADATA_KEY not in data):
        return plain
    body = _json_object(data)
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        return plain
    notice = metadata.get(DESK_NOTICE_KEY)
    if isinstance(notice, str) and notice:
        return TrackerEvent(row_id, sender_id, BOT, at, notice=notice[:64])
    if metadata.get(AGENT_METADATA_KEY):
        return TrackerEvent(row_id, sender_id, BOT, at, text=_words(body.get("text")) or "")
    return plain


def _words(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value else None


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
