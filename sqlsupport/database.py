"""Engine, units of work and migrations of one SQL database, for both deployables.

The action server's and the desk's `Database` are this class with their own migrations folder.
One `Database` wraps one SQLAlchemy engine; nothing connects at import time and there is no
global session. Code opens a short unit of work with `Database.session()`; units that write
open with `write=True`, which on SQLite takes the write lock up front (`BEGIN IMMEDIATE`) so
that concurrent writers queue on the busy timeout instead of failing half-way with "database
is locked". PostgreSQL needs nothing special: conditional UPDATEs re-check their WHERE after a
concurrent commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

__all__ = ["SQLITE_BUSY_TIMEOUT", "Database", "configure_sqlite_engine", "sqlite_connect_args"]

# How long a SQLite writer waits for the write lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT = 30.0
# The execution option that makes `_begin_sqlite_transaction` emit BEGIN IMMEDIATE.
_BEGIN_OPTION = "sqlsupport_sqlite_begin"


class Database:
    """One database: its engine, units of work and migrations.

    Args:
        url: A SQLAlchemy URL, e.g. ``sqlite:///var/app.db`` or ``postgresql://...``.
        migrations_dir: The Alembic migrations folder (its ``env.py`` and ``versions/``).
        echo: Log every SQL statement (for debugging).
    """

    def __init__(self, url: str | URL, migrations_dir: Path, *, echo: bool = False) -> None:
        self._url = make_url(url)
        self.migrations_dir = migrations_dir
        self.engine: Engine = _create_engine(self._url, echo=echo)
        # expire_on_commit=False: values read in a unit of work stay readable after it commits.
        self._sessions = sessionmaker(bind=self.engine, future=True, expire_on_commit=False)

    @property
    def url(self) -> URL:
        """The URL this database was built from."""
        return self._url

    @property
    def is_sqlite(self) -> bool:
        """Whether this is a SQLite database."""
        return _is_sqlite(self._url)

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """Open a unit of work: commit on success, roll back on error, always close.

        Args:
            write: The unit will write; on SQLite, take the write lock when it begins.
        """
        session = self._sessions()
        try:
            if write and self.is_sqlite:
                session.connection(execution_options={_BEGIN_OPTION: "IMMEDIATE"})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def alembic_config(self) -> Config:
        """Build the Alembic configuration for this database without any ini file."""
        config = Config()
        config.set_main_option("script_location", str(self.migrations_dir))
        # ConfigParser interpolates "%", which URL-encoded passwords contain.
        rendered = self._url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
        return config

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to `revision` (default: the newest) with Alembic."""
        config = self.alembic_config()
        if _is_in_memory_sqlite(self._url):
            # A new connection would open a different, empty in-memory database.
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            return
        command.upgrade(config, revision)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _create_engine(url: URL, *, echo: bool) -> Engine:
    if not _is_sqlite(url):
        return create_engine(url, future=True, echo=echo, pool_pre_ping=True)
    options: dict[str, Any] = {"connect_args": sqlite_connect_args()}
    if _is_in_memory_sqlite(url):
        # Every session must see the same in-memory database, so share one connection.
        options["poolclass"] = StaticPool
    else:
        _ensure_parent_directory(url)
    engine = create_engine(url, future=True, echo=echo, **options)
    configure_sqlite_engine(engine)
    return engine


def sqlite_connect_args() -> dict[str, Any]:
    """The DBAPI arguments of the project's SQLite connections: usable from any thread (a pool
    hands each connection to one thread at a time) and a busy timeout for the write lock."""
    return {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}


def configure_sqlite_engine(engine: Engine) -> None:
    """Gives a SQLite engine the project's connection settings (foreign keys, WAL, NORMAL
    sync) and transactions SQLAlchemy begins itself; for engines built elsewhere too (Rasa's
    tracker store)."""
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)


def _configure_sqlite_connection(dbapi_connection: Any, _connection_record: Any) -> None:
    # pysqlite starts transactions lazily and so breaks SAVEPOINT and BEGIN IMMEDIATE; let
    # SQLAlchemy emit BEGIN itself (see _begin_sqlite_transaction), as its docs recommend.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers go on while one unit writes (the desk's agents while intake writes,
        # the action server while its outbox worker writes).
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit, and still never
        # corrupts the database: a commit survives the process crashing, only an operating
        # system crash or power cut may undo the last few (FULL's fsyncs cost each write
        # a few milliseconds; a chat turn writes once).
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _is_in_memory_sqlite(url: URL) -> bool:
    database = url.database or ""
    return _is_sqlite(url) and database in {"", ":memory:"}


def _ensure_parent_directory(url: URL) -> None:
    database = url.database or ""
    if database.startswith("file:"):
        return  # a SQLite URI filename: the caller manages it
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
