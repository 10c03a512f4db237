"""Test schema, second revision: children, deleted with their parent.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    """Create the children table, whose rows belong to a parent."""
    op.create_table(
        "children",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "parent_id",
            sa.Integer,
            sa.ForeignKey("parents.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    """Drop the children table."""
    op.drop_table("children")
