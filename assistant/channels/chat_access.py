"""Which web chat a socket may join: the one its chat token opens, else a new one.

A web chat's id is no secret: logs carry it (masked or not, it is in Rasa's tracker store, the
desk's tables and their logs) and so does every socket.io message. If `session_request` with
an id were enough to join that chat's room, anyone who knew an id would receive the bot's and
the agent's replies and could speak in that chat. So a socket joins a chat only with the token
the desk or this channel signed for it (`contract.webchat`: HMAC-SHA256 with a key derived
from HANDOFF_SECRET, which Rasa and the desk share, valid for a day).

A `session_request` without a token that opens its id (a stock widget, which knows no token; a
page whose token expired; someone trying an id from a log) is not refused: the socket gets a
new chat, with an id and a token made here (`contract.webchat.new_chat`), so a stock widget,
which echoes whatever id `session_confirm` gives it, keeps working, and a customer whose token
expired loses nothing they could still read. Only the chat an id names is out of reach.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from assistant.channels.edge import InvalidInput, json_type
from assistant.desk_events import mask_sender
from contract.webchat import (
    ChatGrant,
    TranscriptTokenRefused,
    new_chat,
    transcript_key,
    transcript_session,
)

logger = logging.getLogger(__name__)

#: A token is about 110 characters; anything far longer is not one.
MAX_TOKEN_CHARS: Final = 512


def checked_token(value: object, field: str = "token") -> str | None:
    """The token a `session_request` carries (None: none); `InvalidInput` for a value that
    cannot be one (not a string, or far too long)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a string, not {json_type(value)}")
    if len(value) > MAX_TOKEN_CHARS:
        raise InvalidInput(field, f"must be at most {MAX_TOKEN_CHARS} characters")
    return value


@dataclass(frozen=True)
class Admission:
    """The chat a socket joins, and the grant to send it first when that chat is new."""

    session_id: str
    grant: ChatGrant | None


class ChatAccess:
    """Signs new chats and checks the tokens of chats asked for, with one key."""

    def __init__(self, handoff_secret: str | None, clock: Callable[[], float] = time.time):
        """Without `handoff_secret` (a channel set up without the desk) the key is random:
        tokens then open chats of this process only."""
        if not handoff_secret:
            logger.warning(
                "web chat: no handoff_secret; chat tokens are signed with a key of this process"
            )
        self.key = transcript_key(handoff_secret or secrets.token_hex(32))
        self.clock = clock

    def admit(self, session_id: str | None, token: str | None) -> Admission:
        """The chat `token` opens, if it is `session_id` (or no id was asked for); else a new
        chat."""
        if token is not None:
            try:
                opened = transcript_session(self.key, token, self.clock())
            except TranscriptTokenRefused as refused:
                self._log_new_chat(session_id, str(refused))
            else:
                if session_id is None or opened == session_id:
                    return Admission(opened, None)
                self._log_new_chat(session_id, "the token opens another chat")
        elif session_id is not None:
            self._log_new_chat(session_id, "no chat token")
        grant = new_chat(self.key, self.clock())
        return Admission(grant.session_id, grant)

    @staticmethod
    def _log_new_chat(session_id: str | None, why: str) -> None:
        logger.info(
            "web chat: chat %s asked for with %s; a new chat is started instead",
            mask_sender(session_id) if session_id is not None else "(none)",
            why,
        )
