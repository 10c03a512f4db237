"""Mortgage applications: created by the web chat intake, shared with desk and branch.

The desk owns the record. Every touchpoint writes to the same application and appends to its
one history (`ApplicationEvent`), so whoever picks the application up sees everything that
happened. Each function is a step of a unit of work (`Session`); what it returns
(`ApplicationRecord`, the contract's) stays readable after the session closes.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from contract.applications import (
    ApplicationEventKind,
    ApplicationEventRecord,
    ApplicationRecord,
    ApplicationStatus,
    MortgageIntake,
    Touchpoint,
)
from desk.services.errors import NotFound
from desk.store.models import ApplicationEvent, MortgageApplication
from desk.store.types import utcnow

REFERENCE_PREFIX: Final = "MTG-"
REFERENCE_LENGTH: Final = 5
# Crockford's base32: no I, L, O or U, so a reference read out over the phone is unambiguous.
CROCKFORD_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PATTERN: Final = re.compile(rf"MTG-[{CROCKFORD_ALPHABET}]{{{REFERENCE_LENGTH}}}")
# 32**5 = 33.5 million references: a collision is rare, several in a row means a bug.
MAX_REFERENCE_ATTEMPTS: Final = 8

# Events that move the application on; any other kind leaves the status as it is.
STATUS_AFTER_EVENT: Final[Mapping[str, ApplicationStatus]] = {
    ApplicationEventKind.ADVICE_REQUESTED.value: ApplicationStatus.ADVICE_REQUESTED,
    ApplicationEventKind.DOCUMENTS_REQUESTED.value: ApplicationStatus.DOCUMENTS_PENDING,
    ApplicationEventKind.SIGNATURE_REQUESTED.value: ApplicationStatus.AWAITING_SIGNATURE,
    ApplicationEventKind.SIGNED.value: ApplicationStatus.SIGNED,
    ApplicationEventKind.WITHDRAWN.value: ApplicationStatus.WITHDRAWN,
}

# What customers mistype in a Crockford reference, and what they meant.
_CROCKFORD_CONFUSABLES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
_TYPED_REFERENCE: Final = re.compile(r"MTG[\s\-_]{0,3}([0-9A-Z]{5})", re.ASCII)


class ApplicationNotFoundError(NotFound, LookupError):
    """Raised when no application has the given reference (a 404 at the API)."""


class ReferenceExhaustedError(RuntimeError):
    """Raised when no free reference was found in `MAX_REFERENCE_ATTEMPTS` tries."""


def generate_reference() -> str:
    """Return a random reference like "MTG-7K3Q9" (not checked for uniqueness)."""
    code = "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return REFERENCE_PREFIX + code


def normalize_reference(text: str) -> str | None:
    """Return the canonical reference in what the customer typed, or None.

    Accepts "mtg-7k3q9", "MTG 7K3Q9" or "MTG7K3Q9", and reads O as 0 and I or L as 1.
    """
    typed = _TYPED_REFERENCE.search(unicodedata.normalize("NFKC", text or "").upper())
    if typed is None:
        return None
    reference = REFERENCE_PREFIX + typed.group(1).translate(_CROCKFORD_CONFUSABLES)
    return reference if REFERENCE_PATTERN.fullmatch(reference) else None


def create_application(
    session: Session,
    intake: MortgageIntake,
    *,
    origin_channel: str,
    origin_sender_id: str,
) -> ApplicationRecord:
    """Store a new application with a fresh reference and its "created" event.

    Raises:
        ReferenceExhaustedError: If every generated reference was already taken.
    """
    for _ in range(MAX_REFERENCE_ATTEMPTS):
        application = _new_application(intake, origin_channel, origin_sender_id)
        try:
            # A savepoint, so a clash on the reference undoes only this insert.
            with session.begin_nested():
                session.add(application)
        except IntegrityError:
            if _reference_exists(session, application.reference):
                continue
            raise
        return _record(application)
    raise ReferenceExhaustedError(
        f"No free application reference after {MAX_REFERENCE_ATTEMPTS} attempts"
    )


def get_application(session: Session, reference: str) -> ApplicationRecord | None:
    """Look an application up by reference (as typed); None if there is none."""
    application = _load(session, reference)
    return None if application is None else _record(application)


def record_application_event(
    session: Session,
    reference: str,
    *,
    touchpoint: Touchpoint | str,
    kind: ApplicationEventKind | str,
    actor: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> ApplicationRecord:
    """Append an event to an application's history, moving its status on if the kind does.

    Raises:
        ApplicationNotFoundError: If no application has this reference.
        ValueError: If the touchpoint or kind is unknown, or detail is not JSON-serialisable.
    """
    touchpoint_value = _member_value(Touchpoint, touchpoint, "touchpoint")
    kind_value = _member_value(ApplicationEventKind, kind, "kind")
    detail_value = _json_object(detail)
    application = _load(session, reference)
    if application is None:
        raise ApplicationNotFoundError(f"No mortgage application with reference {reference!r}")
    application.events.append(
        ApplicationEvent(
            occurred_at=utcnow(),
            touchpoint=touchpoint_value,
            kind=kind_value,
            actor=actor,
            detail=detail_value,
        )
    )
    new_status = STATUS_AFTER_EVENT.get(kind_value)
    if new_status is not None:
        application.status = new_status.value
    # The history changed even if no column of the application did.
    application.updated_at = utcnow()
    session.flush()
    return _record(application)


def _new_application(
    intake: MortgageIntake, origin_channel: str, origin_sender_id: str
) -> MortgageApplication:
    now = utcnow()
    application = MortgageApplication(
        reference=generate_reference(),
        status=ApplicationStatus.INTAKE_COMPLETE.value,
        applicant_name=intake.applicant_name,
        email=intake.email,
        property_value=intake.property_value,
        deposit_amount=intake.deposit_amount,
        loan_amount=intake.loan_amount,
        loan_to_value=intake.loan_to_value,
        term_years=intake.term_years,
        annual_income=intake.annual_income,
        employment_type=intake.employment_type,
        currency=intake.currency,
        origin_channel=origin_channel,
        origin_sender_id=origin_sender_id,
        created_at=now,
        updated_at=now,
    )
    application.events.append(
        ApplicationEvent(
            occurred_at=now,
            touchpoint=Touchpoint.WEB_CHAT.value,
            kind=ApplicationEventKind.CREATED.value,
            actor=None,
            detail={"origin_channel": origin_channel},
        )
    )
    return application


def _load(session: Session, reference: str) -> MortgageApplication | None:
    canonical = normalize_reference(reference)
    if canonical is None:
        return None
    statement = (
        select(MortgageApplication)
        .where(MortgageApplication.reference == canonical)
        .options(selectinload(MortgageApplication.events))
    )
    application: MortgageApplication | None = session.execute(statement).scalar_one_or_none()
    return application


def _reference_exists(session: Session, reference: str) -> bool:
    statement = select(MortgageApplication.id).where(MortgageApplication.reference == reference)
    return session.execute(statement).first() is not None


def _record(application: MortgageApplication) -> ApplicationRecord:
    return ApplicationRecord(
        reference=application.reference,
        status=application.status,
        applicant_name=application.applicant_name,
        email=application.email,
        property_value=application.property_value,
        deposit_amount=application.deposit_amount,
        loan_amount=application.loan_amount,
        loan_to_value=application.loan_to_value,
        term_years=application.term_years,
        annual_income=application.annual_income,
        employment_type=application.employment_type,
        currency=application.currency,
        origin_channel=application.origin_channel,
        origin_sender_id=application.origin_sender_id,
        created_at=application.created_at,
        updated_at=application.updated_at,
        events=tuple(
            ApplicationEventRecord(
                occurred_at=event.occurred_at,
                touchpoint=event.touchpoint,
                kind=event.kind,
                actor=event.actor,
                detail=dict(event.detail or {}),
            )
            for event in application.events
        ),
    )


def _member_value(enum_type: type[Enum], value: object, what: str) -> str:
    try:
        return str(enum_type(value).value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValueError(f"Unknown {what} {value!r}; expected one of: {allowed}") from None


def _json_object(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    value = dict(detail or {})
    try:
        json.dumps(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Event detail must be JSON-serialisable: {error}") from error
    return value
