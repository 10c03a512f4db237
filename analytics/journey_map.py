"""The journey map (docs/metrics.md, "Journey map"): per stage of one journey, how many units
reached it, how many stopped there, how long they took to the next stage and where they went,
and the customer's mean sentiment while there. Read from `stage_facts` with GROUP BY and one
narrow read of the durations, so a month of 100,000 conversations stays well under a second.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
    counts = {
        stage: (reached, ended, sentiment_sum, turns)
        for stage, reached, ended, sentiment_sum, turns in session.execute(
            select(
                S.c.stage,
                func.count(),
                func.count() - func.count(S.c.next_stage),
                func.sum(S.c.sentiment_sum),
                func.sum(S.c.sentiment_turns),
            )
            .where(*where)
            .group_by(S.c.stage)
        )
    }
    following: dict[str, dict[str, int]] = defaultdict(dict)
    for stage, next_stage, count in session.execute(
        select(S.c.stage, S.c.next_stage, func.count())
        .where(*where, S.c.next_stage.is_not(None))
        .group_by(S.c.stage, S.c.next_stage)
    ):
        following[stage][next_stage] = count
    durations: dict[str, list[float]] = defaultdict(list)
    for stage, seconds in session.execute(
        select(S.c.stage, S.c.seconds_to_next).where(*where, S.c.seconds_to_next.is_not(None))
    ):
        durations[stage].append(seconds)
    units = (
        session.execute(
            select(func.count()).select_from(S).where(*where, S.c.position == 0)
        ).scalar()
        or 0
    )
    stages = []
    for stage in journey.stages:
        reached, ended, sentiment_sum, turns = counts.get(stage.id, (0, 0, 0.0, 0))
        turns = int(turns or 0)
        stages.append(
            MapStage(
                stage=stage.id,
                label=stage.label,
                final=stage.final,
                reached=reached,
                dropped_off=0 if stage.final else ended,
                to_next_s=distribution(durations.get(stage.id, ())),
                next_stages=dict(
                    sorted(following.get(stage.id, {}).items(), key=lambda kv: (-kv[1], kv[0]))
                ),
                sentiment=round(float(sentiment_sum) / turns, 4) if turns else None,
                sentiment_turns=turns,
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
