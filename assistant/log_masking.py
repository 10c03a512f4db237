"""The Rasa server's log masking: personal data and the secrets it holds, in every record.

Rasa logs a customer's text in places, aiohttp errors repeat the URLs they failed on, and
Sanic, Rasa, structlog and the project's loggers each write through their own handlers.
`install` runs before Rasa's command line, so before anything is logged, and:
- masks every record the process makes (`logsupport.masking`): e-mail addresses, phone and
  card numbers, secret query values, and the values of the secrets below wherever they appear;
- redacts the customer-text fields of Rasa's structured log events (`user_text` of
  "message.parsing.failed", `text`, ...), the fields Rasa itself marks as anonymizable: a name
  or an address in free text is beyond any pattern;
- words Rasa's warning about a message starting with "/" whose arguments fail to parse without
  the customer's message, which it used to quote whole (the message is still handled).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import rasa.shared.utils.io
import rasa.utils.log_utils

from logsupport.masking import install_log_masking

#: The environment variables of the Rasa process that hold secrets (endpoints.yml,
#: credentials.yml and the launcher's `RASA_AUTH_TOKEN`).
SECRET_VARIABLES: Final = (
    "RASA_AUTH_TOKEN",
    "ACTION_SERVER_TOKEN",
    "HANDOFF_SECRET",
    "LOCK_STORE_PASSWORD",
    "EVENT_BROKER_PASSWORD",
)


#: Fields of Rasa's structured log events that carry what a customer wrote (from the keys
#: Rasa's own `rasa.utils.log_utils._anonymizer` anonymizes).
CUSTOMER_TEXT_FIELDS: Final = frozenset(
    {
        "text",
        "user_text",
        "response_text",
        "parse_data_text",
        "parse_data_entities",
        "slot_values",
        "prefilled_slots",
        "slot_candidates",
        "tracker_latest_message",
        "message",
        "user_message",
        "json_message",
        "entity",
        "token_text",
    }
)
#: The start of Rasa's warning that quotes a whole "/intent{...}" message it cannot parse,
#: and what is said instead.
UNPARSED_MESSAGE_WARNING: Final = "Failed to parse arguments in line"
UNPARSED_MESSAGE_NOTE: Final = (
    "Failed to parse the arguments of a message starting with '/'; continuing without them "
    "(the message is the customer's, so it is not logged)."
)


def install(environ: Mapping[str, str]) -> None:
    """Mask personal data and this process's secrets in every log record from now on."""
    global _rasa_anonymizer, _rasa_raise_warning
    install_log_masking(environ.get(name) for name in SECRET_VARIABLES)
    # Both are looked up at call time: Rasa configures structlog later, in its main.
    if rasa.utils.log_utils._anonymizer is not redact_customer_text:
        _rasa_anonymizer = rasa.utils.log_utils._anonymizer
        rasa.utils.log_utils._anonymizer = redact_customer_text
    if rasa.shared.utils.io.raise_warning is not raise_warning_without_messages:
        _rasa_raise_warning = rasa.shared.utils.io.raise_warning
        rasa.shared.utils.io.raise_warning = raise_warning_without_messages


def _unchanged(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return event_dict


_rasa_anonymizer = _unchanged
_rasa_raise_warning = rasa.shared.utils.io.raise_warning


def raise_warning_without_messages(
    message: str, category: type[Warning] | None = None, *args: Any, **kwargs: Any
) -> None:
    """Rasa's `raise_warning`, except that the warning quoting a customer's message is worded
    without it."""
    if message.startswith(UNPARSED_MESSAGE_WARNING):
        message = UNPARSED_MESSAGE_NOTE
    # One frame deeper than Rasa's own call: the warning still names Rasa's caller, not this.
    if "stacklevel" not in kwargs and category in _RASA_STACKLEVELS:
        kwargs["stacklevel"] = _RASA_STACKLEVELS[category] + 1
    elif kwargs.get("stacklevel", 1) > 1:
        kwargs["stacklevel"] += 1
    _rasa_raise_warning(message, category, *args, **kwargs)


#: The stack levels `raise_warning` picks itself when given none (rasa/shared/utils/io.py).
_RASA_STACKLEVELS: Final[dict[type[Warning], int]] = {
    DeprecationWarning: 3,
    UserWarning: 2,
    FutureWarning: 2,
}


def redact_customer_text(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: Rasa's anonymizer, then every customer-text field redacted."""
    event_dict = _rasa_anonymizer(logger, method, event_dict)
    for field in CUSTOMER_TEXT_FIELDS & event_dict.keys():
        event_dict[field] = f"[redacted {len(str(event_dict[field]))} chars]"
    return event_dict
