"""Branch appointments: free slots, booking (and its race), moving and cancelling."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, update

from contract.applications import ActorKind, Touchpoint
from contract.appointments import MAX_SLOT_DAYS, MAX_SLOT_LIMIT, BookAppointment
from desk.services import applications, appointments
from desk.services.appointments import SLOT_TAKEN
from desk.services.errors import Conflict, InvalidInput, NotFound
from desk.store.database import Database
from desk.store.models import BranchAppointment, MortgageApplication
from tests.support.applications import mortgage_intake

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

#: Friday 14 March 2025, 10:00 in London (GMT, so UTC too).
NOW = datetime(2025, 3, 14, 10, 0, tzinfo=timezone.utc)
FRIDAY = NOW.date()
MONDAY = date(2025, 3, 17)
#: Manchester has one desk; Monday's first slot is 09:30.
ONE_DESK = "manchester_king_street"
MONDAY_0930 = datetime(2025, 3, 17, 9, 30, tzinfo=timezone.utc)
MONDAY_LABEL = "Mon 17 Mar, 09:30"
#: Leeds has two desks.
TWO_DESKS = "leeds_park_row"
MONDAY_0900 = datetime(2025, 3, 17, 9, 0, tzinfo=timezone.utc)


def ready_to_sign(db: Database, *, sender_id: str = "web-applicant", **changes: Any) -> str:
    """A new application whose documents are all accepted; its reference."""
    with db.session(write=True) as session:
        record = applications.create_application(
            session,
            mortgage_intake(**changes),
            origin_channel="rest",
            origin_sender_id=sender_id,
        )
        session.execute(
            update(MortgageApplication)
            .where(MortgageApplication.reference == record.reference)
            .values(stage="ready_to_sign")
        )
    return record.reference


def booking(branch: str = ONE_DESK, starts_at: datetime = MONDAY_0930) -> BookAppointment:
    """A booking of `branch` at `starts_at`."""
    return BookAppointment(branch=branch, starts_at=starts_at)


def book(
    db: Database, reference: str, chosen: BookAppointment | None = None, now: datetime = NOW
) -> BranchAppointment:
    """Book as the customer in the web chat."""
    with db.session(write=True) as session:
        application = applications.load(session, reference)
        return appointments.book(
            session,
            application,
            chosen or booking(),
            touchpoint=Touchpoint.WEB_CHAT,
            actor_kind=ActorKind.CUSTOMER,
            actor=None,
            now=now,
        )


def stored(db: Database, reference: str) -> Any:
    """The application's record as stored."""
    with db.session() as session:
        return applications.get_application(session, reference)


def appointment_rows(db: Database) -> list[tuple[str, str, datetime, int]]:
    """(application reference, state, start, desk) of every appointment."""
    with db.session() as session:
        rows = session.execute(
            select(
                MortgageApplication.reference,
                BranchAppointment.state,
                BranchAppointment.starts_at,
                BranchAppointment.desk,
            )
            .join(MortgageApplication)
            .order_by(BranchAppointment.id)
        )
        return [tuple(row) for row in rows]


def free(db: Database, branch: str = TWO_DESKS, **window: Any) -> list[Any]:
    """The free slots with NOW and the given window (default: from Friday, 7 days, 50)."""
    arguments: dict[str, Any] = {"from_day": FRIDAY, "days": 7, "limit": MAX_SLOT_LIMIT}
    arguments.update(window)
    with db.session() as session:
        return appointments.free_slots(session, branch, now=NOW, **arguments)


# --- Free slots --------------------------------------------------------------------------------


def test_slots_that_have_begun_are_never_offered(database: Database) -> None:
    slots = free(database, days=1)

    # Friday's 09:00 and 09:45 have begun at 10:00.
    assert [slot.label for slot in slots] == [
        "Fri 14 Mar, 10:30",
        "Fri 14 Mar, 11:15",
        "Fri 14 Mar, 13:00",
        "Fri 14 Mar, 13:45",
        "Fri 14 Mar, 14:30",
        "Fri 14 Mar, 15:15",
    ]
    first = slots[0]
    assert first.starts_at == datetime(2025, 3, 14, 10, 30, tzinfo=timezone.utc)
    assert first.ends_at - first.starts_at == timedelta(minutes=45)
    assert (first.branch, first.free_desks) == (TWO_DESKS, 2)


