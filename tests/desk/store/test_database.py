"""Units of work and timestamps of the desk's database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from desk.store.database import Database
from desk.store.models import Agent
from desk.store.types import utcnow


def test_a_unit_of_work_commits_or_rolls_back(database: Database) -> None:
    with database.session(write=True) as session:
        session.add(Agent(username="a", display_name="A", password_hash="h", role="agent"))
    with pytest.raises(RuntimeError), database.session(write=True) as session:
        session.add(Agent(username="b", display_name="B", password_hash="h", role="agent"))
        session.flush()
        raise RuntimeError("boom")

    with database.session() as session:
        names = session.execute(text("SELECT username FROM agents")).scalars().all()
    assert names == ["a"]


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


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'deep' / 'er' / 'desk.db'}")
    try:
        db.migrate()
        assert (tmp_path / "deep" / "er" / "desk.db").exists()
    finally:
        db.dispose()


def test_in_memory_sqlite_migrates_and_keeps_its_data() -> None:
    db = Database("sqlite://")
    try:
        db.migrate()
        with db.session(write=True) as session:
            session.add(
                Agent(
                    username="a",
                    display_name="A",
                    password_hash="h",
                    role="agent",
                    created_at=utcnow(),
                )
            )
        with db.session() as session:
            assert session.query(Agent).count() == 1
    finally:
        db.dispose()
