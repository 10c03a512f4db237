"""Initial schema: orders, mortgage applications with their history, handoff outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The allowed status values are written out here rather than imported from the models: a
migration must keep producing the schema of its day even after the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_STATUSES = "'processing', 'shipped', 'out_for_delivery', 'delivered', 'delayed', 'lost'"
APPLICATION_STATUSES = (
    "'intake_complete', 'advice_requested', 'documents_pending', "
    "'awaiting_signature', 'signed', 'withdrawn'"
)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(12, 2), nullable=False)


def upgrade() -> None:
    """Create every table of the first release."""
    _create_orders()
    _create_mortgage_applications()
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


def _create_mortgage_applications() -> None:
    op.create_table(
        "mortgage_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("applicant_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        _money("property_value"),
        _money("deposit_amount"),
        _money("loan_amount"),
        sa.Column("loan_to_value", sa.Numeric(5, 4), nullable=False),
        sa.Column("term_years", sa.Integer(), nullable=False),
        _money("annual_income"),
        sa.Column("employment_type", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default=sa.text("'GBP'")),
        sa.Column("origin_channel", sa.String(64), nullable=False),
        sa.Column("origin_sender_id", sa.String(255), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mortgage_applications")),
        sa.UniqueConstraint("reference", name=op.f("uq_mortgage_applications_reference")),
        sa.CheckConstraint(
            f"status IN ({APPLICATION_STATUSES})", name=op.f("ck_mortgage_applications_status")
        ),
        sa.CheckConstraint(
            "property_value > 0", name=op.f("ck_mortgage_applications_property_value_positive")
        ),
        sa.CheckConstraint(
            "loan_amount > 0", name=op.f("ck_mortgage_applications_loan_amount_positive")
        ),
        sa.CheckConstraint(
            "deposit_amount >= 0",
            name=op.f("ck_mortgage_applications_deposit_amount_not_negative"),
        ),
        sa.CheckConstraint(
            "loan_to_value > 0 AND loan_to_value <= 1",
            name=op.f("ck_mortgage_applications_loan_to_value_range"),
        ),
        sa.CheckConstraint(
            "term_years > 0", name=op.f("ck_mortgage_applications_term_years_positive")
        ),
    )
    op.create_index(op.f("ix_mortgage_applications_email"), "mortgage_applications", ["email"])
    op.create_index(op.f("ix_mortgage_applications_status"), "mortgage_applications", ["status"])

    op.create_table(
        "application_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        _timestamp("occurred_at"),
        sa.Column("touchpoint", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_events")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["mortgage_applications.id"],
            name=op.f("fk_application_events_application_id_mortgage_applications"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_application_events_application_id_occurred_at",
        "application_events",
        ["application_id", "occurred_at"],
    )
    op.create_index(op.f("ix_application_events_kind"), "application_events", ["kind"])


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
