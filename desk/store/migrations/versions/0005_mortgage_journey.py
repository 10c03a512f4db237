"""The mortgage journey across touchpoints: stages, a richer timeline, documents, branch
appointments, resuming, and branch staff.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

- `mortgage_applications.status` becomes `stage` (intake → advice → documents → ready_to_sign
  → appointment_booked → signed; withdrawn, expired), the old values mapped onto the new; it
  gains the resume lockout (`failed_verifications`, `resume_locked_until`);
- `application_events` gains `actor_kind` (who acted), and `created` entries are now
  `form_completed`;
- new tables: the checklist of each application, its uploaded documents, branch appointments
  (double booking made impossible by partial unique indexes), the chats linked to an
  application, and one-time resume codes;
- `agents` gains `branch`, and the role `branch_staff`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

from sqlsupport.application_tables import STAGE_OF_STATUS

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAGES: Final = (
    "intake",
    "advice",
    "documents",
    "ready_to_sign",
    "appointment_booked",
    "signed",
    "withdrawn",
    "expired",
)
_BOOKED: Final = "state = 'booked'"


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _application_id() -> sa.Column:
    return sa.Column("application_id", sa.Integer(), nullable=False)


def _application_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["application_id"],
        ["mortgage_applications.id"],
        name=op.f(f"fk_{table}_application_id_mortgage_applications"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Move the applications to stages, then add what the journey needs."""
    bind = op.get_bind()
    with op.batch_alter_table("mortgage_applications") as batch:
        batch.drop_constraint(op.f("ck_mortgage_applications_status"), type_="check")
        batch.drop_index(op.f("ix_mortgage_applications_status"))
        batch.alter_column("status", new_column_name="stage", existing_type=sa.String(32))
        batch.add_column(
            sa.Column(
                "failed_verifications", sa.Integer(), nullable=False, server_default=sa.text("0")
            )
        )
        batch.add_column(_timestamp("resume_locked_until", nullable=True))
    for status, stage in STAGE_OF_STATUS.items():
        bind.execute(
            sa.text("UPDATE mortgage_applications SET stage = :stage WHERE stage = :status"),
            {"stage": stage, "status": status},
        )
    with op.batch_alter_table("mortgage_applications") as batch:
        batch.create_check_constraint("stage", _in("stage", _STAGES))
        batch.create_check_constraint(
            "failed_verifications_not_negative", "failed_verifications >= 0"
        )
        batch.create_index(op.f("ix_mortgage_applications_stage"), ["stage"])

    with op.batch_alter_table("application_events") as batch:
        batch.add_column(
            sa.Column(
                "actor_kind", sa.String(16), nullable=False, server_default=sa.text("'system'")
            )
        )
    bind.execute(
        sa.text("UPDATE application_events SET kind = 'form_completed' WHERE kind = 'created'")
    )
    bind.execute(
        sa.text(
            "UPDATE application_events SET actor_kind = 'customer' "
            "WHERE kind = 'form_completed' AND touchpoint = 'web_chat'"
        )
    )

    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("branch", sa.String(64), nullable=True))
        batch.drop_constraint(op.f("ck_agents_role"), type_="check")
        batch.create_check_constraint("role", _in("role", ("agent", "supervisor", "branch_staff")))

    _create_journey_tables()


