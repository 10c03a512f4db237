"""Each handoff remembers the last customer message applied to it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

`handoffs.last_message_timestamp` and `handoffs.last_message_digest`: Rasa's timestamp of the
last customer message the desk applied to the handoff (relayed to the agents, or a waiting
customer's choice) and a digest of its text. Conversation events may come twice (RabbitMQ
redelivers a message a desk handled but had not acknowledged when it stopped); one older than
the mark, or as old and with the same digest, is not applied again. NULL for every existing
handoff: nothing to compare with yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN_INDEX: Final = "uq_handoffs_open_sender"
_OPEN: Final = "status IN ('queued', 'claimed')"


def upgrade() -> None:
    """Add the two columns (nullable: no table rebuild on SQLite)."""
    op.add_column("handoffs", sa.Column("last_message_timestamp", sa.Float(), nullable=True))
    op.add_column("handoffs", sa.Column("last_message_digest", sa.String(16), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds the table to drop a column, and SQLAlchemy 1.4 reads a partial index
        # back without its WHERE: take the index away around the rebuild (as 0007 does).
        op.drop_index(_OPEN_INDEX, table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("last_message_digest")
        batch.drop_column("last_message_timestamp")
    if sqlite:
        op.create_index(
            _OPEN_INDEX, "handoffs", ["sender_id"], unique=True, sqlite_where=sa.text(_OPEN)
        )
