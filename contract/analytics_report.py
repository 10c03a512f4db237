"""The supervisors' numbers as they leave the desk: the dashboard's JSON and the BI exports.

`GET /api/analytics/report` answers a `Report` for a period and its cuts (`ReportQuery`); each
of its tables is also served alone, as JSON or CSV (`GET /api/analytics/tables/{table}`), with
the columns `TABLE_COLUMNS` names. `GET /api/analytics/floor` answers the live strip (`Floor`),
which the supervisors' websocket also pushes as `{"type": FLOOR_MESSAGE, ...}`. Every number is
defined in docs/metrics.md; a rate is a fraction (0.62, not 62), a duration is in the unit its
name ends with (`_ms`, `_s`).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Final

from pydantic import BaseModel, Extra, Field

#: The `type` of the live strip's websocket message.
FLOOR_MESSAGE: Final = "floor"


class Grain(str, enum.Enum):
    """The width of a trend's bucket."""

    DAY = "day"
    WEEK = "week"


class _Model(BaseModel):
    class Config:
        extra = Extra.forbid


class ReportQuery(_Model):
    """A period (inclusive local dates) and its cuts; empty cuts mean "all"."""

    start: date
    end: date
    grain: Grain = Grain.DAY
    journey: str | None = None
    queue: str | None = None
    reason_code: str | None = None
    channel: str | None = None


class Period(_Model):
    """The period reported and the one before it, of the same length."""

    start: date
    end: date
    previous_start: date
    previous_end: date
    grain: Grain
    timezone: str


class Kpi(_Model):
    """One tile: the period's value and the previous period's, with what they count."""

    key: str
    label: str
    unit: str = Field(..., description='"ratio", "ms", "s" or "score"')
    value: float | None
    previous: float | None
    count: int = Field(..., description="Items behind the value (its denominator).")
    few: bool = Field(False, description="Fewer than 5 items: shown, but not to be trusted.")


class Distribution(_Model):
    """Nearest-rank percentiles of a duration; `excluded` counts items with no value."""

    count: int
    p50: float | None
    p90: float | None
    p95: float | None
    few: bool
    excluded: int = 0


class TrendPoint(_Model):
    """One bucket of the trends (its first local day)."""

    bucket: date
    engaged: int
    containment: float | None
    handoff_rate: float | None
    wait_p50_s: float | None
    wait_p95_s: float | None
    handle_p50_s: float | None
    csat_bot_only: float | None
    csat_hybrid: float | None
    csat_person_only: float | None


class WaitBucket(_Model):
    """Claimed handoffs whose wait was at least `from_s` and below `to_s` (None: no bound)."""

    from_s: float
    to_s: float | None
    handoffs: int


class ReasonShare(_Model):
    """Handoffs (conversations' first) of one reason code or journey, and their share of the
    engaged conversations (the shares sum to the handoff rate)."""

    key: str
    handoffs: int
    rate: float | None


class HandleTime(_Model):
    """Handle time of one agent or queue (each agent's own parts; see docs/metrics.md)."""

    key: str
    parts: int
    p50_s: float | None
    p90_s: float | None
    p95_s: float | None
    mean_s: float | None


class CsatSegment(_Model):
    """Ratings of one segment: bot_only, hybrid or person_only."""

    segment: str
    asked: int
    rated: int
    response_rate: float | None
    csat: float | None = Field(..., description="Share of ratings of 4 or 5.")
    mean: float | None


class WaitOutcomes(_Model):
    """What became of the period's handoffs (attributed to when they were queued)."""

    handoffs: int
    claimed: int
    abandoned: int
    expired: int
    transferred: int
    waiting: int
    callbacks_open: int


class FallbackIntent(_Model):
    """Turns NLU was not confident about, by the intent it ranked first below the threshold."""

    intent: str
    fallbacks: int


class StepOutcome(_Model):
    """Answers to one troubleshooting step and how many said it did not help."""

    tree: str
    step: str
    answers: int
    not_helped: int
    not_helped_share: float


class FormReask(_Model):
    """How often one form question was asked again after a refused answer."""

    form: str
    slot: str
    reasks: int


class Failures(_Model):
    """Where the bot fails, most frequent first."""

    fallback_intents: list[FallbackIntent]
    troubleshooting_steps: list[StepOutcome]
    form_reasks: list[FormReask]


class Freshness(_Model):
    """How current the facts are: the last build and what it could not read."""

    built_at: datetime | None
    unparseable_events: int


class Latency(_Model):
    """Handoff latency and replies (docs/metrics.md, "Handoff latency")."""

    system_ms: Distribution
    wait_s: Distribution
    total_s: Distribution
    first_reply_s: Distribution
    claim_to_reply_s: Distribution


class RepeatField(_Model):
    """Repeats of one field in one journey (docs/metrics.md, "Repeat rate")."""

    journey: str
    field: str
    handoffs: int = Field(..., description="Claimed handoffs whose context carried the field.")
    repeated: int = Field(..., description="Of those, handoffs with a repeat of the field.")
    rate: float | None
    restated: int = Field(..., description="Customer messages restating the field.")
    asked: int = Field(..., description="Agent messages asking for the field.")
    missing: int = Field(
        ..., description="Claimed handoffs whose agent asked for it, the context lacking it."
    )


class RepeatExample(_Model):
    """A handoff with a repeat the lead can open: its first repeat of the field."""

    handoff_id: str
    journey: str
    field: str
    kind: str = Field(..., description='"restated" (the customer) or "asked" (an agent).')
    at: datetime


class Repeats(_Model):
    """The repeat rate: overall, per journey and field, with examples (newest first)."""

    handoffs: int = Field(..., description="Claimed handoffs in the period.")
    with_repeat: int
    rate: float | None
    fields: list[RepeatField]
    examples: list[RepeatExample]


