"""A conversation as the customer saw it, read from its Rasa tracker.

One reading of the tracker for everyone who shows a conversation: the customer's web chat
history (`GET /chat/history`) and the agent console's live conversation
(`GET /api/handoffs/{id}/conversation`). Only what was said is returned: customer, bot and
agent turns, never intents, slots or actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import ValidationError

from contract.bot_actions import ACTION_DOCUMENT_RECEIVED
from contract.desk_notices import DESK_NOTICE_KEY
from contract.documents import UPLOAD_METADATA_KEY, UploadPrompt
from contract.handoff_opened import HANDOFF_ID_SLOT
from contract.webchat import agent_of

#: The longest list of turns returned (the newest are kept).
MAX_TURNS: Final = 500
#: Rasa's socket.io channel splits a bot text into messages at blank lines; so do the turns.
_PART_SEPARATOR: Final = "\n\n"


def visible_turns(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """What the customer saw and said, in order, from a Rasa tracker.

    - `user` events → `{"role": "customer", "text"}`; a button's payload is shown as the
      button's title, as the customer saw it;
    - `bot` events with `metadata.handoff_agent` (`contract.webchat`) → `{"role": "agent",
      "text", "agent_name"}`: the words as the agent typed them, stored once in the tracker,
      and the name apart (the web chat shows stock widgets `"<name>: <text>"`; a page that
      shows `agent_name` as the sender needs the bare words);
    - other `bot` events → `{"role": "bot", "text", "buttons"?}`, split at blank lines like
      Rasa's socket.io channel does (the buttons go with the last part); the desk's own
      messages also carry `notice`, their `metadata.desk_notice` (`contract.desk_notices`);
    - the last part of the latest request for a document that no upload has answered yet
      also carries `document_upload`, its `metadata.document_upload` (`contract.documents.
      UploadPrompt`), so a reloaded page offers that upload again. A stored upload answers
      it: the desk then runs `action_document_received` in the conversation, which asks for
      the next document with a prompt of its own, if any is still needed. Earlier requests
      carry none: only the latest one can be answered.
    Each turn has `timestamp` (epoch seconds, as Rasa stored it). At most MAX_TURNS, the newest.
    """
    return _turns(_events(tracker))


def handoff_turns(tracker: dict[str, Any], handoff_id: str) -> tuple[list[dict[str, Any]], bool]:
    """The visible turns from the moment the conversation was handed over (see `visible_turns`).

    The handover is where the bot's handoff action set the `handoff_id` slot to this handoff's
    id; the turns start with that action (its message tells the customer they are being passed
    on) and go on to the end of the tracker. Returns `(turns, True)`, or `(every turn, False)`
    when the tracker does not show where the handoff began.
    """
    events = _events(tracker)
    start = handoff_start(events, handoff_id)
    if start is None:
        return _turns(events), False
    return _turns(events[start:]), True


def handoff_start(events: Sequence[Any], handoff_id: str) -> int | None:
    """Index of the first event of the action that handed the conversation over, or None.

    That action logged itself (an `action` event) before its messages and the `slot` event
    setting `handoff_id`; without that `action` event, the slot event itself.
    """
    marker = next(
        (
            index
            for index, event in enumerate(events)
            if isinstance(event, dict)
            and event.get("event") == "slot"
            and event.get("name") == HANDOFF_ID_SLOT
            and str(event.get("value") or "").lower() == handoff_id.lower()
        ),
        None,
    )
    if marker is None:
        return None
    for index in range(marker - 1, -1, -1):
        event = events[index]
        kind = event.get("event") if isinstance(event, dict) else None
        if kind == "action":
            return index
        if kind == "user":
            break  # the action's events never reach back past the customer's message
    return marker


def _events(tracker: dict[str, Any]) -> list[Any]:
    events = tracker.get("events") if isinstance(tracker, dict) else None
    return list(events) if isinstance(events, list) else []


def _turns(events: Sequence[Any]) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    last_buttons: dict[str, str] = {}
    # The latest request for a document not answered by an upload: its turn and its prompt.
    open_request: tuple[dict[str, Any], dict[str, Any]] | None = None
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        timestamp = event.get("timestamp")
        if kind == "user":
            text = str(event.get("text") or "")
            if not text:
                continue
            shown = last_buttons.get(text, text)
            turns.append({"role": "customer", "text": shown, "timestamp": timestamp})
        elif kind == "action" and event.get("name") == ACTION_DOCUMENT_RECEIVED:
            open_request = None
        elif kind == "bot":
            said = _bot_turns(event, timestamp)
            prompt = _upload_prompt_of(event)
            if said and said[-1]["role"] == "bot" and prompt is not None:
                open_request = (said[-1], prompt)
            turns.extend(said)
            buttons = _buttons_of(event)
            if buttons or event.get("text"):
                last_buttons = {b["payload"]: b["title"] for b in buttons}
    if open_request is not None:
        turn, prompt = open_request
        turn[UPLOAD_METADATA_KEY] = prompt
    return turns[-MAX_TURNS:]


def _upload_prompt_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The request for a document a bot event carries, checked (a malformed one: none)."""
    metadata = event.get("metadata")
    marking = metadata.get(UPLOAD_METADATA_KEY) if isinstance(metadata, dict) else None
    if marking is None:
        return None
    try:
        prompt: dict[str, Any] = UploadPrompt.parse_obj(marking).dict()
    except ValidationError:
        return None
    prompt["accept"] = list(prompt["accept"])
    return prompt


def _bot_turns(event: dict[str, Any], timestamp: Any) -> list[dict[str, Any]]:
    text = str(event.get("text") or "").strip()
    agent = agent_of(event.get("metadata"))
    if agent is not None:
        if not text:
            return []
        return [{"role": "agent", "text": text, "agent_name": agent.name, "timestamp": timestamp}]
    buttons = _buttons_of(event)
    parts = [part for part in text.split(_PART_SEPARATOR) if part.strip()] or (
        [""] if buttons else []
    )
    turns: list[dict[str, Any]] = [
        {"role": "bot", "text": part, "timestamp": timestamp} for part in parts
    ]
    if turns and buttons:
        turns[-1]["buttons"] = buttons
    metadata = event.get("metadata")
    notice = metadata.get(DESK_NOTICE_KEY) if isinstance(metadata, dict) else None
    if isinstance(notice, str):
        for turn in turns:
            turn["notice"] = notice
    return turns


def _buttons_of(event: dict[str, Any]) -> list[dict[str, str]]:
    data = event.get("data") or {}
    raw = (data.get("buttons") or data.get("quick_replies") or []) if isinstance(data, dict) else []
    buttons = []
    for button in raw if isinstance(raw, list) else []:
        if isinstance(button, dict) and button.get("title") and button.get("payload"):
            buttons.append({"title": str(button["title"]), "payload": str(button["payload"])})
    return buttons
