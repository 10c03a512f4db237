"""The handoff FMEA's catalog (`content/handoff_fmea.yml`): the failure modes and their scales.

Designers list each mode with its severity, the blueprint step it happens at, the journeys it
can happen in, the counter that measures its occurrence and the watches that detect it. The
counters (`COUNTERS`) and the watches (`WATCHES`) are closed sets kept here, next to what
implements them (`analytics.fmea` for the counters; the desk's live strip, Prometheus
collector, dashboard report, logs and case pages for the watches), so the data never holds SQL
and never claims a watch that does not exist. `load_fmea_catalog` reads and checks the file
(the schema, then those rules); any problem raises `FmeaFileError` naming the file and the YAML
path of the mistake. Run ``python -m analytics.fmea_catalog [path]`` (or ``make validate``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from contentsupport.designer_files import check_command, checked_document
from contract.conversation_marks import JOURNEY_MARKS

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
SCHEMA_PATH: Final = PROJECT_ROOT / "schemas" / "handoff_fmea.schema.json"
#: ANALYTICS_HANDOFF_FMEA names another file.
DEFAULT_PATH: Final = PROJECT_ROOT / "content" / "handoff_fmea.yml"
MORTGAGE: Final = "mortgage"

#: What a counter counts: handoffs, or mortgage applications' timeline entries.
HANDOFF: Final = "handoff"
APPLICATION: Final = "application"

#: The occurrence counters `analytics.fmea` implements, and what each counts (docs/metrics.md,
#: "FMEA occurrence", defines them exactly).
COUNTERS: Final[Mapping[str, str]] = {
    "queued_no_agent_online": HANDOFF,
    "claim_over_service_level": HANDOFF,
    "delivered_late": HANDOFF,
    "duplicate_suppressed": HANDOFF,
    "hand_back_refused": HANDOFF,
    "repeat_after_handoff": HANDOFF,
    "abandoned_waiting": HANDOFF,
    "hybrid_csat_low": HANDOFF,
    "document_rejected_twice": APPLICATION,
    "appointment_missed": APPLICATION,
}

#: Kinds of watch, best first; `none` scores a mode nothing watches.
LIVE: Final = "live"
METRIC: Final = "metric"
DASHBOARD: Final = "dashboard"
RECORD: Final = "record"
NONE: Final = "none"
DETECTION_KINDS: Final = (LIVE, METRIC, DASHBOARD, RECORD, NONE)


@dataclass(frozen=True)
class Watch:
    """Something that shows a failure mode: its kind and where it is."""

    kind: str
    where: str


#: Every watch that exists (tests/analytics/test_fmea.py checks each `where` is real).
WATCHES: Final[Mapping[str, Watch]] = {
    "floor_agents_online": Watch(LIVE, "desk/floor.py: Floor.agents_online on the live strip"),
    "floor_waiting": Watch(LIVE, "desk/floor.py: Floor.waiting and oldest_wait_s"),
    "floor_sla_breach": Watch(LIVE, "desk/floor.py: Floor.breaches"),
    "console_hand_back_error": Watch(
        LIVE, "desk/workflows/closing.py: Closed.hand_back_error, shown on the agent's console"
    ),
    "prometheus_agents_online": Watch(METRIC, "desk/prometheus.py: desk_agents_online"),
    "prometheus_oldest_wait": Watch(METRIC, "desk/prometheus.py: desk_queue_oldest_wait_seconds"),
    "prometheus_handoff_outcomes": Watch(METRIC, "desk/prometheus.py: desk_handoffs"),
    "prometheus_wait_seconds": Watch(METRIC, "desk/prometheus.py: desk_handoff_wait_seconds"),
    "dashboard_wait_outcomes": Watch(DASHBOARD, "analytics/report.py: Report.wait_outcomes"),
    "dashboard_latency": Watch(DASHBOARD, "analytics/report.py: Report.latency"),
    "dashboard_csat": Watch(DASHBOARD, "analytics/report.py: Report.csat"),
    "dashboard_repeat_rate": Watch(DASHBOARD, "analytics/report.py: Report.repeats"),
    "outbox_log": Watch(RECORD, "actions/handoff/delivery.py: the failed-try warnings"),
    "hand_back_log": Watch(RECORD, "desk/workflows/closing.py: the hand-back failure errors"),
    "case_timeline": Watch(RECORD, "desk/application_timeline.py: the case's timeline"),
    "branch_day": Watch(RECORD, "desk/services/branch_desk.py: the branch's appointments"),
}


class FmeaFileError(ValueError):
    """An FMEA file is missing, unreadable or breaks the rules."""


@dataclass(frozen=True)
class FailureMode:
    """One way a handoff fails, as the designers describe it."""

    id: str
    label: str
    effect: str
    cause: str
    severity: int
    step: str
    journeys: tuple[str, ...]
    occurrence_counter: str
    detected_by: tuple[str, ...]


@dataclass(frozen=True)
class FmeaCatalog:
    """The failure modes and the scales that score them."""

    modes: tuple[FailureMode, ...]
    #: (from per 1,000, score), rising.
    occurrence_bands: tuple[tuple[float, int], ...]
    detection_scores: Mapping[str, int]
    late_delivery_seconds: float

    def occurrence(self, per_thousand: float | None) -> int:
        """The occurrence score of a rate per 1,000 (the lowest with no exposure)."""
        if per_thousand is None:
            return self.occurrence_bands[0][1]
        score = self.occurrence_bands[0][1]
        for start, band in self.occurrence_bands:
            if per_thousand >= start:
                score = band
        return score

    def detection(self, mode: FailureMode) -> int:
        """The best score of the mode's watches (`none` when nothing watches it)."""
        kinds = [WATCHES[name].kind for name in mode.detected_by] or [NONE]
        return min(self.detection_scores[kind] for kind in kinds)

    def modes_by_step(self) -> dict[str, list[str]]:
        """The modes' ids per blueprint step, in the file's order."""
        steps: dict[str, list[str]] = {}
        for mode in self.modes:
            steps.setdefault(mode.step, []).append(mode.id)
        return steps