class Report(_Model):
    """Everything the dashboard shows for one period and cut."""

    period: Period
    query: ReportQuery
    freshness: Freshness
    kpis: list[Kpi]
    trends: list[TrendPoint]
    latency: Latency
    wait_distribution: list[WaitBucket]
    handoffs_by_reason: list[ReasonShare]
    handoffs_by_journey: list[ReasonShare]
    handle_time_by_agent: list[HandleTime]
    handle_time_by_queue: list[HandleTime]
    csat: list[CsatSegment]
    wait_outcomes: WaitOutcomes
    failures: Failures
    repeats: Repeats


class QueueFloor(_Model):
    """One queue now."""

    queue: str
    waiting: int
    oldest_wait_s: float | None
    sla_s: float


class Breach(_Model):
    """A handoff waiting, or claimed, beyond its queue's service level."""

    handoff_id: str
    queue: str
    waited_s: float
    claimed: bool


class Floor(_Model):
    """The live strip: who waits now, who works, which claims breach the service level."""

    at: datetime
    waiting: int
    oldest_wait_s: float | None
    agents_online: int
    queues: list[QueueFloor]
    breaches: list[Breach]


#: The tables of a report served alone (JSON or CSV), each with its columns in order.
TABLE_MODELS: Final[dict[str, type[_Model]]] = {
    "kpis": Kpi,
    "trends": TrendPoint,
    "wait_distribution": WaitBucket,
    "handoffs_by_reason": ReasonShare,
    "handoffs_by_journey": ReasonShare,
    "handle_time_by_agent": HandleTime,
    "handle_time_by_queue": HandleTime,
    "csat": CsatSegment,
    "wait_outcomes": WaitOutcomes,
    "fallback_intents": FallbackIntent,
    "troubleshooting_steps": StepOutcome,
    "form_reasks": FormReask,
    "repeat_fields": RepeatField,
    "repeat_examples": RepeatExample,
}
TABLE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    name: tuple(model.__fields__) for name, model in TABLE_MODELS.items()
}


# --- The planning views (docs/planning-views.md): journey map, service blueprint, FMEA --------


class Outcome(str, enum.Enum):
    """Which journeys a planning view shows, by how they ended."""

    ALL = "all"
    BOT_ONLY = "bot_only"
    HANDED_OFF = "handed_off"
    LOW_CSAT = "low_csat"
    ABANDONED = "abandoned"


class PlanningQuery(_Model):
    """A period (inclusive local dates) of journeys started in it, one journey, and filters."""

    start: date
    end: date
    journey: str
    queue: str | None = None
    outcome: Outcome = Outcome.ALL


class MapStage(_Model):
    """One column of the journey map."""

    stage: str
    label: str
    final: bool = Field(..., description="Reaching it completes the journey (no drop-off).")
    reached: int
    dropped_off: int = Field(..., description="Reached this stage and no later one.")
    to_next_s: Distribution = Field(..., description="Time to the next stage reached.")
    next_stages: dict[str, int] = Field(..., description="Where those who went on went next.")
    sentiment: float | None = Field(
        ..., description="Mean VADER compound of the customer turns in this stage."
    )
    sentiment_turns: int


class JourneyMap(_Model):
    """The stages of one journey, from the events: reached, drop-off, time, sentiment."""

    journey: str
    label: str
    unit: str = Field(..., description='"conversation" or "application".')
    units: int = Field(..., description="Conversations (or applications) in the map.")
    period: Period
    query: PlanningQuery
    stages: list[MapStage]


class BlueprintLane(_Model):
    """A swimlane; `line_after` names the line drawn below it, if any."""

    lane: str
    label: str
    line_after: str | None = Field(
        None, description='"interaction", "visibility" or "internal interaction".'
    )


class BlueprintStep(_Model):
    """One step in its lane, timed from the real events: the time to reach `stage`."""

    step: str
    label: str
    lane: str
    actor: str
    stage: str
    final: bool = Field(
        False, description="Its stage completes the journey (no arrow on to a later branch)."
    )
    column: int = Field(..., description="Its column, left to right (steps may share one).")
    count: int
    duration_s: Distribution
    failure_modes: list[str] = Field(..., description="FMEA modes pinned to this step.")


class Blueprint(_Model):
    """The service blueprint of one journey."""

    journey: str
    label: str
    period: Period
    query: PlanningQuery
    lanes: list[BlueprintLane]
    steps: list[BlueprintStep]


class FmeaMode(_Model):
    """One failure mode ranked: RPN = severity x occurrence x detection."""

    mode: str
    label: str
    effect: str
    cause: str
    step: str | None = Field(..., description="The blueprint step it happens at.")
    journeys: list[str]
    severity: int
    occurrences: int = Field(..., description="Counted in the period.")
    exposure: int = Field(..., description="What it could have happened to (its denominator).")
    per_thousand: float | None
    occurrence: int = Field(..., description="1-10 from `per_thousand` (the catalog's bands).")
    detection: int = Field(..., description="1-10: 1 when a watch sees it at once.")
    detected_by: list[str]
    rpn: int
    previous_occurrences: int
    previous_rpn: int
    examples: list[str] = Field(..., description="Handoff ids (or application ids) to open.")


class Fmea(_Model):
    """The handoff FMEA for a period, highest RPN first."""

    period: Period
    handoffs: int
    modes: list[FmeaMode]


#: The FMEA's CSV columns (`GET /api/analytics/fmea?format=csv`).
FMEA_COLUMNS: Final[tuple[str, ...]] = tuple(FmeaMode.__fields__)
