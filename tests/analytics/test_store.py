"""The facts database: its migration makes exactly the models' schema, on SQLite and
PostgreSQL, and the sources' columns the build reads exist where it reads them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import text

from analytics.sources import DESK, TRACKER
from analytics.store.database import FactsDatabase
from analytics.store.models import Base
from desk.store.models import Base as DeskBase
from tests.support.postgres import postgres_url_fixture

postgres_url = postgres_url_fixture("analytics_test_")


@pytest.fixture(params=["sqlite", "postgresql"])
def facts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FactsDatabase]:
    url = (
        f"sqlite:///{tmp_path / 'facts.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    database = FactsDatabase(url)
    database.migrate()
    yield database
    database.dispose()


def _differences(database: FactsDatabase) -> list[Any]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_the_migration_makes_the_models_schema(facts: FactsDatabase) -> None:
    assert _differences(facts) == []


def test_the_comparison_notices_a_missing_index(tmp_path: Path) -> None:
    database = FactsDatabase(f"sqlite:///{tmp_path / 'facts.db'}")
    database.migrate()
    with database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_handoff_facts_day"))
    assert [d[0] for d in _differences(database)] == ["add_index"]
    database.dispose()


def test_every_desk_column_read_exists_in_the_desk_models() -> None:
    for table in DESK.tables.values():
        desk_table = DeskBase.metadata.tables[table.name]
        assert set(table.columns.keys()) <= set(desk_table.columns.keys()), table.name


def test_every_tracker_column_read_is_rasas() -> None:
    rasa_columns = set(SQLTrackerStore.SQLEvent.__table__.columns.keys())
    assert set(TRACKER.tables["events"].columns.keys()) == rasa_columns


def test_the_same_history_gives_the_same_report_with_the_facts_on_postgresql(
    world: Any, postgres_url: str
) -> None:
    from analytics.build import Builder
    from tests.analytics.test_build import _history

    _history(world)
    world.build()
    on_sqlite = world.report()
    facts = FactsDatabase(postgres_url)
    facts.migrate()
    try:
        Builder(facts, world.tracker_engine, world.builder.desk, world.settings).run()
        world.facts, sqlite_facts = facts, world.facts
        on_postgres = world.report()
        world.facts = sqlite_facts
    finally:
        facts.dispose()
    assert on_postgres.dict(exclude={"freshness"}) == on_sqlite.dict(exclude={"freshness"})
    assert on_postgres.trends[0].engaged > 0
