"""Mortgage applications at any stage, built straight in the desk's database for tests.

`application_at(session, stage)` walks a fresh application (`tests.support.applications`)
through the journey as the desk's own steps would, each entry checked by the stage table:
handed to an advisor, advice given, the employment type's checklist requested, every document
uploaded and accepted, a branch appointment booked. It stops at `stage`, so the timeline and the
rows always agree. Any test that needs a case further on than the intake may use it (the
branch's tests do; the documents, booking and resume tests may too).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from contract.applications import (
    ActorKind,
    AdviceOutcome,
    ApplicationEventKind,
    ApplicationStage,
    Touchpoint,
)
from contract.appointments import AppointmentState
from contract.documents import DocumentState, RequestedBy
from desk.services import applications
from desk.services.agents import Actor, create_agent
from desk.services.application_stages import documents_complete_stage
from desk.services.branches import branches
from desk.services.checklists import document_checklists
from desk.store.database import Database
from desk.store.models import (
    AgentRole,
    ApplicationDocument,
    BranchAppointment,
    ChecklistRequirement,
    MortgageApplication,
)
from desk.store.types import utcnow
from tests.support.applications import mortgage_intake

Stage = ApplicationStage
Kind = ApplicationEventKind

ADVISOR: Final = "Maya (Mortgages)"
DEFAULT_BRANCH: Final = "leeds_park_row"
#: The stages `application_at` can build, in journey order.
BUILDABLE: Final = (
    Stage.INTAKE,
    Stage.ADVICE,
    Stage.DOCUMENTS,
    Stage.READY_TO_SIGN,
    Stage.APPOINTMENT_BOOKED,
)


def application_at(
    session: Session,
    stage: Stage,
    *,
    sender_id: str = "web-applicant",
    branch: str = DEFAULT_BRANCH,
    starts_at: datetime | None = None,
    accepted: int | None = None,
    applicant_name: str = "Jane O'Neill-Smith",
) -> MortgageApplication:
    """A new application taken to `stage` (flushed, so its ids are set).

    Args:
        session: A writing unit of work of the desk's database.
        stage: Where the application ends up (one of `BUILDABLE`).
        sender_id: The chat the application came from.
        branch: Where the appointment is (`appointment_booked`).
        starts_at: The appointment's start (aware); an hour from now by default.
        accepted: At `documents` only: how many checklist items (in order) are uploaded and
            accepted; the others stay missing (none by default). Later stages have them all.
        applicant_name: The applicant's name.
    """
    if stage not in BUILDABLE:
        raise ValueError(f"cannot build an application at stage {stage.value}")
    if accepted is not None and stage is not Stage.DOCUMENTS:
        raise ValueError("only an application at stage documents lacks accepted documents")
    reached = BUILDABLE.index(stage)
    record = applications.create_application(
        session,
        mortgage_intake(applicant_name=applicant_name),
        origin_channel="rest",
        origin_sender_id=sender_id,
    )
    application = applications.load(session, record.reference)
    if reached >= BUILDABLE.index(Stage.ADVICE):
        _advise(application)
    if reached >= BUILDABLE.index(Stage.DOCUMENTS):
        _collect_documents(application, accepted, complete=reached > 2)
    if reached >= BUILDABLE.index(Stage.APPOINTMENT_BOOKED):
        book_appointment(application, branch=branch, starts_at=starts_at)
    session.flush()
    return application


def book_appointment(
    application: MortgageApplication,
    *,
    branch: str = DEFAULT_BRANCH,
    starts_at: datetime | None = None,
    desk: int = 1,
) -> BranchAppointment:
    """Book an appointment for a ready-to-sign application, as the bot would."""
    start = starts_at or (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    slot = branches()[branch].slot if branch in branches() else timedelta(minutes=45)
    appointment = BranchAppointment(
        branch=branch,
        desk=desk,
        starts_at=start,
        ends_at=start + slot,
        state=AppointmentState.BOOKED.value,
        booked_at=utcnow(),
        booked_by=None,
    )
    applications.append_entry(
        application,
        Kind.APPOINTMENT_BOOKED,
        touchpoint=Touchpoint.WEB_CHAT,
        actor_kind=ActorKind.BOT,
        detail={"branch": branch, "starts_at": start.isoformat()},
    )
    application.appointments.append(appointment)
    return appointment


def _advise(application: MortgageApplication) -> None:
    for kind, detail in (
        (Kind.HANDED_TO_ADVISOR, {"queue": "mortgage_advisors"}),
        (Kind.ADVISOR_NOTE, {"text": "Fixed rate for 5 years suits her."}),
        (Kind.ADVICE_OUTCOME, {"outcome": AdviceOutcome.PROCEED.value}),
    ):
        applications.append_entry(
            application,
            kind,
            touchpoint=Touchpoint.DESK,
            actor_kind=ActorKind.AGENT,
            actor=ADVISOR,
            detail=detail,
        )


def _collect_documents(
    application: MortgageApplication, accepted: int | None, *, complete: bool
) -> None:
    required = document_checklists().for_employment(application.employment_type)
    applications.append_entry(
        application,
        Kind.DOCUMENTS_REQUESTED,
        touchpoint=Touchpoint.DESK,
        actor_kind=ActorKind.AGENT,
        actor=ADVISOR,
        detail={"items": [document.key for document in required]},
    )
    for position, document in enumerate(required):
        application.checklist.append(
            ChecklistRequirement(
                key=document.key,
                title=document.title,
                ask=document.ask,
                requested_by=RequestedBy.CHECKLIST.value,
                position=position,
                requested_at=utcnow(),
            )
        )
    count = len(required) if complete else accepted or 0
    for position, document in enumerate(required[:count]):
        last = position == len(required) - 1
        _upload_and_accept(application, document.key, position, ready=complete and last)


def _upload_and_accept(
    application: MortgageApplication, key: str, position: int, *, ready: bool
) -> None:
    content = f"{application.reference} {key}".encode()
    application.documents.append(
        ApplicationDocument(
            item_key=key,
            file_name=f"{key}.pdf",
            content_type="application/pdf",
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            storage_key=f"{application.reference}/{position}-{key}.pdf",
            state=DocumentState.ACCEPTED.value,
            uploaded_at=utcnow(),
            uploaded_via="web_chat",
            sender_id=application.origin_sender_id,
            reviewed_at=utcnow(),
            reviewed_by=ADVISOR,
        )
    )
    applications.append_entry(
        application,
        Kind.DOCUMENT_UPLOADED,
        touchpoint=Touchpoint.WEB_CHAT,
        actor_kind=ActorKind.CUSTOMER,
        detail={"item": key},
    )
    applications.append_entry(
        application,
        Kind.DOCUMENT_ACCEPTED,
        touchpoint=Touchpoint.DESK,
        actor_kind=ActorKind.AGENT,
        actor=ADVISOR,
        detail={"item": key},
        stage=documents_complete_stage(application.stage) if ready else None,
    )


#: Desk users around a case, by username: (role, queues, branch).
CASE_PEOPLE: Final[dict[str, tuple[AgentRole, tuple[str, ...], str | None]]] = {
    "bea": (AgentRole.BRANCH_STAFF, (), "leeds_park_row"),
    "ravi": (AgentRole.BRANCH_STAFF, (), "manchester_king_street"),
    "maya": (AgentRole.AGENT, ("mortgage_advisors",), None),
}


def add_case_people(database: Database, password: str) -> dict[str, Actor]:
    """Create the `CASE_PEOPLE` (display name: the username, titled); their actors."""
    actors = {}
    with database.session(write=True) as session:
        for username, (role, queues, branch) in CASE_PEOPLE.items():
            agent = create_agent(
                session,
                username=username,
                display_name=username.title(),
                password=password,
                role=role,
                queues=queues,
                branch=branch,
            )
            actors[username] = Actor.of(agent)
    return actors
