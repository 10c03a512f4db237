"""The service blueprints' steps (`content/service_blueprints.yml`): per journey, each step of
the service in its swimlane, and the journey stage that times it.

The lanes are fixed (`LANES`, top to bottom, with the line drawn below each and the actors it
holds); designers list the steps. `load_blueprints` reads the file, checks it against
`schemas/service_blueprints.schema.json` and the rules JSON Schema cannot say (a journey and
its stages are in the stage catalog, `analytics.stages`; an actor belongs to its step's lane;
step ids are unique in a journey). `analytics.blueprint` times the steps from the facts. Run
``python -m analytics.blueprints [path]`` (or ``make validate``) to check a file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from analytics.stages import StageCatalog, stage_catalog
from contentsupport.designer_files import check_command, checked_document

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
SCHEMA_PATH: Final = PROJECT_ROOT / "schemas" / "service_blueprints.schema.json"
#: ANALYTICS_SERVICE_BLUEPRINTS names another file.
DEFAULT_PATH: Final = PROJECT_ROOT / "content" / "service_blueprints.yml"


class BlueprintFileError(ValueError):
    """A service blueprint file is missing, unreadable or breaks the rules."""


@dataclass(frozen=True)
class Lane:
    """A swimlane, the line drawn below it (if any) and who acts in it."""

    id: str
    label: str
    line_after: str | None
    actors: tuple[str, ...]


#: The swimlanes, top to bottom (a service blueprint's classic order).
LANES: Final[tuple[Lane, ...]] = (
    Lane("customer", "Customer actions", "interaction", ("customer",)),
    Lane("frontstage", "Frontstage", "visibility", ("bot", "agent", "branch_staff")),
    Lane("backstage", "Backstage", "internal interaction", ("desk", "action_server", "outbox")),
    Lane(
        "support",
        "Support systems",
        None,
        ("order_database", "application_record", "document_store"),
    ),
)
_LANES_BY_ID: Final = {lane.id: lane for lane in LANES}


@dataclass(frozen=True)
class StepDefinition:
    """One step as the designers wrote it."""

    id: str
    label: str
    lane: str
    actor: str
    stage: str


@dataclass(frozen=True)
class JourneySteps:
    """One journey's steps, in the file's order."""

    journey: str
    steps: tuple[StepDefinition, ...]


@dataclass(frozen=True)
class Blueprints:
    """Every journey's steps."""

    journeys: Mapping[str, JourneySteps]

    def of(self, journey: str) -> JourneySteps | None:
        """The steps of `journey` (None: the file has none for it)."""
        return self.journeys.get(journey)


def load_blueprints(path: Path | None = None, catalog: StageCatalog | None = None) -> Blueprints:
    """Read, validate and return the steps in `path` (default: the file the environment names,
    else content/service_blueprints.yml), checking stages against `catalog` (default: the
    stage catalog).

    Raises:
        BlueprintFileError: The file cannot be read, is not YAML, or breaks a rule.
    """
    path = Path(path or os.environ.get("ANALYTICS_SERVICE_BLUEPRINTS") or DEFAULT_PATH)
    stages = catalog or stage_catalog()
    document = checked_document(
        path, SCHEMA_PATH, BlueprintFileError, lambda found: _rule_problems(found, stages)
    )
    return Blueprints(
        {
            journey: JourneySteps(journey, tuple(StepDefinition(**step) for step in body["steps"]))
            for journey, body in document["journeys"].items()
        }
    )


@lru_cache(maxsize=4)
def blueprints(path: Path | None = None) -> Blueprints:
    """The steps, read once per path."""
    return load_blueprints(path)


def _rule_problems(document: Mapping[str, Any], catalog: StageCatalog) -> list[str]:
    problems = []
    for journey, body in document["journeys"].items():
        where = f"journeys.{journey}"
        stages = catalog.of(journey)
        if stages is None:
            known = ", ".join(catalog.journeys)
            problems.append(f"{where}: no stages for journey {journey!r}; one of {known}")
            continue
        stage_ids = [stage.id for stage in stages.stages]
        seen: set[str] = set()
        for index, step in enumerate(body["steps"]):
            at = f"{where}.steps[{index}]"
            if step["id"] in seen:
                problems.append(f"{at}.id: step {step['id']!r} is listed twice")
            seen.add(step["id"])
            lane = _LANES_BY_ID[step["lane"]]
            if step["actor"] not in lane.actors:
                problems.append(
                    f"{at}.actor: {step['actor']!r} does not act in the {lane.id} lane; "
                    f"one of {', '.join(lane.actors)}"
                )
            if step["stage"] not in stage_ids:
                problems.append(
                    f"{at}.stage: {journey} has no stage {step['stage']!r}; "
                    f"one of {', '.join(stage_ids)}"
                )
    return problems


def _summary(loaded: Blueprints) -> str:
    return "; ".join(f"{j.journey} {len(j.steps)} steps" for j in loaded.journeys.values())


def main(argv: Sequence[str] | None = None) -> int:
    """Validate a service blueprint file; print what is wrong and return 1, or a summary and
    0."""
    return check_command(
        argv,
        prog="python -m analytics.blueprints",
        what="a service blueprint file",
        default_path=DEFAULT_PATH,
        load=load_blueprints,
        error=BlueprintFileError,
        summary=_summary,
    )


if __name__ == "__main__":
    sys.exit(main())
