"""Working a handoff: the screen pop, notes, transfer, resolve, hand back, and what the
customer sends afterwards (CSAT, a callback message) or does instead (cancel, time out).

Who may do what:
- see (screen pop) and write notes: agents serving the handoff's queue, the agent who owns it,
  and supervisors;
- transfer: a queued handoff by anyone serving its queue, a claimed one by its owner or a
  supervisor;
- resolve and record replies: the owner (or a supervisor) of a claimed handoff;
- retry a failed hand-back: the owner (or a supervisor) of a resolved handoff.
A handoff the agent may not see is reported as not found, so ids cannot be probed. Which
status allows what, and what each change leads to, is the transition table
(`desk.services.lifecycle`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from sqlalchemy.orm import Session

from desk.services import lifecycle
from desk.services.agents import Actor
from desk.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from desk.services.lifecycle import Action
from desk.services.queues import QUEUES, context_of
from desk.store.models import (
    Disposition,
    EventKind,
    Handoff,
    HandoffEvent,
    HandoffNote,
    HandoffStatus,
)
from desk.store.repositories import AgentRepository, HandoffRepository
from desk.store.types import utcnow

MAX_NOTE_CHARS: Final = 20_000
MAX_MESSAGE_CHARS: Final = 2_000
MAX_CSAT_COMMENT_CHARS: Final = 1_000
MAX_CALLBACK_CHARS: Final = 4_000
MAX_SLOTS: Final = 50


# --- Handing the conversation back to the bot --------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """What the bot needs to take the conversation back after an agent resolved it."""

    handoff_id: str
    sender_id: str
    disposition: str
    slots: Mapping[str, Any]
    agent_id: int
    agent_name: str


class HandBack(Protocol):
    """Gives a resolved conversation back to the bot (Rasa); True when it did."""

    async def __call__(self, resolution: Resolution) -> bool:
        """Hand the conversation back; True marks the handoff `handed_back`."""
        ...


# --- Reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenPop:
    """Everything an agent sees when opening a handoff."""

    handoff: Handoff
    context: dict[str, Any]
    position: int | None
    notes: list[HandoffNote]
    events: list[HandoffEvent]
    agent_names: dict[int, str] = field(default_factory=dict)


def can_see(actor: Actor, handoff: Handoff) -> bool:
    """Whether an actor may open this handoff."""
    return actor.serves(handoff.queue) or handoff.agent_id == actor.agent_id


def visible(session: Session, actor: Actor, handoff_id: str) -> Handoff:
    """The handoff, if the actor may see it (as for the screen pop); NotFound otherwise."""
    return _visible(HandoffRepository(session), actor, handoff_id)


def claimed_by(session: Session, actor: Actor) -> list[Handoff]:
    """The handoffs the actor has claimed and not yet resolved ("my chats"), newest claim first.

    Only the actor's own, also for a supervisor.
    """
    return HandoffRepository(session).claimed_by(actor.agent_id)


def screen_pop(session: Session, actor: Actor, handoff_id: str) -> ScreenPop:
    """The context, notes and history of a handoff the actor may see."""
    handoffs = HandoffRepository(session)
    handoff = _visible(handoffs, actor, handoff_id)
    notes = handoffs.notes(handoff_id)
    events = handoffs.events(handoff_id)
    agent_ids = {e.actor_agent_id for e in events if e.actor_agent_id is not None}
    agent_ids |= {n.agent_id for n in notes}
    if handoff.agent_id is not None:
        agent_ids.add(handoff.agent_id)
    return ScreenPop(
        handoff=handoff,
        context=context_of(handoff),
        position=handoffs.position(handoff),
        notes=notes,
        events=events,
        agent_names=AgentRepository(session).display_names(agent_ids),
    )


# --- Agents working a handoff -------------------------------------------------------------------


def add_note(
    session: Session, actor: Actor, handoff_id: str, text: str, *, now: datetime | None = None
) -> HandoffNote:
    """Add a private note (1 to MAX_NOTE_CHARS characters, not only spaces)."""
    if not text.strip():
        raise InvalidInput(["/text: a note cannot be empty"])
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput([f"/text: a note is at most {MAX_NOTE_CHARS} characters"])
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    _visible(handoffs, actor, handoff_id)
    note = handoffs.add_note(handoff_id, actor.agent_id, text, now)
    handoffs.add_event(
        handoff_id,
        EventKind.NOTE_ADDED.value,
        at=now,
        actor_agent_id=actor.agent_id,
        detail={"note_id": note.id},
    )
    return note


def transfer(
    session: Session, actor: Actor, handoff_id: str, queue: str, *, now: datetime | None = None
) -> Handoff:
    """Move a handoff to another queue, waiting again; its context travels with it.

    It keeps its place in time (ordering uses the original `queued_at`), so a transferred
    customer does not start again at the back.
    """
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    handoff = _visible(handoffs, actor, handoff_id)
    if queue not in QUEUES:
        raise InvalidInput([f"/queue: unknown queue {queue!r}; one of {', '.join(QUEUES)}"])
    if queue == handoff.queue:
        raise InvalidInput([f"/queue: the handoff is already in {queue!r}"])
    if handoff.status == HandoffStatus.CLAIMED:
        _require_owner(actor, handoff, "transfer")
    lifecycle.require(Action.TRANSFER, handoff.status)
    won = handoffs.transition(
        handoff_id,
        from_statuses=[HandoffStatus(handoff.status)],
        values={
            "status": lifecycle.target(Action.TRANSFER, handoff.status).value,
            "queue": queue,
            "agent_id": None,
            "claimed_at": None,
            "transfer_count": Handoff.transfer_count + 1,
        },
        extra_condition=(Handoff.queue == handoff.queue)
        & (Handoff.transfer_count == handoff.transfer_count),
    )
    if not won:
        raise Conflict("the handoff changed meanwhile; reload it")
    handoffs.add_event(
        handoff_id,
        EventKind.TRANSFERRED.value,
        at=now,
        actor_agent_id=actor.agent_id,
        detail={"from": handoff.queue, "to": queue},
    )
    return _reloaded(handoffs, handoff_id)


def record_agent_reply(
    session: Session, actor: Actor, handoff_id: str, *, now: datetime | None = None
) -> Handoff:
    """Note that the owner answered the customer; the first reply's time is kept."""
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    handoff = _visible(handoffs, actor, handoff_id)
    lifecycle.require(Action.ANSWER, handoff.status)
    _require_owner(actor, handoff, "answer")
    first = handoffs.transition(
        handoff_id,
        from_statuses=lifecycle.sources(Action.ANSWER),
        values={"first_agent_reply_at": now},
        extra_condition=Handoff.first_agent_reply_at.is_(None),
    )
    if first:
        handoffs.add_event(
            handoff_id, EventKind.FIRST_AGENT_REPLY.value, at=now, actor_agent_id=actor.agent_id
        )
    return _reloaded(handoffs, handoff_id)


