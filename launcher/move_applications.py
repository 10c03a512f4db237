"""Move the mortgage applications from the action server's database to the desk's (`make db`).

The desk owns the applications now (its revision 0004). The action server's revision 0002 drops
its copy of the tables, and refuses to while any application is left there. `make db` runs this
step between the two: it migrates the desk, copies every application with its whole history
(references, statuses and timestamps as they were), then deletes from the action server's
database what the desk now holds.

Safe to run again at any point. An application the desk already has (same reference, same
conversation, same creation time: a run interrupted before it deleted) is only deleted from the
source. A fresh install (no action server database yet, or its tables already dropped) has
nothing to move. A reference the desk holds for another application is left where it is and
reported (exit status 1), so the action server's migration keeps refusing until someone looks.

Run ``python -m launcher.move_applications`` (the URLs default to the settings').
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

from sqlalchemy import MetaData, Table, delete, inspect, select
from sqlalchemy.engine import Connection, Row, make_url

from actions.settings import get_settings
from actions.store.database import Database as AppDatabase
from desk.settings import DeskDatabaseSettings
from desk.store.database import Database as DeskDatabase
from desk.store.models import ApplicationChat, ApplicationEvent, MortgageApplication
from sqlsupport.application_tables import KIND_OF_OLD_KIND, STAGE_OF_STATUS

#: The action server's tables of the first release, children first.
LEGACY_TABLES: Final = ("application_events", "mortgage_applications")
BATCH_SIZE: Final = 500


@dataclass(frozen=True)
class MoveReport:
    """What one run did.

    Attributes:
        moved: Applications copied to the desk (and deleted from the action server).
        already_there: Applications a previous run had copied; now deleted from the source.
        conflicts: References the desk holds for a different application: left in place.
    """

    moved: int = 0
    already_there: int = 0
    conflicts: tuple[str, ...] = ()


def move_applications(
    app_database_url: str, desk_database_url: str, *, batch_size: int = BATCH_SIZE
) -> MoveReport:
    """Move every application from the action server's database to the desk's.

    The desk's database is migrated first. Each batch is copied in one unit of work at the
    desk, then deleted in one transaction at the source: a crash between the two leaves the
    rows in both places, which the next run recognises.
    """
    desk = DeskDatabase(desk_database_url)
    try:
        desk.migrate()
        if _missing_sqlite_file(app_database_url):
            return MoveReport()  # a fresh install: nothing was ever stored
        return _move_from(AppDatabase(app_database_url), desk, batch_size)
    finally:
        desk.dispose()


def _move_from(source: AppDatabase, desk: DeskDatabase, batch_size: int) -> MoveReport:
    try:
        with source.engine.connect() as connection:
            if not inspect(connection).has_table("mortgage_applications"):
                return MoveReport()  # already moved, and the tables dropped
            tables = MetaData()
            tables.reflect(bind=connection, only=LEGACY_TABLES)
        return _move_all(source, desk, tables, batch_size)
    finally:
        source.dispose()


def _move_all(
    source: AppDatabase, desk: DeskDatabase, tables: MetaData, batch_size: int
) -> MoveReport:
    applications = tables.tables["mortgage_applications"]
    events = tables.tables["application_events"]
    moved = already_there = 0
    conflicts: list[str] = []
    last_id = 0
    while True:
        with source.engine.connect() as connection:
            batch = _application_batch(connection, applications, last_id, batch_size)
            if not batch:
                return MoveReport(moved, already_there, tuple(conflicts))
            history = _histories(connection, events, [row.id for row in batch])
        last_id = batch[-1].id
        copied, found, clashing = _copy_to_desk(desk, batch, history)
        moved += len(copied)
        already_there += len(found)
        conflicts += [row.reference for row in clashing]
        done = [row.id for row in (*copied, *found)]
        with source.engine.begin() as connection:
            connection.execute(delete(events).where(events.c.application_id.in_(done)))
            connection.execute(delete(applications).where(applications.c.id.in_(done)))


def _application_batch(
    connection: Connection, applications: Table, after_id: int, size: int
) -> list[Row]:
    statement = (
        select(applications)
        .where(applications.c.id > after_id)
        .order_by(applications.c.id)
        .limit(size)
    )
    return list(connection.execute(statement))


def _histories(connection: Connection, events: Table, ids: list[int]) -> dict[int, list[Row]]:
    """Each application's events, oldest first (ties in the order they were written)."""
    statement = (
        select(events)
        .where(events.c.application_id.in_(ids))
        .order_by(events.c.occurred_at, events.c.id)
    )
    history: dict[int, list[Row]] = {application_id: [] for application_id in ids}
    for event in connection.execute(statement):
        history[event.application_id].append(event)
    return history


