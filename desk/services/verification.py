"""Resuming an application in a new chat: the e-mail on file, then a one-time code.

`start` checks the e-mail the customer gives (case, Unicode form and spaces ignored) and, when
it matches, sends a fresh code (`secrets`; only its SHA-256 is stored, bound to the chat
asking). `confirm` takes the code typed in that chat, compared in constant time, and links the
chat to the application. Every failure (a wrong e-mail, a wrong or expired code) counts; after
`MAX_FAILED_ATTEMPTS` in a row resuming is locked for `LOCKOUT_MINUTES` (`ResumeLocked`, 423
at the API). An unknown reference is answered like a wrong e-mail or code, so the answers do
not tell which references exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contract.applications import ActorKind, ApplicationEventKind, Touchpoint
from contract.resume import (
    CODE_DIGITS,
    CODE_TTL_MINUTES,
    LOCKOUT_MINUTES,
    MAX_FAILED_ATTEMPTS,
    ResumeGranted,
    VerificationConfirm,
    VerificationRefused,
    VerificationStart,
    VerificationStarted,
)
from desk.code_sender import CodeSender
from desk.services import applications
from desk.store.models import MortgageApplication, ResumeCode, ResumeDecoy

CODE_TTL: Final = timedelta(minutes=CODE_TTL_MINUTES)
LOCKOUT: Final = timedelta(minutes=LOCKOUT_MINUTES)
WRONG_CODE: Final = "that code is not right"
EXPIRED_CODE: Final = "that code has expired; ask for a new one"
#: What a customer answering without a code in this chat compares against: the same work as
#: a real comparison, so the time taken tells nothing either.
_NO_DIGEST: Final = "0" * 64


class ResumeLocked(Exception):
    """Resuming the application is locked after too many failures (423 at the API).

    Deliberately not a `DeskError`: its answer carries `locked_until` in the contract's body.
    """

    def __init__(self, locked_until: datetime) -> None:
        """Locked until `locked_until`."""
        super().__init__(
            "too many failed attempts; resuming this application is locked until "
            f"{locked_until:%H:%M} UTC"
        )
        self.locked_until = locked_until

    def refusal(self) -> VerificationRefused:
        """The contract's answer."""
        return VerificationRefused(error=str(self), attempts_left=0, locked_until=self.locked_until)


def started() -> VerificationStarted:
    """The one answer to every start that is not locked, matched or not."""
    return VerificationStarted(expires_in_seconds=int(CODE_TTL.total_seconds()))


def start_unknown(session: Session, reference: str, *, now: datetime) -> VerificationStarted:
    """`start` for a reference no application has: counted like a wrong e-mail.

    Raises:
        ResumeLocked: As many failures on this reference as lock a real application.
    """
    decoy = _decoy(session, reference)
    _ensure_unlocked(decoy, now)
    _count_decoy_failure(decoy, now, WRONG_CODE)
    return started()


def confirm_unknown(session: Session, reference: str, *, now: datetime) -> VerificationRefused:
    """`confirm` for a reference no application has: refused like a wrong code, with the
    same count of tries left and the same lock, so guesses learn nothing.

    Raises:
        ResumeLocked: As many failures on this reference as lock a real application.
    """
    decoy = _decoy(session, reference)
    _ensure_unlocked(decoy, now)
    hmac.compare_digest(_NO_DIGEST, _NO_DIGEST)  # the same work as a real comparison
    return _count_decoy_failure(decoy, now, WRONG_CODE)


def start(
    session: Session,
    reference: str,
    request: VerificationStart,
    *,
    sender: CodeSender,
    now: datetime,
) -> VerificationStarted:
    """Send a code if the e-mail is the one on file of the application `reference` (as typed).

    Raises:
        ResumeLocked: Resuming this application is locked.
    """
    application = _find(session, reference)
    if application is None:
        return start_unknown(session, reference, now=now)
    return start_for(session, application, request, sender=sender, now=now)


