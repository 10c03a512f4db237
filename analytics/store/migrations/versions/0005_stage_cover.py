"""An index covering the planning views' reads of `stage_facts`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

The journey map and the blueprint read, for one journey over a range of days, each row's
stage, next stage, time to it, sentiment, position and conversation. With all of them in the
index, SQLite and PostgreSQL answer from the index alone instead of looking every row up in
the table (a month of 100,000 conversations is some 500,000 rows). Facts are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = [
    "journey",
    "day",
    "stage",
    "next_stage",
    "seconds_to_next",
    "sentiment_sum",
    "sentiment_turns",
    "position",
    "conversation_id",
]


def upgrade() -> None:
    """Swap the (journey, day, stage) index for the covering one."""
    op.drop_index("ix_stage_facts_journey_day_stage", "stage_facts")
    op.create_index("ix_stage_facts_planning", "stage_facts", COVERED)


def downgrade() -> None:
    """Back to revision 0004's index."""
    op.drop_index("ix_stage_facts_planning", "stage_facts")
    op.create_index("ix_stage_facts_journey_day_stage", "stage_facts", ["journey", "day", "stage"])
