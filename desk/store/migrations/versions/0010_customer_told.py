"""The desk remembers when the customer was told an agent joined or left.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

`handoffs.joined_told_at` and `handoffs.left_told_at`: when Rasa took the "<agent> has joined
the chat." notice for the current claim and the "<agent> has left the chat." notice
(desk.bot_sync); a notice still owed (Rasa down, the desk killed after the claim was saved) is
sent again by the sweep. `handoffs.notice_lease_until`: one desk process sends an owed notice
at a time. Every existing claim and resolution is taken as told: the sweep must not greet the
customers of old handoffs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN_INDEX: Final = "uq_handoffs_open_sender"
_OPEN: Final = "status IN ('queued', 'claimed')"
_COLUMNS: Final = ("notice_lease_until", "left_told_at", "joined_told_at")


def upgrade() -> None:
    """Add the three columns (nullable: no table rebuild on SQLite), the old ones as told."""
    for name in reversed(_COLUMNS):
        op.add_column("handoffs", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE handoffs SET joined_told_at = claimed_at WHERE claimed_at IS NOT NULL")
    op.execute("UPDATE handoffs SET left_told_at = resolved_at WHERE resolved_at IS NOT NULL")


def downgrade() -> None:
    """Drop the three columns."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds the table to drop a column, and SQLAlchemy 1.4 reads a partial index
        # back without its WHERE: take the index away around the rebuild (as 0007 does).
        op.drop_index(_OPEN_INDEX, table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
    if sqlite:
        op.create_index(
            _OPEN_INDEX, "handoffs", ["sender_id"], unique=True, sqlite_where=sa.text(_OPEN)
        )
