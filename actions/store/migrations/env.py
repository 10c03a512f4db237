"""Alembic environment of the action server's database (see `sqlsupport.alembic_env`)."""

from actions.store.models import Base
from sqlsupport.alembic_env import run_migrations

run_migrations(Base.metadata)
