"""Fixtures for the store tests: real databases, never fakes.

SQLite tests use a migrated database file in `tmp_path`. PostgreSQL tests create a fresh
database on the server at `TEST_POSTGRES_URL` (default postgresql://postgres@127.0.0.1:5432/test)
and drop it afterwards; without a reachable server they are skipped, or fail when
REQUIRE_POSTGRES=1 (as CI sets it where PostgreSQL runs).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from actions.store.database import Database
from actions.store.seed import seed_demo_data

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """URL of a SQLite file (in a directory that does not exist yet)."""
    return f"sqlite:///{tmp_path / 'var' / 'app.db'}"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, empty SQLite database."""
    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def seeded_database(database: Database) -> Database:
    """A migrated SQLite database holding the demo orders."""
    seed_demo_data(database)
    return database


def _postgres_admin_engine() -> Engine:
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    engine = create_engine(
        url,
        future=True,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        engine.dispose()
        message = f"PostgreSQL is not reachable at {make_url(url)!r}: {error.orig}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but {message}", pytrace=False)
        pytest.skip(f"{message} (set REQUIRE_POSTGRES=1 to make this a failure)")
    return engine


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    admin = _postgres_admin_engine()
    name = f"store_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, database_url: str) -> Iterator[Database]:
    """A migrated, empty database on each supported backend."""
    url = database_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db = Database(url)
    db.migrate()
    yield db
    db.dispose()