def working_on(session: Session, actor: Actor, handoff_id: str) -> Handoff:
    """The claimed handoff the actor owns (or, as a supervisor, may act on)."""
    handoffs = HandoffRepository(session)
    handoff = _visible(handoffs, actor, handoff_id)
    lifecycle.require(Action.ANSWER, handoff.status)
    _require_owner(actor, handoff, "answer")
    return handoff


def check_message(text: str) -> None:
    """An agent's message to the customer: 1 to MAX_MESSAGE_CHARS characters, not only spaces."""
    if not text.strip():
        raise InvalidInput(["/text: a message cannot be empty"])
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput([f"/text: a message is at most {MAX_MESSAGE_CHARS} characters"])


def record_agent_message(
    session: Session, actor: Actor, handoff_id: str, text: str, *, now: datetime | None = None
) -> Handoff:
    """Log a message the owner sent to the customer (the first one sets first_agent_reply_at).

    The text is kept in the handoff's history; the conversation's transcript is Rasa's.
    """
    check_message(text)
    now = now or utcnow()
    handoff = record_agent_reply(session, actor, handoff_id, now=now)
    HandoffRepository(session).add_event(
        handoff_id,
        EventKind.MESSAGE.value,
        at=now,
        actor_agent_id=actor.agent_id,
        detail={"text": text},
    )
    return handoff


