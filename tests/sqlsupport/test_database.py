"""Engine set-up, units of work and migrations of the shared `sqlsupport.database.Database`.

Both deployables' `Database` are this class on their own migrations; these tests run it on the
small test schema of this folder, on real SQLite files and on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, create_engine, event, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base
from sqlalchemy.pool import NullPool

from sqlsupport.database import SQLITE_BUSY_TIMEOUT, Database
from tests.sqlsupport.conftest import MIGRATIONS_DIR, migrated

Base = declarative_base()


class Parent(Base):  # type: ignore[misc, valid-type]
    """A row of the test schema's parents table."""

    __tablename__ = "parents"
    id = Column(Integer, primary_key=True, autoincrement=False)
    name = Column(String(50), nullable=False)


def _names(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(Parent.name).order_by(Parent.id)))


def _sqlite_file(database: Database) -> str:
    return str(database.url.database)


# --- Units of work, on both backends ---------------------------------------------------------


@pytest.mark.parametrize("write", [False, True])
def test_session_commits_on_success(any_database: Database, write: bool) -> None:
    with any_database.session(write=write) as session:
        session.add(Parent(id=1, name="kept"))

    assert _names(any_database) == ["kept"]


@pytest.mark.parametrize("write", [False, True])
def test_session_rolls_back_on_error_and_reraises(any_database: Database, write: bool) -> None:
    with any_database.session(write=True) as session:
        session.add(Parent(id=1, name="kept"))
    with pytest.raises(RuntimeError, match="boom"), any_database.session(write=write) as session:
        session.add(Parent(id=2, name="undone"))
        session.flush()
        raise RuntimeError("boom")

    assert _names(any_database) == ["kept"]


def test_session_is_closed_after_the_unit_of_work(any_database: Database) -> None:
    with any_database.session(write=True) as session:
        parent = Parent(id=1, name="kept")
        session.add(parent)

    assert parent not in session
    assert not session.in_transaction()
    # expire_on_commit=False: what was read stays readable after the session closed.
    assert parent.name == "kept"


def test_savepoints_undo_only_the_inner_work(any_database: Database) -> None:
    with any_database.session(write=True) as session:
        session.add(Parent(id=1, name="outer"))
        nested = session.begin_nested()
        session.add(Parent(id=2, name="inner"))
        session.flush()
        nested.rollback()

    assert _names(any_database) == ["outer"]


def test_foreign_keys_are_enforced_and_cascade(any_database: Database) -> None:
    with pytest.raises(IntegrityError), any_database.session(write=True) as session:
        session.execute(text("INSERT INTO children (id, parent_id) VALUES (1, 404)"))
    with any_database.session(write=True) as session:
        session.add(Parent(id=1, name="parent"))
        session.flush()
        session.execute(text("INSERT INTO children (id, parent_id) VALUES (1, 1)"))

    with any_database.session(write=True) as session:
        session.execute(text("DELETE FROM parents WHERE id = 1"))

    with any_database.session() as session:
        assert session.execute(text("SELECT count(*) FROM children")).scalar_one() == 0


# --- SQLite: connection set-up and the write lock --------------------------------------------


