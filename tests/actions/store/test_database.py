"""Engine set-up, UTC timestamps, units of work and migrations of `Database`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import StatementError

from actions.settings import get_settings
from actions.store.database import Database, get_database, utcnow
from actions.store.models import HandoffOutboxEntry, Order

CET = timezone(timedelta(hours=2))


def _outbox_entry(handoff_id: str, next_attempt_at: datetime) -> HandoffOutboxEntry:
    return HandoffOutboxEntry(
        handoff_id=handoff_id,
        sender_id="customer-1",
        payload="{}",
        next_attempt_at=next_attempt_at,
        created_at=utcnow(),
    )


def _order(number: str = "ORD-555555") -> Order:
    return Order(
        order_number=number,
        customer_name="Test Customer",
        customer_email="test@example.com",
        status="processing",
        placed_at=utcnow(),
    )


def test_utcnow_is_timezone_aware_utc() -> None:
    now = utcnow()

    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_utc_datetime_stores_utc_and_reads_back_aware(any_database: Database) -> None:
    local = datetime(2025, 3, 1, 10, 30, 15, 123456, tzinfo=CET)
    with any_database.session() as session:
        session.add(_outbox_entry("h-1", local))

    with any_database.session() as session:
        stored = session.get(HandoffOutboxEntry, "h-1").next_attempt_at
        raw = session.execute(text("SELECT next_attempt_at FROM handoff_outbox")).scalar_one()

    assert stored == local
    assert stored.utcoffset() == timedelta(0)
    assert (stored.hour, stored.minute) == (8, 30)  # 10:30 at +02:00
    if isinstance(raw, str):  # SQLite keeps text: it must be the UTC wall-clock time
        assert raw.startswith("2025-03-01 08:30:15.123456")
    else:  # PostgreSQL's timestamptz keeps the instant
        assert raw == local


def test_utc_datetime_refuses_naive_datetimes(database: Database) -> None:
    with pytest.raises(StatementError) as raised, database.session() as session:
        session.add(_outbox_entry("h-naive", datetime(2025, 3, 1, 10, 30)))
        session.flush()

    assert isinstance(raised.value.orig, ValueError)
    assert "timezone-aware" in str(raised.value.orig)


def test_utc_datetime_comparisons_in_queries_use_utc(any_database: Database) -> None:
    now = utcnow()
    with any_database.session() as session:
        # Due one minute ago, written in a +02:00 zone: still due.
        session.add(_outbox_entry("due", (now - timedelta(minutes=1)).astimezone(CET)))
        session.add(_outbox_entry("later", now + timedelta(minutes=1)))

    with any_database.session() as session:
        due = session.scalars(
            select(HandoffOutboxEntry.handoff_id).where(HandoffOutboxEntry.next_attempt_at <= now)
        ).all()

    assert due == ["due"]


def test_session_commits_on_success(database: Database) -> None:
    with database.session() as session:
        session.add(_order())

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_session_rolls_back_on_error_and_reraises(database: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), database.session() as session:
        session.add(_order())
        session.flush()
        raise RuntimeError("boom")

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_session_is_closed_after_the_unit_of_work(database: Database) -> None:
    with database.session() as session:
        order = _order()
        session.add(order)

    assert order not in session
    assert not session.in_transaction()
    # expire_on_commit=False: what was read stays readable after the session closed.
    assert order.order_number == "ORD-555555"


def test_savepoints_undo_only_the_inner_work(database: Database) -> None:
    with database.session() as session:
        session.add(_order("ORD-111111"))
        nested = session.begin_nested()
        session.add(_order("ORD-222222"))
        session.flush()
        nested.rollback()

    with database.session() as session:
        numbers = session.scalars(select(Order.order_number)).all()

    assert numbers == ["ORD-111111"]


def test_sqlite_enforces_foreign_keys_and_uses_wal(database: Database) -> None:
    with database.session() as session:
        foreign_keys = session.execute(text("PRAGMA foreign_keys")).scalar_one()
        journal_mode = session.execute(text("PRAGMA journal_mode")).scalar_one()

    assert foreign_keys == 1
    assert journal_mode == "wal"


def test_creates_the_parent_directory_of_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "app.db"

    db = Database(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        with db.session() as session:
            session.execute(text("SELECT 1"))
        assert path.exists()
    finally:
        db.dispose()


def test_migrate_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        db.migrate()
        db.migrate()  # already at head: nothing to do, no error

        tables = set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()

    assert {"orders", "mortgage_applications", "handoff_outbox", "alembic_version"} <= tables


def test_in_memory_database_can_be_migrated_and_used() -> None:
    db = Database("sqlite://")
    try:
        db.migrate()
        with db.session() as session:
            session.add(_order())
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Order)) == 1
    finally:
        db.dispose()


def test_alembic_config_escapes_percent_signs_in_the_url() -> None:
    db = Database("postgresql://user:p%40ss@db.invalid:5432/app")

    url = db.alembic_config().get_main_option("sqlalchemy.url")

    assert url == "postgresql://user:p%40ss@db.invalid:5432/app"


@pytest.fixture
def clean_caches() -> Iterator[None]:
    get_settings.cache_clear()
    get_database.cache_clear()
    yield
    get_database.cache_clear()
    get_settings.cache_clear()


@pytest.mark.usefixtures("clean_caches")
def test_get_database_is_cached_and_built_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'settings.db'}"
    monkeypatch.setenv("APP_DATABASE_URL", url)
    for name in ("HANDOFF_URL", "HANDOFF_SECRET", "ACTION_SERVER_TOKEN"):
        monkeypatch.setenv(name, "test-value")

    first = get_database()
    try:
        assert first is get_database()
        assert first.url.render_as_string(hide_password=False) == url
    finally:
        first.dispose()
