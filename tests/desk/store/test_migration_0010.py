"""Migration 0010: the handoffs of a database from 0009 count as told (joined, left), so the
restarted desk's sweep does not greet their customers again; a downgrade drops the columns."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from desk.bot_sync import _owed
from desk.store.database import Database
from desk.store.types import utcnow
from tests.desk.store.test_migration_0007 import database_url_of_each_backend  # noqa: F401
from tests.desk.store.test_models_migration import _insert_handoff, _schema_differences

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

_COLUMNS = {"joined_told_at", "left_told_at", "notice_lease_until"}


def test_old_claims_and_resolutions_are_not_owed_after_the_upgrade(
    database_url_of_each_backend: str,  # noqa: F811 (the fixture of test_migration_0007)
) -> None:
    db = Database(database_url_of_each_backend)
    try:
        db.migrate("0009")
        with db.engine.begin() as connection:
            rows = {
                "'h-claimed'": {"status": "'claimed'", "claimed_at": ":now"},
                "'h-resolved'": {
                    "status": "'resolved'",
                    "claimed_at": ":now",
                    "resolved_at": ":now",
                },
                "'h-queued'": {},
            }
            for n, (handoff_id, values) in enumerate(rows.items()):
                insert = _insert_handoff(handoff_id=handoff_id, sender_id=f"'s-{n}'", **values)
                connection.execute(text(insert), {"now": utcnow()})
        db.migrate()

        with db.session() as session:
            assert _owed(session) == []
        with db.engine.connect() as connection:
            told = connection.execute(
                text("SELECT handoff_id, joined_told_at, left_told_at FROM handoffs")
            ).all()
        assert {h: (j is not None, left is not None) for h, j, left in told} == {
            "h-claimed": (True, False),
            "h-resolved": (True, True),
            "h-queued": (False, False),
        }
        assert _schema_differences(db) == []

        command.downgrade(db.alembic_config(), "0009")
        columns = {c["name"] for c in inspect(db.engine).get_columns("handoffs")}
        assert columns.isdisjoint(_COLUMNS)
    finally:
        db.dispose()
