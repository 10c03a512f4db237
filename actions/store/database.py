"""The action server's database: the shared `sqlsupport.database.Database` on its migrations.

One `Database` wraps one SQLAlchemy engine. Code that touches the database opens a short
unit of work with `Database.session()`; nothing connects at import time. `get_database()`
builds the one the action server uses from its settings.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import URL

from actions.settings import get_settings
from sqlsupport.database import Database as SharedDatabase
from sqlsupport.types import UTCDateTime, utcnow

# The shared UTC timestamp type, re-exported for the action server's store.
__all__ = ["Database", "UTCDateTime", "get_database", "utcnow"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Database(SharedDatabase):
    """The action server's database (see `sqlsupport.database.Database`).

    Args:
        url: A SQLAlchemy URL, e.g. ``sqlite:///var/app.db`` or ``postgresql://...``.
        echo: Log every SQL statement (for debugging).
    """

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        super().__init__(url, MIGRATIONS_DIR, echo=echo)


@lru_cache(maxsize=1)
def get_database() -> Database:
    """Return the action server's database, built once from the settings."""
    return Database(get_settings().database_url)
