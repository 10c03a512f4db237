"""The branch's desk (desk/services/branch_desk.py): the day's appointments, the case, the
identity check, the signing and a missed appointment, on a real SQLite database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, update

from contract.applications import ApplicationStage
from contract.appointments import IdentityCheck, IdentityDocument
from desk.services import applications, branch_desk
from desk.services.agents import Actor
from desk.services.branches import branches
from desk.services.errors import Conflict, NotFound, PermissionDenied
from desk.store.database import Database
from desk.store.models import ApplicationDocument, BranchAppointment, MortgageApplication
from tests.desk.conftest import PASSWORD
from tests.support.mortgage_cases import add_case_people, application_at, book_appointment

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

Stage = ApplicationStage
# A Thursday in winter (Europe/London = UTC) and one in summer (UTC+1).
WINTER_DAY = date(2026, 12, 3)
SUMMER_DAY = date(2026, 7, 2)
LONDON = branches()["leeds_park_row"].zone
MATCHING = IdentityCheck(document=IdentityDocument.PASSPORT, matches=True)
#: Each step at an appointment, with its arguments after the appointment's id.
BRANCH_STEPS: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
    (branch_desk.check_identity, (MATCHING,)),
    (branch_desk.record_signing, ()),
    (branch_desk.record_missed, ()),
]


@pytest.fixture
def people(database: Database, actors: dict[str, Actor]) -> dict[str, Actor]:
    """Bea (Leeds), Ravi (Manchester), Maya (an advisor) and the conftest's agents."""
    return {**actors, **add_case_people(database, PASSWORD)}


def build(database: Database, stage: Stage = Stage.APPOINTMENT_BOOKED, **options: Any) -> int:
    """An application at `stage`; the id of its appointment (or 0 without one)."""
    with database.session(write=True) as session:
        application = application_at(session, stage, **options)
        return application.appointments[0].id if application.appointments else 0


def started(hours: float = 1.0) -> datetime:
    """A start `hours` ago."""
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=hours)


