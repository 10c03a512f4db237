"""Migration 0007: a database from 0006 gains the callback's done columns, and its timeline
entries the stage after each, as far as replaying the timeline is certain."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from desk.store.database import Database
from desk.store.types import utcnow
from tests.desk.store.test_models_migration import _insert_handoff, _schema_differences

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

# Each application of the old database: its stored stage, then its timeline's kinds in order.
TIMELINES: dict[str, tuple[str, list[str]]] = {
    # Replayed until the first accepted document: from there the desk may have set the stage
    # from the documents of that moment, which the timeline does not tell.
    "MTG-00001": (
        "appointment_booked",
        [
            "chat_started",
            "form_completed",
            "handed_to_advisor",
            "advisor_note",
            "advice_outcome",
            "documents_requested",
            "document_uploaded",
            "document_accepted",
            "appointment_booked",
        ],
    ),
    # Replayed to the end, ending at the stored stage.
    "MTG-00002": ("withdrawn", ["chat_started", "form_completed", "withdrawn"]),
    # Replayed to the end but not ending at the stored stage: nothing is trusted.
    "MTG-00003": ("advice", ["chat_started", "form_completed"]),
    # A kind from before the stages stops the replay.
    "MTG-00004": ("documents", ["form_completed", "advice_requested", "documents_requested"]),
    # A step the table refuses at the replayed stage stops it too.
    "MTG-00005": ("signed", ["form_completed", "signed"]),
}

EXPECTED: dict[str, list[str | None]] = {
    "MTG-00001": [
        "intake",
        "intake",
        "advice",
        "advice",
        "advice",
        "documents",
        "documents",
        None,
        None,
    ],
    "MTG-00002": ["intake", "intake", "withdrawn"],
    "MTG-00003": [None, None],
    "MTG-00004": ["intake", None, None],
    "MTG-00005": ["intake", None],
}


def _insert_application(connection: object, reference: str, stage: str) -> int:
    connection.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO mortgage_applications (reference, stage, applicant_name, email, "
            "property_value, deposit_amount, loan_amount, loan_to_value, term_years, "
            "annual_income, employment_type, origin_channel, origin_sender_id, created_at, "
            "updated_at) VALUES (:reference, :stage, 'A', 'a@example.com', 250000, 50000, "
            "200000, 0.8, 25, 50000, 'employed', 'rest', 's', :now, :now)"
        ),
        {"reference": reference, "stage": stage, "now": utcnow()},
    )
    return int(
        connection.execute(  # type: ignore[attr-defined]
            text("SELECT id FROM mortgage_applications WHERE reference = :reference"),
            {"reference": reference},
        ).scalar_one()
    )


def _stages(db: Database) -> dict[str, list[str | None]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT a.reference, e.stage FROM application_events e "
                "JOIN mortgage_applications a ON a.id = e.application_id "
                "ORDER BY a.reference, e.occurred_at, e.id"
            )
        ).all()
    stages: dict[str, list[str | None]] = {}
    for reference, stage in rows:
        stages.setdefault(reference, []).append(stage)
    return stages


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url_of_each_backend(request: pytest.FixtureRequest, database_url: str) -> str:
    """A fresh, empty database of each supported backend (not migrated)."""
    if request.param == "sqlite":
        return database_url
    return str(request.getfixturevalue("postgres_url"))


def test_the_upgrade_fills_in_the_stages_it_is_certain_of(
    database_url_of_each_backend: str,
) -> None:
    db = Database(database_url_of_each_backend)
    try:
        db.migrate("0006")
        with db.engine.begin() as connection:
            for reference, (stage, kinds) in TIMELINES.items():
                application_id = _insert_application(connection, reference, stage)
                for minute, kind in enumerate(kinds):
                    connection.execute(
                        text(
                            "INSERT INTO application_events (application_id, occurred_at, "
                            "touchpoint, kind, actor_kind, detail) VALUES (:id, :at, "
                            "'desk', :kind, 'agent', '{}')"
                        ),
                        {"id": application_id, "at": f"2026-11-30 10:{minute:02d}", "kind": kind},
                    )
        db.migrate()

        assert _stages(db) == EXPECTED
        assert _schema_differences(db) == []
    finally:
        db.dispose()


def test_existing_callbacks_are_open_after_the_upgrade(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.migrate("0006")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    _insert_handoff(
                        status="'expired'", expired_at=":now", callback_message="'call me'"
                    )
                ),
                {"now": utcnow()},
            )
        db.migrate()
        with db.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT status, callback_message, callback_done_at, callback_done_by "
                    "FROM handoffs"
                )
            ).one()
        assert tuple(row) == ("expired", "call me", None, None)
        # The one-open-handoff index survived the table's rebuild (SQLite): still partial.
        with db.engine.begin() as connection:
            for handoff_id in ("h-2", "h-3"):
                connection.execute(
                    text(_insert_handoff(handoff_id=f"'{handoff_id}'", status="'resolved'")),
                    {"now": utcnow()},
                )
    finally:
        db.dispose()
