"""The mortgage application tables as one migration step, for the two databases that hold them.

The action server's first release created them (its revision 0001); they now belong to the
desk. The desk's revision 0004 creates them, and the action server's revision 0002, which drops
them, recreates them when downgraded. This is the schema of that day: never change it, add a
migration instead.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from alembic import op

APPLICATION_TABLES: Final = ("application_events", "mortgage_applications")  # children first

#: The statuses of that day, and the stage each became (desk revision 0005).
STAGE_OF_STATUS: Final = {
    "intake_complete": "intake",
    "advice_requested": "advice",
    "documents_pending": "documents",
    "awaiting_signature": "ready_to_sign",
    "signed": "signed",
    "withdrawn": "withdrawn",
}
#: The timeline kind of that day that was renamed (desk revision 0005).
KIND_OF_OLD_KIND: Final = {"created": "form_completed"}

_STATUSES: Final = (
    "'intake_complete', 'advice_requested', 'documents_pending', "
    "'awaiting_signature', 'signed', 'withdrawn'"
)


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(12, 2), nullable=False)


def _check(condition: str, name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_mortgage_applications_{name}"))


def create_application_tables() -> None:
    """Create `mortgage_applications` and its history `application_events`, with their indexes."""
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
        _check(f"status IN ({_STATUSES})", "status"),
        _check("property_value > 0", "property_value_positive"),
        _check("loan_amount > 0", "loan_amount_positive"),
        _check("deposit_amount >= 0", "deposit_amount_not_negative"),
        _check("loan_to_value > 0 AND loan_to_value <= 1", "loan_to_value_range"),
        _check("term_years > 0", "term_years_positive"),
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


def drop_application_tables() -> None:
    """Drop both tables (their indexes go with them)."""
    for table in APPLICATION_TABLES:
        op.drop_table(table)
