"""Alembic environment of the desk: run migrations against the URL `Database.migrate` set.

There is no alembic.ini: `desk.store.database.Database.alembic_config()` builds the Config in
code, so migrations run the same way from any working directory.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from desk.store.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "No sqlalchemy.url in the Alembic config; run migrations via Database.migrate()."
        )
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    """Emit the SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    shared = config.attributes.get("connection")
    if shared is not None:
        # Database.migrate hands over its connection for in-memory SQLite only.
        _configure(shared)
        with context.begin_transaction():
            context.run_migrations()
        return
    # A plain engine, without the app's PRAGMA foreign_keys=ON: batch mode drops and
    # recreates tables, which with foreign keys on would cascade-delete child rows.
    engine = create_engine(_database_url(), poolclass=NullPool, future=True)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
