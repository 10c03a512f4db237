"""When a waiting customer was last offered the choice to keep waiting or leave a message.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add handoffs.choice_offered_at (NULL: never offered)."""
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("choice_offered_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop handoffs.choice_offered_at."""
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("choice_offered_at")