def load_fmea_catalog(path: Path | None = None) -> FmeaCatalog:
    """Read, validate and return the catalog in `path` (default: the file the environment
    names, else content/handoff_fmea.yml).

    Raises:
        FmeaFileError: The file cannot be read, is not YAML, or breaks a rule.
    """
    path = Path(path or os.environ.get("ANALYTICS_HANDOFF_FMEA") or DEFAULT_PATH)
    document = checked_document(path, SCHEMA_PATH, FmeaFileError, _rule_problems)
    modes = tuple(
        FailureMode(
            id=mode["id"],
            label=mode["label"].strip(),
            effect=" ".join(mode["effect"].split()),
            cause=" ".join(mode["cause"].split()),
            severity=mode["severity"],
            step=mode["step"],
            journeys=tuple(mode["journeys"]),
            occurrence_counter=mode["occurrence_counter"],
            detected_by=tuple(mode["detected_by"]),
        )
        for mode in document["modes"]
    )
    return FmeaCatalog(
        modes=modes,
        occurrence_bands=tuple(
            (float(band["from"]), int(band["score"])) for band in document["occurrence_bands"]
        ),
        detection_scores=dict(document["detection"]),
        late_delivery_seconds=float(document["late_delivery_seconds"]),
    )


@lru_cache(maxsize=4)
def fmea_catalog(path: Path | None = None) -> FmeaCatalog:
    """The catalog, read once per path."""
    return load_fmea_catalog(path)


def _rule_problems(document: Mapping[str, Any]) -> list[str]:
    return _band_problems(document["occurrence_bands"]) + _mode_problems(document["modes"])


def _band_problems(bands: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    scores = [band["score"] for band in bands]
    if scores != list(range(1, len(bands) + 1)):
        problems.append("occurrence_bands: the scores must be 1 to 10, in order")
    if bands and bands[0]["from"] != 0:
        problems.append("occurrence_bands[0].from: the first band must start from 0")
    for index in range(1, len(bands)):
        if bands[index]["from"] <= bands[index - 1]["from"]:
            problems.append(
                f"occurrence_bands[{index}].from: must be above the band before"
                f" ({bands[index - 1]['from']})"
            )
    return problems


def _mode_problems(modes: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    seen: set[str] = set()
    for index, mode in enumerate(modes):
        at = f"modes[{index}]"
        if mode["id"] in seen:
            problems.append(f"{at}.id: mode {mode['id']!r} is listed twice")
        seen.add(mode["id"])
        for number, journey in enumerate(mode["journeys"]):
            if journey not in JOURNEY_MARKS:
                known = ", ".join(JOURNEY_MARKS)
                problems.append(
                    f"{at}.journeys[{number}]: unknown journey {journey!r}; one of {known}"
                )
        counter = mode["occurrence_counter"]
        if counter not in COUNTERS:
            problems.append(
                f"{at}.occurrence_counter: unknown counter {counter!r}; one of"
                f" {', '.join(COUNTERS)}"
            )
        elif COUNTERS[counter] == APPLICATION and set(mode["journeys"]) != {MORTGAGE}:
            problems.append(
                f"{at}.journeys: {counter!r} counts mortgage applications: journeys must be"
                f" [{MORTGAGE}]"
            )
        for number, watch in enumerate(mode["detected_by"]):
            if watch not in WATCHES:
                problems.append(
                    f"{at}.detected_by[{number}]: unknown watch {watch!r}; one of"
                    f" {', '.join(WATCHES)}"
                )
    return problems


def _summary(catalog: FmeaCatalog) -> str:
    steps = len(catalog.modes_by_step())
    return f"{len(catalog.modes)} failure modes at {steps} blueprint steps"


def main(argv: Sequence[str] | None = None) -> int:
    """Validate an FMEA file; print what is wrong and return 1, or a summary and 0."""
    return check_command(
        argv,
        prog="python -m analytics.fmea_catalog",
        what="a handoff FMEA file",
        default_path=DEFAULT_PATH,
        load=load_fmea_catalog,
        error=FmeaFileError,
        summary=_summary,
    )


if __name__ == "__main__":
    sys.exit(main())
