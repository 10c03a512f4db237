"""Personal data in handoff contexts and logs: where it is, and how to mask it.

`pii_paths` names the fields of a context that hold personal data (the desk uses the list to
restrict and expire them); `mask_payload` masks those fields in a copy, for logs and debugging;
`PiiMaskingFilter` masks e-mail addresses, phone numbers and card numbers in log records.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable
from typing import Any, Final

from actions.handoff.journey import JourneyRegistry
from contract.handoff_context import HandoffContext, Speaker

# Which slots and evidence fields hold personal data is declared by each journey
# (`Journey.personal_slots`, `Journey.personal_evidence`); what is personal in the rest of the
# context (the transcript, the answers to attempts, the name, the summary) is known here.
ANY_INDEX: Final = "*"


def pii_paths(context: HandoffContext, journeys: JourneyRegistry) -> list[str]:
    """JSON Pointers of the fields of `context` that hold personal data, in document order.

    Only fields that are actually filled in this context are listed. `*` stands for any array
    index. The context's own `pii` field is ignored (this is what computes it).
    """
    paths = [_pointer("customer_name")] if context.customer_name else []
    paths += [_pointer("slots", slot) for slot in journeys.personal_slots if slot in context.slots]
    paths += _transcript_paths(context)
    if any(attempt.answer is not None for attempt in context.attempts):
        paths.append(_pointer("attempts", ANY_INDEX, "answer"))
    paths += [
        _pointer("evidence", *tokens)
        for tokens in journeys.personal_evidence_paths(context.evidence)
    ]
    paths += _evidence_view_paths(context)
    if _mentions_customer(context):
        paths.append(_pointer("summary"))
    return paths


def _transcript_paths(context: HandoffContext) -> list[str]:
    # Every turn's text, not only the customer's: the bot and agents echo names and addresses.
    paths = []
    if any(turn.text for turn in context.transcript):
        paths.append(_pointer("transcript", ANY_INDEX, "text"))
    if any(turn.speaker == Speaker.AGENT and turn.agent_name for turn in context.transcript):
        paths.append(_pointer("transcript", ANY_INDEX, "agent_name"))
    return paths


def _evidence_view_paths(context: HandoffContext) -> list[str]:
    paths = []
    for s, section in enumerate(context.evidence_view):
        paths += [
            _pointer("evidence_view", str(s), "fields", str(f), "value")
            for f, shown in enumerate(section.fields)
            if shown.personal and shown.value not in (None, "")
        ]
        for t, table in enumerate(section.tables):
            paths += [
                _pointer("evidence_view", str(s), "tables", str(t), "rows", ANY_INDEX, str(c))
                for c in table.personal_columns
                if any(c < len(row) and row[c] not in (None, "") for row in table.rows)
            ]
    return paths


def _mentions_customer(context: HandoffContext) -> bool:
    # The summary names the customer exactly when it knows a name (see summary.py); checking
    # for the name in the text would miss one the summary had to shorten.
    return bool(context.summary) and context.customer_name is not None


def _pointer(*tokens: str) -> str:
    return "".join("/" + token.replace("~", "~0").replace("/", "~1") for token in tokens)


# --- Masking payloads ---------------------------------------------------------------------------


def mask_payload(payload: dict[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """A deep copy of `payload` with the values at `paths` masked; paths that are absent are
    skipped. Masked values keep a hint: "j***@e***.com", "J*** S***", "[redacted 42 chars]".
    """
    masked = copy.deepcopy(payload)
    for path in paths:
        _mask_at(masked, _tokens(path))
    return masked


def mask_value(value: Any, key: str = "") -> Any:
    """Mask one value; `key` (the field name) tells names apart from other text."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(item, key) for item in value]
    if isinstance(value, str):
        if EMAIL_PATTERN.fullmatch(value.strip()):
            return mask_email(value.strip())
        if "name" in key:
            return mask_name(value)
        return f"[redacted {len(value)} chars]"
    return "[redacted]"


