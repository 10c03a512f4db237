"""Claiming a waiting handoff: exactly one agent wins.

The claim is one conditional UPDATE (`... WHERE status = 'queued' AND queue = <the queue the
agent was allowed to claim from>`); whoever's UPDATE changes the row wins, everyone else gets
`AlreadyClaimed`. No lock is held between reading and writing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from desk.services import lifecycle
from desk.services.agents import Actor
from desk.services.errors import PermissionDenied
from desk.services.handoffs import visible
from desk.services.lifecycle import Action
from desk.store.models import EventKind, Handoff, HandoffStatus
from desk.store.repositories import HandoffRepository
from desk.store.types import utcnow


def claim(
    session: Session, actor: Actor, handoff_id: str, *, now: datetime | None = None
) -> Handoff:
    """Give a queued handoff to `actor`.

    Raises:
        NotFound: No such handoff, or one the actor may not see (`handoffs.can_see`).
        PermissionDenied: The actor sees the handoff but does not serve its queue.
        AlreadyClaimed: Someone else claimed it first, or it is no longer queued (the
            transition table's refusal of a claim).
    """
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    # A handoff the actor may not see is not there, as for every other route: a claim must
    # not tell a stranger to the queue that it exists.
    handoff = visible(session, actor, handoff_id)
    if not actor.serves(handoff.queue):  # theirs once, waiting now in another queue
        raise PermissionDenied(f"you do not serve the queue {handoff.queue!r}")
    won = handoffs.transition(
        handoff_id,
        from_statuses=lifecycle.sources(Action.CLAIM),
        values={
            "status": HandoffStatus.CLAIMED.value,
            "agent_id": actor.agent_id,
            "claimed_at": now,
        },
        extra_condition=Handoff.queue == handoff.queue,
    )
    if not won:
        current = handoffs.get(handoff_id)
        status = current.status if current is not None else "gone"
        raise lifecycle.refused(Action.CLAIM, status, handoff_id)
    handoffs.add_event(
        handoff_id,
        EventKind.CLAIMED.value,
        at=now,
        actor_agent_id=actor.agent_id,
        detail={"queue": handoff.queue},
    )
    claimed = handoffs.get(handoff_id)
    assert claimed is not None  # we just changed it in this unit of work
    return claimed
