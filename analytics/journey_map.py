"""The journey map (docs/metrics.md, "Journey map"): per stage of one journey, how many units
reached it, how many stopped there, how long they took to the next stage and where they went,
and the customer's mean sentiment while there. Read from `stage_facts` (its covering index)
with GROUP BY, and durations ranked by `analytics.durations`.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from analytics.durations import grouped_distributions
from analytics.metrics import distribution
from analytics.periods import previous
from analytics.planning_filters import S, unit_filter
from analytics.stages import StageCatalog, stage_catalog
from contract.analytics_report import Grain, JourneyMap, MapStage, Period, PlanningQuery


class UnknownJourney(ValueError):
    """The query names a journey the stage file does not map."""


def planning_period(query: PlanningQuery, timezone: str) -> Period:
    """The planning views' period, with the one before it."""
    prev_start, prev_end = previous(query.start, query.end)
    return Period(
        start=query.start,
        end=query.end,
        previous_start=prev_start,
        previous_end=prev_end,
        grain=Grain.DAY,
        timezone=timezone,
    )


def journey_map(
    session: Session,
    query: PlanningQuery,
    *,
    timezone: str,
    catalog: StageCatalog | None = None,
) -> JourneyMap:
    """The map of `query.journey` for the units started in the period, filtered.

    Raises:
        UnknownJourney: The stage file has no such journey.
    """
    journey = (catalog or stage_catalog()).of(query.journey)
    if journey is None:
        raise UnknownJourney(query.journey)
    where = unit_filter(query)
    # One pass: per (stage, next stage), the units, their sentiment, and the units starting
    # there (position 0: one per unit).
    reached: dict[str, int] = defaultdict(int)
    ended: dict[str, int] = defaultdict(int)
    sentiment: dict[str, tuple[float, int]] = {}
    following: dict[str, dict[str, int]] = defaultdict(dict)
    units = 0
    for stage, next_stage, count, sentiment_sum, turns, starts in session.execute(
        select(
            S.c.stage,
            S.c.next_stage,
            func.count(),
            func.sum(S.c.sentiment_sum),
            func.sum(S.c.sentiment_turns),
            func.sum(case((S.c.position == 0, 1), else_=0)),
        )
        .where(*where)
        .group_by(S.c.stage, S.c.next_stage)
    ):
        reached[stage] += count
        total, scored = sentiment.get(stage, (0.0, 0))
        sentiment[stage] = (total + float(sentiment_sum or 0.0), scored + int(turns or 0))
        units += int(starts or 0)
        if next_stage is None:
            ended[stage] += count
        else:
            following[stage][next_stage] = count
    durations = grouped_distributions(session, S.c.stage, S.c.seconds_to_next, where)
    stages = []
    for stage in journey.stages:
        total, turns = sentiment.get(stage.id, (0.0, 0))
        stages.append(
            MapStage(
                stage=stage.id,
                label=stage.label,
                final=stage.final,
                reached=reached.get(stage.id, 0),
                dropped_off=0 if stage.final else ended.get(stage.id, 0),
                to_next_s=durations.get(stage.id) or distribution(()),
                next_stages=dict(
                    sorted(following.get(stage.id, {}).items(), key=lambda kv: (-kv[1], kv[0]))
                ),
                sentiment=round(total / turns, 4) if turns else None,
                sentiment_turns=int(turns),
            )
        )
    return JourneyMap(
        journey=journey.journey,
        label=journey.label,
        unit=journey.unit,
        units=units,
        period=planning_period(query, timezone),
        query=query,
        stages=stages,
    )
