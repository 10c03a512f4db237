"""The advisor's work on a case (a mortgage application) from the desk console.

Only case workers (mortgage advisors, supervisors) get here: anyone else is told there is no
such application (`desk.services.case_access.ensure_case_worker`), before anything is read.
Each change runs through `change_application`, so every timeline entry it appends is
published (`application.event_recorded`): the consoles showing the case refresh, and the
customer's side learns what changed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from contract.applications import ActorKind, AdviceOutcome, ApplicationRecord
from contract.documents import DocumentRequest
from desk.services import advice
from desk.services.agents import Actor
from desk.services.case_access import ensure_case_worker
from desk.store.models import MortgageApplication
from desk.workflows.applications import change_application
from desk.workflows.context import Desk


async def record_advice(
    desk: Desk, actor: Actor, reference: str, outcome: AdviceOutcome, note: str | None
) -> ApplicationRecord:
    """Record the advice outcome (proceed also asks for the documents; not proceeding
    withdraws the application); the record after it.

    Raises:
        NotFound: No such application, or the actor does not work cases.
        Conflict: The advice is no longer open at the application's stage.
        InvalidInput: The note is too long.
    """
    ensure_case_worker(actor)

    def step(_session: Session, application: MortgageApplication) -> None:
        advice.record_advice(application, outcome, note, actor=actor.display_name)

    _, record = await change_application(desk, reference, step)
    return record


async def add_note(desk: Desk, actor: Actor, reference: str, text: str) -> ApplicationRecord:
    """Add an advisor's note to the timeline; the record after it.

    Raises:
        NotFound: No such application, or the actor does not work cases.
        InvalidInput: The note is empty or too long.
    """
    ensure_case_worker(actor)

    def step(_session: Session, application: MortgageApplication) -> None:
        advice.add_note(application, text, actor=actor.display_name)

    _, record = await change_application(desk, reference, step)
    return record


async def request_documents(
    desk: Desk, actor: Actor, reference: str, request: DocumentRequest
) -> ApplicationRecord:
    """Ask the customer for (more) documents; the record after it.

    Raises:
        NotFound: No such application, or the actor does not work cases.
        Conflict: Documents cannot be requested at this stage (an appointment is booked...).
        InvalidInput: A new item without its title or words.
    """
    ensure_case_worker(actor)

    def step(_session: Session, application: MortgageApplication) -> list[str]:
        return advice.request_documents(
            application, request, actor_kind=ActorKind.AGENT, actor=actor.display_name
        )

    _, record = await change_application(desk, reference, step)
    return record
