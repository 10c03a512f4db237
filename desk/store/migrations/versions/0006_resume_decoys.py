"""Failed resume attempts on references no application has, counted like real ones.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Without them an unknown reference always answered "4 tries left" and never locked, which told
a guesser which references exist.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create resume_decoys."""
    op.create_table(
        "resume_decoys",
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column(
            "failed_verifications", sa.Integer(), nullable=False, server_default=sa.text("0")
        ),
        sa.Column("resume_locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_resume_decoys")),
        sa.CheckConstraint(
            "failed_verifications >= 0",
            name=op.f("ck_resume_decoys_failed_verifications_not_negative"),
        ),
    )


def downgrade() -> None:
    """Drop resume_decoys."""
    op.drop_table("resume_decoys")
