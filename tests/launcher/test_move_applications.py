"""Moving the mortgage applications to the desk, on real SQLite files (and PostgreSQL)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, func, inspect, select

from actions.store.database import Database as AppDatabase
from actions.store.models import Order
from actions.store.seed import DEMO_ORDERS, seed_demo_data
from desk.services.applications import create_application, get_application
from desk.store.database import Database as DeskDatabase
from desk.store.models import MortgageApplication
from launcher.move_applications import MoveReport, main, move_applications
from tests.support.applications import mortgage_intake
from tests.support.postgres import postgres_url_fixture

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

CREATED = datetime(2026, 11, 20, 9, 15, 30, 123456, tzinfo=timezone.utc)

#: Two applications as the action server stored them, one with a longer history.
LEGACY: list[dict[str, Any]] = [
    {
        "reference": "MTG-7K3Q9",
        "status": "advice_requested",
        "applicant_name": "Jane Smith",
        "email": "jane.smith@example.com",
        "property_value": Decimal("350000.00"),
        "deposit_amount": Decimal("70000.00"),
        "loan_amount": Decimal("280000.00"),
        "loan_to_value": Decimal("0.8000"),
        "term_years": 25,
        "annual_income": Decimal("72000.50"),
        "employment_type": "employed",
        "currency": "GBP",
        "origin_channel": "socketio",
        "origin_sender_id": "web-jane",
        "created_at": CREATED,
        "updated_at": CREATED + timedelta(minutes=5),
        "events": [
            ("web_chat", "created", None, {"origin_channel": "socketio"}, 0),
            ("desk", "note", "maya", {"text": "called back"}, 300),
            # Written in the same instant: the order they were written in is kept.
            ("web_chat", "advice_requested", None, {}, 300),
        ],
    },
    {
        "reference": "MTG-0AB12",
        "status": "intake_complete",
        "applicant_name": "Amir Khan",
        "email": "amir@example.com",
        "property_value": Decimal("199999.99"),
        "deposit_amount": Decimal("20000.00"),
        "loan_amount": Decimal("179999.99"),
        "loan_to_value": Decimal("0.9000"),
        "term_years": 30,
        "annual_income": Decimal("48000.00"),
        "employment_type": "self_employed",
        "currency": "GBP",
        "origin_channel": "rest",
        "origin_sender_id": "web-amir",
        "created_at": CREATED + timedelta(days=1),
        "updated_at": CREATED + timedelta(days=1),
        "events": [("web_chat", "created", None, {"origin_channel": "rest"}, 0)],
    },
]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def legacy_app_database(url: str, applications: list[dict[str, Any]] = LEGACY) -> str:
    """The action server's database as the first release left it: orders and applications."""
    database = AppDatabase(url)
    try:
        database.migrate("0001")
        seed_demo_data(database)
        tables = MetaData()
        tables.reflect(bind=database.engine, only=["mortgage_applications", "application_events"])
        rows = tables.tables["mortgage_applications"]
        events = tables.tables["application_events"]
        with database.engine.begin() as connection:
            for application in applications:
                values = {k: v for k, v in application.items() if k != "events"}
                values["created_at"] = _stored(values["created_at"], database)
                values["updated_at"] = _stored(values["updated_at"], database)
                application_id = connection.execute(
                    rows.insert().values(**values)
                ).inserted_primary_key[0]
                for touchpoint, kind, actor, detail, seconds in application["events"]:
                    connection.execute(
                        events.insert().values(
                            application_id=application_id,
                            occurred_at=_stored(
                                application["created_at"] + timedelta(seconds=seconds), database
                            ),
                            touchpoint=touchpoint,
                            kind=kind,
                            actor=actor,
                            detail=detail,
                        )
                    )
    finally:
        database.dispose()  # the last connection closing checkpoints the WAL into the file
    return url


def _stored(moment: datetime, database: AppDatabase) -> datetime:
    """As UTCDateTime stored it: naive UTC on SQLite, aware on PostgreSQL."""
    return moment.replace(tzinfo=None) if database.is_sqlite else moment


def legacy_count(url: str) -> int:
    database = AppDatabase(url)
    try:
        with database.engine.connect() as connection:
            return int(
                connection.exec_driver_sql(
                    "SELECT COUNT(*) FROM mortgage_applications"
                ).scalar_one()
            )
    finally:
        database.dispose()


def desk_count(url: str) -> int:
    database = DeskDatabase(url)
    try:
        with database.session() as session:
            return int(session.scalar(select(func.count()).select_from(MortgageApplication)) or 0)
    finally:
        database.dispose()


@pytest.fixture
def app_url(tmp_path: Path) -> str:
    return legacy_app_database(sqlite_url(tmp_path / "app.db"))


@pytest.fixture
def desk_url(tmp_path: Path) -> str:
    """The desk's database as it was before (revision 0003), with no application table."""
    url = sqlite_url(tmp_path / "desk.db")
    database = DeskDatabase(url)
    database.migrate("0003")
    database.dispose()
    return url


