"""Mortgage applications: created by the web chat intake, shared with desk and branch.

The desk owns the record. Every touchpoint writes to the same application and appends to its
one timeline (`append_entry`: what, where, who, when), and the stage moves only as
`desk.services.application_stages` allows, so whoever picks the application up sees
everything that happened. Each function is a step of a unit of work (`Session`); what it
returns (`ApplicationRecord`, the contract's) stays readable after the session closes.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from contract.applications import (
    TERMINAL_STAGES,
    ActorKind,
    ApplicationEventKind,
    ApplicationEventRecord,
    ApplicationRecord,
    ApplicationStage,
    MortgageIntake,
    Touchpoint,
)
from contract.appointments import AppointmentRecord, AppointmentState
from contract.documents import ChecklistItem, DocumentState
from desk.services.application_stages import stage_after
from desk.services.branches import branches
from desk.services.errors import NotFound
from desk.store.models import (
    ApplicationChat,
    ApplicationDocument,
    ApplicationEvent,
    BranchAppointment,
    MortgageApplication,
)
from desk.store.types import utcnow

REFERENCE_PREFIX: Final = "MTG-"
REFERENCE_LENGTH: Final = 5
# Crockford's base32: no I, L, O or U, so a reference read out over the phone is unambiguous.
CROCKFORD_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PATTERN: Final = re.compile(rf"MTG-[{CROCKFORD_ALPHABET}]{{{REFERENCE_LENGTH}}}")
# 32**5 = 33.5 million references: a collision is rare, several in a row means a bug.
MAX_REFERENCE_ATTEMPTS: Final = 8

#: How a chat came to be linked to an application.
LINKED_AT_ORIGIN: Final = "origin"
LINKED_BY_VERIFICATION: Final = "verified"
#: Appointments that are no longer the application's (a later one replaced them).
_SUPERSEDED_APPOINTMENTS: Final = frozenset(
    {AppointmentState.RESCHEDULED.value, AppointmentState.CANCELLED.value}
)

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
    chat_started_at: datetime | None = None,
) -> ApplicationRecord:
    """Store a new application with a fresh reference; its timeline starts with the chat and
    the completed form, and the chat it came from is linked to it.

    Raises:
        ReferenceExhaustedError: If every generated reference was already taken.
    """
    for _ in range(MAX_REFERENCE_ATTEMPTS):
        application = _new_application(intake, origin_channel, origin_sender_id, chat_started_at)
        try:
            # A savepoint, so a clash on the reference undoes only this insert.
            with session.begin_nested():
                session.add(application)
        except IntegrityError:
            if _reference_exists(session, application.reference):
                continue
            raise
        return record_of(application)
    raise ReferenceExhaustedError(
        f"No free application reference after {MAX_REFERENCE_ATTEMPTS} attempts"
    )


def get_application(session: Session, reference: str) -> ApplicationRecord | None:
    """Look an application up by reference (as typed); None if there is none."""
    application = _load(session, reference)
    return None if application is None else record_of(application)


def load(session: Session, reference: str) -> MortgageApplication:
    """The application with this reference (as typed), for a step that changes it.

    Raises:
        ApplicationNotFoundError: If no application has this reference.
    """
    application = _load(session, reference)
    if application is None:
        raise ApplicationNotFoundError(f"No mortgage application with reference {reference!r}")
    return application


def append_entry(
    application: MortgageApplication,
    kind: ApplicationEventKind,
    *,
    touchpoint: Touchpoint,
    actor_kind: ActorKind,
    actor: str | None = None,
    detail: Mapping[str, Any] | None = None,
    stage: ApplicationStage | None = None,
) -> ApplicationEvent:
    """Append one timeline entry and move the stage as the entry's kind allows; the entry
    records the stage after it.

    `stage` overrides where the kind alone would take the application (a step that knows
    more, e.g. "every document is now accepted"); it is still checked against the table.

    Raises:
        Conflict: The kind is not allowed at the application's stage; nothing is appended.
        ValueError: The detail is not JSON-serialisable.
    """
    moved = stage_after(application.stage, kind)  # refuses a kind not allowed here
    after = (stage or moved).value
    entry = ApplicationEvent(
        occurred_at=utcnow(),
        touchpoint=touchpoint.value,
        kind=kind.value,
        actor_kind=actor_kind.value,
        actor=actor,
        detail=_json_object(detail),
        stage=after,
    )
    application.events.append(entry)
    application.stage = after
    # The timeline changed even if no column of the application did.
    application.updated_at = entry.occurred_at
    return entry


def record_application_event(
    session: Session,
    reference: str,
    *,
    touchpoint: Touchpoint | str,
    kind: ApplicationEventKind | str,
    actor_kind: ActorKind | str = ActorKind.BOT,
    actor: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> ApplicationRecord:
    """Append an entry to an application's timeline, moving its stage on if the kind does.

    Raises:
        ApplicationNotFoundError: If no application has this reference.
        Conflict: The kind is not allowed at the application's stage.
        ValueError: If the touchpoint, kind or actor kind is unknown, or detail is not
            JSON-serialisable.
    """
    touchpoint_value = Touchpoint(_member_value(Touchpoint, touchpoint, "touchpoint"))
    kind_value = ApplicationEventKind(_member_value(ApplicationEventKind, kind, "kind"))
    actor_kind_value = ActorKind(_member_value(ActorKind, actor_kind, "actor kind"))
    _json_object(detail)
    application = load(session, reference)
    append_entry(
        application,
        kind_value,
        touchpoint=touchpoint_value,
        actor_kind=actor_kind_value,
        actor=actor,
        detail=detail,
    )
    session.flush()
    return record_of(application)


def idle_references(session: Session, *, untouched_since: datetime) -> list[str]:
    """The applications still under way that nothing happened to since `untouched_since`,
    oldest first (each timeline entry touches its application)."""
    open_stages = [stage.value for stage in ApplicationStage if stage not in TERMINAL_STAGES]
    statement = (
        select(MortgageApplication.reference)
        .where(
            MortgageApplication.stage.in_(open_stages),
            MortgageApplication.updated_at < untouched_since,
        )
        .order_by(MortgageApplication.updated_at)
    )
    return list(session.scalars(statement))


def link_chat(application: MortgageApplication, sender_id: str, how: str) -> None:
    """Let the chat `sender_id` act on the application (upload its documents); idempotent."""
    if any(chat.sender_id == sender_id for chat in application.chats):
        return
    application.chats.append(ApplicationChat(sender_id=sender_id, how=how, linked_at=utcnow()))


def is_linked(application: MortgageApplication, sender_id: str) -> bool:
    """Whether the chat `sender_id` may act on the application."""
    return any(chat.sender_id == sender_id for chat in application.chats)


def current_appointment(application: MortgageApplication) -> BranchAppointment | None:
    """The latest appointment that was not replaced or cancelled (booked, missed or signed)."""
    kept = [a for a in application.appointments if a.state not in _SUPERSEDED_APPOINTMENTS]
    return max(kept, key=lambda a: (a.booked_at, a.id), default=None)


def latest_documents(application: MortgageApplication) -> dict[str, ApplicationDocument]:
    """Each checklist item's latest upload, by item key."""
    latest: dict[str, ApplicationDocument] = {}
    for document in application.documents:  # oldest first
        latest[document.item_key] = document
    return latest


