"""The branches where mortgage customers sign, and the signing slots each one offers.

`content/branches.yml` (support leads edit it) names each branch, its time zone, how many
signings it can run at once (`desks`) and, per weekday, the periods in which signings take
place; every appointment lasts `slot_minutes`. It is checked against
`schemas/branches.schema.json` plus the rules JSON Schema cannot express (a period ends after
it starts and fits at least one appointment, the periods of a day do not overlap, the time zone
exists). Any problem raises `BranchFileError` naming the file and the YAML path of the mistake.

`Branch.slots_on(day)` lists the day's appointment start times (aware, in UTC): the slots a
customer can be offered before the bookings already made are taken off.

Run ``python -m desk.services.branches [path]`` (or ``make validate``) to check a file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonschema import Draft7Validator

from contentsupport.designer_files import (
    check_command,
    read_yaml,
    report,
    schema_problems,
    schema_validator,
)
from desk.settings import PROJECT_ROOT

SCHEMA_PATH: Final = PROJECT_ROOT / "schemas" / "branches.schema.json"
DEFAULT_BRANCHES_PATH: Final = PROJECT_ROOT / "content" / "branches.yml"
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class BranchFileError(ValueError):
    """A branch file is missing, unreadable or breaks the rules."""


@dataclass(frozen=True)
class OpeningPeriod:
    """A stretch of a day in which signings start and end (branch-local times)."""

    start: time
    end: time


@dataclass(frozen=True)
class Branch:
    """A branch and its signing hours."""

    key: str
    name: str
    address: str
    zone: ZoneInfo
    desks: int
    opening: Mapping[int, tuple[OpeningPeriod, ...]]  # weekday (Monday = 0) → periods
    slot: timedelta

    def slots_on(self, day: date) -> list[datetime]:
        """The appointment start times of `day` (the branch's local date), in UTC, in order."""
        starts = []
        for period in self.opening.get(day.weekday(), ()):
            start = datetime.combine(day, period.start, tzinfo=self.zone)
            end = datetime.combine(day, period.end, tzinfo=self.zone)
            while start + self.slot <= end:
                starts.append(start.astimezone(timezone.utc))
                start += self.slot
        return starts

    def label(self, moment: datetime) -> str:
        """A slot's start as the customer reads it, in the branch's time: "Thu 3 Dec, 09:45"."""
        local = moment.astimezone(self.zone)
        return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def load_branches(path: Path = DEFAULT_BRANCHES_PATH) -> Mapping[str, Branch]:
    """Read, validate and return the branches in `path`, keyed by id, in the file's order.

    Raises:
        BranchFileError: The file cannot be read, is not YAML, or breaks a rule.
    """
    path = Path(path)
    document = read_yaml(path, BranchFileError)
    problems = schema_problems(_validator(), document) or _hour_problems(document)
    if problems:
        raise BranchFileError(report(path, problems))
    slot = timedelta(minutes=document["slot_minutes"])
    return MappingProxyType(
        {key: _branch(key, raw, slot) for key, raw in document["branches"].items()}
    )


@lru_cache(maxsize=1)
def branches() -> Mapping[str, Branch]:
    """The shipped branches, loaded once per process."""
    return load_branches()


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    return schema_validator(SCHEMA_PATH)


def _periods(raw: Sequence[str]) -> list[OpeningPeriod]:
    def parse(text: str) -> time:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))

    return [OpeningPeriod(*map(parse, period.split("-"))) for period in raw]


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _hour_problems(document: Mapping[str, Any]) -> list[str]:
    slot_minutes = document["slot_minutes"]
    problems = []
    for key, raw in document["branches"].items():
        try:
            ZoneInfo(raw["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"branches.{key}.timezone: unknown time zone {raw['timezone']!r}")
        for weekday, periods in raw["opening"].items():
            where = f"branches.{key}.opening.{weekday}"
            ordered = sorted(enumerate(_periods(periods)), key=lambda item: _minutes(item[1].start))
            for index, period in ordered:
                length = _minutes(period.end) - _minutes(period.start)
                if length <= 0:
                    problems.append(f"{where}[{index}]: {periods[index]!r} ends before it starts")
                elif length < slot_minutes:
                    problems.append(
                        f"{where}[{index}]: {periods[index]!r} is shorter than one appointment"
                        f" ({slot_minutes} minutes)"
                    )
            for (before, first), (after, second) in pairwise(ordered):
                if _minutes(second.start) < _minutes(first.end):
                    problems.append(
                        f"{where}[{after}]: {periods[after]!r} overlaps {periods[before]!r}"
                    )
    return problems


def _branch(key: str, raw: Mapping[str, Any], slot: timedelta) -> Branch:
    opening = {
        WEEKDAYS.index(weekday): tuple(_periods(periods))
        for weekday, periods in raw["opening"].items()
    }
    return Branch(
        key=key,
        name=raw["name"].strip(),
        address=raw["address"].strip(),
        zone=ZoneInfo(raw["timezone"]),
        desks=raw["desks"],
        opening=MappingProxyType(opening),
        slot=slot,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Validate a branch file; print what is wrong and return 1, or a summary and return 0."""
    return check_command(
        argv,
        prog="python -m desk.services.branches",
        what="a branch file",
        default_path=DEFAULT_BRANCHES_PATH,
        load=load_branches,
        error=BranchFileError,
        summary=lambda loaded: f"{len(loaded)} branches ({', '.join(loaded)})",
    )


if __name__ == "__main__":
    sys.exit(main())
