"""Mortgage applications: a touchpoint opens one, or changes it through one of the desk's steps.

Each workflow answers with what the step returns (with the `ApplicationRecord`, the contract's,
readable after the unit of work) and then publishes what happened: `application.opened`, and
one `application.event_recorded` per timeline entry the step appended. The advisor's console
and the branch's page refresh on them; the customer link tells the chat about reviews.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from contract.applications import (
    ActorKind,
    ApplicationEventKind,
    ApplicationEventRequest,
    ApplicationRecord,
    NewApplication,
    Touchpoint,
)
from desk.events import ApplicationEventRecorded, ApplicationOpened
from desk.services import applications
from desk.services.errors import Conflict
from desk.store.models import MortgageApplication
from desk.workflows.context import Desk

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

#: One step of a unit of work on a loaded application: it may append timeline entries.
ApplicationStep = Callable[[Session, MortgageApplication], T]


async def open_application(desk: Desk, application: NewApplication) -> ApplicationRecord:
    """Store a completed intake as a new application (a fresh reference; its timeline starts
    with the chat and the completed form); publishes `application.opened`."""

    def work(session: Session) -> ApplicationRecord:
        return applications.create_application(
            session,
            application.intake,
            origin_channel=application.origin_channel,
            origin_sender_id=application.origin_sender_id,
            chat_started_at=application.chat_started_at,
        )

    record = await desk.units(work, write=True)
    opened = ApplicationOpened(
        reference=record.reference,
        stage=record.stage,
        occurred_at=record.created_at.isoformat(),
        origin_channel=record.origin_channel,
        origin_sender_id=record.origin_sender_id,
    )
    await desk.bus.publish(opened)
    return record


async def change_application(
    desk: Desk, reference: str, step: ApplicationStep[T]
) -> tuple[T, ApplicationRecord]:
    """Run `step` on the application `reference` in one unit of work; then publish an
    `application.event_recorded` for each timeline entry it appended.

    Raises:
        ApplicationNotFoundError: No application has this reference (nothing is published).
        Whatever `step` raises (a `Conflict`, `InvalidInput`...): nothing is written.
    """

    def work(session: Session) -> tuple[T, ApplicationRecord, int]:
        application = applications.load(session, reference)
        before = len(application.events)
        result = step(session, application)
        session.flush()
        return result, applications.record_of(application), before

    result, record, before = await desk.units(work, write=True)
    for entry in record.events[before:]:
        await desk.bus.publish(
            ApplicationEventRecorded(
                reference=record.reference,
                stage=record.stage,
                occurred_at=entry.occurred_at.isoformat(),
                touchpoint=entry.touchpoint,
                kind=entry.kind,
                actor_kind=entry.actor_kind,
                actor=entry.actor,
            )
        )
    return result, record


async def record_event(
    desk: Desk, reference: str, entry: ApplicationEventRequest
) -> ApplicationRecord:
    """Append `entry` to the timeline of the application `reference` (canonical), moving its
    stage on if the kind does; publishes `application.event_recorded`.

    Raises:
        ApplicationNotFoundError: No application has this reference (nothing is published).
        Conflict: The kind is not allowed at the application's stage.
    """

    def step(session: Session, application: MortgageApplication) -> None:
        applications.append_entry(
            application,
            entry.kind,
            touchpoint=entry.touchpoint,
            actor_kind=entry.actor_kind,
            actor=entry.actor,
            detail=entry.detail,
        )

    _, record = await change_application(desk, reference, step)
    return record


async def expire_idle(desk: Desk, *, now: datetime, idle: timedelta) -> list[str]:
    """Expire every application under way that nothing happened to for `idle`: an `expired`
    entry (the system, with how long it was idle) on each; their references.

    One unit of work per application, so one that moves on meanwhile (a step between the
    listing and its expiry: the stage table then refuses) is left as it is.
    """
    references = await desk.units(
        lambda session: applications.idle_references(session, untouched_since=now - idle)
    )
    expired = []
    for reference in references:

        def step(session: Session, application: MortgageApplication) -> None:
            if application.updated_at >= now - idle:
                raise Conflict(f"{application.reference} moved on meanwhile")
            applications.append_entry(
                application,
                ApplicationEventKind.EXPIRED,
                touchpoint=Touchpoint.SYSTEM,
                actor_kind=ActorKind.SYSTEM,
                detail={"idle_days": round(idle.total_seconds() / 86400, 2)},
            )

        try:
            await change_application(desk, reference, step)
        except Conflict as moved_on:
            LOGGER.info("not expired: %s", moved_on.message)
            continue
        expired.append(reference)
    if expired:
        LOGGER.info("expired %d idle applications", len(expired))
    return expired