def step(database: Database, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a branch step in its own writing unit of work."""
    with database.session(write=True) as session:
        return work(session, *args, **kwargs)


def appointment_row(database: Database, appointment_id: int) -> BranchAppointment:
    with database.session() as session:
        found = session.get(BranchAppointment, appointment_id)
        assert found is not None
        session.expunge(found)
        return found


def events_of(database: Database, appointment_id: int) -> list[tuple[str, str, str, str | None]]:
    with database.session() as session:
        appointment = session.get(BranchAppointment, appointment_id)
        assert appointment is not None
        return [
            (e.kind, e.touchpoint, e.actor_kind, e.actor) for e in appointment.application.events
        ]


# --- The day's appointments ---------------------------------------------------------------------


def test_the_day_lists_the_branchs_kept_appointments_in_order(
    database: Database, people: dict[str, Actor]
) -> None:
    morning = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
    late = datetime(2026, 12, 3, 16, 15, tzinfo=timezone.utc)
    second = build(database, starts_at=late, applicant_name="Ann Late")
    first = build(database, starts_at=morning)
    build(database, starts_at=morning + timedelta(days=1))  # another day
    build(database, starts_at=morning, branch="manchester_king_street")  # another branch
    moved = build(database, starts_at=morning + timedelta(hours=1))
    with database.session(write=True) as session:
        found = session.get(BranchAppointment, moved)
        assert found is not None
        found.state = "rescheduled"

    with database.session() as session:
        day = branch_desk.appointments_on(session, people["bea"], WINTER_DAY)

    assert [entry.appointment.id for entry in day] == [first, second]
    entry = day[1]
    assert (entry.applicant_name, entry.stage) == ("Ann Late", "appointment_booked")
    assert entry.reference.startswith("MTG-")
    assert (entry.documents_accepted, entry.documents_required) == (4, 4)
    assert entry.appointment.label == "Thu 3 Dec, 16:15"
    assert entry.appointment.state == "booked"


def test_the_day_is_the_branchs_local_day(database: Database, people: dict[str, Actor]) -> None:
    # 23:30 UTC on 1 July is already 2 July in Leeds (BST).
    just_after_midnight = build(
        database, starts_at=datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)
    )
    build(database, starts_at=datetime(2026, 7, 2, 23, 30, tzinfo=timezone.utc))  # 3 July there

    with database.session() as session:
        day = branch_desk.appointments_on(session, people["bea"], SUMMER_DAY)

    assert [entry.appointment.id for entry in day] == [just_after_midnight]


def test_signed_and_missed_appointments_stay_on_the_day(
    database: Database, people: dict[str, Actor]
) -> None:
    start = started()
    signed = build(database, starts_at=start)
    missed = build(database, starts_at=start + timedelta(minutes=1))
    step(database, branch_desk.check_identity, people["bea"], signed, MATCHING)
    step(database, branch_desk.record_signing, people["bea"], signed)
    step(database, branch_desk.record_missed, people["bea"], missed)

    with database.session() as session:
        day = branch_desk.appointments_on(session, people["bea"], start.astimezone(LONDON).date())

    assert {(e.appointment.id, e.appointment.state, e.stage) for e in day} == {
        (signed, "signed", "signed"),
        (missed, "missed", "ready_to_sign"),
    }


@pytest.mark.parametrize("username", ["olivia", "maya", "sam"])
def test_only_branch_staff_have_a_day(
    database: Database, people: dict[str, Actor], username: str
) -> None:
    with database.session() as session, pytest.raises(PermissionDenied, match="branch staff"):
        branch_desk.appointments_on(session, people[username], WINTER_DAY)


def test_today_is_the_branchs_today(people: dict[str, Actor]) -> None:
    late_evening = datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)

    assert branch_desk.branch_today(people["bea"], now=late_evening) == SUMMER_DAY


# --- The case ------------------------------------------------------------------------------------


def test_the_branch_sees_the_whole_case_with_its_documents(
    database: Database, people: dict[str, Actor]
) -> None:
    appointment_id = build(database)
    with database.session() as session:
        reference = branch_desk.reference_of_appointment(session, people["bea"], appointment_id)
        case = branch_desk.case_for_branch(session, people["bea"], reference.lower())

    assert case.record.reference == reference
    assert case.record.appointment is not None
    assert case.record.appointment.id == appointment_id
    assert [e.kind for e in case.record.events][:3] == [
        "chat_started",
        "form_completed",
        "handed_to_advisor",
    ]
    assert case.record.events[-1].kind == "appointment_booked"
    assert [d.item for d in case.documents] == [
        "proof_of_identity",
        "payslips",
        "bank_statements",
        "proof_of_deposit",
    ]
    assert {d.state for d in case.documents} == {"accepted"}
    assert case.documents[0].reference == reference
    assert case.identity_matched is None


def test_another_branchs_case_is_not_found(database: Database, people: dict[str, Actor]) -> None:
    appointment_id = build(database, branch="manchester_king_street")
    with database.session() as session:
        reference = branch_desk.reference_of_appointment(session, people["ravi"], appointment_id)
        with pytest.raises(NotFound):
            branch_desk.case_for_branch(session, people["bea"], reference)
        with pytest.raises(NotFound):
            branch_desk.case_for_branch(session, people["bea"], "MTG-00000")


def test_a_case_without_an_appointment_is_not_found_at_any_branch(
    database: Database, people: dict[str, Actor]
) -> None:
    with database.session(write=True) as session:
        reference = application_at(session, Stage.READY_TO_SIGN).reference

    with database.session() as session, pytest.raises(NotFound):
        branch_desk.case_for_branch(session, people["bea"], reference)


def test_an_advisor_does_not_use_the_branchs_case(
    database: Database, people: dict[str, Actor]
) -> None:
    build(database)
    with database.session() as session:
        reference = session.scalars(select(MortgageApplication.reference)).one()
        with pytest.raises(PermissionDenied):
            branch_desk.case_for_branch(session, people["maya"], reference)


# --- Identity and signing ----------------------------------------------------------------------


def test_identity_then_signing_makes_the_application_signed(
    database: Database, people: dict[str, Actor]
) -> None:
    appointment_id = build(database)
    check = IdentityCheck(
        document=IdentityDocument.DRIVING_LICENCE, matches=True, note="Photo is older"
    )

    checked = step(database, branch_desk.check_identity, people["bea"], appointment_id, check)
    assert checked.stage == "appointment_booked"
    last = checked.events[-1]
    assert (last.kind, last.touchpoint, last.actor_kind, last.actor) == (
        "identity_checked",
        "branch",
        "branch_staff",
        "Bea",
    )
    assert dict(last.detail) == {
        "appointment_id": appointment_id,
        "branch": "leeds_park_row",
        "document": "driving_licence",
        "matches": True,
        "note": "Photo is older",
    }
    row = appointment_row(database, appointment_id)
    assert (row.identity_checked_by, row.identity_document) == ("Bea", "driving_licence")
    assert row.identity_checked_at is not None

    signed = step(database, branch_desk.record_signing, people["bea"], appointment_id)

    assert signed.stage == "signed"
    assert signed.appointment is not None
    assert signed.appointment.state == "signed"
    assert signed.appointment.signed_at is not None
    assert events_of(database, appointment_id)[-2:] == [
        ("identity_checked", "branch", "branch_staff", "Bea"),
        ("signed", "branch", "branch_staff", "Bea"),
    ]
    assert appointment_row(database, appointment_id).signed_by == "Bea"


def test_signing_before_the_identity_check_is_refused(
    database: Database, people: dict[str, Actor]
) -> None:
    appointment_id = build(database)
    before = events_of(database, appointment_id)

    with pytest.raises(Conflict, match="check identity first"):
        step(database, branch_desk.record_signing, people["bea"], appointment_id)

    assert events_of(database, appointment_id) == before
    assert appointment_row(database, appointment_id).state == "booked"


def test_a_mismatch_is_recorded_and_blocks_the_signing(
    database: Database, people: dict[str, Actor]
) -> None:
    appointment_id = build(database)
    mismatch = IdentityCheck(document=IdentityDocument.PASSPORT, matches=False, note="Other name")

    record = step(database, branch_desk.check_identity, people["bea"], appointment_id, mismatch)

    assert record.events[-1].kind == "identity_checked"
    assert record.events[-1].detail["matches"] is False
    with pytest.raises(Conflict, match="did not match"):
        step(database, branch_desk.record_signing, people["bea"], appointment_id)
    # A second, "matching" check cannot undo it.
    with pytest.raises(Conflict, match="did not match"):
        step(database, branch_desk.check_identity, people["bea"], appointment_id, MATCHING)
    with database.session() as session:
        case = branch_desk.case_for_branch(session, people["bea"], record.reference)
    assert case.identity_matched is False
    assert case.record.stage == "appointment_booked"


def test_signing_needs_every_document_accepted(
    database: Database, people: dict[str, Actor]
) -> None:
    appointment_id = build(database)
    with database.session(write=True) as session:
        document = session.scalars(
            select(ApplicationDocument).where(ApplicationDocument.item_key == "payslips")
        ).one()
        document.state = "rejected"
    step(database, branch_desk.check_identity, people["bea"], appointment_id, MATCHING)

    with pytest.raises(Conflict, match=r"Last 3 payslips \(rejected\)"):
        step(database, branch_desk.record_signing, people["bea"], appointment_id)

    assert appointment_row(database, appointment_id).state == "booked"


def test_an_identity_check_at_another_appointment_does_not_count(
    database: Database, people: dict[str, Actor]
) -> None:
    first = build(database, starts_at=started())
    step(database, branch_desk.check_identity, people["bea"], first, MATCHING)
    step(database, branch_desk.record_missed, people["bea"], first)
    with database.session(write=True) as session:
        missed = session.get(BranchAppointment, first)
        assert missed is not None
        second = book_appointment(missed.application)
        session.flush()
        second_id = second.id

    with pytest.raises(Conflict, match="check identity first"):
        step(database, branch_desk.record_signing, people["bea"], second_id)


@pytest.mark.parametrize("username", ["ravi", "maya", "sam", "olivia"])
def test_only_the_branchs_own_staff_take_its_steps(
    database: Database, people: dict[str, Actor], username: str
) -> None:
    appointment_id = build(database, starts_at=started())
    before = events_of(database, appointment_id)
    refused = NotFound if username == "ravi" else PermissionDenied

    for work, args in BRANCH_STEPS:
        with pytest.raises(refused):
            step(database, work, people[username], appointment_id, *args)

    assert events_of(database, appointment_id) == before


def test_an_unknown_appointment_is_not_found(people: dict[str, Actor], database: Database) -> None:
    with pytest.raises(NotFound, match="no appointment 999"):
        step(database, branch_desk.check_identity, people["bea"], 999, MATCHING)


def test_a_signed_appointment_takes_no_more_steps(
    database: Database, people: dict[str, Actor]
) -> None:
    appointment_id = build(database, starts_at=started())
    step(database, branch_desk.check_identity, people["bea"], appointment_id, MATCHING)
    step(database, branch_desk.record_signing, people["bea"], appointment_id)

    for work, args in BRANCH_STEPS:
        with pytest.raises(Conflict, match="the appointment is signed, not booked"):
            step(database, work, people["bea"], appointment_id, *args)


# --- A missed appointment ------------------------------------------------------------------------


def test_a_missed_appointment_takes_the_application_back_to_ready_to_sign(
    database: Database, people: dict[str, Actor]
) -> None:
    appointment_id = build(database, starts_at=started(0.5))

    record = step(database, branch_desk.record_missed, people["bea"], appointment_id)

    assert record.stage == "ready_to_sign"
    assert record.appointment is not None
    assert record.appointment.state == "missed"
    last = record.events[-1]
    assert (last.kind, last.touchpoint, last.actor_kind, last.actor) == (
        "appointment_missed",
        "branch",
        "branch_staff",
        "Bea",
    )
    assert last.detail["appointment_id"] == appointment_id
    # The slot is free again: the application may book anew.
    with database.session(write=True) as session:
        application = applications.load(session, record.reference)
        book_appointment(application, starts_at=started(-24))
        session.flush()
        assert application.stage == "appointment_booked"


def test_missed_before_the_start_is_refused(database: Database, people: dict[str, Actor]) -> None:
    start = datetime(2026, 12, 3, 9, 45, tzinfo=timezone.utc)
    appointment_id = build(database, starts_at=start)
    before = events_of(database, appointment_id)

    with pytest.raises(Conflict, match=r"starts at Thu 3 Dec, 09:45"):
        step(
            database,
            branch_desk.record_missed,
            people["bea"],
            appointment_id,
            now=start - timedelta(seconds=1),
        )

    assert events_of(database, appointment_id) == before
    record = step(database, branch_desk.record_missed, people["bea"], appointment_id, now=start)
    assert record.stage == "ready_to_sign"


def test_of_two_staff_closing_one_appointment_at_once_only_one_wins(
    database: Database, people: dict[str, Actor]
) -> None:
    appointment_id = build(database, starts_at=started())
    step(database, branch_desk.check_identity, people["bea"], appointment_id, MATCHING)

    with database.session(write=True) as session:
        seen = session.get(BranchAppointment, appointment_id)
        assert seen is not None and seen.state == "booked"  # what this request read
        # Meanwhile a colleague's request marked it missed (the row, not this session's copy).
        session.execute(
            update(BranchAppointment)
            .where(BranchAppointment.id == appointment_id)
            .values(state="missed")
            .execution_options(synchronize_session=False)
        )
        with pytest.raises(Conflict, match="no longer booked"):
            branch_desk.record_signing(session, people["bea"], appointment_id)


def test_the_day_and_the_steps_on_each_database(any_database: Database) -> None:
    bea = add_case_people(any_database, PASSWORD)["bea"]
    start = started()
    signed = build(any_database, starts_at=start)
    missed = build(any_database, starts_at=start + timedelta(minutes=1))

    step(any_database, branch_desk.check_identity, bea, signed, MATCHING)
    assert step(any_database, branch_desk.record_signing, bea, signed).stage == "signed"
    assert step(any_database, branch_desk.record_missed, bea, missed).stage == "ready_to_sign"

    with any_database.session() as session:
        day = branch_desk.appointments_on(session, bea, start.astimezone(LONDON).date())
    assert [(e.appointment.id, e.appointment.state) for e in day] == [
        (signed, "signed"),
        (missed, "missed"),
    ]