def test_closed_days_have_no_slots_and_the_list_goes_on_after_them(database: Database) -> None:
    saturday_sunday = free(database, from_day=date(2025, 3, 15), days=2)
    over_the_weekend = free(database, from_day=date(2025, 3, 15), days=3, limit=1)

    assert saturday_sunday == []
    assert [slot.label for slot in over_the_weekend] == ["Mon 17 Mar, 09:00"]


def test_slots_are_given_in_utc_and_labelled_in_the_branch_time(database: Database) -> None:
    # British Summer Time from 30 March: 09:00 in Leeds is 08:00 UTC.
    (slot,) = free(database, from_day=date(2025, 3, 31), days=1, limit=1)

    assert slot.starts_at == datetime(2025, 3, 31, 8, 0, tzinfo=timezone.utc)
    assert slot.label == "Mon 31 Mar, 09:00"


def test_a_full_slot_is_left_out_and_a_partly_booked_one_shows_its_free_desks(
    database: Database,
) -> None:
    book(database, ready_to_sign(database), booking(TWO_DESKS, MONDAY_0900))
    after_one = free(database, from_day=MONDAY, days=1, limit=2)
    book(database, ready_to_sign(database), booking(TWO_DESKS, MONDAY_0900))
    after_two = free(database, from_day=MONDAY, days=1, limit=1)

    assert [(slot.label, slot.free_desks) for slot in after_one] == [
        ("Mon 17 Mar, 09:00", 1),
        ("Mon 17 Mar, 09:45", 2),
    ]
    assert [slot.label for slot in after_two] == ["Mon 17 Mar, 09:45"]


def test_a_cancelled_booking_frees_its_slot_again(database: Database) -> None:
    reference = ready_to_sign(database)
    book(database, reference)
    cancel(database, reference)

    (slot,) = free(database, ONE_DESK, from_day=MONDAY, days=1, limit=1)

    assert (slot.starts_at, slot.free_desks) == (MONDAY_0930, 1)


def test_the_limit_caps_the_list(database: Database) -> None:
    assert len(free(database, limit=3)) == 3


def test_an_unknown_branch_is_not_found(database: Database) -> None:
    with pytest.raises(NotFound, match="no branch 'atlantis'"):
        free(database, "atlantis")


