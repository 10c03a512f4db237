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

The transcript token (`transcript_token`, `transcript_session`): what opens a web chat's
history at the desk. The desk makes the chat's id and signs it when the page starts a chat
(`POST /chat/sessions`); the page sends the token back in the `X-Chat-Token` header, never in a
URL, which access logs keep. Its wire format, ASCII, dot-separated::

    v1.<session_id: 32 lowercase hex>.<expires_at: Unix seconds>.<signature>

where the signature is HMAC-SHA256 over `v1.<session_id>.<expires_at>`, base64url without
padding. The id alone, which logs and the socket.io traffic carry, opens nothing; a token opens
only its own chat, and only until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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


# --- The transcript token ---------------------------------------------------------------------

#: The request header the chat page sends its transcript token in.
TRANSCRIPT_TOKEN_HEADER: Final = "X-Chat-Token"
TRANSCRIPT_TOKEN_VERSION: Final = "v1"
#: How long a token opens its chat's history: a day, so a page reloaded the same day
#: continues its chat, and a token copied from a device is of no use after that.
TRANSCRIPT_TOKEN_TTL_SECONDS: Final = 24 * 60 * 60
_SEPARATOR: Final = "."


class TranscriptTokenRefused(ValueError):
    """The token opens no transcript; the message says why, for the page to show."""


def transcript_token(key: bytes, session_id: str, expires_at: int) -> str:
    """The token that opens the history of `session_id` until `expires_at` (Unix seconds)."""
    signed = _SEPARATOR.join((TRANSCRIPT_TOKEN_VERSION, session_id, str(expires_at)))
    return f"{signed}{_SEPARATOR}{_signature(key, signed)}"


def transcript_session(key: bytes, token: str, now: float) -> str:
    """The chat id `token` opens at `now`; TranscriptTokenRefused when it opens none.

    The signature is checked (in constant time) before the expiry, so a forged token learns
    nothing from the answer.
    """
    parts = token.split(_SEPARATOR) if token.isascii() else []
    if len(parts) != 4 or parts[0] != TRANSCRIPT_TOKEN_VERSION or not parts[2].isdigit():
        raise TranscriptTokenRefused("the chat token is malformed")
    signed, signature = token.rsplit(_SEPARATOR, 1)
    if not hmac.compare_digest(signature.encode(), _signature(key, signed).encode()):
        raise TranscriptTokenRefused("the chat token is not valid")
    if int(parts[2]) <= now:
        raise TranscriptTokenRefused("the chat token has expired")
    return parts[1]


def _signature(key: bytes, signed: str) -> str:
    digest = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
