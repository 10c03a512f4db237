"""The claim service levels: how long a customer may wait for an agent, per queue.

`content/service_levels.yml` (support leads edit it; DESK_SERVICE_LEVELS names another file)
gives a default level in seconds and, per queue, its own. A customer waiting beyond their
queue's level, or a chat claimed after it, is a breach on the supervisors' live strip
(`desk.floor`). The file is checked against `schemas/service_levels.schema.json` plus the rule
JSON Schema cannot express (every queue listed is one of the routing file's queues,
`desk.services.queues.QUEUES`: a misspelt queue would silently keep the default). Any problem
raises `ServiceLevelFileError` naming the file and the YAML path of the mistake.

Run ``python -m desk.services.service_levels [path]`` (or ``make validate``) to check a file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from jsonschema import Draft7Validator

from contentsupport.designer_files import (
    check_command,
    read_yaml,
    report,
    schema_problems,
    schema_validator,
)
from desk.services.queues import QUEUES
from desk.settings import PROJECT_ROOT, default_service_levels_path

SCHEMA_PATH: Final = PROJECT_ROOT / "schemas" / "service_levels.schema.json"
DEFAULT_SERVICE_LEVELS_PATH: Final = default_service_levels_path()


class ServiceLevelFileError(ValueError):
    """A service level file is missing, unreadable or breaks the rules."""


@dataclass(frozen=True)
class ServiceLevels:
    """The claim service level of every queue, in seconds."""

    default_seconds: float
    queues: Mapping[str, float]

    def for_queue(self, queue: str) -> float:
        """The level of `queue` (the default for a queue the file does not list)."""
        return self.queues.get(queue, self.default_seconds)


def load_service_levels(path: Path = DEFAULT_SERVICE_LEVELS_PATH) -> ServiceLevels:
    """Read, validate and return the service levels in `path`.

    Raises:
        ServiceLevelFileError: The file cannot be read, is not YAML, or breaks a rule.
    """
    path = Path(path)
    document = read_yaml(path, ServiceLevelFileError)
    problems = schema_problems(_validator(), document) or _queue_problems(document)
    if problems:
        raise ServiceLevelFileError(report(path, problems))
    queues = {name: float(seconds) for name, seconds in document.get("queues", {}).items()}
    return ServiceLevels(
        default_seconds=float(document["default_claim_seconds"]),
        queues=MappingProxyType(queues),
    )


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    return schema_validator(SCHEMA_PATH)


def _queue_problems(document: Mapping[str, Any]) -> list[str]:
    known = ", ".join(QUEUES)
    return [
        f"queues.{name}: unknown queue {name!r}; one of {known}"
        for name in document.get("queues", {})
        if name not in QUEUES
    ]


def _summary(levels: ServiceLevels) -> str:
    own = ", ".join(f"{name} {seconds:g} s" for name, seconds in levels.queues.items())
    return f"default {levels.default_seconds:g} s" + (f"; {own}" if own else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Validate a service level file; print what is wrong and return 1, or a summary and 0."""
    return check_command(
        argv,
        prog="python -m desk.services.service_levels",
        what="a service level file",
        default_path=DEFAULT_SERVICE_LEVELS_PATH,
        load=load_service_levels,
        error=ServiceLevelFileError,
        summary=_summary,
    )


if __name__ == "__main__":
    sys.exit(main())
