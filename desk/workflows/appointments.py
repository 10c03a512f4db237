"""Branch appointments: book, move and cancel an application's signing, then publish.

Each is one unit of work through `change_application`, so every timeline entry it appends is
published (`application.event_recorded`): the advisor's console and the branch's page refresh.
"""

from __future__ import annotations

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

    def step(session: Session, application: MortgageApplication) -> None:
        appointments.book(
            session,
            application,
            booking,
            touchpoint=by.touchpoint,
            actor_kind=by.actor_kind,
            actor=by.actor,
            now=utcnow(),
        )

    _, record = await change_application(desk, reference, step)
    return record


async def reschedule_appointment(
    desk: Desk, reference: str, booking: BookAppointment, by: Booker
) -> ApplicationRecord:
    """Move the booked appointment of `reference` to another slot; the record as it is now.

    Raises:
        As `book_appointment`; a full new slot is a Conflict and the old booking stays.
    """

    def step(session: Session, application: MortgageApplication) -> None:
        appointments.reschedule(
            session,
            application,
            booking,
            touchpoint=by.touchpoint,
            actor_kind=by.actor_kind,
            actor=by.actor,
            now=utcnow(),
        )

    _, record = await change_application(desk, reference, step)
    return record


async def cancel_appointment(desk: Desk, reference: str, by: Booker) -> ApplicationRecord:
    """Cancel the booked appointment of `reference`; it is ready to sign again.

    Raises:
        ApplicationNotFoundError; Conflict when nothing is booked.
    """

    def step(session: Session, application: MortgageApplication) -> None:
        appointments.cancel(
            session,
            application,
            touchpoint=by.touchpoint,
            actor_kind=by.actor_kind,
            actor=by.actor,
            now=utcnow(),
        )

    _, record = await change_application(desk, reference, step)
    return record
