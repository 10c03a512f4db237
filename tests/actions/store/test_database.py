"""UTC timestamps in the action server's tables, and `get_database()`.

The shared engine, units of work and migrations are tested in `tests/sqlsupport`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from actions.settings import get_settings
from actions.store.database import Database, get_database, utcnow
from actions.store.models import HandoffOutboxEntry

CET = timezone(timedelta(hours=2))


def _outbox_entry(handoff_id: str, next_attempt_at: datetime) -> HandoffOutboxEntry:
    return HandoffOutboxEntry(
        handoff_id=handoff_id,
        sender_id="customer-1",
        payload="{}",
        next_attempt_at=next_attempt_at,
        created_at=utcnow(),
    )


def test_utcnow_is_timezone_aware_utc() -> None:
    now = utcnow()

    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_utc_datetime_stores_utc_and_reads_back_aware(any_database: Database) -> None:
    local = datetime(2025, 3, 1, 10, 30, 15, 123456, tzinfo=CET)
    with any_database.session() as session:
        session.add(_outbox_entry("h-1", local))

    with any_database.session() as session:
        stored = session.get(HandoffOutboxEntry, "h-1").next_attempt_at
        raw = session.execute(text("SELECT next_attempt_at FROM handoff_outbox")).scalar_one()

    assert stored == local
    assert stored.utcoffset() == timedelta(0)
    assert (stored.hour, stored.minute) == (8, 30)  # 10:30 at +02:00
    if isinstance(raw, str):  # SQLite keeps text: it must be the UTC wall-clock time
        assert raw.startswith("2025-03-01 08:30:15.123456")
    else:  # PostgreSQL's timestamptz keeps the instant
        assert raw == local


def test_utc_datetime_refuses_naive_datetimes(database: Database) -> None:
    with pytest.raises(StatementError) as raised, database.session() as session:
        session.add(_outbox_entry("h-naive", datetime(2025, 3, 1, 10, 30)))
        session.flush()

    assert isinstance(raised.value.orig, ValueError)
    assert "timezone-aware" in str(raised.value.orig)


def test_utc_datetime_comparisons_in_queries_use_utc(any_database: Database) -> None:
    now = utcnow()
    with any_database.session() as session:
        # Due one minute ago, written in a +02:00 zone: still due.
        session.add(_outbox_entry("due", (now - timedelta(minutes=1)).astimezone(CET)))
        session.add(_outbox_entry("later", now + timedelta(minutes=1)))

    with any_database.session() as session:
        due = session.scalars(
            select(HandoffOutboxEntry.handoff_id).where(HandoffOutboxEntry.next_attempt_at <= now)
        ).all()

    assert due == ["due"]


@pytest.fixture
def clean_caches() -> Iterator[None]:
    get_settings.cache_clear()
    get_database.cache_clear()
    yield
    get_database.cache_clear()
    get_settings.cache_clear()


@pytest.mark.usefixtures("clean_caches")
def test_get_database_is_cached_and_built_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'settings.db'}"
    monkeypatch.setenv("APP_DATABASE_URL", url)
    for name in ("HANDOFF_URL", "HANDOFF_SECRET", "ACTION_SERVER_TOKEN"):
        monkeypatch.setenv(name, "test-value")

    first = get_database()
    try:
        assert first is get_database()
        assert first.url.render_as_string(hide_password=False) == url
    finally:
        first.dispose()
