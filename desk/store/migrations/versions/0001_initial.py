"""Initial desk schema: agents and their sessions, handoffs with events and notes.

Revision ID: 0001
Revises:
Create Date: 2025-03-20

The allowed values are written out here rather than imported from the models: a migration
must keep producing the schema of its day even after the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "'agent', 'supervisor'"
STATUSES = "'queued', 'claimed', 'resolved', 'handed_back', 'abandoned', 'expired'"
PRIORITIES = "'low', 'normal', 'high', 'urgent'"
DISPOSITIONS = "'resolved', 'resolved_with_followup', 'not_resolved', 'duplicate'"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table of the first release."""
    _create_agents()
    _create_handoffs()


def downgrade() -> None:
    """Drop every table of the first release (children first)."""
    op.drop_table("handoff_notes")
    op.drop_table("handoff_events")
    op.drop_table("handoffs")
    op.drop_table("agent_sessions")
    op.drop_table("agent_queues")
    op.drop_table("agents")


def _create_agents() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        _timestamp("created_at"),
        sa.CheckConstraint(f"role IN ({ROLES})", name=op.f("ck_agents_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("username", name=op.f("uq_agents_username")),
    )
    op.create_table(
        "agent_queues",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_queues_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "queue", name=op.f("pk_agent_queues")),
    )
    op.create_index(op.f("ix_agent_queues_queue"), "agent_queues", ["queue"])
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        _timestamp("last_seen_at"),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_sessions_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_sessions_token_hash")),
    )
    op.create_index(op.f("ix_agent_sessions_agent_id"), "agent_sessions", ["agent_id"])
    op.create_index(op.f("ix_agent_sessions_expires_at"), "agent_sessions", ["expires_at"])


def _create_handoffs() -> None:
    op.create_table(
        "handoffs",
        sa.Column("handoff_id", sa.String(36), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("trigger_type", sa.String(32), nullable=False),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("customer_label", sa.String(200), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'queued'")),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        _timestamp("requested_at"),
        _timestamp("queued_at"),
        _timestamp("claimed_at", nullable=True),
        _timestamp("first_agent_reply_at", nullable=True),
        _timestamp("resolved_at", nullable=True),
        _timestamp("handed_back_at", nullable=True),
        _timestamp("abandoned_at", nullable=True),
        _timestamp("expired_at", nullable=True),
        sa.Column("disposition", sa.String(32), nullable=True),
        sa.Column("csat_rating", sa.Integer(), nullable=True),
        sa.Column("csat_comment", sa.Text(), nullable=True),
        sa.Column("callback_message", sa.Text(), nullable=True),
        sa.Column("transfer_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_handoffs_status")),
        sa.CheckConstraint(f"priority IN ({PRIORITIES})", name=op.f("ck_handoffs_priority")),
        sa.CheckConstraint(
            f"disposition IN ({DISPOSITIONS})", name=op.f("ck_handoffs_disposition")
        ),
        sa.CheckConstraint(
            "csat_rating BETWEEN 1 AND 5", name=op.f("ck_handoffs_csat_rating_range")
        ),
        sa.CheckConstraint(
            "transfer_count >= 0", name=op.f("ck_handoffs_transfer_count_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_handoffs_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_handoffs")),
    )
    op.create_index(op.f("ix_handoffs_sender_id"), "handoffs", ["sender_id"])
    op.create_index(op.f("ix_handoffs_agent_id"), "handoffs", ["agent_id"])
    op.create_index(
        "ix_handoffs_status_queue_rank_queued_at",
        "handoffs",
        ["status", "queue", "priority_rank", "queued_at"],
    )
    op.create_table(
        "handoff_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.String(36), nullable=False),
        _timestamp("occurred_at"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor_agent_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.handoff_id"],
            name=op.f("fk_handoff_events_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_agent_id"],
            ["agents.id"],
            name=op.f("fk_handoff_events_actor_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_events")),
    )
    op.create_index(
        "ix_handoff_events_handoff_id_occurred_at",
        "handoff_events",
        ["handoff_id", "occurred_at"],
    )
    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.handoff_id"],
            name=op.f("fk_handoff_notes_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_handoff_notes_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_notes")),
    )
    op.create_index(
        "ix_handoff_notes_handoff_id_created_at", "handoff_notes", ["handoff_id", "created_at"]
    )
