"""Test schema, first revision: parents.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    """Create the parents table."""
    op.create_table(
        "parents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(50), nullable=False),
    )


def downgrade() -> None:
    """Drop the parents table."""
    op.drop_table("parents")
