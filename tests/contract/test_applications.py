"""The mortgage application words: the intake the bot sends, the record the desk answers."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from contract.applications import (
    ApplicationEventRecord,
    ApplicationEventRequest,
    ApplicationRecord,
    MortgageIntake,
    NewApplication,
    application_events_path,
    application_path,
)
from tests.support.applications import mortgage_intake


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"loan_amount": 200000.0}, ValidationError),
        ({"property_value": 250000}, ValidationError),
        ({"loan_amount": Decimal("250000")}, ValueError),
        ({"loan_amount": Decimal("0")}, ValueError),
    ],
)
def test_intake_refuses_floats_and_impossible_loans(
    changes: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        mortgage_intake(**changes)


def test_intake_is_frozen_and_derives_its_loan_to_value() -> None:
    intake = mortgage_intake()
    with pytest.raises(TypeError, match="immutable"):
        intake.loan_amount = Decimal(1)  # type: ignore[misc]
    assert intake.loan_to_value == Decimal("0.8000")


def test_money_travels_as_exact_decimal_strings() -> None:
    new = NewApplication(intake=mortgage_intake(), origin_channel="rest", origin_sender_id="s-1")

    sent = json.loads(new.json())

    assert sent["intake"]["annual_income"] == "62500.50"
    assert NewApplication.parse_raw(new.json()) == new


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("property_value", 250000.5, "not a number"),
        ("property_value", "1e400", "digits"),
        ("loan_amount", "200000.001", "decimal places"),
        ("deposit_amount", "-1", "greater than or equal to 0"),
        ("term_years", 10**30, "less than or equal to 100"),
        ("term_years", "25", "valid integer"),
        ("currency", "pounds", "string does not match"),
        ("applicant_name", "x" * 101, "at most 100"),
    ],
)
def test_a_body_that_cannot_be_stored_is_refused(field: str, value: Any, message: str) -> None:
    body = json.loads(mortgage_intake().json())
    body[field] = value

    with pytest.raises(ValidationError, match=message):
        MortgageIntake.parse_obj(body)


def test_unknown_fields_are_refused() -> None:
    body = {**json.loads(mortgage_intake().json()), "approved": True}

    with pytest.raises(ValidationError, match="extra fields not permitted"):
        MortgageIntake.parse_obj(body)


def test_an_event_detail_must_be_an_object() -> None:
    with pytest.raises(ValidationError, match="must be a JSON object"):
        ApplicationEventRequest.parse_obj(
            {"touchpoint": "desk", "kind": "note", "detail": [["a", 1]]}
        )


def test_the_record_reads_back_exactly_and_gives_evidence() -> None:
    at = datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=timezone.utc)
    record = ApplicationRecord(
        reference="MTG-7K3Q9",
        stage="intake",
        applicant_name="Jane",
        email="jane@example.com",
        property_value=Decimal("250000.00"),
        deposit_amount=Decimal("50000.00"),
        loan_amount=Decimal("200000.00"),
        loan_to_value=Decimal("0.8000"),
        term_years=25,
        annual_income=Decimal("62500.50"),
        employment_type="employed",
        currency="GBP",
        origin_channel="rest",
        origin_sender_id="s-1",
        created_at=at,
        updated_at=at,
        events=(
            ApplicationEventRecord(
                occurred_at=at,
                touchpoint="web_chat",
                kind="form_completed",
                actor_kind="customer",
                actor=None,
                detail={},
            ),
        ),
    )

    again = ApplicationRecord.parse_raw(record.json())

    assert again == record
    assert again.created_at == at
    assert again.to_evidence()["annual_income"] == 62500.5
    assert again.to_evidence()["history"][0]["occurred_at"] == at.isoformat()


def test_the_paths() -> None:
    assert application_path("MTG-7K3Q9") == "/api/applications/MTG-7K3Q9"
    assert application_events_path("MTG-7K3Q9") == "/api/applications/MTG-7K3Q9/events"
