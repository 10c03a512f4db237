"""The scaled system's databases on PostgreSQL: created when missing, migrated, seeded.

What `make db` does for the SQLite demo (`desk.seed`, `actions.store.seed`), here for the four
databases every process of the scaled system shares: Rasa's tracker store, the action server's
app database (orders, handoff outbox), the desk's and the analytics' facts. Everything is
created and migrated *before* any process starts: two processes that each find a table missing
at the same moment would both create it, and one would fail (Rasa's SQL tracker store creates
its table when it starts; the desk migrates its analytics facts when it starts).

Running it again changes nothing but the demo agents' password (`DESK_DEMO_PASSWORD`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from actions.store.seed import prepare_demo_store
from analytics.store.database import FactsDatabase
from desk.seed import prepare_demo_desk

#: Database names are made of this prefix and a purpose: letters, digits and `_` only, so they
#: need no quoting rules beyond the double quotes used below.
NAME_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


@dataclass(frozen=True)
class ScaledDatabases:
    """The URLs of the four shared databases."""

    tracker_store: str
    app: str
    desk: str
    analytics: str

    def all(self) -> dict[str, str]:
        return {
            "tracker_store": self.tracker_store,
            "app": self.app,
            "desk": self.desk,
            "analytics": self.analytics,
        }


def database_urls(server_url: str, prefix: str) -> ScaledDatabases:
    """The databases named `<prefix>_tracker`, `_app`, `_desk`, `_analytics` on the server."""
    if not NAME_PATTERN.match(prefix):
        raise ValueError(
            f"database prefix {prefix!r} must be lower-case letters, digits and _ "
            f"(starting with a letter, at most 48 characters)"
        )
    server = make_url(server_url)

    def url(purpose: str) -> str:
        return server.set(database=f"{prefix}_{purpose}").render_as_string(hide_password=False)

    return ScaledDatabases(url("tracker"), url("app"), url("desk"), url("analytics"))


def create_missing(server_url: str, databases: ScaledDatabases) -> list[str]:
    """Creates each database that does not exist yet; returns the names it created."""
    engine = create_engine(server_url, future=True, isolation_level="AUTOCOMMIT")
    created = []
    try:
        with engine.connect() as connection:
            for url in databases.all().values():
                name = make_url(url).database
                assert name is not None and NAME_PATTERN.match(name)
                exists = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
                if exists is None:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                    created.append(name)
    finally:
        engine.dispose()
    return created


def drop(server_url: str, databases: ScaledDatabases) -> None:
    """Drops the databases (the tests' clean-up), closing any connection left to them."""
    engine = create_engine(server_url, future=True, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for url in databases.all().values():
                name = make_url(url).database
                assert name is not None and NAME_PATTERN.match(name)
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def create_tracker_tables(url: str) -> None:
    """Rasa's tracker store tables, as its `SQLTrackerStore` creates them when it starts."""
    engine = create_engine(url, future=True)
    try:
        SQLTrackerStore.Base.metadata.create_all(engine)
    finally:
        engine.dispose()


def prepare(server_url: str, databases: ScaledDatabases, demo_password: str) -> list[str]:
    """Creates what is missing, migrates and seeds; returns the names of new databases."""
    created = create_missing(server_url, databases)
    create_tracker_tables(databases.tracker_store)
    prepare_demo_store(databases.app)
    prepare_demo_desk(databases.desk, demo_password)
    facts = FactsDatabase(databases.analytics)
    try:
        facts.migrate()
    finally:
        facts.dispose()
    return created
