"""The mortgage applications now live at the desk: drop the action server's copy.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

`python -m launcher.move_applications` (part of `make db`, run before this) copies every
application and its history to the desk's database and deletes what it copied here. This
revision refuses to run while any application is left, so none is dropped before it has moved.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlsupport.application_tables import create_application_tables, drop_application_tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class ApplicationsNotMovedError(RuntimeError):
    """Applications are still here: dropping the tables would lose them."""


def upgrade() -> None:
    """Drop application_events and mortgage_applications, once they are empty."""
    left = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM mortgage_applications")).scalar()
    if left:
        raise ApplicationsNotMovedError(
            f"{left} mortgage application(s) have not moved to the desk yet: run "
            "`python -m launcher.move_applications` (or `make db`) first"
        )
    drop_application_tables()


def downgrade() -> None:
    """Recreate the (empty) tables; the applications stay at the desk."""
    create_application_tables()
