"""The fact tables, watermarks and build runs of the analytics.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "build_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tracker_events", sa.Integer(), nullable=False),
        sa.Column("handoffs", sa.Integer(), nullable=False),
        sa.Column("stage_changes", sa.Integer(), nullable=False),
        sa.Column("unparseable", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_build_runs")),
    )
    op.create_table(
        "conversation_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_ts", sa.Float(), nullable=False),
        sa.Column("returned_ts", sa.Float(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("journey", sa.String(length=32), nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("engaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_messages", sa.Integer(), nullable=False),
        sa.Column("handed_off", sa.Boolean(), nullable=False),
        sa.Column("handoff_id", sa.String(length=36), nullable=True),
        sa.Column("turns_before_handoff", sa.Integer(), nullable=True),
        sa.Column("bot_csat_asked", sa.Boolean(), nullable=False),
        sa.Column("bot_csat_rating", sa.Integer(), nullable=True),
        sa.Column("fallbacks", sa.Integer(), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_facts")),
    )
    with op.batch_alter_table("conversation_facts", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_facts_day", ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_conversation_facts_handoff_id"), ["handoff_id"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_facts_sender_id_journey", ["sender_id", "journey"], unique=False
        )

    op.create_table(
        "failure_points",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("helped", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "kind", "seq", name=op.f("pk_failure_points")),
    )
    with op.batch_alter_table("failure_points", schema=None) as batch_op:
        batch_op.create_index("ix_failure_points_day_kind", ["day", "kind"], unique=False)

    op.create_table(
        "handle_parts",
        sa.Column("handoff_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=100), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_by", sa.String(length=16), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("handoff_id", "seq", name=op.f("pk_handle_parts")),
    )
    with op.batch_alter_table("handle_parts", schema=None) as batch_op:
        batch_op.create_index("ix_handle_parts_day", ["day"], unique=False)

    op.create_table(
        "handoff_facts",
        sa.Column("handoff_id", sa.String(length=36), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("journey", sa.String(length=32), nullable=False),
        sa.Column("first_queue", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("trigger_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_agent_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handed_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_left", sa.Boolean(), nullable=False),
        sa.Column("callback_done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("system_ms", sa.Float(), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("csat_rating", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_handoff_facts")),
    )
    with op.batch_alter_table("handoff_facts", schema=None) as batch_op:
        batch_op.create_index("ix_handoff_facts_day", ["day"], unique=False)

    op.create_table(
        "stage_changes",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("touchpoint", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_stage_changes")),
    )
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stage_changes_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index("ix_stage_changes_day", ["day"], unique=False)

    op.create_table(
        "unparseable_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unparseable_events")),
    )
    op.create_table(
        "watermarks",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_watermarks")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("watermarks")
    op.drop_table("unparseable_events")
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_changes_day")
        batch_op.drop_index(batch_op.f("ix_stage_changes_application_id"))

    op.drop_table("stage_changes")
    with op.batch_alter_table("handoff_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_handoff_facts_day")

    op.drop_table("handoff_facts")
    with op.batch_alter_table("handle_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_handle_parts_day")

    op.drop_table("handle_parts")
    with op.batch_alter_table("failure_points", schema=None) as batch_op:
        batch_op.drop_index("ix_failure_points_day_kind")

    op.drop_table("failure_points")
    with op.batch_alter_table("conversation_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_facts_sender_id_journey")
        batch_op.drop_index(batch_op.f("ix_conversation_facts_handoff_id"))
        batch_op.drop_index("ix_conversation_facts_day")

    op.drop_table("conversation_facts")
    op.drop_table("build_runs")
