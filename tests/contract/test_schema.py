"""The committed JSON Schema: in step with the models, and strict about what it accepts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from actions.handoff.routing import HandoffRouter
from contract.handoff_context import SCHEMA_VERSION, HandoffContext, TriggerType
from contract.schema import (
    SCHEMA_PATH,
    handoff_context_json_schema,
    load_committed_schema,
    main,
    render_schema,
    validate_payload,
)
from tests.support.handoff_examples import GOLDEN_PATH, context_for

# One reason code per trigger type (plus order_lost and a draft application).
REASON_CODES_BY_TRIGGER = {
    "order_delayed": TriggerType.BUSINESS_RULE,
    "order_lost": TriggerType.BUSINESS_RULE,
    "cycle_limit": TriggerType.CYCLE_LIMIT,
    "needs_advice": TriggerType.NEEDS_ADVICE,
    "nlu_fallback": TriggerType.NLU_FALLBACK,
    "customer_request": TriggerType.USER_REQUEST,
}


def as_payload(context: HandoffContext) -> dict[str, Any]:
    """The context as the desk receives it."""
    payload: dict[str, Any] = json.loads(context.json())
    return payload


# --- Drift --------------------------------------------------------------------------------------


def test_committed_schema_is_generated_from_the_models() -> None:
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == render_schema(handoff_context_json_schema()), (
        "schemas/handoff_context.v1.json is stale: run `python -m contract.schema`"
    )


def test_schema_names_its_version() -> None:
    schema = load_committed_schema()
    assert SCHEMA_VERSION in schema["$id"]
    assert SCHEMA_VERSION in schema["title"]
    assert SCHEMA_PATH.name == f"handoff_context.v{SCHEMA_VERSION.split('.')[0]}.json"


def test_generation_is_stable() -> None:
    assert render_schema(handoff_context_json_schema()) == render_schema(
        handoff_context_json_schema()
    )


def test_check_passes_for_the_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_fails_with_a_message_when_the_file_is_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "handoff_context.v1.json"
    schema = handoff_context_json_schema()
    del schema["properties"]["summary"]
    stale.write_text(render_schema(schema), encoding="utf-8")

    assert main(["--check", "--path", str(stale)]) == 1
    error = capsys.readouterr().err
    assert "python -m contract.schema" in error
    assert "summary" in error  # the diff shows what changed


def test_check_fails_when_the_file_is_missing(tmp_path: Path) -> None:
    assert main(["--check", "--path", str(tmp_path / "missing.json")]) == 1


def test_write_creates_the_file(tmp_path: Path) -> None:
    target = tmp_path / "schemas" / "handoff_context.v1.json"
    assert main(["--path", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_schema(handoff_context_json_schema())


# --- Valid contexts -------------------------------------------------------------------------------


@pytest.mark.parametrize("reason_code", sorted(REASON_CODES_BY_TRIGGER))
def test_a_context_for_every_trigger_type_validates(
    reason_code: str, router: HandoffRouter
) -> None:
    context = context_for(reason_code, router)

    assert context.trigger.type is REASON_CODES_BY_TRIGGER[reason_code]
    assert validate_payload(as_payload(context)) == []


def test_the_examples_cover_every_trigger_type() -> None:
    assert set(REASON_CODES_BY_TRIGGER.values()) == set(TriggerType)


def test_nulls_emitted_by_json_validate(router: HandoffRouter) -> None:
    # A draft application has a null reference and created_at; transcript turns carry nulls.
    payload = as_payload(context_for("customer_request", router))
    assert payload["evidence"]["mortgage_application"]["reference"] is None
    assert payload["evidence"]["order"] is None
    assert payload["transcript"][0]["action"] is None

    assert validate_payload(payload) == []


def test_the_golden_example_validates(golden_payload: dict[str, Any]) -> None:
    assert validate_payload(golden_payload) == []


def test_the_builder_produces_the_golden_example(
    golden_context: HandoffContext, golden_payload: dict[str, Any]
) -> None:
    assert as_payload(golden_context) == golden_payload, (
        f"regenerate {GOLDEN_PATH.name} with `python -m tests.support.handoff_examples`"
        " if the change is intended"
    )


def test_the_golden_example_round_trips_through_the_model(golden_payload: dict[str, Any]) -> None:
    parsed = HandoffContext.parse_obj(golden_payload)
    assert as_payload(parsed) == golden_payload


# --- Invalid payloads -----------------------------------------------------------------------------


def broken(payload: dict[str, Any], change: Any) -> dict[str, Any]:
    """A deep copy of the payload with `change` applied."""
    copied = copy.deepcopy(payload)
    change(copied)
    return copied


@pytest.mark.parametrize(
    ("change", "expected_error"),
    [
        (lambda p: p.update(schema_version="2.0"), "/schema_version: '2.0' is not one of"),
        (lambda p: p.pop("schema_version"), "/schema_version: required field is missing"),
        (lambda p: p.pop("trigger"), "/trigger: required field is missing"),
        (lambda p: p.update(handoff_id="not-a-uuid"), "/handoff_id: 'not-a-uuid' is not a valid"),
        (lambda p: p.update(surprise=1), "/surprise: unexpected field"),
        (lambda p: p["trigger"].update(type="whim"), "/trigger/type: 'whim' is not one of"),
        (
            lambda p: p["trigger"].update(reason_code="Order Delayed"),
            "/trigger/reason_code: 'Order Delayed' does not match",
        ),
        (lambda p: p["routing"].update(priority="asap"), "/routing/priority: 'asap' is not one"),
        (
            lambda p: p["transcript"][0].update(timestamp="2025-03-14T09:30:05"),
            "/transcript/0/timestamp: '2025-03-14T09:30:05' is not a valid date-time",
        ),
        (
            lambda p: p["transcript"][1].update(speaker="narrator"),
            "/transcript/1/speaker: 'narrator' is not one of",
        ),
        (
            lambda p: p["transcript"][0].update(confidence=1.5),
            "/transcript/0/confidence: 1.5 is greater than the maximum of 1.0",
        ),
        (
            lambda p: p["evidence"]["order"].update(tracking_url="https://x"),
            "/evidence/order/tracking_url: unexpected field",
        ),
        (
            lambda p: p["sentiment"].update(score=-3),
            "/sentiment/score: -3 is less than the minimum of -1.0",
        ),
        (lambda p: p.update(summary=None), "/summary: None is not of type 'string'"),
        (lambda p: p["pii"].append("slots/email"), "/pii/11: 'slots/email' does not match"),
    ],
    ids=[
        "wrong-version",
        "missing-version",
        "missing-trigger",
        "bad-uuid",
        "extra-field",
        "bad-trigger-type",
        "reason-not-snake-case",
        "bad-priority",
        "naive-timestamp",
        "bad-speaker",
        "confidence-above-one",
        "extra-nested-field",
        "sentiment-out-of-range",
        "null-summary",
        "pii-not-a-pointer",
    ],
)
def test_invalid_payloads_get_errors_naming_the_field(
    golden_payload: dict[str, Any], change: Any, expected_error: str
) -> None:
    errors = validate_payload(broken(golden_payload, change))

    assert any(error.startswith(expected_error) for error in errors), errors


def test_every_problem_is_reported_once(golden_payload: dict[str, Any]) -> None:
    payload = broken(golden_payload, lambda p: (p.pop("trigger"), p.update(handoff_id="x")))

    errors = validate_payload(payload)

    assert errors == ["/handoff_id: 'x' is not a valid uuid", "/trigger: required field is missing"]


def test_a_payload_that_is_not_an_object_is_rejected() -> None:
    assert validate_payload([]) == ["(root): [] is not of type 'object'"]


def test_the_model_rejects_what_the_schema_rejects(golden_payload: dict[str, Any]) -> None:
    naive = broken(golden_payload, lambda p: p.update(created_at="2025-03-14T09:31:00"))
    extra = broken(golden_payload, lambda p: p.update(surprise=1))

    for payload in (naive, extra):
        with pytest.raises(ValueError):
            HandoffContext.parse_obj(payload)


# --- Version 1.1 ---------------------------------------------------------------------------------


def as_version_1_0(payload: dict[str, Any]) -> None:
    """Turn a 1.1 payload into the 1.0 one the same conversation gave (1.1 only added fields)."""
    payload.update(schema_version="1.0")
    del payload["customer_name"], payload["evidence_view"]
    payload["pii"] = [p for p in payload["pii"] if not p.startswith(("/customer_", "/evidence_v"))]


def test_a_1_0_context_is_still_accepted(golden_payload: dict[str, Any]) -> None:
    """E.g. one written to an outbox before the bot was upgraded."""
    old = broken(golden_payload, as_version_1_0)

    assert validate_payload(old) == []
    assert HandoffContext.parse_obj(old).evidence_view == []


def test_any_snake_case_flow_is_accepted(golden_payload: dict[str, Any]) -> None:
    assert validate_payload(broken(golden_payload, lambda p: p.update(flow="warranty"))) == []
    assert validate_payload(broken(golden_payload, lambda p: p.update(flow="Warranty!"))) == [
        "/flow: 'Warranty!' does not match '^[a-z][a-z0-9]*(_[a-z0-9]+)*$'"
    ]


def test_further_evidence_sections_are_objects_with_snake_case_names(
    golden_payload: dict[str, Any],
) -> None:
    section = {"serial_number": "SN-4711", "status": "expired"}
    with_section = broken(golden_payload, lambda p: p["evidence"].update(warranty=section))
    not_an_object = broken(golden_payload, lambda p: p["evidence"].update(warranty=[1]))
    badly_named = broken(golden_payload, lambda p: p["evidence"].update({"Warranty": section}))

    assert validate_payload(with_section) == []
    assert HandoffContext.parse_obj(with_section).evidence.section("warranty") == section
    assert validate_payload(not_an_object) == ["/evidence/warranty: [1] is not of type 'object'"]
    assert validate_payload(badly_named)
    for payload in (not_an_object, badly_named):
        with pytest.raises(ValueError):
            HandoffContext.parse_obj(payload)


@pytest.mark.parametrize(
    ("change", "expected_error"),
    [
        (
            lambda p: p["evidence_view"][0]["fields"][0].update(value={"a": 1}),
            "/evidence_view/0/fields/0/value: {'a': 1} is not of type",
        ),
        (
            lambda p: p["evidence_view"][0]["tables"][0]["rows"].append([["nested"]]),
            "/evidence_view/0/tables/0/rows/1/0: ['nested'] is not of type",
        ),
        (
            lambda p: p["evidence_view"][0].update(key="Order!"),
            "/evidence_view/0/key: 'Order!' does not match",
        ),
        (lambda p: p.update(customer_name=""), "/customer_name: '' is too short"),
    ],
    ids=["object-value", "nested-cell", "key-not-snake-case", "empty-name"],
)
def test_the_evidence_view_holds_labelled_scalars(
    golden_payload: dict[str, Any], change: Any, expected_error: str
) -> None:
    errors = validate_payload(broken(golden_payload, change))

    assert any(error.startswith(expected_error) for error in errors), errors
