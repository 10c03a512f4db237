"""Version 1.2: the mortgage evidence's stage, documents and appointment (and the journey's
timeline section), as the bot builds them, validate against the committed schema; contexts of
versions 1.0 and 1.1 for the same conversation still do."""

from __future__ import annotations

import json
from typing import Any

from contract.handoff_context import HandoffContext
from contract.schema import validate_payload
from tests.actions.test_mortgage import REJECTION, application_in_documents, documents_context

NEW_IN_1_2 = ("stage", "documents", "appointment")


def payload_1_2() -> dict[str, Any]:
    """A mortgage context as the bot sends it now: documents, appointment, timeline."""
    payload: dict[str, Any] = json.loads(
        documents_context(application_in_documents(appointment=True)).json()
    )
    return payload


def as_version_1_1(payload: dict[str, Any]) -> dict[str, Any]:
    """The 1.1 context of the same conversation: the application without 1.2's fields."""
    payload.update(schema_version="1.1")
    for name in NEW_IN_1_2:
        del payload["evidence"]["mortgage_application"][name]
    payload["pii"] = [p for p in payload["pii"] if "/documents/" not in p]
    return payload


def as_version_1_0(payload: dict[str, Any]) -> dict[str, Any]:
    """The 1.0 context: no further evidence sections, no view, no customer name either."""
    as_version_1_1(payload)
    payload.update(schema_version="1.0")
    del payload["customer_name"], payload["evidence_view"], payload["evidence"]["mortgage_timeline"]
    payload["pii"] = [
        p for p in payload["pii"] if not p.startswith(("/customer_", "/evidence_v", "/evidence/mo"))
    ]
    return payload


def test_a_1_2_mortgage_context_validates_with_its_new_evidence() -> None:
    payload = payload_1_2()

    assert payload["schema_version"] == "1.2"
    application = payload["evidence"]["mortgage_application"]
    assert application["stage"] == "appointment_booked"
    assert application["documents"][1] == {
        "key": "payslips",
        "title": "Last 3 payslips",
        "state": "rejected",
        "rejection_reason": REJECTION,
    }
    assert application["appointment"]["branch_name"] == "Leeds Park Row"
    assert validate_payload(payload) == []
    assert json.loads(HandoffContext.parse_obj(payload).json()) == payload


def test_the_new_evidence_is_checked_by_the_schema() -> None:
    bad_state = payload_1_2()
    bad_state["evidence"]["mortgage_application"]["documents"][0]["state"] = ""
    naive_start = payload_1_2()
    naive_start["evidence"]["mortgage_application"]["appointment"]["starts_at"] = (
        "2026-12-08T10:00:00"
    )
    unknown_key = payload_1_2()
    unknown_key["evidence"]["mortgage_application"]["documents"][0]["file_name"] = "p.pdf"

    assert validate_payload(bad_state) != []
    assert validate_payload(naive_start) != []
    assert validate_payload(unknown_key) != []


def test_a_1_1_context_is_still_accepted() -> None:
    old = as_version_1_1(payload_1_2())

    assert validate_payload(old) == []
    parsed = HandoffContext.parse_obj(old)
    assert parsed.evidence.mortgage_application is not None
    assert parsed.evidence.mortgage_application.documents is None


def test_a_1_0_context_is_still_accepted() -> None:
    old = as_version_1_0(payload_1_2())

    assert validate_payload(old) == []
    assert HandoffContext.parse_obj(old).evidence_view == []


def test_a_draft_has_the_new_fields_null_and_validates() -> None:
    payload = payload_1_2()
    draft = payload["evidence"]["mortgage_application"]
    draft.update(reference=None, status="draft", stage=None, documents=None, appointment=None)

    assert validate_payload(payload) == []
