"""Branch appointments: book, move and cancel an application's signing, then publish.

Each is one unit of work through `change_application`, so every timeline entry it appends is
published (`application.event_recorded`): the advisor's console and the branch's page refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from contract.applications import ApplicationRecord
from contract.appointments import BookAppointment
from desk.services import appointments
from desk.services.appointments import Booker
from desk.store.models import MortgageApplication
from desk.store.types import utcnow
from desk.workflows.applications import change_application
from desk.workflows.context import Desk


async def book_appointment(
    desk: Desk, reference: str, booking: BookAppointment, by: Booker
) -> ApplicationRecord:
    """Book the application `reference` into a slot; the record as it is now.

    Raises:
        ApplicationNotFoundError, NotFound (branch), InvalidInput (not a future slot),
        Conflict (not ready to sign, or the slot was just taken): nothing is written.
    """
    return await _change_appointment(desk, reference, by, appointments.book, booking)


async def reschedule_appointment(
    desk: Desk, reference: str, booking: BookAppointment, by: Booker
) -> ApplicationRecord:
    """Move the booked appointment of `reference` to another slot; the record as it is now.

    Raises:
        As `book_appointment`; a full new slot is a Conflict and the old booking stays.
    """
    return await _change_appointment(desk, reference, by, appointments.reschedule, booking)


async def cancel_appointment(desk: Desk, reference: str, by: Booker) -> ApplicationRecord:
    """Cancel the booked appointment of `reference`; it is ready to sign again.

    Raises:
        ApplicationNotFoundError; Conflict when nothing is booked.
    """
    return await _change_appointment(desk, reference, by, appointments.cancel)


async def _change_appointment(
    desk: Desk,
    reference: str,
    by: Booker,
    change: Callable[..., Any],
    *arguments: BookAppointment,
) -> ApplicationRecord:
    """Run one of the appointment service's changes as `by`, now, in one unit of work."""

    def step(session: Session, application: MortgageApplication) -> None:
        change(
            session,
            application,
            *arguments,
            touchpoint=by.touchpoint,
            actor_kind=by.actor_kind,
            actor=by.actor,
            now=utcnow(),
        )

    _, record = await change_application(desk, reference, step)
    return record
