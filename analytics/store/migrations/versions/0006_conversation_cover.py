"""An index covering the report's reads of `conversation_facts`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

The report counts a period's conversations per day (engaged, handed off, durable containment,
the bot's own ratings) and its handoffs by reason and journey. Each conversation's row also
holds the fold's memory (`state`), so reading rows costs page after page; with the columns the
report reads in one index, SQLite answers from the index alone. It replaces the index on
`day`, which it starts with. Facts are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = [
    "day",
    "engaged",
    "journey",
    "channel",
    "handed_off",
    "handoff_id",
    "last_event_ts",
    "returned_ts",
    "bot_csat_asked",
    "bot_csat_rating",
]


def upgrade() -> None:
    """Swap the day index for the covering one."""
    op.drop_index("ix_conversation_facts_day", "conversation_facts")
    op.create_index("ix_conversation_facts_report", "conversation_facts", COVERED)


def downgrade() -> None:
    """Back to revision 0005's index."""
    op.drop_index("ix_conversation_facts_report", "conversation_facts")
    op.create_index("ix_conversation_facts_day", "conversation_facts", ["day"])
