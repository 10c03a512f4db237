"""The desk's queues: defined once, in the `queues:` section of `content/handoff_routing.yml`.

The action server routes handoffs to these queues (`actions.handoff.routing`); the desk shows
them, orders them and transfers between them (`desk.services.queues`). Both read the same file
through `load_queues`, so a queue a support lead adds there exists on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml
from pydantic import BaseModel, Field, ValidationError

#: The file support leads edit, relative to the project's root.
ROUTING_FILE: Final = Path("content/handoff_routing.yml")
QUEUE_NAME_PATTERN: Final = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"


class QueueFileError(ValueError):
    """The file is missing, is not YAML, or its `queues:` section is not valid."""


class Queue(BaseModel):
    """One desk queue: the team that works it and how the bot names it to the customer."""

    team_name: str = Field(..., min_length=1)
    customer_label: str = Field(..., min_length=1)
    skills: list[str] = Field(default_factory=list)

    class Config:
        extra = "forbid"
        allow_mutation = False


def parse_queues(raw: Any, *, source: str = "queues") -> Mapping[str, Queue]:
    """Validate a `queues:` mapping (name → queue), naming every bad entry.

    Raises:
        QueueFileError: if it is not a non-empty mapping of snake_case names to queues.
    """
    if not isinstance(raw, dict) or not raw:
        raise QueueFileError(f"{source}: must be a non-empty mapping of queue name to queue")
    problems = [
        f"{source}.{name}: queue names must be snake_case"
        for name in raw
        if not isinstance(name, str) or re.fullmatch(QUEUE_NAME_PATTERN, name) is None
    ]
    queues: dict[str, Queue] = {}
    for name, spec in raw.items():
        try:
            queues[str(name)] = Queue.parse_obj(spec)
        except ValidationError as error:
            for problem in error.errors():
                where = ".".join(str(part) for part in problem["loc"])
                problems.append(f"{source}.{name}.{where}: {problem['msg']}")
    if problems:
        raise QueueFileError("; ".join(problems))
    return MappingProxyType(queues)


def load_queues(path: Path = ROUTING_FILE) -> Mapping[str, Queue]:
    """The queues of the routing file at `path`, in the file's order.

    Raises:
        QueueFileError: naming the file and what is wrong with it.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise QueueFileError(f"cannot read the queue file {path}: {error}") from error
    except yaml.YAMLError as error:
        raise QueueFileError(f"queue file {path} is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise QueueFileError(f"queue file {path} must be a YAML mapping")
    return parse_queues(document.get("queues"), source=f"{path}: queues")
