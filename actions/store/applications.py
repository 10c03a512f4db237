"""Mortgage applications: created by the web chat intake, shared with desk and branch.

Every touchpoint writes to the same record and appends to its one history
(`ApplicationEvent`), so whoever picks the application up sees everything that happened.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from actions.mortgage_intake import loan_to_value
from actions.store.database import utcnow
from actions.store.models import (
    ApplicationEvent,
    ApplicationEventKind,
    ApplicationStatus,
    MortgageApplication,
    Touchpoint,
)

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


class ApplicationNotFoundError(LookupError):
    """Raised when no application has the given reference."""


class ReferenceExhaustedError(RuntimeError):
    """Raised when no free reference was found in `MAX_REFERENCE_ATTEMPTS` tries."""


@dataclass(frozen=True)
class MortgageIntake:
    """The values of a completed mortgage intake form, already validated."""

    applicant_name: str
    email: str
    property_value: Decimal
    deposit_amount: Decimal
    loan_amount: Decimal
    term_years: int
    annual_income: Decimal
    employment_type: str
    currency: str = "GBP"

    def __post_init__(self) -> None:
        """Refuse floats for money and a loan that does not fit the property."""
        for name in ("property_value", "deposit_amount", "loan_amount", "annual_income"):
            if not isinstance(getattr(self, name), Decimal):
                raise TypeError(f"MortgageIntake.{name} must be a Decimal")
        if not Decimal(0) < self.loan_amount < self.property_value:
            raise ValueError("loan_amount must be positive and less than property_value")

    @property
    def loan_to_value(self) -> Decimal:
        """Loan ÷ property value, to four places."""
        return loan_to_value(self.loan_amount, self.property_value)


@dataclass(frozen=True)
class ApplicationEventSnapshot:
    """One entry of an application's history."""

    occurred_at: datetime
    touchpoint: str
    kind: str
    actor: str | None
    detail: Mapping[str, Any]

    def to_evidence(self) -> dict[str, Any]:
        """Return the event as JSON-serialisable data."""
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "touchpoint": self.touchpoint,
            "kind": self.kind,
            "actor": self.actor,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class ApplicationSnapshot:
    """A mortgage application as read in one unit of work."""

    reference: str
    status: str
    applicant_name: str
    email: str
    property_value: Decimal
    deposit_amount: Decimal
    loan_amount: Decimal
    loan_to_value: Decimal
    term_years: int
    annual_income: Decimal
    employment_type: str
    currency: str
    origin_channel: str
    origin_sender_id: str
    created_at: datetime
    updated_at: datetime
    events: tuple[ApplicationEventSnapshot, ...]

    def to_evidence(self) -> dict[str, Any]:
        """Return the application as JSON-serialisable data; money as numbers."""
        return {
            "reference": self.reference,
            "status": self.status,
            "applicant_name": self.applicant_name,
            "email": self.email,
            "currency": self.currency,
            "property_value": _json_number(self.property_value),
            "deposit_amount": _json_number(self.deposit_amount),
            "loan_amount": _json_number(self.loan_amount),
            "loan_to_value": _json_number(self.loan_to_value),
            "term_years": self.term_years,
            "annual_income": _json_number(self.annual_income),
            "employment_type": self.employment_type,
            "origin_channel": self.origin_channel,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "history": [event.to_evidence() for event in self.events],
        }


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
) -> ApplicationSnapshot:
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
        return _snapshot(application)
    raise ReferenceExhaustedError(
        f"No free application reference after {MAX_REFERENCE_ATTEMPTS} attempts"
    )


def get_application(session: Session, reference: str) -> ApplicationSnapshot | None:
    """Look an application up by reference (as typed); None if there is none."""
    application = _load(session, reference)
    return None if application is None else _snapshot(application)


def record_application_event(
    session: Session,
    reference: str,
    *,
    touchpoint: Touchpoint | str,
    kind: ApplicationEventKind | str,
    actor: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> ApplicationSnapshot:
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
    return _snapshot(application)


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


def _snapshot(application: MortgageApplication) -> ApplicationSnapshot:
    return ApplicationSnapshot(
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
            ApplicationEventSnapshot(
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


def _json_number(amount: Decimal) -> int | float:
    """Whole amounts as int, others as float: exact enough for Numeric(12, 2) display."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)
