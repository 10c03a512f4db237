"""The journey map's stages (`content/journey_stages.yml`): which event marks which stage.

Designers list each journey's stages in order and, per stage, the marks that reach it (the
file's header lists them). `load_stage_catalog` reads and checks the file; `StageCatalog.stage`
answers which stage of a journey an event's marks reach. The fold (`analytics.conversations`
for conversations, `analytics.build` for applications) records each stage the first time a unit
reaches it. Run ``python -m analytics.stages [path]`` (or ``make validate``) to check a file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from contentsupport.designer_files import check_command, checked_document
from contract.conversation_marks import JOURNEY_MARKS

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
SCHEMA_PATH: Final = PROJECT_ROOT / "schemas" / "journey_stages.schema.json"
#: ANALYTICS_JOURNEY_STAGES names another file.
DEFAULT_PATH: Final = PROJECT_ROOT / "content" / "journey_stages.yml"

CONVERSATION: Final = "conversation"
APPLICATION: Final = "application"

#: A mark as the fold sees it: its kind and name, and for `slot:x=v` the value's text.
Mark = tuple[str, ...]

#: Kinds of mark per unit.
_KINDS: Final[Mapping[str, frozenset[str]]] = {
    CONVERSATION: frozenset(
        {"intent", "action", "form", "slot", "notice", "agent_message", "resumed"}
    ),
    APPLICATION: frozenset({"event", "stage"}),
}


class StageFileError(ValueError):
    """A journey stage file is missing, unreadable or breaks the rules."""


@dataclass(frozen=True)
class Stage:
    """One column of a journey's map."""

    id: str
    label: str
    final: bool
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class JourneyStages:
    """One journey's stages in order, and which mark reaches which."""

    journey: str
    label: str
    unit: str
    stages: tuple[Stage, ...]
    by_mark: Mapping[Mark, str]

    def stage(self, marks: Iterable[Mark]) -> str | None:
        """The stage the first of `marks` that names one reaches, or None."""
        for mark in marks:
            stage = self.by_mark.get(mark)
            if stage is not None:
                return stage
        return None

    def position(self, stage: str) -> int:
        """The stage's column (its place in the file)."""
        for index, candidate in enumerate(self.stages):
            if candidate.id == stage:
                return index
        raise KeyError(stage)


@dataclass(frozen=True)
class StageCatalog:
    """Every journey's stages."""

    journeys: Mapping[str, JourneyStages]

    def of(self, journey: str) -> JourneyStages | None:
        """The stages of `journey` (None: the file has none for it)."""
        return self.journeys.get(journey)

    def for_unit(self, unit: str) -> list[JourneyStages]:
        """The journeys whose paths are of `unit`."""
        return [j for j in self.journeys.values() if j.unit == unit]


def parse_mark(text: str) -> Mark:
    """`slot:order_outcome=reported` → ("slot", "order_outcome", "reported")."""
    kind, _, rest = text.partition(":")
    if not rest:
        return (kind,)
    name, equals, value = rest.partition("=")
    return (kind, name, value) if equals else (kind, name)


def slot_value_text(value: Any) -> str | None:
    """A slot's value as `slot:x=<value>` names it (None: not a value such a mark can name)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, str):
        return value[:60]
    return None


def load_stage_catalog(path: Path | None = None) -> StageCatalog:
    """Read, validate and return the stages in `path` (default: the file the environment
    names, else content/journey_stages.yml).

    Raises:
        StageFileError: The file cannot be read, is not YAML, or breaks a rule.
    """
    path = Path(path or os.environ.get("ANALYTICS_JOURNEY_STAGES") or DEFAULT_PATH)
    document = checked_document(path, SCHEMA_PATH, StageFileError, _rule_problems)
    journeys = {}
    for name, body in document["journeys"].items():
        stages = tuple(
            Stage(
                id=stage["id"],
                label=stage["label"],
                final=bool(stage.get("final", False)),
                marks=tuple(parse_mark(mark) for mark in stage["when"]),
            )
            for stage in body["stages"]
        )
        journeys[name] = JourneyStages(
            journey=name,
            label=body["label"],
            unit=body["unit"],
            stages=stages,
            by_mark={mark: stage.id for stage in stages for mark in stage.marks},
        )
    return StageCatalog(journeys)


@lru_cache(maxsize=4)
def stage_catalog(path: Path | None = None) -> StageCatalog:
    """The catalog, read once per path."""
    return load_stage_catalog(path)


def _rule_problems(document: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, body in document["journeys"].items():
        where = f"journeys.{name}"
        if name not in JOURNEY_MARKS:
            problems.append(f"{where}: unknown journey {name!r}; one of {', '.join(JOURNEY_MARKS)}")
        seen_ids: set[str] = set()
        seen_marks: dict[Mark, str] = {}
        for index, stage in enumerate(body["stages"]):
            at = f"{where}.stages[{index}]"
            if stage["id"] in seen_ids:
                problems.append(f"{at}.id: stage {stage['id']!r} is listed twice")
            seen_ids.add(stage["id"])
            for text in stage["when"]:
                mark = parse_mark(text)
                if mark[0] not in _KINDS[body["unit"]]:
                    problems.append(f"{at}.when: {text!r} is not a mark of a {body['unit']}")
                elif mark in seen_marks:
                    problems.append(f"{at}.when: {text!r} already marks stage {seen_marks[mark]!r}")
                seen_marks.setdefault(mark, stage["id"])
    return problems


def _summary(catalog: StageCatalog) -> str:
    return "; ".join(f"{j.journey} {len(j.stages)} stages" for j in catalog.journeys.values())


def main(argv: Sequence[str] | None = None) -> int:
    """Validate a journey stage file; print what is wrong and return 1, or a summary and 0."""
    return check_command(
        argv,
        prog="python -m analytics.stages",
        what="a journey stage file",
        default_path=DEFAULT_PATH,
        load=load_stage_catalog,
        error=StageFileError,
        summary=_summary,
    )


if __name__ == "__main__":
    sys.exit(main())
