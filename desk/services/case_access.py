"""Who at the desk may see and work on a mortgage application (the case).

- Supervisors: every application.
- Agents of a queue with the `mortgages` skill (content/handoff_routing.yml; the mortgage
  advisors and any back office given that skill): every application, and they may change it
  (advice, document requests and reviews, bookings).
- Branch staff: only applications with an appointment at their own branch (booked, missed or
  signed there), and only the branch's steps (identity check, signing, a missed appointment).
- Everyone else (order support, technical support): none. They get a 404, not a 403, so a
  reference they guess tells them nothing.
"""

from __future__ import annotations

from typing import Final

from desk.services.agents import Actor
from desk.services.errors import NotFound
from desk.services.queues import queues_with_skill
from desk.store.models import AgentRole, MortgageApplication

#: The skill of the queues whose agents work mortgage applications.
MORTGAGE_SKILL: Final = "mortgages"


def case_queues() -> frozenset[str]:
    """The queues whose agents work mortgage applications."""
    return queues_with_skill(MORTGAGE_SKILL)


def works_cases(actor: Actor) -> bool:
    """Whether the actor may see and change any application (an advisor or a supervisor)."""
    return actor.is_supervisor or bool(actor.queues & case_queues())


def is_branch_staff(actor: Actor) -> bool:
    """Whether the actor works at a branch."""
    return actor.role == AgentRole.BRANCH_STAFF.value


def may_see(actor: Actor, application: MortgageApplication) -> bool:
    """Whether `actor` may see `application`."""
    if works_cases(actor):
        return True
    if is_branch_staff(actor) and actor.branch is not None:
        return any(
            appointment.branch == actor.branch and appointment.state in _AT_THE_BRANCH
            for appointment in application.appointments
        )
    return False


def ensure_visible(actor: Actor, application: MortgageApplication) -> MortgageApplication:
    """The application, if `actor` may see it.

    Raises:
        NotFound: The actor may not see it (the same answer as for no such application).
    """
    if not may_see(actor, application):
        raise NotFound(f"no mortgage application {application.reference}")
    return application


def ensure_case_worker(actor: Actor) -> None:
    """Refuse anyone who does not work applications (branch staff included: they use the
    branch's own steps).

    Raises:
        NotFound: The actor does not work mortgage applications.
    """
    if not works_cases(actor):
        raise NotFound("no such mortgage application")


_AT_THE_BRANCH: Final = frozenset({"booked", "missed", "signed"})
