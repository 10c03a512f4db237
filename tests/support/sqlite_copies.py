"""Fresh SQLite databases for tests: made for real once per test process, then copied.

Hundreds of tests each want a new, migrated database (and many the test agents in it).
Migrating takes a few hundred milliseconds (ten migrations, SQLite syncing every DDL
statement) and hashing the agents' passwords (scrypt) about as long again, so the first test
of a process that wants a database of some kind makes it for real, and the file is kept; every
later test of the kind gets a byte copy of that file, which is the same database.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlsupport.database import Database

D = TypeVar("D", bound=Database)

_templates: dict[tuple[Path, str], Path] = {}
_folder: Path | None = None


def _template_folder() -> Path:
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="sqlite-templates-"))
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder


def make_fresh(database: D, kind: str, make: Callable[[D], object]) -> None:
    """Give `database`, a SQLite file nobody has opened yet, what `make` gives a new one
    (migrations, rows): the first time for `kind` of its migrations in this process by running
    `make` on it, afterwards by copying the file that run left."""
    target = database.url.database
    assert database.is_sqlite and target, f"{database.url} is not a SQLite file"
    key = (database.migrations_dir, kind)
    template = _templates.get(key)
    if template is not None:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        return
    make(database)
    database.dispose()  # the last connection closing checkpoints the WAL into the file
    kept = _template_folder() / f"{len(_templates)}.db"
    shutil.copyfile(target, kept)
    _templates[key] = kept


def migrated(make_database: Callable[[str], D], url: str) -> D:
    """The database at `url`, migrated to the newest revision: on SQLite a copy of one
    migrated once per process (`make_fresh`), elsewhere (PostgreSQL) migrated for real."""
    database = make_database(url)
    if database.is_sqlite:
        make_fresh(database, "migrated", type(database).migrate)
    else:
        database.migrate()
    return database
