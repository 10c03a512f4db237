"""Mortgage applications and their history move to the desk, so every touchpoint reaches them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

The tables are the ones the action server held until now (see
`sqlsupport.application_tables`). `python -m launcher.move_applications` (part of `make db`)
copies the existing rows over, before the action server's revision 0002 drops its tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlsupport.application_tables import create_application_tables, drop_application_tables

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create mortgage_applications and application_events."""
    create_application_tables()


def downgrade() -> None:
    """Drop them (and every application in them)."""
    drop_application_tables()
