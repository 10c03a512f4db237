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
}
TABLE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    name: tuple(model.__fields__) for name, model in TABLE_MODELS.items()
}
