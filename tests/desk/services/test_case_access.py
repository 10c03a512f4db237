"""Who at the desk may see a mortgage application."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from desk.services.agents import Actor
from desk.services.case_access import (
    case_queues,
    ensure_case_worker,
    ensure_visible,
    may_see,
    works_cases,
)
from desk.services.errors import NotFound
from desk.store.models import BranchAppointment, MortgageApplication

AT = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def actor(role: str = "agent", queues: tuple[str, ...] = (), branch: str | None = None) -> Actor:
    return Actor(1, "someone", "Someone", role, frozenset(queues), branch)


def application(*appointments: tuple[str, str]) -> MortgageApplication:
    case = MortgageApplication(reference="MTG-7K3Q9")
    case.appointments = [
        BranchAppointment(branch=branch, state=state, desk=1, starts_at=AT, ends_at=AT)
        for branch, state in appointments
    ]
    return case


ADVISOR = actor(queues=("mortgage_advisors",))
ORDERS = actor(queues=("order_support",))
SUPERVISOR = actor(role="supervisor")
LEEDS = actor(role="branch_staff", branch="leeds_park_row")


def test_the_mortgage_advisors_queue_works_cases_by_its_skill() -> None:
    assert case_queues() == {"mortgage_advisors"}


@pytest.mark.parametrize(
    ("who", "works"), [(ADVISOR, True), (SUPERVISOR, True), (ORDERS, False), (LEEDS, False)]
)
def test_who_works_cases(who: Actor, works: bool) -> None:
    assert works_cases(who) is works


@pytest.mark.parametrize(
    ("appointments", "visible"),
    [
        ((), False),
        ((("leeds_park_row", "booked"),), True),
        ((("leeds_park_row", "missed"),), True),
        ((("leeds_park_row", "signed"),), True),
        ((("leeds_park_row", "cancelled"),), False),
        ((("leeds_park_row", "rescheduled"), ("manchester_king_street", "booked")), False),
        ((("manchester_king_street", "booked"),), False),
    ],
)
def test_branch_staff_see_only_cases_with_an_appointment_at_their_branch(
    appointments: tuple[tuple[str, str], ...], visible: bool
) -> None:
    assert may_see(LEEDS, application(*appointments)) is visible


def test_a_case_someone_may_not_see_is_not_found_like_no_case() -> None:
    case = application(("leeds_park_row", "booked"))

    assert ensure_visible(ADVISOR, case) is case
    with pytest.raises(NotFound, match="no mortgage application MTG-7K3Q9"):
        ensure_visible(ORDERS, case)
    with pytest.raises(NotFound):
        ensure_case_worker(LEEDS)
    ensure_case_worker(SUPERVISOR)
