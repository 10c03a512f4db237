"""The Alembic environment both deployables' migrations run in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool


def _database_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "No sqlalchemy.url in the Alembic config; run migrations via Database.migrate()."
        )
    return url


def _configure(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run_offline(target_metadata: MetaData) -> None:
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


def _run_online(target_metadata: MetaData) -> None:
    """Run the migrations on a live connection."""
    shared = context.config.attributes.get("connection")
    if shared is not None:
        # Database.migrate hands over its connection for in-memory SQLite only.
        _configure(shared, target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    # A plain engine, without the app's PRAGMA foreign_keys=ON: batch mode drops and
    # recreates tables, which with foreign keys on would cascade-delete child rows.
    engine = create_engine(_database_url(), poolclass=NullPool, future=True)
    try:
        with engine.connect() as connection:
            _configure(connection, target_metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def run_migrations(target_metadata: MetaData) -> None:
    """The body of a migrations folder's `env.py`: run its migrations for `target_metadata`.

    There is no alembic.ini: `sqlsupport.database.Database.alembic_config()` builds the Config
    in code (with the URL and the migrations folder), so migrations run the same way from any
    working directory.
    """
    if context.is_offline_mode():
        _run_offline(target_metadata)
    else:
        _run_online(target_metadata)
