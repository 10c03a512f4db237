"""Failed logins are counted, to throttle password guessing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

`login_failures`: one row per failed login for a username, one per failed login from a client
address, and one per lockout begun (desk/services/login_throttle.py). The subject is the
SHA-256 of the username or address. Rows older than the window and the lockout are deleted as
new ones come; a successful login deletes its username's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS: Final = "kind IN ('account', 'address', 'lockout')"


def upgrade() -> None:
    """Create the table and its two indexes."""
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_KINDS, name=op.f("ck_login_failures_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_subject", "login_failures", ["subject", "failed_at"])
    op.create_index(op.f("ix_login_failures_failed_at"), "login_failures", ["failed_at"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index(op.f("ix_login_failures_failed_at"), table_name="login_failures")
    op.drop_index("ix_login_failures_subject", table_name="login_failures")
    op.drop_table("login_failures")
