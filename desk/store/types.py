"""Column types of the desk's database.

`UTCDateTime` is deliberately a copy of the action server's (`actions/store/database.py`), not
an import: the desk is its own deployable with its own database, and importing the action
server's store would tie the desk's release to the action server's package (and its settings
module). The contract between the two lives in `contract/`; this 30-line type is not part of it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator

# Dialects whose timestamp column keeps the offset; everywhere else we store naive UTC.
_TIMEZONE_AWARE_DIALECTS = frozenset({"postgresql"})


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    Naive datetimes are refused on the way in: guessing their zone is how off-by-an-hour bugs
    get into a database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC (naive UTC for dialects without time zones)."""
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"UTCDateTime needs a timezone-aware datetime, got {value!r}")
        value = value.astimezone(timezone.utc)
        if dialect.name in _TIMEZONE_AWARE_DIALECTS:
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite returns; normalise PostgreSQL's session zone to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
