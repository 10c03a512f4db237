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
padding, keyed with `transcript_key(HANDOFF_SECRET)` (the secret the desk and Rasa already
share, derived with a label of its own). The id alone, which logs and the socket.io traffic
carry, opens nothing; a token opens only its own chat, and only until it expires.

The same token opens the chat everywhere a customer's page reaches it:
- the desk's `GET /chat/history` and `POST /chat/uploads` (`X-Chat-Token` header);
- Rasa's web chat channel: `session_request` `{"session_id", "token"}` joins that chat's room
  only with a token that opens it. Without one (a stock widget, or an expired token) the
  channel starts a new chat: it makes the id and its token, sends the socket the event
  `CHAT_TOKEN_EVENT` `{"session_id", "token", "expires_at"}` (a `ChatGrant`), then Rasa's
  `session_confirm` with the new id, which stock widgets echo in their messages. A socket
  speaks (`user_uttered`, `user_typing`) only in the chat it has joined.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
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
#: The key is derived from HANDOFF_SECRET with this label, so no further secret is configured,
#: and a token is worth nothing as any other credential.
TRANSCRIPT_KEY_LABEL: Final = b"desk/web-chat-transcript-token/v1"
#: The socket.io event that gives a page the chat the channel started for it (`ChatGrant`).
CHAT_TOKEN_EVENT: Final = "chat_token"


class ChatGrant(BaseModel):
    """A new web chat: its id and the token that opens it (`POST /chat/sessions`' answer, and
    the channel's `CHAT_TOKEN_EVENT`)."""

    session_id: StrictStr
    token: StrictStr
    expires_at: StrictInt


class TranscriptTokenRefused(ValueError):
    """The token opens no transcript; the message says why, for the page to show."""


def transcript_key(handoff_secret: str) -> bytes:
    """The key that signs and checks the web chats' tokens, derived from HANDOFF_SECRET."""
    return hmac.new(handoff_secret.encode(), TRANSCRIPT_KEY_LABEL, hashlib.sha256).digest()


def new_chat(key: bytes, now: float | None = None) -> ChatGrant:
    """A new web chat: a fresh id (16 random bytes, lowercase hex) and its token, valid for
    `TRANSCRIPT_TOKEN_TTL_SECONDS`. Only ids made here are ever signed, so an id read in a log
    can never be given a token."""
    session_id = secrets.token_hex(16)
    expires_at = int(time.time() if now is None else now) + TRANSCRIPT_TOKEN_TTL_SECONDS
    token = transcript_token(key, session_id, expires_at)
    return ChatGrant(session_id=session_id, token=token, expires_at=expires_at)


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
