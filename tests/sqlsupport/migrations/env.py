"""Alembic environment of the test schema (see `sqlsupport.alembic_env`)."""

from sqlalchemy import MetaData

from sqlsupport.alembic_env import run_migrations

run_migrations(MetaData())
