"""The branch's desk: the day's signing appointments, each case, the identity check, the
signing and a missed appointment.

Only branch staff (role `branch_staff`) use it, and only for their own branch:
- anyone else is refused outright (`PermissionDenied`: the branch desk is not theirs; it
  tells them nothing about any case);
- an appointment or a case of another branch is a `NotFound`, the same answer as for one that
  does not exist, so an id or reference tried at random tells nothing.

A step is taken only on a booked appointment, and only in order: the identity check, then the
signing (every checklist item accepted, and identity matched at this appointment; a mismatch
blocks the signing for good). A missed appointment can be recorded once it has started. Each
step appends its timeline entry (touchpoint `branch`, actor kind `branch_staff`, the staff
member's name), and the stage moves as `desk.services.application_stages` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from contract.applications import (
    ActorKind,
    ApplicationEventKind,
    ApplicationRecord,
    Touchpoint,
)
from contract.appointments import AppointmentRecord, AppointmentState, IdentityCheck
from contract.documents import DocumentRecord, DocumentState
from desk.services import applications, documents
from desk.services.agents import Actor
from desk.services.branches import branches
from desk.services.case_access import ensure_visible, is_branch_staff
from desk.services.errors import Conflict, NotFound, PermissionDenied
from desk.store.models import (
    ApplicationEvent,
    BranchAppointment,
    MortgageApplication,
)
from desk.store.types import utcnow

#: The appointments a branch's day shows: those that were kept (not moved or cancelled).
DAY_STATES: Final = (
    AppointmentState.BOOKED.value,
    AppointmentState.MISSED.value,
    AppointmentState.SIGNED.value,
)
_NOT_BRANCH_STAFF: Final = "only branch staff use the branch desk"


@dataclass(frozen=True)
class DayAppointment:
    """One appointment of a branch's day, with what the staff member needs to greet the
    customer: the application's reference, the applicant, the stage and the documents."""

    appointment: AppointmentRecord
    reference: str
    applicant_name: str
    stage: str
    documents_accepted: int
    documents_required: int


@dataclass(frozen=True)
class BranchCase:
    """A case as the branch sees it: the whole record, every upload (oldest first), and whether
    identity matched at its appointment (None: not checked yet, or no appointment)."""

    record: ApplicationRecord
    documents: tuple[DocumentRecord, ...]
    identity_matched: bool | None


def branch_of(actor: Actor) -> str:
    """The branch the actor works at.

    Raises:
        PermissionDenied: The actor is not branch staff (or has no branch).
    """
    if not is_branch_staff(actor) or actor.branch is None:
        raise PermissionDenied(_NOT_BRANCH_STAFF)
    return actor.branch


def branch_zone(branch: str) -> tzinfo:
    """The branch's time zone (UTC for a branch the content file no longer lists)."""
    found = branches().get(branch)
    return found.zone if found is not None else timezone.utc


def branch_today(actor: Actor, *, now: datetime | None = None) -> date:
    """Today at the actor's branch (its own time zone).

    Raises:
        PermissionDenied: The actor is not branch staff.
    """
    return (now or utcnow()).astimezone(branch_zone(branch_of(actor))).date()


def appointments_on(session: Session, actor: Actor, day: date) -> list[DayAppointment]:
    """The actor's branch's appointments starting on `day` (the branch's local date), earliest
    first: booked, missed and signed ones, never those moved or cancelled.

    Raises:
        PermissionDenied: The actor is not branch staff.
    """
    branch = branch_of(actor)
    zone = branch_zone(branch)
    # The local day's bounds in UTC: a day of 23 or 25 hours when the clocks change.
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(timezone.utc)
    statement = (
        select(BranchAppointment)
        .where(
            BranchAppointment.branch == branch,
            BranchAppointment.state.in_(DAY_STATES),
            BranchAppointment.starts_at >= start,
            BranchAppointment.starts_at < end,
        )
        .order_by(BranchAppointment.starts_at, BranchAppointment.desk, BranchAppointment.id)
        .options(
            selectinload(BranchAppointment.application).selectinload(MortgageApplication.checklist),
            selectinload(BranchAppointment.application).selectinload(MortgageApplication.documents),
        )
    )
    return [_day_appointment(found) for found in session.scalars(statement)]