def mask_email(email: str) -> str:
    """ "jane.smith@example.com" -> "j***@e***.com"."""
    local, _, domain = email.rpartition("@")
    labels = domain.split(".")
    host = labels[0][:1] + "***" if labels[0] else "***"
    suffix = "." + labels[-1] if len(labels) > 1 else ""
    return f"{local[:1]}***@{host}{suffix}"


def mask_name(name: str) -> str:
    """ "Jane Smith" -> "J*** S***"."""
    return " ".join(part[:1] + "***" for part in name.split()) or "***"


def _tokens(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"not a JSON Pointer: {path!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _mask_at(node: Any, tokens: list[str]) -> None:
    head, rest = tokens[0], tokens[1:]
    for key, child in _children(node, head):
        if rest:
            _mask_at(child, rest)
        else:
            node[key] = mask_value(child, str(key) if isinstance(node, dict) else head)


def _children(node: Any, token: str) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return [(token, node[token])] if token in node else []
    if isinstance(node, list):
        if token == ANY_INDEX:
            return list(enumerate(node))
        if token.isdigit() and int(token) < len(node):
            return [(int(token), node[int(token)])]
    return []


# --- Masking logs -------------------------------------------------------------------------------

EMAIL_PATTERN: Final = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# 13 to 19 digits, optionally grouped by single spaces or dashes: payment card numbers.
CARD_PATTERN: Final = re.compile(r"(?<!\w)(?:\d[ -]?){12,18}\d(?!\w)")
# Candidates only; `_mask_phone` decides (dates, epoch seconds and plain ids are not phones).
PHONE_CANDIDATE_PATTERN: Final = re.compile(r"(?<![\w+])\+?\(?\d[\d ()-]{6,20}\d(?!\w)")
DATE_PREFIX_PATTERN: Final = re.compile(r"^\d{4}-\d{2}-\d{2}\b")
MIN_PHONE_DIGITS = 9
MAX_PHONE_DIGITS = 15


def mask_text(text: str) -> str:
    """Mask e-mail addresses, card-like digit runs and phone numbers in free text."""
    text = EMAIL_PATTERN.sub(lambda match: mask_email(match.group()), text)
    text = CARD_PATTERN.sub(_mask_card, text)
    return PHONE_CANDIDATE_PATTERN.sub(_mask_phone, text)


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"[card ****{digits[-4:]}]"


def _mask_phone(match: re.Match[str]) -> str:
    candidate = match.group()
    digits = re.sub(r"\D", "", candidate)
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return candidate
    if DATE_PREFIX_PATTERN.match(candidate):
        return candidate
    # A bare run of digits is more often a timestamp or an id than a phone number; phone
    # numbers as people type them start with +, 0 or ( or are grouped.
    looks_dialled = candidate[0] in "+0(" or any(c in candidate for c in " -()")
    return f"[phone ***{digits[-2:]}]" if looks_dialled else candidate


class PiiMaskingFilter(logging.Filter):
    """Masks e-mail addresses, phone numbers and card numbers in every record it sees.

    The message is rendered (msg % args) and masked as a whole, so personal data passed as
    an argument is caught too; exception text is rendered and masked the same way.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:
            # A broken format call: leave it to logging to report, as it would without us.
            return True
        record.msg = mask_text(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_pii_log_masking() -> PiiMaskingFilter:
    """Add one shared `PiiMaskingFilter` to every handler configured so far.

    Call it after logging is configured (rasa-sdk has done so by the time it imports the
    actions package). Handler filters run for records from every logger that reaches the
    handler, child loggers included, which logger filters would not. Safe to call again:
    handlers that already mask are skipped, and handlers added since are covered.
    """
    pii_filter = _installed_filter() or PiiMaskingFilter()
    for handler in _all_handlers():
        if not any(isinstance(f, PiiMaskingFilter) for f in handler.filters):
            handler.addFilter(pii_filter)
    return pii_filter


def _all_handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    handlers: dict[int, logging.Handler] = {}
    for logger in loggers:
        handlers.update({id(handler): handler for handler in logger.handlers})
    return list(handlers.values())


def _installed_filter() -> PiiMaskingFilter | None:
    for handler in _all_handlers():
        for existing in handler.filters:
            if isinstance(existing, PiiMaskingFilter):
                return existing
    return None
