"""Resuming an application on any touchpoint: the reference plus a verification the desk checks.

A customer back in a new chat (another browser, another device) gives the reference and the
e-mail on file; the desk sends a one-time code to that e-mail (in the demo: it writes it to
the desk's log, the e-mail masked) and the customer types it. Verification is never skipped.

The bot (`Authorization: Bearer $HANDOFF_SECRET`):
- `POST {desk}/api/applications/{reference}/verification`, body `VerificationStart`: 202 with
  `VerificationStarted` whether or not the e-mail matched (the answer does not tell anyone
  which e-mails or references exist); a mismatch counts as a failed attempt.
- `POST {desk}/api/applications/{reference}/verification/confirm`, body `VerificationConfirm`:
  200 with `ResumeGranted` (the record; the chat is linked to the application, so its uploads
  are accepted) or 401 with `VerificationRefused` (`attempts_left`).

Either answers 423 with `VerificationRefused` (`locked_until`) after `MAX_FAILED_ATTEMPTS`
failures in a row: resuming that application is locked for `LOCKOUT_MINUTES`. An unknown
reference behaves like a wrong e-mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, Extra, Field, StrictStr

from contract.applications import ApplicationRecord

#: Failures in a row (wrong e-mail or wrong code) before resuming is locked.
MAX_FAILED_ATTEMPTS: Final = 5
LOCKOUT_MINUTES: Final = 15
#: How long a one-time code works.
CODE_TTL_MINUTES: Final = 10
CODE_DIGITS: Final = 6


def verification_path(reference: str) -> str:
    """Where the bot starts a verification."""
    return f"/api/applications/{reference}/verification"


def verification_confirm_path(reference: str) -> str:
    """Where the bot sends the code the customer typed."""
    return f"{verification_path(reference)}/confirm"


class _Body(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


class VerificationStart(_Body):
    """The e-mail the customer says is on file, and the chat asking."""

    email: StrictStr = Field(..., min_length=3, max_length=320)
    sender_id: StrictStr = Field(..., min_length=1, max_length=255)


class VerificationStarted(_Body):
    """A code is on its way if the details matched; it works for `expires_in_seconds`."""

    expires_in_seconds: int


class VerificationConfirm(_Body):
    """The code the customer typed, and the chat to link on success."""

    code: StrictStr = Field(..., min_length=1, max_length=32)
    sender_id: StrictStr = Field(..., min_length=1, max_length=255)


class ResumeGranted(_Body):
    """Verified: the application as it stands."""

    application: ApplicationRecord


class VerificationRefused(_Body):
    """Not verified: how many tries are left, or until when resuming is locked."""

    error: StrictStr
    attempts_left: int
    locked_until: datetime | None = None
