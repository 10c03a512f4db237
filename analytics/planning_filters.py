"""Which units a planning view shows (`contract.analytics_report.PlanningQuery`): the journey,
units started in the period, and the queue and outcome filters, as conditions on
`stage_facts`. One place for the journey map and the service blueprint.

- queue: conversations whose first handoff was first queued in that queue;
- outcome: `bot_only` (never handed off), `handed_off`, `low_csat` (a rating of 2 or less, the
  bot's or the person's), `abandoned` (the customer left the queue).
Applications (the mortgage's units) have no conversation: a queue or outcome filter leaves
none of them (they are filtered by period only when both are unset).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import and_, or_, select
from sqlalchemy.sql import ColumnElement

from analytics.store.models import ConversationFact, HandoffFact, StageFact
from contract.analytics_report import Outcome, PlanningQuery

#: A rating at or below this is a low one.
LOW_CSAT: Final = 2

S = StageFact.__table__
C = ConversationFact.__table__
H = HandoffFact.__table__


def unit_filter(query: PlanningQuery) -> list[ColumnElement[bool]]:
    """Conditions on `stage_facts` selecting the query's units."""
    conditions: list[ColumnElement[bool]] = [
        S.c.journey == query.journey,
        S.c.day.between(query.start, query.end),
    ]
    handoff: list[ColumnElement[bool]] = []
    conversation: list[ColumnElement[bool]] = []
    if query.queue:
        handoff.append(H.c.first_queue == query.queue)
    if query.outcome is Outcome.BOT_ONLY:
        conversation.append(C.c.handed_off.is_(False))
    elif query.outcome is Outcome.HANDED_OFF:
        conversation.append(C.c.handed_off.is_(True))
    elif query.outcome is Outcome.LOW_CSAT:
        rated_low = select(H.c.handoff_id).where(H.c.csat_rating <= LOW_CSAT)
        conversation.append(or_(C.c.bot_csat_rating <= LOW_CSAT, C.c.handoff_id.in_(rated_low)))
    elif query.outcome is Outcome.ABANDONED:
        handoff.append(H.c.abandoned_at.is_not(None))
    if handoff:
        conversation.append(C.c.handoff_id.in_(select(H.c.handoff_id).where(and_(*handoff))))
    if conversation:
        conditions.append(S.c.conversation_id.in_(select(C.c.id).where(*conversation)))
    return conditions