def checklist_of(application: MortgageApplication) -> tuple[ChecklistItem, ...]:
    """The checklist with each item's state, in asking order."""
    latest = latest_documents(application)
    items = []
    for requirement in application.checklist:
        document = latest.get(requirement.key)
        items.append(
            ChecklistItem(
                key=requirement.key,
                title=requirement.title,
                ask=requirement.ask,
                requested_by=requirement.requested_by,
                state=DocumentState.MISSING.value if document is None else document.state,
                document_id=None if document is None else document.id,
                file_name=None if document is None else document.file_name,
                rejection_reason=None if document is None else document.rejection_reason,
                updated_at=None
                if document is None
                else (document.reviewed_at or document.uploaded_at),
            )
        )
    return tuple(items)


def appointment_record(appointment: BranchAppointment) -> AppointmentRecord:
    """An appointment as the contract shows it, named and labelled in the branch's time."""
    branch = branches().get(appointment.branch)
    return AppointmentRecord(
        id=appointment.id,
        branch=appointment.branch,
        branch_name=branch.name if branch else appointment.branch,
        branch_address=branch.address if branch else "",
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        label=branch.label(appointment.starts_at) if branch else appointment.starts_at.isoformat(),
        state=appointment.state,
        identity_checked_at=appointment.identity_checked_at,
        identity_checked_by=appointment.identity_checked_by,
        signed_at=appointment.signed_at,
    )


def _new_application(
    intake: MortgageIntake,
    origin_channel: str,
    origin_sender_id: str,
    chat_started_at: datetime | None,
) -> MortgageApplication:
    now = utcnow()
    application = MortgageApplication(
        reference=generate_reference(),
        stage=ApplicationStage.INTAKE.value,
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
        failed_verifications=0,
        created_at=now,
        updated_at=now,
    )
    started = min(chat_started_at, now) if chat_started_at is not None else now
    for kind, at in (
        (ApplicationEventKind.CHAT_STARTED, started),
        (ApplicationEventKind.FORM_COMPLETED, now),
    ):
        application.events.append(
            ApplicationEvent(
                occurred_at=at,
                touchpoint=Touchpoint.WEB_CHAT.value,
                kind=kind.value,
                actor_kind=ActorKind.CUSTOMER.value,
                actor=None,
                detail={"origin_channel": origin_channel},
                stage=ApplicationStage.INTAKE.value,
            )
        )
    link_chat(application, origin_sender_id, LINKED_AT_ORIGIN)
    return application


def _load(session: Session, reference: str) -> MortgageApplication | None:
    canonical = normalize_reference(reference)
    if canonical is None:
        return None
    statement = (
        select(MortgageApplication)
        .where(MortgageApplication.reference == canonical)
        .options(
            selectinload(MortgageApplication.events),
            selectinload(MortgageApplication.checklist),
            selectinload(MortgageApplication.documents),
            selectinload(MortgageApplication.appointments),
            selectinload(MortgageApplication.chats),
        )
    )
    application: MortgageApplication | None = session.execute(statement).scalar_one_or_none()
    return application


def _reference_exists(session: Session, reference: str) -> bool:
    statement = select(MortgageApplication.id).where(MortgageApplication.reference == reference)
    return session.execute(statement).first() is not None


def record_of(application: MortgageApplication) -> ApplicationRecord:
    """The application as the contract shows it: stage, checklist, appointment, timeline."""
    appointment = current_appointment(application)
    return ApplicationRecord(
        reference=application.reference,
        stage=application.stage,
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
        checklist=checklist_of(application),
        appointment=None if appointment is None else appointment_record(appointment),
        events=tuple(
            ApplicationEventRecord(
                occurred_at=event.occurred_at,
                touchpoint=event.touchpoint,
                kind=event.kind,
                actor_kind=event.actor_kind,
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
