"""Masking personal data and secrets in log records, in every process.

`mask_text` masks e-mail addresses, phone numbers and card numbers in free text;
`redact_secrets` removes secret query values (`?token=...`), bearer tokens and given secret
values. `install_log_masking` applies both to every log record the process creates, whichever
logger made it and whichever handler writes it: Rasa, Sanic, rasa-sdk, aiohttp's access log
and the project's own loggers alike. Python warnings (Rasa's `raise_warning` quotes a customer's
message that failed to parse) are routed through logging so they are masked too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any, Final

# --- Personal data --------------------------------------------------------------------------

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


def mask_email(email: str) -> str:
    """ "jane.smith@example.com" -> "j***@e***.com": enough to recognise, not to read."""
    local, _, domain = email.strip().rpartition("@")
    labels = domain.split(".")
    host = labels[0][:1] + "***" if labels[0] else "***"
    suffix = "." + labels[-1][:10] if len(labels) > 1 else ""
    return f"{local[:1]}***@{host}{suffix}"


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


# --- Secrets --------------------------------------------------------------------------------

REDACTED: Final = "<redacted>"
# `?token=...`, `&access_token=...`, `?secret=...`, `&password=...`: a query parameter whose
# name says it is secret. Clients repeat the whole URL in their errors (aiohttp's
# ClientResponseError does), so a secret in a URL ends up in a log line.
SECRET_QUERY_PATTERN: Final = re.compile(
    r"(?i)([?&][^=&\s]*(?:token|secret|password|passwd|api_?key)[^=&\s]*=)[^&\s'\"#)]*"
)
# `Authorization: Bearer <token>` repeated in a message or a dumped header set.
BEARER_PATTERN: Final = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact_secrets(text: str, *secrets: str | None) -> str:
    """`text` without secret query values, bearer tokens or any of `secrets`."""
    text = SECRET_QUERY_PATTERN.sub(r"\1" + REDACTED, text)
    text = BEARER_PATTERN.sub(r"\1" + REDACTED, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


# --- Log records ----------------------------------------------------------------------------


#: Shorter "secrets" are not masked: a demo password such as "guest" is a common word, and
#: replacing it everywhere would garble the log without protecting anything.
MIN_SECRET_CHARS: Final = 8


def _worth_masking(secrets: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(s for s in secrets if s and len(s) >= MIN_SECRET_CHARS)


class PiiMaskingFilter(logging.Filter):
    """Masks personal data and secrets in every record it sees.

    The message is rendered (msg % args) and masked as a whole, so personal data passed as
    an argument is caught too; exception text is rendered and masked the same way. `secrets`
    are values that must never be written (the process's tokens), wherever they appear.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        """Mask personal data, secret query values and each of `secrets`."""
        super().__init__()
        self.secrets = _worth_masking(secrets)

    def add_secrets(self, secrets: Iterable[str | None]) -> None:
        """Also mask these values from now on."""
        self.secrets += tuple(s for s in _worth_masking(secrets) if s not in self.secrets)

    def mask(self, text: str) -> str:
        """`text` as this filter writes it."""
        return redact_secrets(mask_text(text), *self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:
            # A broken format call: leave it to logging to report, as it would without us.
            return True
        record.msg = self.mask(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


class MaskingRecordFactory:
    """The process's log record factory, wrapped: every record is masked as it is made.

    Masking at creation rather than in handler filters covers handlers added later too (Rasa
    and Sanic configure theirs after our start-up code has run), and records that go to
    handlers of loggers that do not propagate. A record is only made for a level its logger
    emits, so disabled debug lines cost nothing.
    """

    def __init__(self, wrapped: Any, masking: PiiMaskingFilter) -> None:
        self.wrapped = wrapped
        self.masking = masking

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.wrapped(*args, **kwargs)
        self.masking.filter(record)
        return record


def install_log_masking(secrets: Iterable[str | None] = ()) -> PiiMaskingFilter:
    """Mask every log record of this process from now on; returns the masking in use.

    Safe to call again: the masking is installed once, and later calls add their `secrets`.
    Python warnings are captured into logging (the `py.warnings` logger), because their
    default output goes to stderr past every log handler.
    """
    logging.captureWarnings(True)
    factory = logging.getLogRecordFactory()
    if isinstance(factory, MaskingRecordFactory):
        factory.masking.add_secrets(secrets)
        return factory.masking
    masking = PiiMaskingFilter(secrets)
    logging.setLogRecordFactory(MaskingRecordFactory(factory, masking))
    return masking
