"""The channel edge: what every channel checks before a customer's message reaches Rasa.

A conversation id becomes a tracker store key, a lock store key and a socket.io room; a text and
its metadata are stored in the tracker and forwarded to the desk. One bad value used to end the
whole Rasa server: a lone UTF-16 surrogate in a sender id cannot be encoded for the SQL store,
and Rasa 3.6 reported the resulting `UnicodeEncodeError` as a missing PostgreSQL schema and
exited (see `assistant.tracker_store`). Every channel therefore runs the checks below, and the
tracker store repeats the id check as a last line of defence.

Rules (the limits are the constants below):

- **Conversation ids** (REST `sender`, socket.io `session_id`, REST `input_channel`) are
  refused, never repaired: a repaired id would silently be another conversation. An id is a
  string of 1 to `MAX_ID_CHARS` characters, not only whitespace, without lone surrogates
  (invalid Unicode), control characters (NUL included), invisible formatting characters or
  line/paragraph separators.
- **Texts** are repaired when that is harmless and refused when absurd: a lone surrogate
  becomes U+FFFD (the replacement character) and a control character other than tab and the
  line breaks becomes a space, so a customer's pasted text still gets an answer; a text longer
  than `MAX_TEXT_CHARS` is refused. The NLU reads at most 1,000 characters
  (`assistant.components.input_guard`); the limit here is far above that because `make bench`
  deliberately sends 10,000 characters, and anything between is answered by the NLU's own
  "too long" reply.
- **Metadata** is absent/null or a JSON object whose UTF-8 JSON encoding (no NaN or
  Infinity, no lone surrogates) is at most `MAX_METADATA_BYTES`.

An **empty or blank text** ("" or only whitespace) is ignored: `guarded()` does not hand it to
Rasa, so it is not stored and gets no answer on any channel (REST answers `[]`). Stock widgets
send one when they open without an `initPayload`; answering "your message came through empty"
to someone who has typed nothing is wrong. (A socket.io `user_uttered` without any `message`
is refused to that socket with `input_refused`, which widgets ignore: silent too.)

`guarded()` is the other half of the edge: a failure while Rasa handles one message (a store or
lock error, a bug) fails that message only. It is logged with the sender masked and without the
exception's message (database errors repeat the SQL parameters: the id and the text), and the
customer is sent `assistant.apology.APOLOGY` through the channel they wrote on.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, Final

from rasa.core.channels.channel import UserMessage

from assistant.apology import APOLOGY, describe_failure
from assistant.desk_events import mask_sender

logger = logging.getLogger(__name__)

#: The tracker store's `sender_id` column is VARCHAR(255): PostgreSQL refuses longer ids.
MAX_ID_CHARS: Final = 255
#: Twice the longest message the project deliberately accepts (`make bench`: 10,000).
MAX_TEXT_CHARS: Final = 20_000
#: Metadata is stored with every customer turn: room for a widget's context, not for files.
MAX_METADATA_BYTES: Final = 8 * 1024

#: Unicode categories an id may not contain: controls, invisible formatting characters
#: (zero-width, bidi overrides: look-alike ids), surrogates, line and paragraph separators.
_FORBIDDEN_IN_IDS: Final = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Cs": "a lone surrogate (invalid Unicode)",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
#: C0 and C1 controls and DEL, except tab, line feed and carriage return.
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class InvalidInput(ValueError):
    """A value the edge refuses: `field` names it, `problem` says what is wrong (never the
    value itself, which may be personal or unprintable)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_conversation_id(value: Any, field: str = "sender") -> str:
    """`value` if it is a valid conversation id; `InvalidInput` otherwise."""
    if value is None:
        raise InvalidInput(field, "is missing")
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a string, not {json_type(value)}")
    if not value.strip():
        raise InvalidInput(field, "must not be empty")
    if len(value) > MAX_ID_CHARS:
        raise InvalidInput(field, f"must be at most {MAX_ID_CHARS} characters")
    for character in value:
        kind = _FORBIDDEN_IN_IDS.get(unicodedata.category(character))
        if kind is not None:
            raise InvalidInput(field, f"contains {kind} (U+{ord(character):04X})")
    return value


def clean_text(value: Any, field: str = "message") -> str:
    """The customer's text, repaired (lone surrogates, control characters); `InvalidInput`
    if it is missing, not a string or longer than `MAX_TEXT_CHARS`."""
    if value is None:
        raise InvalidInput(field, "is missing")
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a string, not {json_type(value)}")
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(field, f"must be at most {MAX_TEXT_CHARS} characters")
    return _CONTROL.sub(" ", _LONE_SURROGATE.sub("\ufffd", value))


def check_metadata(value: Any, field: str = "metadata") -> dict[str, Any] | None:
    """`value` if it is None or a bounded, encodable JSON object; `InvalidInput` otherwise."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(field, f"must be a JSON object, not {json_type(value)}")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "contains a lone surrogate (invalid Unicode)") from None
    except (ValueError, TypeError, RecursionError):
        raise InvalidInput(field, "must be plain JSON (no NaN or Infinity)") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise InvalidInput(field, f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return value


def parse_json_object(body: bytes | str | None, field: str = "body") -> dict[str, Any]:
    """The JSON object in `body`; `InvalidInput` for anything else (empty, not JSON, a list)."""
    if not body:
        raise InvalidInput(field, "is empty; send a JSON object")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise InvalidInput(field, "is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput(field, f"must be a JSON object, not {json_type(payload)}")
    return payload


def json_type(value: Any) -> str:
    """What a decoded JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


MessageHandler = Callable[[UserMessage], Awaitable[Any]]


def guarded(on_new_message: MessageHandler, channel: str) -> MessageHandler:
    """`on_new_message` (Rasa's handler for one customer message) that never raises: a failure
    is logged (sender masked) and answered with the apology on the message's output channel.
    An empty or blank message is dropped here (see the module doc)."""

    async def handle(message: UserMessage) -> None:
        if not (message.text or "").strip():
            # Widgets send one when they open without an `initPayload`: nobody said anything,
            # so nothing is logged and nobody answers (REST gets `[]`).
            logger.debug("%s channel: ignored an empty message", channel)
            return
        try:
            await on_new_message(message)
        except Exception as failure:
            _log_failure(
                channel, "the turn of %s failed; the customer is sent an apology", message, failure
            )
            await apologise(message, channel)

    return handle


async def apologise(message: UserMessage, channel: str) -> None:
    """Sends the apology to the message's sender; a failure to send it is only logged."""
    try:
        await message.output_channel.send_text_message(message.sender_id, APOLOGY)
    except Exception as failure:
        _log_failure(channel, "could not send the apology to %s", message, failure)


def _log_failure(channel: str, what: str, message: UserMessage, failure: Exception) -> None:
    """Logs `what` (with %s for the masked sender) and the failure's types, not its messages:
    a database error repeats the SQL parameters (the conversation id, the customer's text)."""
    logger.error(
        f"%s channel: {what}. %s",
        channel,
        mask_sender(message.sender_id),
        describe_failure(failure, with_messages=False),
    )
