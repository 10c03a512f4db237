"""Mortgage applications for tests: a completed intake, and the body the bot sends with it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from contract.applications import MortgageIntake, NewApplication


def mortgage_intake(**changes: Any) -> MortgageIntake:
    """A valid completed intake (a £200,000 loan on a £250,000 property), with `changes`."""
    values: dict[str, Any] = {
        "applicant_name": "Jane O'Neill-Smith",
        "email": "jane@example.com",
        "property_value": Decimal("250000.00"),
        "deposit_amount": Decimal("50000.00"),
        "loan_amount": Decimal("200000.00"),
        "term_years": 25,
        "annual_income": Decimal("62500.50"),
        "employment_type": "employed",
    }
    values.update(changes)
    return MortgageIntake(**values)


def new_application(sender_id: str = "web-applicant") -> NewApplication:
    """`POST /api/applications` for `mortgage_intake()`, from the REST channel."""
    return NewApplication(
        intake=mortgage_intake(), origin_channel="rest", origin_sender_id=sender_id
    )


def new_application_body(**intake_changes: Any) -> dict[str, Any]:
    """The same as JSON, the intake changed as given (raw values, so they may be invalid)."""
    body: dict[str, Any] = json.loads(new_application().json())
    body["intake"].update(intake_changes)
    return body
