"""Initial schema: orders, mortgage applications with their history, handoff outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The allowed status values are written out here rather than imported from the models: a
migration must keep producing the schema of its day even after the models change. The mortgage
application tables, which the desk's revision 0004 creates the same way, are
`sqlsupport.application_tables` (frozen like a migration).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlsupport.application_tables import create_application_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_STATUSES = "'processing', 'shipped', 'out_for_delivery', 'delivered', 'delayed', 'lost'"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table of the first release."""
    _create_orders()
    create_application_tables()
    _create_handoff_outbox()


def downgrade() -> None:
    """Drop every table of the first release (children first)."""
    op.drop_table("handoff_outbox")
    op.drop_table("application_events")
    op.drop_table("mortgage_applications")
    op.drop_table("tracking_events")
    op.drop_table("order_items")
    op.drop_table("orders")


def _create_orders() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(16), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("customer_email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=True),
        sa.Column("tracking_number", sa.String(64), nullable=True),
        sa.Column("estimated_delivery", sa.Date(), nullable=True),
        _timestamp("placed_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("order_number", name=op.f("uq_orders_order_number")),
        sa.CheckConstraint(f"status IN ({ORDER_STATUSES})", name=op.f("ck_orders_status")),
    )
    op.create_index(op.f("ix_orders_customer_email"), "orders", ["customer_email"])
    op.create_index(op.f("ix_orders_status"), "orders", ["status"])

    op.create_table(
        "order_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_items_quantity_positive")),
    )
    op.create_index(op.f("ix_order_items_order_id"), "order_items", ["order_id"])

    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        _timestamp("occurred_at"),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_events")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_tracking_events_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(f"status IN ({ORDER_STATUSES})", name=op.f("ck_tracking_events_status")),
    )
    op.create_index(
        "ix_tracking_events_order_id_occurred_at",
        "tracking_events",
        ["order_id", "occurred_at"],
    )


def _create_handoff_outbox() -> None:
    op.create_table(
        "handoff_outbox",
        sa.Column("handoff_id", sa.String(36), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("next_attempt_at"),
        _timestamp("created_at"),
        _timestamp("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_handoff_outbox")),
    )
    op.create_index(op.f("ix_handoff_outbox_sender_id"), "handoff_outbox", ["sender_id"])
    op.create_index(
        op.f("ix_handoff_outbox_next_attempt_at"), "handoff_outbox", ["next_attempt_at"]
    )
