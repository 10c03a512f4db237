"""The blueprint's SVG: well-formed XML, self-contained, every lane, line and step, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

from analytics.blueprint_svg import duration_text, render
from contract.analytics_report import (
    Blueprint,
    BlueprintLane,
    BlueprintStep,
    Distribution,
    Grain,
    Period,
    PlanningQuery,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(\"x\")</script> & 'more'"


def blueprint_of(steps: list[BlueprintStep]) -> Blueprint:
    day = date(2026, 11, 2)
    return Blueprint(
        journey="order_status",
        label="Orders & <returns>",
        period=Period(
            start=day,
            end=day,
            previous_start=day,
            previous_end=day,
            grain=Grain.DAY,
            timezone="UTC",
        ),
        query=PlanningQuery(start=day, end=day, journey="order_status"),
        lanes=[
            BlueprintLane(lane="customer", label="Customer actions", line_after="interaction"),
            BlueprintLane(lane="frontstage", label="Frontstage", line_after="visibility"),
            BlueprintLane(lane="backstage", label="Backstage", line_after="internal interaction"),
            BlueprintLane(lane="support", label="Support systems", line_after=None),
        ],
        steps=steps,
    )


def a_step(name: str, lane: str, column: int, **values: Any) -> BlueprintStep:
    fields: dict[str, Any] = {
        "step": name,
        "label": f"Step {name}",
        "lane": lane,
        "actor": "bot",
        "stage": f"stage_{column}",
        "column": column,
        "count": 123,
        "duration_s": Distribution(count=3, p50=4.2, p90=5.0, p95=6.0, few=True),
        "failure_modes": [],
        **values,
    }
    return BlueprintStep(**fields)


def texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_every_lane_line_and_step_is_drawn() -> None:
    steps = [
        a_step("ask", "customer", 0, actor="customer"),
        a_step("lookup", "frontstage", 1),
        a_step("order_db", "support", 1, actor="order_database"),
        a_step("intake", "backstage", 2, actor="desk"),
        a_step("claim", "frontstage", 2, actor="agent"),
    ]
    root = ET.fromstring(render(blueprint_of(steps)))
    assert root.tag == f"{SVG}svg"
    shown = texts(root)
    for lane in ("Customer actions", "Frontstage", "Backstage", "Support systems"):
        assert lane in shown
    for line in ("line of interaction", "line of visibility", "line of internal interaction"):
        assert line in shown
    assert len(root.findall(f"{SVG}line")) == 3
    drawn = [g.get("data-step") for g in root.iter(f"{SVG}g")]
    assert drawn == ["ask", "lookup", "claim", "intake", "order_db"]  # lane by lane
    assert shown.count("p50 4.2 s · n=123") == 5
    assert len(root.findall(f"{SVG}path")) == 2  # column 0 → 1 → 2


def test_failure_modes_are_marked_in_red() -> None:
    steps = [a_step("queue_wait", "customer", 0, failure_modes=["no_agent_online", "slow"])]
    root = ET.fromstring(render(blueprint_of(steps)))
    assert "FMEA: no_agent_online, slow" in texts(root)
    (marker,) = root.iter(f"{SVG}circle")
    assert marker.get("fill") == "#c62828"


def test_no_arrow_from_an_end_to_another_branch() -> None:
    steps = [
        a_step("report", "frontstage", 0, final=True),
        a_step("escalate", "frontstage", 1),
        a_step("hand_back", "backstage", 2, final=True),
        a_step("rate", "customer", 3, final=True),
    ]
    root = ET.fromstring(render(blueprint_of(steps)))
    assert len(root.findall(f"{SVG}path")) == 2  # escalate → hand_back → rate


def test_designer_text_is_escaped() -> None:
    steps = [
        a_step("ask", "customer", 0, label=HOSTILE, actor="customer&co", failure_modes=["<b>"])
    ]
    document = render(blueprint_of(steps))
    assert "<script>" not in document
    assert "&lt;script&gt;" in document
    root = ET.fromstring(document)
    assert root.find(f"{SVG}script") is None
    shown = texts(root)
    assert "Service blueprint: Orders & <returns>" in shown
    assert "FMEA: <b>" in shown
    assert any("<script>" in text for text in shown)  # as text, not markup
    assert not any(node.tag.endswith("script") for node in root.iter())


def test_self_contained() -> None:
    document = render(blueprint_of([a_step("ask", "customer", 0)]))
    for outside in ("href", "@import", "url(http", "<style", "<image", "<foreignObject"):
        assert outside not in document
    assert render(blueprint_of([])).startswith("<?xml")
    ET.fromstring(render(blueprint_of([])))  # an empty blueprint is still a document


def test_durations_read_in_their_unit() -> None:
    assert duration_text(None) == "\u2013"
    assert duration_text(4.24) == "4.2 s"
    assert duration_text(210) == "3.5 min"
    assert duration_text(7560) == "2.1 h"
    assert duration_text(3 * 86400) == "3.0 d"
