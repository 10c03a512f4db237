"""Mortgage applications: references, one shared history, evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from desk.services import applications
from desk.services.applications import (
    CROCKFORD_ALPHABET,
    REFERENCE_PATTERN,
    ApplicationNotFoundError,
    ReferenceExhaustedError,
    create_application,
    generate_reference,
    get_application,
    normalize_reference,
    record_application_event,
)
from desk.services.errors import Conflict
from desk.store.database import Database
from desk.store.models import Agent, ApplicationEvent, MortgageApplication
from tests.support.applications import mortgage_intake

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")


def _create(db: Database, **changes: Any) -> str:
    with db.session() as session:
        snapshot = create_application(
            session, mortgage_intake(**changes), origin_channel="rest", origin_sender_id="sender-1"
        )
    return snapshot.reference


def test_create_application_stores_themortgage_intake(database: Database) -> None:
    reference = _create(database)

    with database.session() as session:
        stored = get_application(session, reference)

    assert stored is not None
    assert REFERENCE_PATTERN.fullmatch(stored.reference)
    assert stored.stage == "intake"
    assert stored.applicant_name == "Jane O'Neill-Smith"
    assert stored.property_value == Decimal("250000.00")
    assert stored.loan_amount == Decimal("200000.00")
    assert stored.deposit_amount == Decimal("50000.00")
    assert stored.annual_income == Decimal("62500.50")
    assert stored.loan_to_value == Decimal("0.8000")
    assert stored.term_years == 25
    assert stored.currency == "GBP"
    assert (stored.origin_channel, stored.origin_sender_id) == ("rest", "sender-1")
    assert stored.created_at.utcoffset() is not None


def test_the_timeline_starts_with_the_customer_starting_the_chat_and_completing_the_form(
    database: Database,
) -> None:
    reference = _create(database)

    with database.session() as session:
        stored = get_application(session, reference)

    assert stored is not None
    assert [(e.touchpoint, e.kind, e.actor_kind) for e in stored.events] == [
        ("web_chat", "chat_started", "customer"),
        ("web_chat", "form_completed", "customer"),
    ]
    assert stored.events[1].occurred_at == stored.created_at


def test_generated_references_are_readable_crockford_codes() -> None:
    references = [generate_reference() for _ in range(5_000)]

    assert all(REFERENCE_PATTERN.fullmatch(reference) for reference in references)
    codes = "".join(reference[4:] for reference in references)
    assert not set(codes) & set("ILOU")
    assert set(codes) <= set(CROCKFORD_ALPHABET)
    # Every symbol turns up in every position: the whole alphabet is used, at random.
    for position in range(4, 9):
        assert {reference[position] for reference in references} == set(CROCKFORD_ALPHABET)
    # Birthday bound: 5,000 draws from 32**5 repeat 0.37 times on average (so the database
    # retries on a clash); more than a handful means a broken generator.
    assert len(set(references)) >= len(references) - 5


def test_many_applications_get_unique_references(database: Database) -> None:
    with database.session() as session:
        references = [
            create_application(
                session, mortgage_intake(), origin_channel="rest", origin_sender_id=f"s-{n}"
            ).reference
            for n in range(200)
        ]

    assert len(set(references)) == 200
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(MortgageApplication)) == 200


@pytest.fixture
def scripted_references(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """References that `generate_reference` will hand out, in order."""
    script: list[str] = []
    monkeypatch.setattr(applications, "generate_reference", lambda: script.pop(0))
    yield script


def test_a_reference_collision_is_retried(
    database: Database, scripted_references: list[str]
) -> None:
    scripted_references.extend(["MTG-AAAAA"])
    _create(database)
    scripted_references.extend(["MTG-AAAAA", "MTG-AAAAA", "MTG-BBBBB"])

    with database.session() as session:
        # Work done earlier in the same unit of work must survive the failed insert.
        session.add(Agent(username="alex", display_name="Alex", password_hash="h"))
        snapshot = create_application(
            session, mortgage_intake(), origin_channel="rest", origin_sender_id="sender-2"
        )

    assert snapshot.reference == "MTG-BBBBB"
    assert scripted_references == []
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Agent)) == 1
        assert session.scalar(select(func.count()).select_from(MortgageApplication)) == 2
        assert session.scalar(select(func.count()).select_from(ApplicationEvent)) == 4


def test_gives_up_after_too_many_collisions(
    database: Database, scripted_references: list[str]
) -> None:
    scripted_references.append("MTG-AAAAA")
    _create(database)
    scripted_references.extend(["MTG-AAAAA"] * applications.MAX_REFERENCE_ATTEMPTS)

    with pytest.raises(ReferenceExhaustedError):
        _create(database)


def test_other_integrity_errors_are_not_mistaken_for_collisions(
    database: Database, scripted_references: list[str]
) -> None:
    scripted_references.append("MTG-CCCCC")

    # An intake that slipped past its validation (`copy` does not validate) ...
    slipped = mortgage_intake().copy(update={"term_years": 0})

    with pytest.raises(IntegrityError), database.session() as session:
        # ... is refused by the CHECK constraint.
        create_application(session, slipped, origin_channel="rest", origin_sender_id="sender-1")

    assert scripted_references == []  # tried once, not retried


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("MTG-7K3Q9", "MTG-7K3Q9"),
        ("mtg-7k3q9", "MTG-7K3Q9"),
        ("MTG 7K3Q9", "MTG-7K3Q9"),
        ("MTG7K3Q9", "MTG-7K3Q9"),
        ("my reference is mtg-7k3q9.", "MTG-7K3Q9"),
        ("MTG-7K3QO", "MTG-7K3Q0"),  # O read as zero
        ("MTG-7K3QI", "MTG-7K3Q1"),  # I read as one
        ("MTG-7K3QL", "MTG-7K3Q1"),  # L read as one
        ("MTG-7K3QU", None),  # U is never used
        ("MTG-7K3", None),
        ("7K3Q9", None),
        ("", None),
        ("'; DROP TABLE mortgage_applications; --", None),
    ],
)
def test_normalize_reference(typed: str, expected: str | None) -> None:
    assert normalize_reference(typed) == expected


def test_get_application_accepts_the_reference_as_typed(database: Database) -> None:
    reference = _create(database)

    with database.session() as session:
        found = get_application(session, reference.lower().replace("-", " "))
        missing = get_application(session, "MTG-ZZZZZ" if reference != "MTG-ZZZZZ" else "MTG-YYYYY")

    assert found is not None
    assert found.reference == reference
    assert missing is None


def test_every_touchpoint_appends_to_one_timeline(database: Database) -> None:
    reference = _create(database)

    with database.session() as session:
        record_application_event(
            session, reference, touchpoint="web_chat", kind="handed_to_advisor", actor_kind="bot"
        )
    with database.session() as session:
        record_application_event(
            session,
            reference,
            touchpoint="desk",
            kind="advisor_note",
            actor_kind="agent",
            actor="maya",
            detail={"text": "Prefers a 5-year fix"},
        )
    with database.session() as session:
        updated = record_application_event(
            session, reference, touchpoint="phone", kind="withdrawn", actor_kind="customer"
        )

    with database.session() as session:
        stored = get_application(session, reference)

    assert stored is not None
    assert stored == updated
    assert [(e.touchpoint, e.kind, e.actor_kind) for e in stored.events] == [
        ("web_chat", "chat_started", "customer"),
        ("web_chat", "form_completed", "customer"),
        ("web_chat", "handed_to_advisor", "bot"),
        ("desk", "advisor_note", "agent"),
        ("phone", "withdrawn", "customer"),
    ]
    assert stored.events[3].detail == {"text": "Prefers a 5-year fix"}
    assert stored.events[3].actor == "maya"
    assert stored.stage == "withdrawn"
    assert stored.updated_at > stored.created_at


@pytest.mark.parametrize(
    ("kind", "stage"),
    [
        ("handed_to_advisor", "advice"),
        ("documents_requested", "documents"),
        ("withdrawn", "withdrawn"),
        ("expired", "expired"),
        ("note", "intake"),
        ("resumed", "intake"),
    ],
)
def test_entries_move_the_stage_on(database: Database, kind: str, stage: str) -> None:
    reference = _create(database)

    with database.session() as session:
        snapshot = record_application_event(session, reference, touchpoint="desk", kind=kind)

    assert snapshot.stage == stage


@pytest.mark.parametrize("kind", ["signed", "appointment_booked", "document_uploaded"])
def test_a_step_at_the_wrong_stage_is_a_conflict_and_writes_nothing(
    database: Database, kind: str
) -> None:
    reference = _create(database)

    with pytest.raises(Conflict, match="at stage intake"), database.session() as session:
        record_application_event(session, reference, touchpoint="branch", kind=kind)

    with database.session() as session:
        stored = get_application(session, reference)
    assert stored is not None
    assert (stored.stage, len(stored.events)) == ("intake", 2)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"touchpoint": "carrier_pigeon", "kind": "note"}, "Unknown touchpoint"),
        ({"touchpoint": "desk", "kind": "approved_by_magic"}, "Unknown kind"),
        ({"touchpoint": "desk", "kind": "note", "detail": {"at": object()}}, "JSON"),
    ],
)
def test_record_application_event_refuses_bad_input(
    database: Database, arguments: dict[str, Any], message: str
) -> None:
    reference = _create(database)

    with pytest.raises(ValueError, match=message), database.session() as session:
        record_application_event(session, reference, **arguments)

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ApplicationEvent)) == 2


def test_record_application_event_for_an_unknown_reference(database: Database) -> None:
    with pytest.raises(ApplicationNotFoundError), database.session() as session:
        record_application_event(session, "MTG-00000", touchpoint="desk", kind="note")


def test_evidence_is_json_with_money_as_numbers(database: Database) -> None:
    reference = _create(database)
    with database.session() as session:
        snapshot = get_application(session, reference)
    assert snapshot is not None

    evidence = json.loads(json.dumps(snapshot.to_evidence()))

    assert evidence["reference"] == reference
    assert evidence["currency"] == "GBP"
    assert evidence["property_value"] == 250000
    assert evidence["loan_amount"] == 200000
    assert evidence["deposit_amount"] == 50000
    assert evidence["annual_income"] == 62500.5
    assert evidence["loan_to_value"] == 0.8
    assert evidence["term_years"] == 25
    assert evidence["stage"] == evidence["status"] == "intake"
    assert (evidence["documents"], evidence["appointment"]) == ([], None)
    assert evidence["history"][1]["kind"] == "form_completed"
    assert evidence["history"][0]["touchpoint"] == "web_chat"


def test_deleting_an_application_deletes_its_history(database: Database) -> None:
    _create(database)

    with database.engine.begin() as connection:
        connection.execute(delete(MortgageApplication.__table__))
        remaining = connection.scalar(select(func.count()).select_from(ApplicationEvent.__table__))

    assert remaining == 0
