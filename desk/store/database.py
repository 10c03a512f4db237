"""The desk's database (the shared `sqlsupport.database.Database` on its migrations).

One `Database` per application (built in `desk.app.create_app`); nothing connects at import
time and there is no global session. Code opens a short unit of work with
`Database.session()`; units that write open with `write=True`, which on SQLite takes the write
lock up front (see `sqlsupport.database`). `UnitRunner` runs units of work off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from sqlsupport.database import Database as SharedDatabase

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Database(SharedDatabase):
    """The desk's database (see `sqlsupport.database.Database`).

    Args:
        url: A SQLAlchemy URL, e.g. ``sqlite:///var/desk.db`` or ``postgresql://...``.
        echo: Log every SQL statement (for debugging).
    """

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        super().__init__(url, MIGRATIONS_DIR, echo=echo)


class UnitRunner:
    """Runs units of work in a thread pool, so an event loop never waits on the database.

    A unit of work is a function of the `Session`, run inside `Database.session()`; it turns
    what it read into plain values (or response models) before the session closes.
    """

    def __init__(self, database: Database, executor: Executor) -> None:
        """Run units of `database` in `executor`."""
        self.database = database
        self._executor = executor

    async def __call__(self, work: Callable[[Session], T], *, write: bool = False) -> T:
        """Run `work` in one unit of work (see `Database.session` for `write`)."""

        def run() -> T:
            with self.database.session(write=write) as session:
                return work(session)

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)