def _create_journey_tables() -> None:
    op.create_table(
        "application_checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        _application_id(),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("ask", sa.String(200), nullable=False),
        sa.Column("requested_by", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _timestamp("requested_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_checklist_items")),
        _application_fk("application_checklist_items"),
        sa.UniqueConstraint(
            "application_id", "key", name=op.f("uq_application_checklist_items_application_id")
        ),
    )
    op.create_table(
        "application_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        _application_id(),
        sa.Column("item_key", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(120), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _timestamp("uploaded_at"),
        sa.Column("uploaded_via", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=True),
        _timestamp("reviewed_at", nullable=True),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.Column("rejection_reason", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_documents")),
        _application_fk("application_documents"),
        sa.UniqueConstraint("storage_key", name=op.f("uq_application_documents_storage_key")),
        sa.CheckConstraint(
            _in("state", ("uploaded", "accepted", "rejected")),
            name=op.f("ck_application_documents_state"),
        ),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_application_documents_size_positive")),
    )
    op.create_index(
        "ix_application_documents_application_id_item_key",
        "application_documents",
        ["application_id", "item_key"],
    )
    op.create_table(
        "branch_appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        _application_id(),
        sa.Column("branch", sa.String(64), nullable=False),
        sa.Column("desk", sa.Integer(), nullable=False),
        _timestamp("starts_at"),
        _timestamp("ends_at"),
        sa.Column("state", sa.String(16), nullable=False),
        _timestamp("booked_at"),
        sa.Column("booked_by", sa.String(100), nullable=True),
        _timestamp("identity_checked_at", nullable=True),
        sa.Column("identity_checked_by", sa.String(100), nullable=True),
        sa.Column("identity_document", sa.String(32), nullable=True),
        _timestamp("signed_at", nullable=True),
        sa.Column("signed_by", sa.String(100), nullable=True),
        _timestamp("closed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branch_appointments")),
        _application_fk("branch_appointments"),
        sa.CheckConstraint(
            _in("state", ("booked", "rescheduled", "cancelled", "missed", "signed")),
            name=op.f("ck_branch_appointments_state"),
        ),
        sa.CheckConstraint("desk >= 1", name=op.f("ck_branch_appointments_desk_positive")),
    )
    op.create_index(
        "uq_branch_appointments_booked_slot",
        "branch_appointments",
        ["branch", "starts_at", "desk"],
        unique=True,
        sqlite_where=sa.text(_BOOKED),
        postgresql_where=sa.text(_BOOKED),
    )
    op.create_index(
        "uq_branch_appointments_booked_application",
        "branch_appointments",
        ["application_id"],
        unique=True,
        sqlite_where=sa.text(_BOOKED),
        postgresql_where=sa.text(_BOOKED),
    )
    op.create_index(
        "ix_branch_appointments_branch_starts_at", "branch_appointments", ["branch", "starts_at"]
    )
    op.create_table(
        "application_chats",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        _timestamp("linked_at"),
        sa.Column("how", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("application_id", "sender_id", name=op.f("pk_application_chats")),
        _application_fk("application_chats"),
    )
    op.create_index(op.f("ix_application_chats_sender_id"), "application_chats", ["sender_id"])
    # Every existing application's own chat may act on it.
    op.execute(
        "INSERT INTO application_chats (application_id, sender_id, linked_at, how) "
        "SELECT id, origin_sender_id, created_at, 'origin' FROM mortgage_applications"
    )
    op.create_table(
        "resume_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        _application_id(),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        _timestamp("used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resume_codes")),
        _application_fk("resume_codes"),
    )
    op.create_index(
        "ix_resume_codes_application_id_created_at",
        "resume_codes",
        ["application_id", "created_at"],
    )


def downgrade() -> None:
    """Drop the journey's tables and columns; stages go back to the old statuses (the stages
    with no old status, appointment_booked and expired, become awaiting_signature and
    withdrawn)."""
    for table in (
        "resume_codes",
        "application_chats",
        "branch_appointments",
        "application_documents",
        "application_checklist_items",
    ):
        op.drop_table(table)
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM agents WHERE role = 'branch_staff'"))
    with op.batch_alter_table("agents") as batch:
        batch.drop_constraint(op.f("ck_agents_role"), type_="check")
        batch.create_check_constraint("role", _in("role", ("agent", "supervisor")))
        batch.drop_column("branch")
    bind.execute(
        sa.text("UPDATE application_events SET kind = 'created' WHERE kind = 'form_completed'")
    )
    with op.batch_alter_table("application_events") as batch:
        batch.drop_column("actor_kind")
    with op.batch_alter_table("mortgage_applications") as batch:
        batch.drop_constraint(op.f("ck_mortgage_applications_stage"), type_="check")
        batch.drop_constraint(
            op.f("ck_mortgage_applications_failed_verifications_not_negative"), type_="check"
        )
        batch.drop_index(op.f("ix_mortgage_applications_stage"))
        batch.drop_column("resume_locked_until")
        batch.drop_column("failed_verifications")
        batch.alter_column("stage", new_column_name="status", existing_type=sa.String(32))
    old = {**{stage: status for status, stage in STAGE_OF_STATUS.items()}}
    old.update({"appointment_booked": "awaiting_signature", "expired": "withdrawn"})
    for stage, status in old.items():
        bind.execute(
            sa.text("UPDATE mortgage_applications SET status = :status WHERE status = :stage"),
            {"stage": stage, "status": status},
        )
    with op.batch_alter_table("mortgage_applications") as batch:
        batch.create_check_constraint("status", _in("status", tuple(STAGE_OF_STATUS)))
        batch.create_index(op.f("ix_mortgage_applications_status"), ["status"])
