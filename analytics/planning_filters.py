"""Which units a planning view counts: the period, the journey, the queue and the outcome of a
`PlanningQuery`, as conditions on `stage_facts` (the journey map and the service blueprint
share them).

- period: units that started in it (`StageFact.day` is the unit's start day on all its rows);
- queue: units whose conversation's first handoff was first queued in that queue;
- outcome (`Outcome`): `bot_only`, the conversation was not handed off; `handed_off`, it was;
  `low_csat`, its handoff was rated 2 or less, or the bot was; `abandoned`, the customer left
  its handoff's queue before a claim.

Queue and outcome go through the conversation and its first handoff (`ConversationFact.
handoff_id`), so they apply to conversation units only: an application unit (the mortgage)
is filtered by its period alone (`filters_apply` says which).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from analytics.stages import APPLICATION, StageCatalog, stage_catalog
from analytics.store.models import ConversationFact, HandoffFact, StageFact
from contract.analytics_report import Outcome, PlanningQuery

S = StageFact.__table__
C = ConversationFact.__table__
H = HandoffFact.__table__

#: A rating of this or less is a low CSAT (of 1-5).
LOW_CSAT: Final = 2


def filters_apply(query: PlanningQuery, catalog: StageCatalog | None = None) -> bool:
    """Whether the queue and outcome filters can apply to the query's journey (its units are
    conversations)."""
    stages = (catalog or stage_catalog()).of(query.journey)
    return stages is None or stages.unit != APPLICATION


def unit_filter(
    query: PlanningQuery, *, catalog: StageCatalog | None = None
) -> list[ColumnElement[bool]]:
    """The conditions on `stage_facts` rows of the units `query` selects (see the module doc)."""
    conditions: list[ColumnElement[bool]] = [
        S.c.journey == query.journey,
        S.c.day.between(query.start, query.end),
    ]
    chosen = conversation_conditions(query)
    if chosen and filters_apply(query, catalog):
        conversations = (
            select(C.c.id)
            .select_from(C.outerjoin(H, H.c.handoff_id == C.c.handoff_id))
            .where(*chosen)
        )
        conditions.append(S.c.conversation_id.in_(conversations))
    return conditions


def conversation_conditions(query: PlanningQuery) -> list[ColumnElement[bool]]:
    """The queue and outcome as conditions on a conversation outer-joined to its first
    handoff (empty: every conversation)."""
    conditions: list[ColumnElement[bool]] = []
    if query.queue:
        conditions.append(H.c.first_queue == query.queue)
    outcome = query.outcome
    if outcome is Outcome.BOT_ONLY:
        conditions.append(C.c.handed_off.is_(False))
    elif outcome is Outcome.HANDED_OFF:
        conditions.append(C.c.handed_off.is_(True))
    elif outcome is Outcome.LOW_CSAT:
        conditions.append((H.c.csat_rating <= LOW_CSAT) | (C.c.bot_csat_rating <= LOW_CSAT))
    elif outcome is Outcome.ABANDONED:
        conditions.append(H.c.abandoned_at.is_not(None))
    return conditions
