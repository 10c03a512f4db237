"""Which desk queue gets a handed-off conversation, from `content/handoff_routing.yml`.

The routing table is data that support leads edit; it is validated completely when loaded, so
a typo fails the action server's start-up with a message naming the entry, not a handoff later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, root_validator, validator
from pydantic.fields import ModelField

from actions.constants import FLOW_NONE, REQUIRED_REASON_CODES
from actions.handoff.journey import JourneyRegistry
from actions.settings import get_settings
from contract.handoff_context import (
    Priority,
    Routing,
    Sentiment,
    TriggerType,
    is_snake_case,
)
from contract.queues import Queue, QueueFileError, parse_queues

# `queue: by_flow` in the file: take the queue from `flow_queues` for the current journey.
QUEUE_BY_FLOW: Final = "by_flow"
PRIORITY_ORDER: Final = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


class HandoffRoutingError(ValueError):
    """The routing file is missing, is not YAML, or does not describe a valid routing table."""


class UnknownReasonCodeError(ValueError):
    """A handoff was requested with a reason code the routing table does not know."""


# --- The file's shape -------------------------------------------------------------------------


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class ReasonSpec(_Strict):
    """How one reason code is routed."""

    trigger: TriggerType
    queue: str = Field(..., min_length=1)
    priority: Priority
    skills: list[str] = Field(default_factory=list)


class SentimentEscalation(_Strict):
    """Raise the priority of conversations with an upset customer."""

    score_at_or_below: float = Field(..., ge=-1.0, le=1.0)
    raise_priority_by: int = Field(default=1, ge=0, le=len(PRIORITY_ORDER) - 1)


class RoutingTable(_Strict):
    """The whole routing file."""

    version: Literal[1]
    queues: dict[str, Queue]
    flow_queues: dict[str, str]
    reason_codes: dict[str, ReasonSpec]
    sentiment_escalation: SentimentEscalation | None = None

    @validator("queues", pre=True)
    def _queues_are_valid(cls, raw: Any) -> dict[str, Queue]:
        # The desk reads the same section (`contract.queues`): one definition of a valid queue.
        try:
            return dict(parse_queues(raw))
        except QueueFileError as error:
            raise ValueError(str(error)) from error

    @validator("reason_codes", "flow_queues")
    def _names_are_snake_case(cls, names: dict[str, Any], field: ModelField) -> dict[str, Any]:
        bad = sorted(name for name in names if not is_snake_case(name))
        if bad:
            what = "reason codes" if field.name == "reason_codes" else "flows"
            raise ValueError(f"{what} must be snake_case: {', '.join(bad)}")
        return names

    def coverage_problems(self, journeys: JourneyRegistry) -> list[str]:
        """What the table misses for these journeys: their reason codes, a queue per flow."""
        missing = sorted((REQUIRED_REASON_CODES | journeys.reason_codes) - set(self.reason_codes))
        problems = (
            [f"reason_codes: the bot hands off with these codes, add them: {', '.join(missing)}"]
            if missing
            else []
        )
        flows = (*journeys.flows, FLOW_NONE)
        problems += [
            f"flow_queues: no queue for flow {flow!r}"
            for flow in flows
            if flow not in self.flow_queues
        ]
        problems += [
            f"flow_queues.{flow}: no journey has this flow (journeys: {', '.join(flows)})"
            for flow in self.flow_queues
            if flow not in flows
        ]
        return problems

    @root_validator(skip_on_failure=True)
    def _queues_exist(cls, values: dict[str, Any]) -> dict[str, Any]:
        queues: dict[str, Queue] = values["queues"]
        problems = [
            f"flow_queues.{flow}: unknown queue {queue!r}"
            for flow, queue in values["flow_queues"].items()
            if queue not in queues
        ]
        problems += [
            f"reason_codes.{code}.queue: unknown queue {spec.queue!r}"
            f" (known: {', '.join(sorted(queues))}, or {QUEUE_BY_FLOW})"
            for code, spec in values["reason_codes"].items()
            if spec.queue != QUEUE_BY_FLOW and spec.queue not in queues
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return values


# --- Routing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingDecision:
    """Where a handoff goes and how the bot talks about it."""

    routing: Routing
    trigger_type: TriggerType
    team_name: str
    customer_label: str
    raised_for_sentiment: bool


class HandoffRouter:
    """Routes reason codes to desk queues according to a validated `RoutingTable`."""

    def __init__(self, table: RoutingTable) -> None:
        """Wrap an already validated table (see `HandoffRouter.load`)."""
        self._table = table

    @classmethod
    def load(cls, path: Path, journeys: JourneyRegistry) -> HandoffRouter:
        """Read and validate a routing file for these journeys.

        Raises:
            HandoffRoutingError: naming the file and every invalid entry, including a journey's
                reason code or flow that the file does not route.
        """
        table = _read_table(path)
        problems = table.coverage_problems(journeys)
        if problems:
            lines = "\n".join(f"  - {problem}" for problem in problems)
            raise HandoffRoutingError(f"invalid handoff routing file {path}:\n{lines}")
        return cls(table)

    @property
    def reason_codes(self) -> frozenset[str]:
        """Every reason code this router knows."""
        return frozenset(self._table.reason_codes)

    def route(
        self, reason_code: str, flow: str, sentiment: Sentiment | None = None
    ) -> RoutingDecision:
        """Decide queue, priority, skills and trigger type for one handoff.

        Raises:
            UnknownReasonCodeError: if the reason code is not in the routing table.
        """
        spec = self._reason(reason_code)
        queue_name = self._queue_name(spec, flow_name(flow))
        queue = self._table.queues[queue_name]
        priority, raised = self._priority(spec.priority, sentiment)
        routing = Routing(
            queue=queue_name,
            priority=priority,
            skills=_unique([*queue.skills, *spec.skills]),
        )
        return RoutingDecision(
            routing=routing,
            trigger_type=spec.trigger,
            team_name=queue.team_name,
            customer_label=queue.customer_label,
            raised_for_sentiment=raised,
        )

    def _reason(self, reason_code: str) -> ReasonSpec:
        try:
            return self._table.reason_codes[reason_code]
        except KeyError:
            known = ", ".join(sorted(self._table.reason_codes))
            raise UnknownReasonCodeError(
                f"unknown handoff reason code {reason_code!r} (known: {known})"
            ) from None

    def _queue_name(self, spec: ReasonSpec, flow: str) -> str:
        if spec.queue != QUEUE_BY_FLOW:
            return spec.queue
        # Every journey's flow has a queue (checked at load); any other flow counts as none.
        flow_queues = self._table.flow_queues
        return flow_queues.get(flow, flow_queues[FLOW_NONE])

    def _priority(self, base: Priority, sentiment: Sentiment | None) -> tuple[Priority, bool]:
        rule = self._table.sentiment_escalation
        if rule is None or sentiment is None or sentiment.turns_scored == 0:
            return base, False
        if sentiment.score > rule.score_at_or_below:
            return base, False
        return raise_priority(base, rule.raise_priority_by), rule.raise_priority_by > 0


def raise_priority(priority: Priority, levels: int = 1) -> Priority:
    """`priority` moved up `levels` steps, stopping at urgent."""
    index = min(PRIORITY_ORDER.index(priority) + levels, len(PRIORITY_ORDER) - 1)
    return PRIORITY_ORDER[index]


def flow_name(flow: str) -> str:
    """The flow as plain text (callers may pass a `contract.handoff_context.Flow` member)."""
    return flow.value if isinstance(flow, Enum) else flow


@lru_cache(maxsize=1)
def load_router(journeys: JourneyRegistry) -> HandoffRouter:
    """The router for `settings.handoff_routing_path` and these journeys, loaded once."""
    return HandoffRouter.load(get_settings().handoff_routing_path, journeys)


def _read_table(path: Path) -> RoutingTable:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise HandoffRoutingError(f"cannot read handoff routing file {path}: {error}") from error
    except yaml.YAMLError as error:
        raise HandoffRoutingError(
            f"handoff routing file {path} is not valid YAML: {error}"
        ) from error
    if not isinstance(raw, dict):
        raise HandoffRoutingError(f"handoff routing file {path} must be a YAML mapping")
    try:
        return RoutingTable.parse_obj(raw)
    except ValidationError as error:
        raise HandoffRoutingError(
            f"invalid handoff routing file {path}:\n{_describe(error)}"
        ) from error


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"] if part != "__root__")
        lines.append(f"  - {location or '(file)'}: {problem['msg']}")
    return "\n".join(lines)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
