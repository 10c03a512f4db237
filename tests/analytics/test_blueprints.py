"""The service blueprint file: the shipped one is valid, and each rule names the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.blueprints import (
    DEFAULT_PATH,
    LANES,
    BlueprintFileError,
    load_blueprints,
    main,
)

#: The step ids the FMEA catalog pins modes on (content/handoff_fmea.yml).
ORDER_STATUS_STEPS = [
    "ask",
    "lookup",
    "order_db",
    "report",
    "escalate",
    "intake",
    "give_up",
    "leave_message",
    "queue_wait",
    "claim",
    "agent_work",
    "hand_back",
    "rate",
]


def write(tmp_path: Path, steps: str, journey: str = "order_status") -> Path:
    path = tmp_path / "blueprints.yml"
    path.write_text(f"version: 1\njourneys:\n  {journey}:\n    steps:\n{steps}", encoding="utf-8")
    return path


def test_the_shipped_file_is_valid_with_every_journey() -> None:
    loaded = load_blueprints(DEFAULT_PATH)
    assert set(loaded.journeys) == {"order_status", "troubleshooting", "mortgage"}
    order = loaded.of("order_status")
    assert order is not None
    assert [step.id for step in order.steps] == ORDER_STATUS_STEPS
    assert main([str(DEFAULT_PATH)]) == 0


def test_the_lanes_are_fixed_with_their_lines() -> None:
    assert [(lane.id, lane.line_after) for lane in LANES] == [
        ("customer", "interaction"),
        ("frontstage", "visibility"),
        ("backstage", "internal interaction"),
        ("support", None),
    ]


@pytest.mark.parametrize(
    ("steps", "journey", "message"),
    [
        (
            "      - {id: ask, label: Asks, lane: customer, actor: customer, stage: asked_twice}\n",
            "order_status",
            "steps[0].stage: order_status has no stage 'asked_twice'",
        ),
        (
            "      - {id: ask, label: Asks, lane: customer, actor: bot, stage: asked}\n",
            "order_status",
            "steps[0].actor: 'bot' does not act in the customer lane",
        ),
        (
            "      - {id: ask, label: Asks, lane: customer, actor: customer, stage: asked}\n"
            "      - {id: ask, label: Again, lane: customer, actor: customer, stage: looked_up}\n",
            "order_status",
            "steps[1].id: step 'ask' is listed twice",
        ),
        (
            "      - {id: ask, label: Asks, lane: customer, actor: customer, stage: asked}\n",
            "weather",
            "journeys.weather: no stages for journey 'weather'",
        ),
        (
            "      - {id: ask, label: Asks, lane: sidestage, actor: customer, stage: asked}\n",
            "order_status",
            "steps[0].lane",
        ),
        (
            "      - {id: ask, lane: customer, actor: customer, stage: asked}\n",
            "order_status",
            "missing required key 'label'",
        ),
    ],
)
def test_a_mistake_is_named(tmp_path: Path, steps: str, journey: str, message: str) -> None:
    with pytest.raises(BlueprintFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_blueprints(write(tmp_path, steps, journey))


def test_the_command_reports_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, "      - {id: ask, label: Asks, lane: customer, actor: bot, stage: asked}\n"
    )
    assert main([str(path)]) == 1
    assert "does not act in the customer lane" in capsys.readouterr().err


def test_every_fmea_mode_is_pinned_to_a_step_of_its_journeys_blueprints() -> None:
    from analytics.blueprints import load_blueprints
    from analytics.fmea_catalog import load_fmea_catalog

    shipped = load_blueprints()
    for mode in load_fmea_catalog().modes:
        steps = {
            step.id
            for journey in mode.journeys
            if (found := shipped.of(journey)) is not None
            for step in found.steps
        }
        assert mode.step in steps, f"{mode.id} pins to {mode.step!r}, in none of {mode.journeys}"
