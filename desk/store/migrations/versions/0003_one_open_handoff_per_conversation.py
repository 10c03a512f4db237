"""At most one open (queued or claimed) handoff per conversation, and whether the bot knows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A crash between the desk storing a handoff and the bot learning of it once let the customer's
next request open a second handoff for the same conversation. The intake now answers such a
request with the open handoff; this partial unique index makes that hold under concurrency.

`handoffs.bot_confirmed_at` records when the Rasa server confirmed it knows of the handoff
(desk.bot_sync); NULL until then, so unconfirmed ones are reported again.

Databases from before may hold such duplicates already: all but the newest open handoff of a
conversation are marked abandoned (with an `abandoned` history entry) so the index can exist.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('queued', 'claimed')"
INDEX = "uq_handoffs_open_sender"

# Open handoffs with a newer open handoff of the same conversation.
_SUPERSEDED = f"""
    SELECT h.handoff_id FROM handoffs h
    WHERE h.{OPEN} AND EXISTS (
        SELECT 1 FROM handoffs newer
        WHERE newer.sender_id = h.sender_id AND newer.{OPEN}
          AND (newer.queued_at > h.queued_at
               OR (newer.queued_at = h.queued_at AND newer.handoff_id > h.handoff_id))
    )
"""


def upgrade() -> None:
    """Close superseded duplicates, then add the partial unique index."""
    bind = op.get_bind()
    superseded = [row[0] for row in bind.execute(sa.text(_SUPERSEDED))]
    for handoff_id in superseded:
        bind.execute(
            sa.text(
                "INSERT INTO handoff_events (handoff_id, kind, occurred_at, detail) "
                "VALUES (:id, 'abandoned', CURRENT_TIMESTAMP, '{}')"
            ),
            {"id": handoff_id},
        )
        bind.execute(
            sa.text(
                "UPDATE handoffs SET status = 'abandoned', abandoned_at = CURRENT_TIMESTAMP "
                "WHERE handoff_id = :id"
            ),
            {"id": handoff_id},
        )
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("bot_confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        INDEX,
        "handoffs",
        ["sender_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    """Drop the index and the column (closed duplicates stay closed)."""
    op.drop_index(INDEX, table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("bot_confirmed_at")