def case_for_branch(session: Session, actor: Actor, reference: str) -> BranchCase:
    """The case `reference` with its documents, if it has an appointment at the actor's branch.

    Raises:
        PermissionDenied: The actor is not branch staff.
        NotFound: No such application, or none the actor's branch may see.
    """
    branch_of(actor)
    application = ensure_visible(actor, applications.load(session, reference))
    appointment = applications.current_appointment(application)
    return BranchCase(
        record=applications.record_of(application),
        documents=tuple(documents.documents_of(application)),
        identity_matched=None if appointment is None else identity_matched(appointment),
    )


def reference_of_appointment(session: Session, actor: Actor, appointment_id: int) -> str:
    """The reference of the application the appointment belongs to, if it is at the actor's
    branch.

    Raises:
        PermissionDenied: The actor is not branch staff.
        NotFound: No such appointment at the actor's branch.
    """
    return _staffed_appointment(session, actor, appointment_id).application.reference


def check_identity(
    session: Session,
    actor: Actor,
    appointment_id: int,
    check: IdentityCheck,
    *,
    now: datetime | None = None,
) -> ApplicationRecord:
    """Record what the customer showed and whether it matched the record.

    A mismatch is recorded as well (and blocks the signing at this appointment).

    Raises:
        PermissionDenied: The actor is not branch staff.
        NotFound: No such appointment at the actor's branch.
        Conflict: The appointment is not booked, or identity already failed at it.
    """
    appointment = _staffed_appointment(session, actor, appointment_id)
    _require_booked(appointment, "check identity")
    _require_no_mismatch(appointment)
    application = appointment.application
    detail: dict[str, Any] = {
        **_where(appointment),
        "document": check.document.value,
        "matches": check.matches,
    }
    if check.note:
        detail["note"] = check.note
    entry = _append(application, ApplicationEventKind.IDENTITY_CHECKED, actor, detail)
    appointment.identity_checked_at = now or entry.occurred_at
    appointment.identity_checked_by = actor.display_name
    appointment.identity_document = check.document.value
    return applications.record_of(application)


def record_signing(
    session: Session, actor: Actor, appointment_id: int, *, now: datetime | None = None
) -> ApplicationRecord:
    """Record the signing: the appointment is signed, and the application too.

    Raises:
        PermissionDenied: The actor is not branch staff.
        NotFound: No such appointment at the actor's branch.
        Conflict: Not booked; identity not checked (or not matched) at this appointment; a
            checklist item not accepted (named); or the stage does not allow it.
    """
    appointment = _staffed_appointment(session, actor, appointment_id)
    _require_booked(appointment, "record the signing")
    _require_no_mismatch(appointment)
    if appointment.identity_checked_at is None:
        raise Conflict("check identity first: the customer's identity was not checked yet")
    application = appointment.application
    _require_documents_accepted(application)
    entry = _append(application, ApplicationEventKind.SIGNED, actor, _where(appointment))
    moment = now or entry.occurred_at
    _close(
        session,
        appointment,
        AppointmentState.SIGNED,
        "record the signing",
        signed_at=moment,
        signed_by=actor.display_name,
        closed_at=moment,
    )
    return applications.record_of(application)


def record_missed(
    session: Session, actor: Actor, appointment_id: int, *, now: datetime | None = None
) -> ApplicationRecord:
    """Record that the customer did not come: the application is ready to sign again, and the
    customer is offered a new slot when they come back.

    Raises:
        PermissionDenied: The actor is not branch staff.
        NotFound: No such appointment at the actor's branch.
        Conflict: Not booked, or it has not started yet.
    """
    moment = now or utcnow()
    appointment = _staffed_appointment(session, actor, appointment_id)
    _require_booked(appointment, "mark it missed")
    if moment < appointment.starts_at:
        raise Conflict(
            f"the appointment starts at {_label(appointment)}: it can be marked missed only"
            " once it has started"
        )
    detail = {**_where(appointment), "starts_at": appointment.starts_at.isoformat()}
    _append(appointment.application, ApplicationEventKind.APPOINTMENT_MISSED, actor, detail)
    _close(session, appointment, AppointmentState.MISSED, "mark it missed", closed_at=moment)
    return applications.record_of(appointment.application)


