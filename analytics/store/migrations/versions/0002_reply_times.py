"""Reply times, channel and the bot's turns kept per handoff; an index covering the failure
points.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

The report read three timestamps per handoff to work out the reply times, and joined each
handoff to its conversation for the channel and the bot's turns; keeping them on the handoff's
row makes a month's report cheap. Facts are derived: the existing ones
(and the watermarks) are forgotten here, so the next build refolds the history with the new
columns filled.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = (
    "conversation_facts",
    "failure_points",
    "handoff_facts",
    "handle_parts",
    "stage_changes",
    "unparseable_events",
    "watermarks",
)


def upgrade() -> None:
    """Add the reply times, swap the failure points' index, forget the facts."""
    for table in FACT_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))
    with op.batch_alter_table("handoff_facts") as batch:
        batch.add_column(sa.Column("first_reply_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("claim_to_reply_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("channel", sa.String(64), nullable=True))
        batch.add_column(sa.Column("turns_before_handoff", sa.Integer(), nullable=True))
    with op.batch_alter_table("failure_points") as batch:
        batch.drop_index("ix_failure_points_day_kind")
        batch.create_index(
            "ix_failure_points_day_kind_subject_helped",
            ["day", "kind", "subject", "helped"],
            unique=False,
        )


def downgrade() -> None:
    """Back to revision 0001 (the facts are forgotten again)."""
    for table in FACT_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))
    with op.batch_alter_table("failure_points") as batch:
        batch.drop_index("ix_failure_points_day_kind_subject_helped")
        batch.create_index("ix_failure_points_day_kind", ["day", "kind"], unique=False)
    with op.batch_alter_table("handoff_facts") as batch:
        batch.drop_column("turns_before_handoff")
        batch.drop_column("channel")
        batch.drop_column("claim_to_reply_s")
        batch.drop_column("first_reply_s")
