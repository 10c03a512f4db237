"""The handoff FMEA's facts (issue 12).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

`handoff_facts` gains what the FMEA counts per handoff: duplicates suppressed, hand-backs
refused, agents of its queue online at intake and the delivery time from the bot.
`application_outcomes`: the mortgage timeline entries that end a document review or a branch
appointment. Both come from the desk's history, so the facts and watermarks are forgotten here
and the next build refolds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = (
    "conversation_facts",
    "failure_points",
    "handoff_facts",
    "handle_parts",
    "stage_changes",
    "stage_facts",
    "handoff_fields",
    "unparseable_events",
    "watermarks",
)


def upgrade() -> None:
    """Add the columns and the table, forget the facts."""
    for table in FACT_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))
    with op.batch_alter_table("handoff_facts") as batch:
        batch.add_column(
            sa.Column("duplicates_suppressed", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("hand_back_refusals", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("agents_online_at_queue", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delivery_s", sa.Float(), nullable=True))
    op.create_table(
        "application_outcomes",
        sa.Column("event_id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("item", sa.String(64), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
    )
    op.create_index("ix_application_outcomes_day_kind", "application_outcomes", ["day", "kind"])
    op.create_index(
        "ix_application_outcomes_application_id", "application_outcomes", ["application_id"]
    )


def downgrade() -> None:
    """Back to revision 0003 (the facts are forgotten again)."""
    op.drop_index("ix_application_outcomes_application_id", "application_outcomes")
    op.drop_index("ix_application_outcomes_day_kind", "application_outcomes")
    op.drop_table("application_outcomes")
    with op.batch_alter_table("handoff_facts") as batch:
        batch.drop_column("delivery_s")
        batch.drop_column("agents_online_at_queue")
        batch.drop_column("hand_back_refusals")
        batch.drop_column("duplicates_suppressed")
    for table in FACT_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))
