"""The desk's Alembic migration produces exactly the schema its models declare."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from contract.applications import APPLICATION_STAGES, ApplicationStage
from desk.store.database import Database
from desk.store.models import DISPOSITIONS, HANDOFF_STATUSES, Base, Disposition, HandoffStatus
from desk.store.types import utcnow

_HANDOFF_ROW = {
    "handoff_id": "'h-1'",
    "sender_id": "'s-1'",
    "queue": "'order_support'",
    "priority": "'normal'",
    "priority_rank": "2",
    "reason_code": "'order_delayed'",
    "trigger_type": "'business_rule'",
    "flow": "'order_status'",
    "context": "'{}'",
    "requested_at": ":now",
    "queued_at": ":now",
}


def _insert_handoff(**overrides: str) -> str:
    row = {**_HANDOFF_ROW, **overrides}
    return f"INSERT INTO handoffs ({', '.join(row)}) VALUES ({', '.join(row.values())})"


def _schema_differences(db: Database) -> list[Any]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_migration_matches_the_models(any_database: Database) -> None:
    assert _schema_differences(any_database) == []


def test_schema_comparison_notices_a_difference(database: Database) -> None:
    # Guards the test above against passing vacuously.
    with database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_handoffs_sender_id"))

    assert [difference[0] for difference in _schema_differences(database)] == ["add_index"]


def test_enumerations_have_one_source_of_truth() -> None:
    assert set(HANDOFF_STATUSES) == {status.value for status in HandoffStatus}
    assert HANDOFF_STATUSES == (
        "queued",
        "claimed",
        "resolved",
        "handed_back",
        "abandoned",
        "expired",
    )
    assert set(DISPOSITIONS) == {d.value for d in Disposition}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("status", "'teleported'"),
        ("priority", "'whenever'"),
        ("disposition", "'shrugged'"),
        ("csat_rating", "6"),
        ("csat_rating", "0"),
        ("transfer_count", "-1"),
    ],
)
def test_check_constraints_refuse_bad_values(
    any_database: Database, column: str, value: str
) -> None:
    with pytest.raises(IntegrityError), any_database.engine.begin() as connection:
        connection.execute(
            text(_insert_handoff(**{column: value})), {"now": utcnow().replace(tzinfo=None)}
        )


def test_application_stages_have_one_source_of_truth() -> None:
    assert set(APPLICATION_STAGES) == {stage.value for stage in ApplicationStage}


def test_an_unknown_application_stage_is_refused(any_database: Database) -> None:
    with pytest.raises(IntegrityError), any_database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO mortgage_applications (reference, stage, applicant_name, email, "
                "property_value, deposit_amount, loan_amount, loan_to_value, term_years, "
                "annual_income, employment_type, origin_channel, origin_sender_id, created_at, "
                "updated_at) VALUES ('MTG-00000', 'approved', 'A', 'a@example.com', 250000, "
                "50000, 200000, 0.8, 25, 50000, 'employed', 'rest', 's', :now, :now)"
            ),
            {"now": utcnow().replace(tzinfo=None)},
        )


def test_an_unknown_role_is_refused(any_database: Database) -> None:
    with pytest.raises(IntegrityError), any_database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO agents (username, display_name, password_hash, role, created_at) "
                "VALUES ('x', 'X', 'h', 'overlord', :now)"
            ),
            {"now": utcnow().replace(tzinfo=None)},
        )


def test_defaults_live_in_the_database(any_database: Database) -> None:
    with any_database.engine.begin() as connection:
        connection.execute(
            text(_insert_handoff()),
            {"now": utcnow().replace(tzinfo=None)},
        )
        row = connection.execute(text("SELECT status, transfer_count FROM handoffs")).one()

    assert tuple(row) == ("queued", 0)


def test_the_queue_view_is_indexed(database: Database) -> None:
    indexes = {
        index["name"]: index["column_names"]
        for index in inspect(database.engine).get_indexes("handoffs")
    }

    assert indexes["ix_handoffs_status_queue_rank_queued_at"] == [
        "status",
        "queue",
        "priority_rank",
        "queued_at",
    ]


def test_downgrade_removes_everything_and_upgrade_restores_it(database: Database) -> None:
    command.downgrade(database.alembic_config(), "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}

    database.migrate()
    assert _schema_differences(database) == []


def test_the_upgrade_closes_duplicate_open_handoffs_of_a_conversation(database_url: str) -> None:
    """Databases from before the one-open-handoff rule may hold duplicates: the older open
    ones are abandoned (with a history entry) so the unique index can be created."""
    db = Database(database_url)
    try:
        db.migrate("0002")
        with db.engine.begin() as connection:
            for handoff_id, queued_at in (
                ("h-old", "2026-11-30 10:00"),
                ("h-new", "2026-11-30 11:00"),
            ):
                connection.execute(
                    text(_insert_handoff(handoff_id=f"'{handoff_id}'", queued_at=":queued")),
                    {"now": utcnow(), "queued": queued_at},
                )
        db.migrate()
        with db.engine.connect() as connection:
            statuses = dict(
                connection.execute(text("SELECT handoff_id, status FROM handoffs")).all()
            )
            history = connection.execute(text("SELECT handoff_id, kind FROM handoff_events")).all()
        assert statuses == {"h-old": "abandoned", "h-new": "queued"}
        assert [tuple(row) for row in history] == [("h-old", "abandoned")]
        assert _schema_differences(db) == []
    finally:
        db.dispose()
