"""Mortgage applications: a touchpoint opens one, or appends to its history.

Each workflow answers with the `ApplicationRecord` (the contract's, readable after the unit of
work) and then publishes what happened. Nothing subscribes yet: the application timeline and the
analytics will.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from contract.applications import ApplicationEventRequest, ApplicationRecord, NewApplication
from desk.events import ApplicationEventRecorded, ApplicationOpened
from desk.services import applications
from desk.workflows.context import Desk


async def open_application(desk: Desk, application: NewApplication) -> ApplicationRecord:
    """Store a completed intake as a new application (a fresh reference and its `created`
    entry); publishes `application.opened`."""

    def work(session: Session) -> ApplicationRecord:
        return applications.create_application(
            session,
            application.intake,
            origin_channel=application.origin_channel,
            origin_sender_id=application.origin_sender_id,
        )

    record = await desk.units(work, write=True)
    opened = ApplicationOpened(
        reference=record.reference,
        status=record.status,
        occurred_at=record.created_at.isoformat(),
        origin_channel=record.origin_channel,
        origin_sender_id=record.origin_sender_id,
    )
    await desk.bus.publish(opened)
    return record


async def record_event(
    desk: Desk, reference: str, entry: ApplicationEventRequest
) -> ApplicationRecord:
    """Append `entry` to the history of the application `reference` (canonical), moving its
    status on if the kind does; publishes `application.event_recorded`.

    Raises:
        ApplicationNotFoundError: No application has this reference (nothing is published).
    """

    def work(session: Session) -> ApplicationRecord:
        return applications.record_application_event(
            session,
            reference,
            touchpoint=entry.touchpoint,
            kind=entry.kind,
            actor=entry.actor,
            detail=entry.detail,
        )

    record = await desk.units(work, write=True)
    recorded = record.events[-1]  # the entry just appended (the service appends it last)
    await desk.bus.publish(
        ApplicationEventRecorded(
            reference=record.reference,
            status=record.status,
            occurred_at=recorded.occurred_at.isoformat(),
            touchpoint=recorded.touchpoint,
            kind=recorded.kind,
            actor=recorded.actor,
        )
    )
    return record
