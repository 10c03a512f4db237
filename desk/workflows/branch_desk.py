"""The branch's steps on a case: the identity check, the signing and a missed appointment.

Each finds the appointment's application (only at the staff member's own branch) and then
changes it through `change_application`, in one unit of work, so every timeline entry it
appends is published (`application.event_recorded`): the advisor's console and the branch's
page refresh on them, and the bot learns of a missed appointment when the customer comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from contract.applications import ApplicationRecord
from contract.appointments import IdentityCheck
from desk.services import branch_desk
from desk.services.agents import Actor
from desk.store.models import MortgageApplication
from desk.workflows.applications import change_application
from desk.workflows.context import Desk

#: A branch step on the appointment's session (the application is loaded by then).
BranchStep = Callable[[Session], ApplicationRecord]


async def check_identity(
    desk: Desk, actor: Actor, appointment_id: int, check: IdentityCheck
) -> ApplicationRecord:
    """Record the identity check at the appointment (see `branch_desk.check_identity`)."""
    return await _at_appointment(
        desk,
        actor,
        appointment_id,
        lambda session: branch_desk.check_identity(session, actor, appointment_id, check),
    )


async def record_signing(desk: Desk, actor: Actor, appointment_id: int) -> ApplicationRecord:
    """Record the signing (see `branch_desk.record_signing`): the application is signed."""
    return await _at_appointment(
        desk,
        actor,
        appointment_id,
        lambda session: branch_desk.record_signing(session, actor, appointment_id),
    )


async def record_missed(
    desk: Desk, actor: Actor, appointment_id: int, *, now: datetime | None = None
) -> ApplicationRecord:
    """Record a missed appointment (see `branch_desk.record_missed`)."""
    return await _at_appointment(
        desk,
        actor,
        appointment_id,
        lambda session: branch_desk.record_missed(session, actor, appointment_id, now=now),
    )


async def _at_appointment(
    desk: Desk, actor: Actor, appointment_id: int, take: BranchStep
) -> ApplicationRecord:
    """Run `take` on the application of the appointment; the record after it."""
    reference = await desk.units(
        lambda session: branch_desk.reference_of_appointment(session, actor, appointment_id)
    )

    def step(session: Session, _application: MortgageApplication) -> None:
        # The service finds the appointment again in this unit of work (checking the branch
        # again); it is the loaded application's own, from the session's identity map.
        take(session)

    _, record = await change_application(desk, reference, step)
    return record
