"""Callbacks: the messages customers left instead of waiting, until someone marks one done.

A callback is an expired handoff with a `callback_message` (`handoffs.store_callback`); it is
open until `callback_done_at` is set, once, with who did it (`callback_done_by`). The agents
serving the queue the handoff expired in, and supervisors, see its open callbacks and may mark
one done; anyone else (another queue's agent, branch staff) is refused. The supervisors'
"callbacks still open" (docs/metrics.md, "Outcomes of a wait") counts the open ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.services import lifecycle
from desk.services.agents import Actor
from desk.services.errors import Conflict, PermissionDenied
from desk.services.handoffs import visible
from desk.services.lifecycle import Action
from desk.store.models import EventKind, Handoff, HandoffStatus
from desk.store.repositories import HandoffRepository
from desk.store.types import utcnow

#: The most open callbacks a list shows (the oldest); the count says how many there are.
MAX_LISTED: Final = 100


def open_callbacks(
    session: Session, actor: Actor, *, limit: int = MAX_LISTED
) -> tuple[list[Handoff], int]:
    """The open callbacks of the actor's queues (every queue for a supervisor), the oldest
    first (by when the customer stopped waiting), at most `limit`; and how many are open."""
    if not actor.is_supervisor and not actor.queues:
        return [], 0
    condition = [
        Handoff.status == HandoffStatus.EXPIRED.value,
        Handoff.callback_message.is_not(None),
        Handoff.callback_done_at.is_(None),
    ]
    if not actor.is_supervisor:
        condition.append(Handoff.queue.in_(sorted(actor.queues)))
    listed = (
        select(Handoff)
        .where(*condition)
        .order_by(Handoff.expired_at, Handoff.handoff_id)
        .limit(limit)
    )
    counted = select(func.count()).select_from(Handoff).where(*condition)
    return list(session.scalars(listed)), int(session.execute(counted).scalar_one())


def mark_callback_done(
    session: Session, actor: Actor, handoff_id: str, *, now: datetime | None = None
) -> Handoff:
    """Mark the callback of an expired handoff done, by `actor`.

    Raises:
        NotFound: No such handoff, or one the actor may not see (`handoffs.can_see`).
        PermissionDenied: The actor sees it (it was theirs) but does not serve the queue it
            expired in.
        Conflict: The handoff has no callback (it did not expire with a message), or it was
            marked done already (the message says when and by whom).
    """
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    # Hidden is absent: 404, not a 403 telling a stranger that the handoff exists.
    handoff = visible(session, actor, handoff_id)
    if not actor.serves(handoff.queue):
        raise PermissionDenied(f"you do not serve the queue {handoff.queue!r}")
    _require_open(handoff)
    won = handoffs.transition(
        handoff_id,
        from_statuses=lifecycle.sources(Action.MARK_CALLBACK_DONE),
        values={"callback_done_at": now, "callback_done_by": actor.agent_id},
        extra_condition=Handoff.callback_message.is_not(None) & Handoff.callback_done_at.is_(None),
    )
    if not won:  # someone else marked it done meanwhile
        current = handoffs.get(handoff_id)
        assert current is not None  # handoffs are never deleted
        _require_open(current)
        raise Conflict("the handoff changed meanwhile; reload it")
    handoffs.add_event(
        handoff_id, EventKind.CALLBACK_DONE.value, at=now, actor_agent_id=actor.agent_id
    )
    done = handoffs.get(handoff_id)
    assert done is not None  # changed in this unit of work
    return done


def done_by_name(handoff: Handoff) -> str | None:
    """The display name of who marked the callback done (None: not done, or no longer known)."""
    agent = handoff.callback_done_agent
    return None if agent is None else agent.display_name


def _require_open(handoff: Handoff) -> None:
    """Conflict unless the handoff has a callback that is not done yet."""
    lifecycle.require(Action.MARK_CALLBACK_DONE, handoff.status, handoff.handoff_id)
    if handoff.callback_message is None:
        raise Conflict(f"handoff {handoff.handoff_id} has no callback message to mark done")
    if handoff.callback_done_at is not None:
        who = done_by_name(handoff) or "an agent no longer at the desk"
        when = handoff.callback_done_at.strftime("%Y-%m-%d %H:%M UTC")
        raise Conflict(f"this callback was already marked done at {when} by {who}")