def _copy_to_desk(
    desk: DeskDatabase, batch: list[Row], history: dict[int, list[Row]]
) -> tuple[list[Row], list[Row], list[Row]]:
    """Copy the applications the desk lacks: (copied, already there, clashing references)."""
    copied: list[Row] = []
    found: list[Row] = []
    clashing: list[Row] = []
    with desk.session(write=True) as session:
        known = {
            application.reference: application
            for application in session.scalars(
                select(MortgageApplication).where(
                    MortgageApplication.reference.in_([row.reference for row in batch])
                )
            )
        }
        for row in batch:
            existing = known.get(row.reference)
            if existing is None:
                session.add(_desk_application(row, history[row.id]))
                copied.append(row)
            elif _same_application(existing, row):
                found.append(row)
            else:
                clashing.append(row)
    return copied, found, clashing


def _same_application(existing: MortgageApplication, row: Row) -> bool:
    return (existing.origin_sender_id, existing.created_at) == (
        row.origin_sender_id,
        _utc(row.created_at),
    )


def _actor_kind(event: Row) -> str:
    """Who acted, for an entry of that day (which did not say it): the customer made the form,
    the bot wrote the chat's other entries, people the desk's and the branch's."""
    if event.touchpoint == "web_chat":
        return "customer" if event.kind == "created" else "bot"
    return {"desk": "agent", "branch": "branch_staff"}.get(event.touchpoint, "system")


def _desk_application(row: Row, events: list[Row]) -> MortgageApplication:
    return MortgageApplication(
        reference=row.reference,
        stage=STAGE_OF_STATUS.get(row.status, row.status),
        applicant_name=row.applicant_name,
        email=row.email,
        property_value=row.property_value,
        deposit_amount=row.deposit_amount,
        loan_amount=row.loan_amount,
        loan_to_value=row.loan_to_value,
        term_years=row.term_years,
        annual_income=row.annual_income,
        employment_type=row.employment_type,
        currency=row.currency,
        origin_channel=row.origin_channel,
        origin_sender_id=row.origin_sender_id,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        chats=[
            ApplicationChat(
                sender_id=row.origin_sender_id, how="origin", linked_at=_utc(row.created_at)
            )
        ],
        events=[
            ApplicationEvent(
                occurred_at=_utc(event.occurred_at),
                touchpoint=event.touchpoint,
                kind=KIND_OF_OLD_KIND.get(event.kind, event.kind),
                actor_kind=_actor_kind(event),
                actor=event.actor,
                detail=_detail(event.detail),
            )
            for event in events
        ],
    )


def _utc(value: datetime) -> datetime:
    """SQLite hands back the naive UTC the action server stored; PostgreSQL an aware time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _detail(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _missing_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in {"", ":memory:"}:
        return False
    return not database.startswith("file:") and not Path(database).expanduser().exists()


def main(argv: Sequence[str] | None = None) -> int:
    """Move the applications; exit status 1 if any reference clashes at the desk."""
    parser = argparse.ArgumentParser(
        prog="python -m launcher.move_applications",
        description="Move the mortgage applications from the action server's database to the "
        "desk's (idempotent).",
    )
    parser.add_argument("--app-database-url", help="default: APP_DATABASE_URL from the settings")
    parser.add_argument("--desk-database-url", help="default: DESK_DATABASE_URL")
    arguments = parser.parse_args(argv)
    report = move_applications(
        arguments.app_database_url or get_settings().database_url,
        arguments.desk_database_url or DeskDatabaseSettings().database_url,
    )
    print(
        f"Mortgage applications moved to the desk: {report.moved}"
        f" (copied by an earlier run: {report.already_there})"
    )
    for reference in report.conflicts:
        print(f"  {reference}: the desk holds another application with this reference; left")
    return 1 if report.conflicts else 0


if __name__ == "__main__":
    raise SystemExit(main())
