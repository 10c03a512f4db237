"""Alembic environment of the analytics' database (see `sqlsupport.alembic_env`)."""

from analytics.store.models import Base
from sqlsupport.alembic_env import run_migrations

run_migrations(Base.metadata)
