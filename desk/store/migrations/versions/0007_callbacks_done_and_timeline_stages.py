"""Callbacks can be marked done, and each timeline entry records the stage after it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

- `handoffs.callback_done_at` and `handoffs.callback_done_by` (the agent; SET NULL when the
  agent is deleted): NULL while the callback the customer asked for is still open. The
  supervisors' "callbacks still open" counts the expired handoffs with a message and no
  `callback_done_at`.
- `application_events.stage`: the application's stage after the entry, so the analytics can
  read one row per stage change. Existing entries are filled in by replaying each
  application's timeline from `intake` with the stage table
  (`desk.services.application_stages.stage_after`) as far as that replay is certain:

  * it stops at the first entry the table refuses at the replayed stage (a timeline from
    before the stages, a kind no longer known);
  * it stops at the first `document_accepted`: there the desk may have set the stage from the
    documents of that moment (all accepted: ready to sign), which the timeline alone does not
    tell. (Every later stage is reached through ready to sign, so the other step that looks
    at the documents, asking for more while ready to sign, is never replayed.)
  * an application whose full replay does not end at its stored stage gets no stage at all.

  The entries after a stop keep NULL (unknown), never a guess.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import Final

import sqlalchemy as sa
from alembic import op

from desk.services.application_stages import stage_after
from desk.services.errors import Conflict

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN_INDEX: Final = "uq_handoffs_open_sender"
_OPEN: Final = "status IN ('queued', 'claimed')"
_DONE_BY_FK: Final = "fk_handoffs_callback_done_by_agents"
#: Where the desk may have set the stage from more than the entry's kind (see the module doc).
_UNCERTAIN: Final = "document_accepted"


def upgrade() -> None:
    """Add the callback's done columns and the timeline's stage; fill the stages in."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds the table to add a foreign key, and SQLAlchemy 1.4 reads a partial
        # index back without its WHERE: take the index away around the rebuild.
        op.drop_index(_OPEN_INDEX, table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("callback_done_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("callback_done_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            _DONE_BY_FK, "agents", ["callback_done_by"], ["id"], ondelete="SET NULL"
        )
    if sqlite:
        op.create_index(
            _OPEN_INDEX,
            "handoffs",
            ["sender_id"],
            unique=True,
            sqlite_where=sa.text(_OPEN),
        )

    with op.batch_alter_table("application_events") as batch:
        batch.add_column(sa.Column("stage", sa.String(32), nullable=True))
    _fill_in_stages(op.get_bind())


def _fill_in_stages(bind: sa.engine.Connection) -> None:
    """Replay every application's timeline (see the module doc); one UPDATE per known stage."""
    stored = dict(bind.execute(sa.text("SELECT id, stage FROM mortgage_applications")).all())
    entries = bind.execute(
        sa.text(
            "SELECT application_id, id, kind FROM application_events "
            "ORDER BY application_id, occurred_at, id"
        )
    ).all()
    known = []
    for application_id, rows in groupby(entries, key=lambda row: row[0]):
        timeline = [(entry_id, kind) for _, entry_id, kind in rows]
        known += _replayed(timeline, stored.get(application_id))
    if known:
        bind.execute(
            sa.text("UPDATE application_events SET stage = :stage WHERE id = :id"),
            [{"id": entry_id, "stage": stage} for entry_id, stage in known],
        )


def _replayed(timeline: list[tuple[int, str]], final_stage: str | None) -> list[tuple[int, str]]:
    """The (entry id, stage after it) the replay is certain of, in timeline order."""
    replayed = list(_replay(timeline))
    if len(replayed) == len(timeline) and replayed and replayed[-1][1] != final_stage:
        return []  # something the table does not explain moved the stage: trust nothing
    return replayed


def _replay(timeline: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    stage = "intake"
    for entry_id, kind in timeline:
        if kind == _UNCERTAIN:
            return
        try:
            stage = stage_after(stage, kind).value
        except (Conflict, ValueError):  # refused here, or a kind the table does not know
            return
        yield entry_id, stage


def downgrade() -> None:
    """Drop the timeline's stage and the callback's done columns."""
    with op.batch_alter_table("application_events") as batch:
        batch.drop_column("stage")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index(_OPEN_INDEX, table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_constraint(_DONE_BY_FK, type_="foreignkey")
        batch.drop_column("callback_done_by")
        batch.drop_column("callback_done_at")
    if sqlite:
        op.create_index(
            _OPEN_INDEX,
            "handoffs",
            ["sender_id"],
            unique=True,
            sqlite_where=sa.text(_OPEN),
        )
