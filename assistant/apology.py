"""What the customer is told, and what is logged, when something fails on our side.

One text for every failure the Rasa server itself meets in a turn: the action server down, slow
or answering with an error (`assistant.action_failure`), a tracker store or channel error
(`assistant.channels.edge.guarded`). It is short and true: it says the fault is ours and what
the customer can do now. It offers no person, because reaching one needs the action server
(`action_handoff`), which may be the part that failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from logsupport.masking import redact_secrets

#: The apology sent to the customer when their turn fails on our side.
APOLOGY: Final = (
    "Sorry, something went wrong on our side and I couldn't finish that. "
    "Please try again in a moment."
)

#: How much of one exception's message a log line keeps.
MAX_LOGGED_MESSAGE_CHARS: Final = 200

_SHORTENED_PREFIXES: Final = ("site-packages/", f"{Path(__file__).resolve().parents[1]}/")


def describe_failure(
    failure: BaseException, *, with_messages: bool = True, secrets: tuple[str | None, ...] = ()
) -> str:
    """One line for the log: the exception, then what caused it (`A: msg <- B: msg`).

    `with_messages=False` keeps the types only, for failures whose messages may carry personal
    data (a database error repeats the SQL parameters: the conversation id, the customer's
    text). Messages are redacted of tokens and cut short.
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = failure
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        part = type(current).__name__
        message = str(current) if with_messages else ""
        if message:
            message = redact_secrets(" ".join(message.split()), *secrets)
            if len(message) > MAX_LOGGED_MESSAGE_CHARS:
                message = message[: MAX_LOGGED_MESSAGE_CHARS - 1] + "…"
            part += f": {message}"
        parts.append(part)
        current = current.__cause__ or current.__context__
    location = _innermost_frame(failure)
    return " <- ".join(parts) + (f" (at {location})" if location else "")


def _innermost_frame(failure: BaseException) -> str:
    """`file:line in function` of the deepest frame of the traceback (no values)."""
    tb = failure.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    path = code.co_filename
    for prefix in _SHORTENED_PREFIXES:
        if prefix in path:
            path = path.split(prefix, 1)[1]
            break
    return f"{path}:{tb.tb_lineno} in {code.co_name}"
