"""Fresh PostgreSQL databases for the tests that run on both backends.

Each test gets a new, empty database on the server at `TEST_POSTGRES_URL` (default
postgresql://postgres@127.0.0.1:5432/test), dropped afterwards. Without a reachable server the
test is skipped, or fails when REQUIRE_POSTGRES=1 (as CI sets it where PostgreSQL runs).
`fresh_postgres_database` is the context manager; `postgres_url_fixture` makes a test suite's
`postgres_url` fixture from it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Create an empty database named `prefix` plus a random suffix; yield its URL, then drop it.

    Skips the calling test (or fails it, with REQUIRE_POSTGRES=1) when the server is not
    reachable.
    """
    admin = _admin_engine()
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin.url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_url_fixture(prefix: str) -> Callable[[], Iterator[str]]:
    """A `postgres_url` fixture whose databases are named `prefix` plus a random suffix.

    Assign it in a conftest: ``postgres_url = postgres_url_fixture("store_test_")``.
    """

    @pytest.fixture
    def postgres_url() -> Iterator[str]:
        """URL of a fresh, empty PostgreSQL database, dropped after the test."""
        with fresh_postgres_database(prefix) as url:
            yield url

    return postgres_url


def _admin_engine() -> Engine:
    """An autocommit engine on the server at `TEST_POSTGRES_URL`, checked to be reachable."""
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    engine = create_engine(
        url, future=True, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
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