# Fresh PostgreSQL databases for the action server and the desk, dropped after the test.
app_postgres_url = postgres_url_fixture("move_app_")
desk_postgres_url = postgres_url_fixture("move_desk_")


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, app_url: str, desk_url: str) -> tuple[str, str]:
    """The action server's database with the applications, and the desk's at revision 0003."""
    if request.param == "sqlite":
        return app_url, desk_url
    app, desk = (
        request.getfixturevalue(name) for name in ("app_postgres_url", "desk_postgres_url")
    )
    database = DeskDatabase(desk)
    database.migrate("0003")
    database.dispose()
    return legacy_app_database(app), desk


def test_an_existing_install_ends_with_every_application_at_the_desk(
    databases: tuple[str, str],
) -> None:
    app_url, desk_url = databases
    report = move_applications(app_url, desk_url)

    assert report == MoveReport(moved=2)
    desk = DeskDatabase(desk_url)
    try:
        with desk.session() as session:
            jane = get_application(session, "MTG-7K3Q9")
            amir = get_application(session, "MTG-0AB12")
    finally:
        desk.dispose()
    assert jane is not None and amir is not None
    expected = LEGACY[0]
    assert jane.stage == "advice"  # the status of that day, as a stage
    for field in ("applicant_name", "email", "property_value", "deposit_amount"):
        assert getattr(jane, field) == expected[field]
    assert (jane.loan_amount, jane.loan_to_value, jane.annual_income) == (
        Decimal("280000.00"),
        Decimal("0.8000"),
        Decimal("72000.50"),
    )
    assert (jane.created_at, jane.updated_at) == (expected["created_at"], expected["updated_at"])
    assert (jane.origin_channel, jane.origin_sender_id) == ("socketio", "web-jane")
    assert [(e.touchpoint, e.kind, e.actor_kind, e.actor, dict(e.detail)) for e in jane.events] == [
        ("web_chat", "form_completed", "customer", None, {"origin_channel": "socketio"}),
        ("desk", "note", "agent", "maya", {"text": "called back"}),
        ("web_chat", "advice_requested", "bot", None, {}),
    ]
    assert jane.events[1].occurred_at == CREATED + timedelta(seconds=300)
    assert amir.property_value == Decimal("199999.99")
    assert legacy_count(app_url) == 0

    # Now the action server's migration drops its tables, and keeps the orders.
    app = AppDatabase(app_url)
    try:
        app.migrate()
        assert not {"mortgage_applications", "application_events"} & set(
            inspect(app.engine).get_table_names()
        )
        with app.session() as session:
            assert session.scalar(select(func.count()).select_from(Order)) == len(DEMO_ORDERS)
    finally:
        app.dispose()


def test_many_applications_move_batch_by_batch(app_url: str, desk_url: str) -> None:
    assert move_applications(app_url, desk_url, batch_size=1) == MoveReport(moved=2)
    assert (desk_count(desk_url), legacy_count(app_url)) == (2, 0)


def test_moving_again_changes_nothing(app_url: str, desk_url: str) -> None:
    move_applications(app_url, desk_url)

    assert move_applications(app_url, desk_url) == MoveReport()
    assert desk_count(desk_url) == 2


def test_a_run_interrupted_before_deleting_is_finished_by_the_next(
    app_url: str, desk_url: str, tmp_path: Path
) -> None:
    source = Path(app_url.removeprefix("sqlite:///"))
    shutil.copyfile(source, tmp_path / "before.db")
    move_applications(app_url, desk_url)
    # As if the process died after the desk committed the copy, before the source deleted it.
    shutil.copyfile(tmp_path / "before.db", source)

    report = move_applications(app_url, desk_url)

    assert report == MoveReport(already_there=2)
    assert (desk_count(desk_url), legacy_count(app_url)) == (2, 0)


def test_the_action_servers_migration_refuses_to_drop_applications_not_moved(
    app_url: str,
) -> None:
    app = AppDatabase(app_url)
    try:
        with pytest.raises(RuntimeError, match="2 mortgage application"):
            app.migrate()
    finally:
        app.dispose()

    assert legacy_count(app_url) == 2


def test_a_fresh_install_has_nothing_to_move(tmp_path: Path, desk_url: str) -> None:
    app_path = tmp_path / "fresh" / "app.db"

    assert move_applications(sqlite_url(app_path), desk_url) == MoveReport()
    assert not app_path.exists()
    # Then the action server's database is created at the newest revision, without the tables.
    app = AppDatabase(sqlite_url(app_path))
    try:
        app.migrate()
        assert "mortgage_applications" not in inspect(app.engine).get_table_names()
    finally:
        app.dispose()
    assert desk_count(desk_url) == 0


def test_a_reference_the_desk_gave_another_application_is_left_and_reported(
    app_url: str, desk_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = DeskDatabase(desk_url)
    desk.migrate()
    monkeypatch.setattr("desk.services.applications.generate_reference", lambda: "MTG-0AB12")
    with desk.session() as session:
        create_application(
            session, mortgage_intake(), origin_channel="rest", origin_sender_id="web-else"
        )
    desk.dispose()

    status = main(["--app-database-url", app_url, "--desk-database-url", desk_url])

    assert status == 1
    assert "MTG-0AB12: the desk holds another application" in capsys.readouterr().out
    assert (desk_count(desk_url), legacy_count(app_url)) == (2, 1)


def test_the_command_reports_what_it_moved(
    app_url: str, desk_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--app-database-url", app_url, "--desk-database-url", desk_url])

    assert status == 0
    assert capsys.readouterr().out.startswith("Mortgage applications moved to the desk: 2")
