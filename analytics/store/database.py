"""The analytics' database (the shared `sqlsupport.database.Database` on its migrations)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

from sqlsupport.database import Database as SharedDatabase

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class FactsDatabase(SharedDatabase):
    """Where the facts live (ANALYTICS_DATABASE_URL; SQLite by default)."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        super().__init__(url, MIGRATIONS_DIR, echo=echo)
