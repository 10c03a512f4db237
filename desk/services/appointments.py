"""Signing appointments at a branch: the free slots, booking, moving and cancelling.

A branch's slots come from its opening hours (`desk.services.branches`); a slot is free while
fewer `booked` appointments start then than the branch has desks. Booking takes the lowest
free desk, and the partial unique index on (branch, starts_at, desk) is what keeps two
customers off the same desk: a booking that loses the race on one desk (an IntegrityError in
its savepoint) tries the next, and when none is left the slot was taken meanwhile (`Conflict`).
Each step appends its timeline entry (`applications.append_entry`, which checks the stage).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contract.applications import ActorKind, ApplicationEventKind, Touchpoint
from contract.appointments import (
    MAX_SLOT_DAYS,
    MAX_SLOT_LIMIT,
    AppointmentState,
    BookAppointment,
    BranchList,
    Slot,
)
from contract.appointments import Branch as BranchOut
from desk.services import applications
from desk.services.application_stages import stage_after
from desk.services.branches import Branch, branches
from desk.services.errors import Conflict, InvalidInput, NotFound
from desk.store.models import BranchAppointment, MortgageApplication

#: How far ahead a slot list may start: beyond it no branch plans its hours.
MAX_DAYS_AHEAD: Final = 366
SLOT_TAKEN: Final = "that slot was just taken; please choose another"
_BOOKED: Final = AppointmentState.BOOKED.value


@dataclass(frozen=True)
class Booker:
    """Who books, moves or cancels: the touchpoint, the kind of actor and their name."""

    touchpoint: Touchpoint
    actor_kind: ActorKind
    actor: str | None = None


def branch_of(key: str) -> Branch:
    """The branch `key`.

    Raises:
        NotFound: No branch has this key (the message echoes at most 64 characters).
    """
    branch = branches().get(key)
    if branch is None:
        raise NotFound(f"no branch {key[:64]!r}")
    return branch


def branch_out(branch: Branch) -> BranchOut:
    """A branch as the contract shows it."""
    return BranchOut(
        key=branch.key, name=branch.name, address=branch.address, timezone=branch.zone.key
    )


def branch_list() -> BranchList:
    """Every branch, in the file's order."""
    return BranchList(branches=tuple(branch_out(branch) for branch in branches().values()))


def today_at(branch: Branch, now: datetime) -> date:
    """The branch's local date at `now`."""
    return now.astimezone(branch.zone).date()


def free_slots(
    session: Session,
    branch_key: str,
    *,
    from_day: date,
    days: int,
    limit: int,
    now: datetime,
) -> list[Slot]:
    """The branch's free slots from its local day `from_day` on, for `days` days, earliest
    first, at most `limit`, none starting at or before `now`.

    Raises:
        NotFound: Unknown branch.
        InvalidInput: `days`, `limit` or `from_day` out of range (each problem named).
    """
    branch = branch_of(branch_key)
    _check_window(branch, from_day, days, limit, now)
    starts = [
        start
        for offset in range(days)
        for start in branch.slots_on(from_day + timedelta(days=offset))
        if start > now
    ]
    if not starts:
        return []
    booked = _booked_per_start(session, branch.key, starts[0], starts[-1])
    slots = []
    for start in starts:
        free = branch.desks - booked.get(start, 0)
        if free > 0:
            slots.append(_slot(branch, start, free))
            if len(slots) == limit:
                break
    return slots


def book(
    session: Session,
    application: MortgageApplication,
    booking: BookAppointment,
    *,
    touchpoint: Touchpoint,
    actor_kind: ActorKind,
    actor: str | None,
    now: datetime,
) -> BranchAppointment:
    """Book the application (ready to sign) into the slot; it becomes `appointment_booked`.

    Raises:
        NotFound: Unknown branch.
        InvalidInput: The start is not one of the branch's slots, or not in the future.
        Conflict: The application is not ready to sign, or the slot is full.
    """
    _hold(session, application)
    stage_after(application.stage, ApplicationEventKind.APPOINTMENT_BOOKED)
    branch, starts_at = _chosen_slot(booking, now)
    appointment = _take_desk(session, application, branch, starts_at, booked_by=actor, now=now)
    applications.append_entry(
        application,
        ApplicationEventKind.APPOINTMENT_BOOKED,
        touchpoint=touchpoint,
        actor_kind=actor_kind,
        actor=actor,
        detail=_where(branch, starts_at),
    )
    return appointment


def reschedule(
    session: Session,
    application: MortgageApplication,
    booking: BookAppointment,
    *,
    touchpoint: Touchpoint,
    actor_kind: ActorKind,
    actor: str | None,
    now: datetime,
) -> BranchAppointment:
    """Move the booked appointment to another slot: the old one becomes `rescheduled`, a new
    one is booked, one `appointment_rescheduled` entry records both.

    Run it in one unit of work: when the new slot is full the `Conflict` rolls the unit back,
    and the old booking stays.

    Raises:
        NotFound: Unknown branch.
        InvalidInput: Not a slot, not in the future, or the time already booked.
        Conflict: Nothing is booked, or the new slot is full.
    """
    _hold(session, application)
    stage_after(application.stage, ApplicationEventKind.APPOINTMENT_RESCHEDULED)
    current = _booked(application)
    branch, starts_at = _chosen_slot(booking, now)
    if (current.branch, current.starts_at) == (branch.key, starts_at):
        raise InvalidInput(["starts_at: the appointment is already booked at that time"])
    current.state = AppointmentState.RESCHEDULED.value
    current.closed_at = now
    # The old booking must release its row in the one-booking-per-application index first.
    session.flush()
    appointment = _take_desk(session, application, branch, starts_at, booked_by=actor, now=now)
    applications.append_entry(
        application,
        ApplicationEventKind.APPOINTMENT_RESCHEDULED,
        touchpoint=touchpoint,
        actor_kind=actor_kind,
        actor=actor,
        detail={"from": _where_booked(current), "to": _where(branch, starts_at)},
    )
    return appointment


