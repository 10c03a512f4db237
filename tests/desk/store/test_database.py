"""UTC timestamps in the desk's tables.

The shared engine, units of work and migrations are tested in `tests/sqlsupport`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from desk.store.database import Database
from desk.store.models import Agent


def test_timestamps_come_back_as_aware_utc(database: Database) -> None:
    plus_two = timezone(timedelta(hours=2))
    created = datetime(2025, 3, 14, 12, 0, tzinfo=plus_two)
    with database.session(write=True) as session:
        session.add(
            Agent(
                username="a",
                display_name="A",
                password_hash="h",
                role="agent",
                created_at=created,
            )
        )
    with database.session() as session:
        agent = session.query(Agent).one()

    assert agent.created_at == created
    assert agent.created_at.tzinfo == timezone.utc


def test_naive_timestamps_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="timezone-aware"), database.session(write=True) as s:
        s.add(
            Agent(
                username="a",
                display_name="A",
                password_hash="h",
                role="agent",
                created_at=datetime(2025, 1, 1),
            )
        )
        s.flush()