@pytest.mark.parametrize(
    ("window", "named"),
    [
        ({"days": 0}, "days"),
        ({"days": MAX_SLOT_DAYS + 1}, "days"),
        ({"limit": 0}, "limit"),
        ({"limit": MAX_SLOT_LIMIT + 1}, "limit"),
        ({"from_day": date(9999, 12, 31)}, "from"),
    ],
)
def test_a_window_out_of_range_is_refused_naming_it(
    database: Database, window: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        free(database, **window)

    assert refused.value.errors[0].startswith(f"{named}: ")


# --- Booking -----------------------------------------------------------------------------------


def test_booking_takes_the_slot_and_records_where_and_when(database: Database) -> None:
    reference = ready_to_sign(database)

    book(database, reference)

    record = stored(database, reference)
    assert record.stage == "appointment_booked"
    assert record.appointment is not None
    assert (record.appointment.branch, record.appointment.starts_at) == (ONE_DESK, MONDAY_0930)
    assert record.appointment.state == "booked"
    entry = record.events[-1]
    assert (entry.kind, entry.touchpoint, entry.actor_kind) == (
        "appointment_booked",
        "web_chat",
        "customer",
    )
    assert entry.detail == {
        "branch": ONE_DESK,
        "starts_at": MONDAY_0930.isoformat(),
        "label": "Mon 17 Mar, 09:30",
    }


def test_bookings_take_the_lowest_free_desk(database: Database) -> None:
    first, second = ready_to_sign(database), ready_to_sign(database)
    book(database, first, booking(TWO_DESKS, MONDAY_0900))
    book(database, second, booking(TWO_DESKS, MONDAY_0900))

    assert [row[3] for row in appointment_rows(database)] == [1, 2]


def test_a_time_that_is_not_one_of_the_branch_slots_is_refused(database: Database) -> None:
    reference = ready_to_sign(database)

    with pytest.raises(InvalidInput, match="is not one of Manchester, King Street's slots"):
        book(database, reference, booking(starts_at=MONDAY_0930 + timedelta(minutes=5)))
    with pytest.raises(InvalidInput, match="not one of"):  # Tuesday: closed in Manchester
        book(database, reference, booking(starts_at=MONDAY_0930 + timedelta(days=1)))

    assert appointment_rows(database) == []
    assert stored(database, reference).stage == "ready_to_sign"


def test_a_slot_that_has_begun_is_refused(database: Database) -> None:
    reference = ready_to_sign(database)

    with pytest.raises(InvalidInput, match="has already begun"):
        book(database, reference, now=MONDAY_0930)

    assert appointment_rows(database) == []


def test_an_application_not_ready_to_sign_cannot_book(database: Database) -> None:
    reference = ready_to_sign(database)
    with database.session(write=True) as session:
        applications.load(session, reference).stage = "documents"

    with pytest.raises(Conflict, match="stage documents"):
        book(database, reference)

    assert appointment_rows(database) == []
    assert [e.kind for e in stored(database, reference).events][-1] == "form_completed"


def test_an_unknown_branch_cannot_be_booked(database: Database) -> None:
    with pytest.raises(NotFound):
        book(database, ready_to_sign(database), booking("atlantis"))


def test_a_full_slot_is_a_conflict_and_nothing_is_written(database: Database) -> None:
    book(database, ready_to_sign(database))
    late = ready_to_sign(database)

    with pytest.raises(Conflict, match=SLOT_TAKEN):
        book(database, late)

    assert stored(database, late).stage == "ready_to_sign"
    assert len(appointment_rows(database)) == 1


def test_a_booking_that_read_before_another_committed_takes_the_next_desk(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    book(database, ready_to_sign(database), booking(TWO_DESKS, MONDAY_0900))
    # As if desk 1 was still free when this unit looked: the unique index turns it away.
    monkeypatch.setattr(appointments, "_taken_desks", lambda *_: set())

    book(database, ready_to_sign(database), booking(TWO_DESKS, MONDAY_0900))

    assert [row[3] for row in appointment_rows(database)] == [1, 2]


def test_a_booking_that_read_before_the_last_desk_went_is_a_conflict(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    book(database, ready_to_sign(database))
    monkeypatch.setattr(appointments, "_taken_desks", lambda *_: set())
    late = ready_to_sign(database)

    with pytest.raises(Conflict, match=SLOT_TAKEN):
        book(database, late)

    assert len(appointment_rows(database)) == 1
    assert stored(database, late).stage == "ready_to_sign"


def _race(db: Database, references: list[str], chosen: BookAppointment) -> list[str]:
    """Book every application into the same slot at once; each one's outcome."""
    start = threading.Barrier(len(references))

    def attempt(reference: str) -> str:
        start.wait(timeout=30)
        try:
            book(db, reference, chosen)
        except Conflict as error:
            return error.message
        return "booked"

    with ThreadPoolExecutor(max_workers=len(references)) as pool:
        return list(pool.map(attempt, references))


def test_of_two_customers_racing_for_the_last_desk_exactly_one_gets_it(
    any_database: Database,
) -> None:
    references = [ready_to_sign(any_database) for _ in range(2)]

    outcomes = _race(any_database, references, booking())

    assert sorted(outcomes) == ["booked", SLOT_TAKEN]
    rows = appointment_rows(any_database)
    assert [(state, desk) for _, state, _, desk in rows] == [("booked", 1)]
    winner = references[outcomes.index("booked")]
    assert rows[0][0] == winner
    loser = references[outcomes.index(SLOT_TAKEN)]
    assert stored(any_database, loser).stage == "ready_to_sign"


def test_many_customers_racing_for_two_desks_fill_each_desk_once(any_database: Database) -> None:
    references = [ready_to_sign(any_database) for _ in range(5)]

    outcomes = _race(any_database, references, booking(TWO_DESKS, MONDAY_0900))

    assert outcomes.count("booked") == 2
    assert outcomes.count(SLOT_TAKEN) == 3
    assert sorted(desk for *_, desk in appointment_rows(any_database)) == [1, 2]


def test_on_postgresql_two_bookings_that_both_saw_the_desk_free_cannot_both_take_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL lets both units read before either writes (SQLite's write lock does not), so
    # force that interleaving: each waits for the other to have read before inserting.
    db = Database(postgres_url)
    db.migrate()
    try:
        references = [ready_to_sign(db) for _ in range(2)]
        both_read = threading.Barrier(2)
        read = appointments._taken_desks

        def read_then_wait(*args: Any) -> set[int]:
            seen = read(*args)
            both_read.wait(timeout=30)
            return seen

        monkeypatch.setattr(appointments, "_taken_desks", read_then_wait)

        outcomes = _race(db, references, booking())

        assert sorted(outcomes) == ["booked", SLOT_TAKEN]
        assert [(state, desk) for _, state, _, desk in appointment_rows(db)] == [("booked", 1)]
    finally:
        db.dispose()


# --- Moving and cancelling ---------------------------------------------------------------------


def reschedule(
    db: Database, reference: str, chosen: BookAppointment, now: datetime = NOW
) -> BranchAppointment:
    """Move the appointment as the customer in the web chat."""
    with db.session(write=True) as session:
        application = applications.load(session, reference)
        return appointments.reschedule(
            session,
            application,
            chosen,
            touchpoint=Touchpoint.WEB_CHAT,
            actor_kind=ActorKind.CUSTOMER,
            actor=None,
            now=now,
        )


def cancel(db: Database, reference: str) -> BranchAppointment:
    """Cancel as the customer in the web chat."""
    with db.session(write=True) as session:
        application = applications.load(session, reference)
        return appointments.cancel(
            session,
            application,
            touchpoint=Touchpoint.WEB_CHAT,
            actor_kind=ActorKind.CUSTOMER,
            actor=None,
            now=NOW,
        )


def test_rescheduling_frees_the_old_slot_and_books_the_new_one(database: Database) -> None:
    reference = ready_to_sign(database)
    book(database, reference)
    later = MONDAY_0930 + timedelta(minutes=45)

    reschedule(database, reference, booking(starts_at=later))

    assert [(state, start) for _, state, start, _ in appointment_rows(database)] == [
        ("rescheduled", MONDAY_0930),
        ("booked", later),
    ]
    record = stored(database, reference)
    assert (record.stage, record.appointment.starts_at) == ("appointment_booked", later)
    entry = record.events[-1]
    assert entry.kind == "appointment_rescheduled"
    assert entry.detail == {
        "from": {
            "branch": ONE_DESK,
            "starts_at": MONDAY_0930.isoformat(),
            "label": "Mon 17 Mar, 09:30",
        },
        "to": {"branch": ONE_DESK, "starts_at": later.isoformat(), "label": "Mon 17 Mar, 10:15"},
    }
    (slot,) = free(database, ONE_DESK, from_day=MONDAY, days=1, limit=1)
    assert slot.starts_at == MONDAY_0930


def test_rescheduling_to_a_full_slot_keeps_the_old_booking(database: Database) -> None:
    reference = ready_to_sign(database)
    book(database, reference)
    later = booking(starts_at=MONDAY_0930 + timedelta(minutes=45))
    book(database, ready_to_sign(database), later)
    before = stored(database, reference)

    with pytest.raises(Conflict, match=SLOT_TAKEN):
        reschedule(database, reference, later)

    after = stored(database, reference)
    assert after.appointment == before.appointment
    assert after.appointment.state == "booked"
    assert after.events == before.events
    assert [state for _, state, _, _ in appointment_rows(database)] == ["booked", "booked"]


def test_rescheduling_to_the_same_time_is_refused(database: Database) -> None:
    reference = ready_to_sign(database)
    book(database, reference)

    with pytest.raises(InvalidInput, match="already booked at that time"):
        reschedule(database, reference, booking())


def test_nothing_booked_cannot_be_moved_or_cancelled(database: Database) -> None:
    reference = ready_to_sign(database)

    with pytest.raises(Conflict, match="move the appointment"):
        reschedule(database, reference, booking())
    with pytest.raises(Conflict, match="cancel the appointment"):
        cancel(database, reference)


def test_cancelling_puts_the_application_back_to_ready_to_sign(database: Database) -> None:
    reference = ready_to_sign(database)
    book(database, reference)

    cancel(database, reference)

    record = stored(database, reference)
    assert (record.stage, record.appointment) == ("ready_to_sign", None)
    assert record.events[-1].kind == "appointment_cancelled"
    assert record.events[-1].detail["starts_at"] == MONDAY_0930.isoformat()
    assert [state for _, state, _, _ in appointment_rows(database)] == ["cancelled"]
    book(database, reference)  # and it can book again
    assert stored(database, reference).stage == "appointment_booked"


def test_one_application_booked_twice_at_once_is_booked_once(any_database: Database) -> None:
    reference = ready_to_sign(any_database)
    release = threading.Barrier(2)

    def attempt(chosen: BookAppointment) -> str:
        release.wait(timeout=30)
        try:
            book(any_database, reference, chosen)
        except Conflict as error:
            return error.message
        return "booked"

    later = MONDAY_0900 + timedelta(minutes=45)
    choices = [booking(TWO_DESKS, MONDAY_0900), booking(TWO_DESKS, later)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, choices))

    assert sorted(outcomes) == [
        "booked",
        "cannot book a branch appointment while the application is at stage appointment booked",
    ]
    assert [state for _, state, _, _ in appointment_rows(any_database)] == ["booked"]
