"""The journey map's stages and the repeat detector's fields (issue 12).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

`stage_facts`: the stages each conversation (or mortgage application) reached, with the time to
the next and the customer's sentiment in each. `handoff_fields`: per handoff and field, whether
the context carried it and how often it was said again. Both come from the tracker's history,
so the facts and watermarks are forgotten here and the next build refolds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
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
    """Create the two tables, forget the facts."""
    for table in FACT_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.create_table(
        "stage_facts",
        sa.Column("unit", sa.String(24), primary_key=True),
        sa.Column("stage", sa.String(64), primary_key=True),
        sa.Column("journey", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("next_stage", sa.String(64), nullable=True),
        sa.Column("seconds_to_next", sa.Float(), nullable=True),
        sa.Column("sentiment_sum", sa.Float(), nullable=False),
        sa.Column("sentiment_turns", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_stage_facts_journey_day_stage", "stage_facts", ["journey", "day", "stage"])
    op.create_index("ix_stage_facts_conversation_id", "stage_facts", ["conversation_id"])
    op.create_table(
        "handoff_fields",
        sa.Column("handoff_id", sa.String(36), primary_key=True),
        sa.Column("field", sa.String(32), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("carried", sa.Boolean(), nullable=False),
        sa.Column("restated", sa.Integer(), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("first_repeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_repeat_kind", sa.String(16), nullable=True),
        sa.Column("first_repeat_event_id", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    """Back to revision 0002 (the facts are forgotten again)."""
    op.drop_table("handoff_fields")
    op.drop_index("ix_stage_facts_conversation_id", "stage_facts")
    op.drop_index("ix_stage_facts_journey_day_stage", "stage_facts")
    op.drop_table("stage_facts")
    for table in FACT_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))