def resolve(
    session: Session,
    actor: Actor,
    handoff_id: str,
    disposition: Disposition,
    slots: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> Resolution:
    """Close a claimed handoff with a disposition and the slot values for the bot."""
    now = now or utcnow()
    slots = dict(slots or {})
    if len(slots) > MAX_SLOTS:
        raise InvalidInput([f"/slots: at most {MAX_SLOTS} slots"])
    handoffs = HandoffRepository(session)
    handoff = _visible(handoffs, actor, handoff_id)
    lifecycle.require(Action.RESOLVE, handoff.status)
    _require_owner(actor, handoff, "resolve")
    won = handoffs.transition(
        handoff_id,
        from_statuses=lifecycle.sources(Action.RESOLVE),
        values={
            "status": lifecycle.target(Action.RESOLVE, handoff.status).value,
            "resolved_at": now,
            "disposition": disposition.value,
        },
        extra_condition=Handoff.agent_id == handoff.agent_id,
    )
    if not won:
        raise Conflict("the handoff changed meanwhile; reload it")
    handoffs.add_event(
        handoff_id,
        EventKind.RESOLVED.value,
        at=now,
        actor_agent_id=actor.agent_id,
        detail={"disposition": disposition.value, "slots": slots},
    )
    return Resolution(
        handoff_id=handoff_id,
        sender_id=handoff.sender_id,
        disposition=disposition.value,
        slots=slots,
        agent_id=actor.agent_id,
        agent_name=actor.display_name,
    )


def pending_hand_back(session: Session, actor: Actor, handoff_id: str) -> Resolution:
    """The resolution of a handoff the bot has not taken back yet, to try the hand-back again.

    Only for a `resolved` handoff (the hand-back failed, e.g. Rasa was down), by the agent who
    resolved it or a supervisor; the disposition and slot updates are those stored at resolve.
    """
    handoffs = HandoffRepository(session)
    handoff = _visible(handoffs, actor, handoff_id)
    lifecycle.require(Action.RETRY_HAND_BACK, handoff.status)
    _require_owner(actor, handoff, "hand back")
    resolved = [e for e in handoffs.events(handoff_id) if e.kind == EventKind.RESOLVED.value]
    detail = resolved[-1].detail if resolved else {}
    return Resolution(
        handoff_id=handoff_id,
        sender_id=handoff.sender_id,
        disposition=str(detail.get("disposition") or handoff.disposition),
        slots=dict(detail.get("slots") or {}),
        agent_id=actor.agent_id,
        agent_name=actor.display_name,
    )


def mark_handed_back(session: Session, handoff_id: str, *, now: datetime | None = None) -> Handoff:
    """Record that the bot has the conversation again."""
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    handoff = _existing(handoffs, handoff_id)
    won = handoffs.transition(
        handoff_id,
        from_statuses=lifecycle.sources(Action.HAND_BACK),
        values={"status": HandoffStatus.HANDED_BACK.value, "handed_back_at": now},
    )
    if not won:
        raise lifecycle.refused(Action.HAND_BACK, handoff.status)
    handoffs.add_event(handoff_id, EventKind.HANDED_BACK.value, at=now)
    return _reloaded(handoffs, handoff_id)


def record_hand_back_refused(
    session: Session, handoff_id: str, detail: Mapping[str, Any], *, now: datetime | None = None
) -> None:
    """Record that a hand-back failed (`detail` says why, in codes: never Rasa's text)."""
    HandoffRepository(session).add_event(
        handoff_id, EventKind.HAND_BACK_REFUSED.value, at=now or utcnow(), detail=dict(detail)
    )


# --- What the customer does (reported by the bot) ----------------------------------------------


def store_csat(
    session: Session,
    handoff_id: str,
    rating: int,
    comment: str | None = None,
    *,
    now: datetime | None = None,
) -> Handoff:
    """Store the customer's rating (1..5) of a resolved handoff; a re-sent rating replaces it."""
    errors = []
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors.append("/rating: must be an integer from 1 to 5")
    if comment is not None and len(comment) > MAX_CSAT_COMMENT_CHARS:
        errors.append(f"/comment: at most {MAX_CSAT_COMMENT_CHARS} characters")
    if errors:
        raise InvalidInput(errors)
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    handoff = _existing(handoffs, handoff_id)
    won = handoffs.transition(
        handoff_id,
        from_statuses=lifecycle.sources(Action.RATE),
        values={"csat_rating": rating, "csat_comment": comment},
    )
    if not won:
        raise lifecycle.refused(Action.RATE, handoff.status)
    handoffs.add_event(
        handoff_id,
        EventKind.CSAT_RECEIVED.value,
        at=now,
        detail={"rating": rating, "has_comment": bool(comment)},
    )
    return _reloaded(handoffs, handoff_id)


def store_callback(
    session: Session, handoff_id: str, message: str, *, now: datetime | None = None
) -> Handoff:
    """Store the message a customer left instead of waiting; a waiting handoff expires."""
    if not message.strip():
        raise InvalidInput(["/message: cannot be empty"])
    if len(message) > MAX_CALLBACK_CHARS:
        raise InvalidInput([f"/message: at most {MAX_CALLBACK_CHARS} characters"])
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    handoff = _existing(handoffs, handoff_id)
    if handoff.status == HandoffStatus.QUEUED:
        won = handoffs.transition(
            handoff_id,
            from_statuses=[HandoffStatus.QUEUED],
            values={
                "status": lifecycle.target(Action.LEAVE_CALLBACK, HandoffStatus.QUEUED).value,
                "expired_at": now,
                "callback_message": message,
            },
        )
        if won:
            handoffs.add_event(
                handoff_id, EventKind.EXPIRED.value, at=now, detail={"reason": "callback"}
            )
    else:
        won = handoffs.transition(
            handoff_id,
            from_statuses=[HandoffStatus.EXPIRED],
            values={"callback_message": message},
        )
    if not won:
        raise lifecycle.refused(Action.LEAVE_CALLBACK, _reloaded(handoffs, handoff_id).status)
    handoffs.add_event(handoff_id, EventKind.CALLBACK_RECEIVED.value, at=now)
    return _reloaded(handoffs, handoff_id)


def abandon(session: Session, handoff_id: str, *, now: datetime | None = None) -> Handoff:
    """The customer cancelled while waiting."""
    return _leave_queue(session, handoff_id, Action.ABANDON, "abandoned_at", now)


def expire(session: Session, handoff_id: str, *, now: datetime | None = None) -> Handoff:
    """The wait ended without a person (the customer chose to leave a message)."""
    return _leave_queue(session, handoff_id, Action.EXPIRE, "expired_at", now)


# --- Helpers ----------------------------------------------------------------------------------


def _leave_queue(
    session: Session,
    handoff_id: str,
    action: Action,
    column: str,
    now: datetime | None,
) -> Handoff:
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    handoff = _existing(handoffs, handoff_id)
    (source,) = lifecycle.sources(action)
    status = lifecycle.target(action, source)
    won = handoffs.transition(
        handoff_id, from_statuses=[source], values={"status": status.value, column: now}
    )
    if not won:
        raise lifecycle.refused(action, handoff.status)
    handoffs.add_event(handoff_id, status.value, at=now)
    return _reloaded(handoffs, handoff_id)


def get_existing(session: Session, handoff_id: str) -> Handoff:
    """The handoff; NotFound when there is none."""
    return _existing(HandoffRepository(session), handoff_id)


def _existing(handoffs: HandoffRepository, handoff_id: str) -> Handoff:
    handoff = handoffs.get(handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}")
    return handoff


def _visible(handoffs: HandoffRepository, actor: Actor, handoff_id: str) -> Handoff:
    handoff = handoffs.get(handoff_id)
    if handoff is None or not can_see(actor, handoff):
        raise NotFound(f"no handoff {handoff_id}")
    return handoff


def _require_owner(actor: Actor, handoff: Handoff, verb: str) -> None:
    if handoff.agent_id != actor.agent_id and not actor.is_supervisor:
        raise PermissionDenied(f"only the agent who claimed this handoff can {verb} it")


def _reloaded(handoffs: HandoffRepository, handoff_id: str) -> Handoff:
    handoff = handoffs.get(handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}")
    return handoff
