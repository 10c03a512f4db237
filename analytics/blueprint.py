"""The service blueprint of one journey, timed from the facts (docs/planning-views.md).

Each step of `content/service_blueprints.yml` (`analytics.blueprints`) is placed in its lane
and in its stage's column (steps of one stage share a column; columns follow the stage
catalog's order). Its duration is the time its units took to reach the step's stage from the
stage they reached before it: `seconds_to_next` of the `stage_facts` rows whose `next_stage`
is the step's stage, for the units `analytics.planning_filters.unit_filter` selects. Its count
is the units that reached the stage (those that started there have no time to it: the
distribution's `excluded`). The FMEA modes pinned to a step come in `modes_by_step`.

Two narrow queries, whatever the number of units: the units per stage (GROUP BY), and the
durations of the timed transitions into the blueprint's stages (`analytics.durations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.blueprints import LANES, Blueprints, blueprints
from analytics.durations import grouped_distributions
from analytics.journey_map import UnknownJourney, planning_period
from analytics.metrics import distribution
from analytics.planning_filters import S, unit_filter
from analytics.stages import StageCatalog, stage_catalog
from contract.analytics_report import (
    Blueprint,
    BlueprintLane,
    BlueprintStep,
    Distribution,
    PlanningQuery,
)


def blueprint(
    session: Session,
    query: PlanningQuery,
    *,
    timezone: str,
    modes_by_step: Mapping[str, Sequence[str]],
    catalog: StageCatalog | None = None,
    steps: Blueprints | None = None,
) -> Blueprint:
    """The blueprint of `query.journey` over the units `query` selects (see the module doc).

    Raises:
        UnknownJourney: The stage catalog has no such journey (`analytics.journey_map`'s).
    """
    catalog = catalog or stage_catalog()
    stages = catalog.of(query.journey)
    if stages is None:
        raise UnknownJourney(query.journey)
    journey_steps = (steps or blueprints()).of(query.journey)
    definitions = journey_steps.steps if journey_steps else ()
    used = sorted({step.stage for step in definitions}, key=stages.position)
    column_of = {stage: column for column, stage in enumerate(used)}
    final = {stage.id for stage in stages.stages if stage.final}

    where = unit_filter(query)
    reached: dict[str, int] = {
        stage: count
        for stage, count in session.execute(
            select(S.c.stage, func.count()).where(*where).group_by(S.c.stage)
        )
    }
    durations = grouped_distributions(
        session, S.c.next_stage, S.c.seconds_to_next, [*where, S.c.next_stage.in_(used)]
    )

    return Blueprint(
        journey=query.journey,
        label=stages.label,
        period=planning_period(query, timezone),
        query=query,
        lanes=[
            BlueprintLane(lane=lane.id, label=lane.label, line_after=lane.line_after)
            for lane in LANES
        ],
        steps=[
            BlueprintStep(
                step=step.id,
                label=step.label,
                lane=step.lane,
                actor=step.actor,
                stage=step.stage,
                final=step.stage in final,
                column=column_of[step.stage],
                count=reached.get(step.stage, 0),
                duration_s=_timed(durations.get(step.stage), reached.get(step.stage, 0)),
                failure_modes=list(modes_by_step.get(step.id, ())),
            )
            for step in definitions
        ],
    )


def _timed(found: Distribution | None, reached: int) -> Distribution:
    """A step's durations; the units that reached its stage untimed are `excluded`."""
    timed = found or distribution(())
    return timed.copy(update={"excluded": max(reached - timed.count, 0)})
