"""Alembic environment of the desk's database (see `sqlsupport.alembic_env`)."""

from desk.store.models import Base
from sqlsupport.alembic_env import run_migrations

run_migrations(Base.metadata)
