"""Fixtures for the store tests: real databases, never fakes.

SQLite tests use a migrated database file in `tmp_path`. PostgreSQL tests get a fresh database
from `tests.support.postgres` (skipped without a server, failing instead with REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.store.database import Database
from actions.store.seed import seed_demo_data
from tests.support.postgres import postgres_url_fixture
from tests.support.sqlite_copies import migrated


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """URL of a SQLite file (in a directory that does not exist yet)."""
    return f"sqlite:///{tmp_path / 'var' / 'app.db'}"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, empty SQLite database (a copy of one migrated once per process:
    `tests.support.sqlite_copies`)."""
    db = migrated(Database, database_url)
    yield db
    db.dispose()


@pytest.fixture
def seeded_database(database: Database) -> Database:
    """A migrated SQLite database holding the demo orders."""
    seed_demo_data(database)
    return database


# URL of a fresh, empty PostgreSQL database, dropped after the test.
postgres_url = postgres_url_fixture("store_test_")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, database_url: str) -> Iterator[Database]:
    """A migrated, empty database on each supported backend."""
    url = database_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db = migrated(Database, url)
    yield db
    db.dispose()