def identity_matched(appointment: BranchAppointment) -> bool | None:
    """Whether identity matched at this appointment: None before any check, False once any
    check failed, True otherwise."""
    results = [
        bool(event.detail.get("matches"))
        for event in appointment.application.events
        if _is_check_of(event.kind, event.detail, appointment)
    ]
    if not results:
        return None
    return all(results)


# --- Helpers ------------------------------------------------------------------------------------


def _staffed_appointment(session: Session, actor: Actor, appointment_id: int) -> BranchAppointment:
    branch = branch_of(actor)
    appointment = session.get(BranchAppointment, appointment_id)
    if appointment is None or appointment.branch != branch:
        raise NotFound(f"no appointment {appointment_id} at your branch")
    return appointment


def _require_booked(appointment: BranchAppointment, doing: str) -> None:
    if appointment.state != AppointmentState.BOOKED.value:
        raise Conflict(f"cannot {doing}: the appointment is {appointment.state}, not booked")


def _close(
    session: Session,
    appointment: BranchAppointment,
    state: AppointmentState,
    doing: str,
    **values: Any,
) -> None:
    """Move a booked appointment to `state` in one conditional UPDATE: of two staff members
    acting on it at once, only one wins; the other's unit of work fails whole (a Conflict)."""
    statement = (
        update(BranchAppointment)
        .where(
            BranchAppointment.id == appointment.id,
            BranchAppointment.state == AppointmentState.BOOKED.value,
        )
        .values(state=state.value, **values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        raise Conflict(f"cannot {doing}: the appointment is no longer booked")
    session.refresh(appointment)


def _require_no_mismatch(appointment: BranchAppointment) -> None:
    if identity_matched(appointment) is False:
        raise Conflict(
            "identity did not match the record at this appointment: the signing cannot go ahead"
        )


def _require_documents_accepted(application: MortgageApplication) -> None:
    missing = [
        f"{item.title} ({item.state})"
        for item in applications.checklist_of(application)
        if item.state != DocumentState.ACCEPTED.value
    ]
    if missing:
        raise Conflict("not every document is accepted: " + ", ".join(missing))


def _append(
    application: MortgageApplication,
    kind: ApplicationEventKind,
    actor: Actor,
    detail: Mapping[str, Any],
) -> ApplicationEvent:
    return applications.append_entry(
        application,
        kind,
        touchpoint=Touchpoint.BRANCH,
        actor_kind=ActorKind.BRANCH_STAFF,
        actor=actor.display_name,
        detail=detail,
    )


def _where(appointment: BranchAppointment) -> dict[str, Any]:
    """What ties a timeline entry to its appointment."""
    return {"appointment_id": appointment.id, "branch": appointment.branch}


def _is_check_of(kind: str, detail: Mapping[str, Any], appointment: BranchAppointment) -> bool:
    return (
        kind == ApplicationEventKind.IDENTITY_CHECKED.value
        and detail.get("appointment_id") == appointment.id
    )


def _label(appointment: BranchAppointment) -> str:
    found = branches().get(appointment.branch)
    return found.label(appointment.starts_at) if found else appointment.starts_at.isoformat()


def _day_appointment(appointment: BranchAppointment) -> DayAppointment:
    application = appointment.application
    checklist = applications.checklist_of(application)
    return DayAppointment(
        appointment=applications.appointment_record(appointment),
        reference=application.reference,
        applicant_name=application.applicant_name,
        stage=application.stage,
        documents_accepted=sum(item.state == DocumentState.ACCEPTED.value for item in checklist),
        documents_required=len(checklist),
    )
