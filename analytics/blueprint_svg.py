"""A service blueprint drawn as one self-contained SVG document (no library, no fonts to
fetch, no style sheet: presentation attributes only, so it shows the same inline in a page
under a strict Content-Security-Policy, as a file opened alone, or drawn into a canvas).

Lanes are horizontal bands, top to bottom, with their labels on the left; the lines of
interaction, visibility and internal interaction are dashed and labelled below their lanes.
Each step is a box in its lane and column (steps of one lane and column stack), with the
median time to reach its stage and its count under it; a step with FMEA failure modes has a
red border, a red marker and the modes' ids. Arrows join consecutive columns (none from a
column whose stages end the journey to one that does not: another branch). All text comes
from designer data and is escaped.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections import defaultdict
from typing import Final

from contract.analytics_report import Blueprint, BlueprintStep

#: No value (an en dash, as the dashboard shows it).
NONE: Final = "\u2013"
FONT: Final = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
LANE_LABEL_W: Final = 150
COLUMN_W: Final = 200
BOX_W: Final = 168
BOX_H: Final = 58
#: A stacked step's height: the box, its duration line and its modes line.
ROW_H: Final = BOX_H + 40
LANE_PAD: Final = 14
HEADER_H: Final = 74
LABEL_CHARS: Final = 26
LABEL_LINES: Final = 3
RED: Final = "#c62828"
LANE_FILLS: Final = ("#f3f6fb", "#ffffff")
LINE_NAMES: Final = {
    "interaction": "line of interaction",
    "visibility": "line of visibility",
    "internal interaction": "line of internal interaction",
}
# Characters XML 1.0 does not allow, even escaped.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(blueprint: Blueprint) -> str:
    """The blueprint as an SVG document (see the module doc)."""
    columns = max((step.column for step in blueprint.steps), default=-1) + 1
    width = LANE_LABEL_W + max(columns, 1) * COLUMN_W + 20
    stacks: dict[tuple[str, int], list[BlueprintStep]] = defaultdict(list)
    for step in blueprint.steps:
        stacks[(step.lane, step.column)].append(step)

    parts: list[str] = []
    boxes: dict[str, tuple[float, float]] = {}
    y = float(HEADER_H)
    for index, lane in enumerate(blueprint.lanes):
        rows = max((len(s) for (name, _), s in stacks.items() if name == lane.lane), default=1)
        height = rows * ROW_H + 2 * LANE_PAD
        parts.append(
            _rect(0, y, width, height, fill=LANE_FILLS[index % 2], stroke="none", rx=0)
            + _text(14, y + height / 2, lane.label, size=13, weight="bold", anchor="start")
        )
        for (name, column), steps in sorted(stacks.items(), key=lambda item: item[0][1]):
            if name != lane.lane:
                continue
            for row, step in enumerate(steps):
                x = LANE_LABEL_W + column * COLUMN_W + (COLUMN_W - BOX_W) / 2
                top = y + LANE_PAD + row * ROW_H
                boxes[step.step] = (x, top)
                parts.append(_step(step, x, top))
        y += height
        if lane.line_after:
            parts.append(_line(width, y, LINE_NAMES.get(lane.line_after, lane.line_after)))
    total = y + 16

    parts.extend(_arrows(blueprint, boxes))
    header = _header(blueprint, width, columns)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width:g}" '
        f'height="{total:g}" viewBox="0 0 {width:g} {total:g}" font-family="{_escape(FONT)}" '
        f'role="img" aria-label="{_escape("Service blueprint: " + blueprint.label)}">\n'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#455a64"/></marker></defs>\n'
        + _rect(0, 0, width, total, fill="#ffffff", stroke="none", rx=0)
        + header
        + "".join(parts)
        + "</svg>\n"
    )


def _header(blueprint: Blueprint, width: float, columns: int) -> str:
    title = f"Service blueprint: {blueprint.label}"
    period = f"{blueprint.period.start} to {blueprint.period.end} ({blueprint.period.timezone})"
    filters = [
        f"queue {blueprint.query.queue}" if blueprint.query.queue else "",
        f"outcome {blueprint.query.outcome.value.replace('_', ' ')}"
        if blueprint.query.outcome.value != "all"
        else "",
    ]
    subtitle = "; ".join(part for part in [period, *filters] if part)
    heads = []
    stage_of = {step.column: step.stage for step in blueprint.steps}
    for column in range(columns):
        x = LANE_LABEL_W + column * COLUMN_W + COLUMN_W / 2
        heads.append(_text(x, HEADER_H - 10, stage_of[column].replace("_", " "), size=11))
    return (
        _text(14, 24, title, size=16, weight="bold", anchor="start")
        + _text(14, 42, subtitle, size=11, anchor="start", fill="#546e7a")
        + "".join(heads)
    )


def _step(step: BlueprintStep, x: float, top: float) -> str:
    failing = bool(step.failure_modes)
    lines = textwrap.wrap(step.label, LABEL_CHARS) or [""]
    if len(lines) > LABEL_LINES:
        lines = [*lines[: LABEL_LINES - 1], lines[LABEL_LINES - 1][: LABEL_CHARS - 1] + "…"]
    first = top + BOX_H / 2 - (len(lines) - 1) * 7 + 4
    out = [
        f'<g class="step" data-step="{_escape(step.step)}">',
        f"<title>{_escape(step.step + ': ' + step.label + ' (' + step.actor + ')')}</title>",
        _rect(x, top, BOX_W, BOX_H, fill="#ffffff", stroke=RED if failing else "#607d8b", rx=6),
        _text(
            x + 6, top + 11, step.actor.replace("_", " "), size=9, anchor="start", fill="#78909c"
        ),
    ]
    for number, line in enumerate(lines):
        out.append(_text(x + BOX_W / 2, first + number * 14, line, size=11))
    duration = step.duration_s
    out.append(
        _text(
            x + BOX_W / 2,
            top + BOX_H + 15,
            f"p50 {duration_text(duration.p50)} · n={step.count}",
            size=11,
            fill="#37474f",
        )
    )
    if failing:
        out.append(
            f'<circle cx="{x + BOX_W:g}" cy="{top:g}" r="9" fill="{RED}"/>'
            + _text(x + BOX_W, top + 4, "!", size=12, weight="bold", fill="#ffffff")
            + _text(
                x + BOX_W / 2,
                top + BOX_H + 30,
                "FMEA: " + ", ".join(step.failure_modes),
                size=10,
                fill=RED,
            )
        )
    out.append("</g>\n")
    return "".join(out)


def _arrows(blueprint: Blueprint, boxes: dict[str, tuple[float, float]]) -> list[str]:
    """Elbow arrows from each column's top step to the next column's top step."""
    top: dict[int, BlueprintStep] = {}
    for step in blueprint.steps:  # lanes are drawn in order, so the first placed is the top
        known = top.get(step.column)
        if known is None or boxes[step.step][1] < boxes[known.step][1]:
            top[step.column] = step
    arrows = []
    for column in sorted(top)[:-1]:
        source, target = top[column], top.get(column + 1)
        if target is None or (source.final and not target.final):
            continue
        (x1, y1), (x2, y2) = boxes[source.step], boxes[target.step]
        start_x, start_y = x1 + BOX_W, y1 + BOX_H / 2
        end_x, end_y = x2 - 2, y2 + BOX_H / 2
        middle = (start_x + end_x) / 2
        arrows.append(
            f'<path class="arrow" d="M{start_x:g},{start_y:g} H{middle:g} V{end_y:g} '
            f'H{end_x:g}" fill="none" stroke="#455a64" stroke-width="1.5" '
            'marker-end="url(#arrow)"/>\n'
        )
    return arrows


def duration_text(seconds: float | None) -> str:
    """A duration as the blueprint shows it: 4.2 s, 3.5 min, 2.1 h, 3.0 d (NONE: none)."""
    if seconds is None:
        return NONE
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _line(width: float, y: float, name: str) -> str:
    return (
        f'<line x1="0" y1="{y:g}" x2="{width:g}" y2="{y:g}" stroke="#37474f" '
        'stroke-width="1.5" stroke-dasharray="8 5"/>'
        + _text(width - 8, y - 4, name, size=10, anchor="end", fill="#37474f", italic=True)
        + "\n"
    )


def _rect(x: float, y: float, w: float, h: float, *, fill: str, stroke: str, rx: float) -> str:
    return (
        f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="{rx:g}" fill="{fill}" '
        f'stroke="{stroke}"/>'
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int,
    anchor: str = "middle",
    weight: str = "normal",
    fill: str = "#263238",
    italic: bool = False,
) -> str:
    style = ' font-style="italic"' if italic else ""
    return (
        f'<text x="{x:g}" y="{y:g}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="{anchor}" fill="{fill}"{style}>{_escape(text)}</text>'
    )


def _escape(text: str) -> str:
    """Text safe in an XML attribute or element."""
    return html.escape(_NOT_XML.sub("", text), quote=True)