def test_sqlite_uses_wal_foreign_keys_and_the_busy_timeout(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        foreign_keys = session.execute(text("PRAGMA foreign_keys")).scalar_one()
        journal_mode = session.execute(text("PRAGMA journal_mode")).scalar_one()
        busy_timeout = session.execute(text("PRAGMA busy_timeout")).scalar_one()
        synchronous = session.execute(text("PRAGMA synchronous")).scalar_one()

    assert foreign_keys == 1
    assert journal_mode == "wal"
    assert synchronous == 1  # NORMAL: no fsync at each commit in WAL mode
    assert busy_timeout == SQLITE_BUSY_TIMEOUT * 1000


def test_a_write_unit_takes_the_sqlite_write_lock_when_it_begins(
    sqlite_database: Database,
) -> None:
    other = sqlite3.connect(_sqlite_file(sqlite_database), timeout=0, isolation_level=None)
    try:
        # Nothing executed in the unit yet, and still no other writer gets in.
        with (
            sqlite_database.session(write=True),
            pytest.raises(sqlite3.OperationalError, match="locked"),
        ):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_read_unit_leaves_the_sqlite_write_lock_free(sqlite_database: Database) -> None:
    other = sqlite3.connect(_sqlite_file(sqlite_database), timeout=0, isolation_level=None)
    try:
        with sqlite_database.session() as session:
            session.execute(select(Parent)).all()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_second_sqlite_writer_waits_for_the_first_instead_of_failing(
    sqlite_database: Database,
) -> None:
    first_holds_the_lock = threading.Event()
    second_begins = threading.Event()
    release_first = threading.Event()
    order: list[str] = []
    checkouts: list[object] = []

    def checkout(dbapi_connection: object, _record: object, _proxy: object) -> None:
        # A unit of work takes its connection right before its BEGIN IMMEDIATE.
        checkouts.append(dbapi_connection)
        if len(checkouts) == 2:
            second_begins.set()

    event.listen(sqlite_database.engine, "checkout", checkout)

    def first() -> None:
        with sqlite_database.session(write=True) as session:
            first_holds_the_lock.set()
            release_first.wait(timeout=10)
            session.add(Parent(id=1, name="first"))
            order.append("first")

    def second() -> None:
        first_holds_the_lock.wait(timeout=10)
        with sqlite_database.session(write=True) as session:
            order.append("second")
            # Reads what the first committed: it began only after the first had finished.
            count = len(session.scalars(select(Parent)).all())
            session.add(Parent(id=2, name=f"second after {count}"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        first_done, second_done = pool.submit(first), pool.submit(second)
        assert first_holds_the_lock.wait(timeout=10)
        assert second_begins.wait(timeout=10)  # it is about to ask for the write lock
        assert not second_done.done()
        release_first.set()
        first_done.result(timeout=10)
        second_done.result(timeout=10)

    assert order == ["first", "second"]
    assert _names(sqlite_database) == ["first", "second after 1"]


def test_creates_the_parent_directory_of_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "test.db"

    database = Database(f"sqlite:///{path}", MIGRATIONS_DIR)
    try:
        assert path.parent.is_dir()
        database.migrate()
        assert path.exists()
    finally:
        database.dispose()


def test_in_memory_sqlite_migrates_and_keeps_its_data() -> None:
    with migrated("sqlite://") as database:
        with database.session(write=True) as session:
            session.add(Parent(id=1, name="remembered"))

        assert _names(database) == ["remembered"]


# --- PostgreSQL: the connection pool ----------------------------------------------------------


def test_postgresql_replaces_a_dropped_pooled_connection(postgres_url: str) -> None:
    with migrated(postgres_url) as database:
        with database.session() as session:
            dropped = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = create_engine(postgres_url, future=True, poolclass=NullPool)
        try:
            with killer.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
        finally:
            killer.dispose()

        # pool_pre_ping notices the dead connection and opens a new one.
        with database.session() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != dropped


# --- Migrations and configuration ------------------------------------------------------------


def test_migrate_goes_to_a_given_revision_and_then_to_head(sqlite_path: Path) -> None:
    database = Database(f"sqlite:///{sqlite_path}", MIGRATIONS_DIR)
    try:
        database.migrate("0001")
        first = set(inspect(database.engine).get_table_names())
        database.migrate()
        database.migrate()  # already at head: nothing to do, no error
        head = set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()

    assert first == {"parents", "alembic_version"}
    assert head == {"parents", "children", "alembic_version"}


def test_migrate_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    with migrated(f"sqlite:///{tmp_path / 'test.db'}") as database:
        tables = set(inspect(database.engine).get_table_names())

    assert tables == {"parents", "children", "alembic_version"}


def test_alembic_config_names_the_migrations_and_escapes_percent_signs() -> None:
    database = Database("postgresql://user:p%40ss@db.invalid:5432/app", MIGRATIONS_DIR)

    config = database.alembic_config()

    assert config.get_main_option("script_location") == str(MIGRATIONS_DIR)
    assert (
        config.get_main_option("sqlalchemy.url") == "postgresql://user:p%40ss@db.invalid:5432/app"
    )


def test_url_and_backend_are_known_without_connecting() -> None:
    postgres = Database("postgresql://user@db.invalid:5432/app", MIGRATIONS_DIR)
    sqlite = Database("sqlite://", MIGRATIONS_DIR)
    try:
        assert postgres.url.host == "db.invalid"
        assert not postgres.is_sqlite
        assert sqlite.is_sqlite
    finally:
        postgres.dispose()
        sqlite.dispose()