def start_for(
    session: Session,
    application: MortgageApplication,
    request: VerificationStart,
    *,
    sender: CodeSender,
    now: datetime,
) -> VerificationStarted:
    """`start` for a loaded application: one step of a unit of work."""
    _hold(session, application)
    _ensure_unlocked(application, now)
    if not _same_email(request.email, application.email):
        _count_failure(application, "email", now)
        return started()
    code = new_code()
    session.add(
        ResumeCode(
            application_id=application.id,
            sender_id=request.sender_id,
            code_digest=code_digest(code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    session.flush()
    sender.send(reference=application.reference, email=application.email, code=code, sent_at=now)
    return started()


def confirm(
    session: Session, reference: str, request: VerificationConfirm, *, now: datetime
) -> ResumeGranted | VerificationRefused:
    """Check the code typed in the chat `request.sender_id` for the application `reference`.

    Returns:
        `ResumeGranted` (the chat is now linked), or `VerificationRefused`: with
        `locked_until` set when this failure locked resuming.

    Raises:
        ResumeLocked: Resuming this application was already locked.
    """
    application = _find(session, reference)
    if application is None:
        return confirm_unknown(session, reference, now=now)
    return confirm_for(session, application, request, now=now)


def confirm_for(
    session: Session,
    application: MortgageApplication,
    request: VerificationConfirm,
    *,
    now: datetime,
) -> ResumeGranted | VerificationRefused:
    """`confirm` for a loaded application: one step of a unit of work."""
    _hold(session, application)
    _ensure_unlocked(application, now)
    code = _latest_code(session, application, request.sender_id)
    matches = hmac.compare_digest(
        code_digest(request.code), code.code_digest if code else _NO_DIGEST
    )
    if code is None or not matches:
        return _count_failure(application, "code", now, WRONG_CODE)
    if code.expires_at <= now:
        return _count_failure(application, "code", now, EXPIRED_CODE)
    code.used_at = now
    application.failed_verifications = 0
    application.resume_locked_until = None
    applications.link_chat(application, request.sender_id, applications.LINKED_BY_VERIFICATION)
    applications.append_entry(
        application,
        ApplicationEventKind.RESUMED,
        touchpoint=Touchpoint.WEB_CHAT,
        actor_kind=ActorKind.CUSTOMER,
        detail={"verified_by": "email_code"},
    )
    session.flush()
    return ResumeGranted(application=applications.record_of(application))


def new_code() -> str:
    """A random code of `CODE_DIGITS` digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(code: str) -> str:
    """The SHA-256 (hex) of a code as the customer may type it ("123 456", full-width)."""
    typed = "".join(unicodedata.normalize("NFKC", code).split())
    return hashlib.sha256(typed.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    """An e-mail compared as people mean it: Unicode NFKC, no surrounding spaces, any case."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def _same_email(typed: str, on_file: str) -> bool:
    return hmac.compare_digest(
        normalize_email(typed).encode("utf-8"), normalize_email(on_file).encode("utf-8")
    )


def _find(session: Session, reference: str) -> MortgageApplication | None:
    try:
        return applications.load(session, reference)
    except applications.ApplicationNotFoundError:
        return None


def _hold(session: Session, application: MortgageApplication) -> None:
    """Lock the application's row until the unit ends, and re-read its count of failures.

    Attempts on one application then take turns (PostgreSQL; SQLite's write lock does it
    already): parallel guesses cannot each read the same count and slip past the lockout,
    and one code cannot be used twice.
    """
    session.refresh(
        application,
        attribute_names=("failed_verifications", "resume_locked_until"),
        with_for_update=True,
    )


def _ensure_unlocked(counted: MortgageApplication | ResumeDecoy, now: datetime) -> None:
    """Refuse while locked; a lock that has run out starts a fresh count of failures."""
    locked_until = counted.resume_locked_until
    if locked_until is None:
        return
    if locked_until > now:
        raise ResumeLocked(locked_until)
    counted.resume_locked_until = None
    counted.failed_verifications = 0


def _decoy(session: Session, reference: str) -> ResumeDecoy:
    """The failures counted on a reference no application has (row locked, made if new)."""
    key = (applications.normalize_reference(reference) or reference)[:16]
    decoy = session.get(ResumeDecoy, key, with_for_update=True)
    if decoy is not None:
        return decoy
    try:
        # A savepoint: a first guess at the same moment may insert it first.
        with session.begin_nested():
            decoy = ResumeDecoy(reference=key, failed_verifications=0)
            session.add(decoy)
    except IntegrityError:
        decoy = session.get(ResumeDecoy, key, with_for_update=True, populate_existing=True)
        if decoy is None:
            raise
    return decoy


def _count_decoy_failure(decoy: ResumeDecoy, now: datetime, error: str) -> VerificationRefused:
    """`_count_failure` for a reference no application has (no timeline to write)."""
    decoy.failed_verifications += 1
    failures = decoy.failed_verifications
    if failures < MAX_FAILED_ATTEMPTS:
        return VerificationRefused(error=error, attempts_left=MAX_FAILED_ATTEMPTS - failures)
    decoy.resume_locked_until = now + LOCKOUT
    return ResumeLocked(decoy.resume_locked_until).refusal()


def _latest_code(
    session: Session, application: MortgageApplication, sender_id: str
) -> ResumeCode | None:
    """The chat's newest unused code: a new code replaces the ones sent before it."""
    statement = (
        select(ResumeCode)
        .where(ResumeCode.application_id == application.id, ResumeCode.sender_id == sender_id)
        .order_by(ResumeCode.created_at.desc(), ResumeCode.id.desc())
        .limit(1)
    )
    code = session.scalars(statement).first()
    return code if code is not None and code.used_at is None else None


def _count_failure(
    application: MortgageApplication, step: str, now: datetime, error: str = WRONG_CODE
) -> VerificationRefused:
    """Record one failed attempt, locking resuming at the limit; the refusal to answer."""
    application.failed_verifications += 1
    failures = application.failed_verifications
    # Never the typed e-mail or code: the timeline is read by every touchpoint.
    applications.append_entry(
        application,
        ApplicationEventKind.VERIFICATION_FAILED,
        touchpoint=Touchpoint.WEB_CHAT,
        actor_kind=ActorKind.CUSTOMER,
        detail={"step": step, "failures": failures},
    )
    if failures < MAX_FAILED_ATTEMPTS:
        return VerificationRefused(error=error, attempts_left=MAX_FAILED_ATTEMPTS - failures)
    locked_until = now + LOCKOUT
    application.resume_locked_until = locked_until
    applications.append_entry(
        application,
        ApplicationEventKind.RESUME_LOCKED,
        touchpoint=Touchpoint.WEB_CHAT,
        actor_kind=ActorKind.SYSTEM,
        detail={"until": locked_until.isoformat(), "failures": failures},
    )
    return ResumeLocked(locked_until).refusal()
