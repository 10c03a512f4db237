"""How an agent's turn is marked, from the desk through Rasa to the customer's page.

The desk appends an agent's turn to the conversation's Rasa tracker as a `bot` event whose
`metadata` holds `AGENT_METADATA_KEY: {"id", "name"}` (`HandoffAgent`); the text is what the
agent typed, stored once. The web chat channel sends it to the page as `bot_uttered`::

    {"text": "Olivia (Orders): Hi, I'm looking at your order.",
     "metadata": {"handoff_agent": {"id": 7, "name": "Olivia (Orders)"}}}

Why this shape: rasa-webchat 1.0.1 (and widgets like it) removes a top-level `metadata` key and
then shows a message only if nothing but `text` (or `text` with `buttons` / `quick_replies`) is
left; a message with any other top-level key is dropped. So the marking lives under `metadata`,
and the agent's name is written into the text (`agent_line`), where every widget shows it. A
page that reads the marking (the project's /chat) shows the name as the sender and removes the
`agent_line` prefix, so it does not appear twice.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, Extra, Field, StrictInt, StrictStr, ValidationError

#: The key of a bot event's metadata (and of a `bot_uttered` payload's `metadata`) that marks
#: an agent's turn.
AGENT_METADATA_KEY: Final = "handoff_agent"
#: Between the agent's name and their words in the text a widget shows.
AGENT_NAME_SEPARATOR: Final = ": "


class HandoffAgent(BaseModel):
    """The person who wrote a turn: their desk id and the name the customer sees."""

    id: StrictInt | StrictStr
    name: StrictStr = Field(..., min_length=1, max_length=200)

    class Config:
        extra = Extra.forbid


def agent_metadata(agent: HandoffAgent) -> dict[str, Any]:
    """The metadata of the `bot` event that carries the agent's turn."""
    return {AGENT_METADATA_KEY: agent.dict()}


def agent_of(metadata: Any) -> HandoffAgent | None:
    """The agent a bot event's metadata names, or None (no marking, or a malformed one)."""
    marking = metadata.get(AGENT_METADATA_KEY) if isinstance(metadata, dict) else None
    if marking is None:
        return None
    try:
        return HandoffAgent.parse_obj(marking)
    except ValidationError:
        return None


def agent_line(name: str, text: str) -> str:
    """The text a widget shows for an agent's words: `"<name>: <text>"`."""
    return f"{name}{AGENT_NAME_SEPARATOR}{text}"


def agent_messages(agent: HandoffAgent, parts: list[str]) -> list[dict[str, Any]]:
    """The `bot_uttered` payloads of an agent's turn, one per part (the channel splits a text
    at blank lines). Each is marked; the first names the agent in its text, the parts after it
    follow at once, so they read as the same person's words."""
    return [
        {
            "text": agent_line(agent.name, part) if index == 0 else part,
            "metadata": agent_metadata(agent),
        }
        for index, part in enumerate(parts)
    ]