def cancel(
    session: Session,
    application: MortgageApplication,
    *,
    touchpoint: Touchpoint,
    actor_kind: ActorKind,
    actor: str | None,
    now: datetime,
) -> BranchAppointment:
    """Cancel the booked appointment; the application is ready to sign again.

    Raises:
        Conflict: Nothing is booked.
    """
    _hold(session, application)
    stage_after(application.stage, ApplicationEventKind.APPOINTMENT_CANCELLED)
    current = _booked(application)
    current.state = AppointmentState.CANCELLED.value
    current.closed_at = now
    applications.append_entry(
        application,
        ApplicationEventKind.APPOINTMENT_CANCELLED,
        touchpoint=touchpoint,
        actor_kind=actor_kind,
        actor=actor,
        detail=_where_booked(current),
    )
    session.flush()
    return current


def _hold(session: Session, application: MortgageApplication) -> None:
    """Lock the application's row until the unit ends, and re-read its stage: two bookings
    of one application (a double click) take turns, and the second sees the first's stage."""
    session.refresh(application, attribute_names=("stage",), with_for_update=True)


def _check_window(branch: Branch, from_day: date, days: int, limit: int, now: datetime) -> None:
    problems = []
    if not 1 <= days <= MAX_SLOT_DAYS:
        problems.append(f"days: must be from 1 to {MAX_SLOT_DAYS}, not {days}")
    if not 1 <= limit <= MAX_SLOT_LIMIT:
        problems.append(f"limit: must be from 1 to {MAX_SLOT_LIMIT}, not {limit}")
    if (from_day - today_at(branch, now)).days > MAX_DAYS_AHEAD:
        problems.append(f"from: must be at most {MAX_DAYS_AHEAD} days ahead")
    if problems:
        raise InvalidInput(problems)


def _booked_per_start(
    session: Session, branch: str, first: datetime, last: datetime
) -> Mapping[datetime, int]:
    statement = (
        select(BranchAppointment.starts_at, func.count())
        .where(
            BranchAppointment.branch == branch,
            BranchAppointment.state == _BOOKED,
            BranchAppointment.starts_at.between(first, last),
        )
        .group_by(BranchAppointment.starts_at)
    )
    return {starts_at: count for starts_at, count in session.execute(statement)}


def _slot(branch: Branch, start: datetime, free: int) -> Slot:
    return Slot(
        branch=branch.key,
        starts_at=start,
        ends_at=start + branch.slot,
        label=branch.label(start),
        free_desks=free,
    )


def _chosen_slot(booking: BookAppointment, now: datetime) -> tuple[Branch, datetime]:
    """The branch and the start (UTC) the booking names, checked to be a future slot."""
    branch = branch_of(booking.branch)
    starts_at = booking.starts_at.astimezone(timezone.utc)
    if starts_at not in branch.slots_on(starts_at.astimezone(branch.zone).date()):
        raise InvalidInput(
            [f"starts_at: {starts_at.isoformat()} is not one of {branch.name}'s slots"]
        )
    if starts_at <= now:
        raise InvalidInput([f"starts_at: {branch.label(starts_at)} has already begun"])
    return branch, starts_at


def _take_desk(
    session: Session,
    application: MortgageApplication,
    branch: Branch,
    starts_at: datetime,
    *,
    booked_by: str | None,
    now: datetime,
) -> BranchAppointment:
    """Insert a booking on the lowest desk free at `starts_at`; the next desk when another
    booking took that one meanwhile.

    Raises:
        Conflict: Every desk of the slot is taken.
    """
    taken = _taken_desks(session, branch.key, starts_at)
    for desk in range(1, branch.desks + 1):
        if desk in taken:
            continue
        appointment = BranchAppointment(
            application_id=application.id,
            branch=branch.key,
            desk=desk,
            starts_at=starts_at,
            ends_at=starts_at + branch.slot,
            state=_BOOKED,
            booked_at=now,
            booked_by=booked_by,
        )
        try:
            # A savepoint: losing this desk undoes only this insert, not the unit of work.
            with session.begin_nested():
                session.add(appointment)
        except IntegrityError:
            continue
        application.appointments.append(appointment)
        return appointment
    raise Conflict(SLOT_TAKEN)


def _taken_desks(session: Session, branch: str, starts_at: datetime) -> set[int]:
    """The desks booked at `starts_at` as this unit sees them (a concurrent unit may be
    taking one right now: the unique index, not this read, has the last word)."""
    statement = select(BranchAppointment.desk).where(
        BranchAppointment.branch == branch,
        BranchAppointment.starts_at == starts_at,
        BranchAppointment.state == _BOOKED,
    )
    return set(session.scalars(statement))


def _booked(application: MortgageApplication) -> BranchAppointment:
    current = applications.current_appointment(application)
    if current is None or current.state != _BOOKED:
        raise Conflict("the application has no booked appointment")
    return current


def _where(branch: Branch, starts_at: datetime) -> dict[str, Any]:
    return {
        "branch": branch.key,
        "starts_at": starts_at.isoformat(),
        "label": branch.label(starts_at),
    }


def _where_booked(appointment: BranchAppointment) -> dict[str, Any]:
    branch = branches().get(appointment.branch)
    starts_at = appointment.starts_at
    return {
        "branch": appointment.branch,
        "starts_at": starts_at.isoformat(),
        "label": branch.label(starts_at) if branch else starts_at.isoformat(),
    }
