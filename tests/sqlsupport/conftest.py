"""Fixtures for the tests of `sqlsupport`: real databases on a small test schema.

The schema is this folder's `migrations/` (parents, and children deleted with their parent).
SQLite tests use a file in `tmp_path`; PostgreSQL tests get a fresh database from
`tests.support.postgres` (skipped without a server, failing instead with REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sqlsupport.database import Database
from tests.support.postgres import postgres_url_fixture

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@contextmanager
def migrated(url: str) -> Iterator[Database]:
    """A `Database` on the test schema at `url`, migrated to head and disposed afterwards."""
    database = Database(url, MIGRATIONS_DIR)
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """Path of a SQLite file (in a directory that does not exist yet)."""
    return tmp_path / "var" / "test.db"


@pytest.fixture
def sqlite_database(sqlite_path: Path) -> Iterator[Database]:
    """A migrated, empty SQLite database."""
    with migrated(f"sqlite:///{sqlite_path}") as database:
        yield database


# URL of a fresh, empty PostgreSQL database, dropped after the test.
postgres_url = postgres_url_fixture("sqlsupport_test_")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, sqlite_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each supported backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{sqlite_path}"
    else:
        url = request.getfixturevalue("postgres_url")
    with migrated(url) as database:
        yield database
