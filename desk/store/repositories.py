"""Queries and writes of the desk's tables, one repository per aggregate.

Repositories work inside a unit of work (a `Session` the caller opened with
`Database.session()`); they never commit. Every change of a handoff's status is a conditional
UPDATE (`... WHERE status IN (<allowed>)`), so two concurrent changes can never both win,
on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from desk.store.models import (
    Agent,
    AgentQueue,
    AgentSession,
    Handoff,
    HandoffEvent,
    HandoffNote,
    HandoffStatus,
)


class AgentRepository:
    """Desk users and the queues they serve."""

    def __init__(self, session: Session) -> None:
        """Work inside `session`."""
        self._session = session

    def get(self, agent_id: int) -> Agent | None:
        """The agent with this id."""
        return self._session.get(Agent, agent_id)

    def by_username(self, username: str) -> Agent | None:
        """The agent with this username."""
        statement = select(Agent).where(Agent.username == username)
        return self._session.execute(statement).scalar_one_or_none()

    def add(self, agent: Agent) -> Agent:
        """Insert a new agent (its id is assigned on return)."""
        self._session.add(agent)
        self._session.flush()
        return agent

    def set_queues(self, agent: Agent, queues: Collection[str]) -> None:
        """Make `agent` serve exactly `queues`."""
        wanted = set(queues)
        agent.queue_links = [link for link in agent.queue_links if link.queue in wanted]
        have = {link.queue for link in agent.queue_links}
        agent.queue_links.extend(AgentQueue(queue=q) for q in sorted(wanted - have))
        self._session.flush()

    def queues_of(self, agent_ids: Collection[int]) -> set[str]:
        """The queues the given active agents serve."""
        if not agent_ids:
            return set()
        statement = (
            select(AgentQueue.queue)
            .join(Agent, Agent.id == AgentQueue.agent_id)
            .where(AgentQueue.agent_id.in_(sorted(agent_ids)), Agent.active.is_(True))
            .distinct()
        )
        return set(self._session.execute(statement).scalars())

    def count_serving(self, queue: str, agent_ids: Collection[int]) -> int:
        """How many of the given active agents serve `queue`."""
        if not agent_ids:
            return 0
        statement = (
            select(func.count(func.distinct(AgentQueue.agent_id)))
            .join(Agent, Agent.id == AgentQueue.agent_id)
            .where(
                AgentQueue.queue == queue,
                AgentQueue.agent_id.in_(sorted(agent_ids)),
                Agent.active.is_(True),
            )
        )
        return int(self._session.execute(statement).scalar_one())

    def display_names(self, agent_ids: Collection[int]) -> dict[int, str]:
        """Display name of each agent id."""
        if not agent_ids:
            return {}
        statement = select(Agent.id, Agent.display_name).where(Agent.id.in_(agent_ids))
        return {row.id: row.display_name for row in self._session.execute(statement)}


class SessionRepository:
    """Logged-in browsers."""

    def __init__(self, session: Session) -> None:
        """Work inside `session`."""
        self._session = session

    def add(self, agent_session: AgentSession) -> AgentSession:
        """Insert a new session."""
        self._session.add(agent_session)
        self._session.flush()
        return agent_session

    def by_token_hash(self, token_hash: str) -> AgentSession | None:
        """The session whose token hashes to `token_hash`, with its agent and queues."""
        statement = (
            select(AgentSession)
            .where(AgentSession.token_hash == token_hash)
            .options(selectinload(AgentSession.agent).selectinload(Agent.queue_links))
        )
        return self._session.execute(statement).scalar_one_or_none()

    def delete_by_token_hash(self, token_hash: str) -> bool:
        """Delete one session; whether it existed."""
        statement = delete(AgentSession).where(AgentSession.token_hash == token_hash)
        return bool(self._session.execute(statement).rowcount)

    def delete_expired(self, now: datetime) -> int:
        """Delete every session that expired before `now`; how many."""
        statement = delete(AgentSession).where(AgentSession.expires_at <= now)
        return int(self._session.execute(statement).rowcount)

    def seen_since(self, since: datetime, now: datetime) -> list[int]:
        """Ids of agents with an unexpired session seen at or after `since`."""
        statement = (
            select(AgentSession.agent_id)
            .where(AgentSession.last_seen_at >= since, AgentSession.expires_at > now)
            .distinct()
            .order_by(AgentSession.agent_id)
        )
        return list(self._session.execute(statement).scalars())


class HandoffRepository:
    """Handoffs, their history and notes."""

    def __init__(self, session: Session) -> None:
        """Work inside `session`."""
        self._session = session

    def get(self, handoff_id: str) -> Handoff | None:
        """The handoff as stored now (never a stale copy from this unit of work)."""
        return self._session.get(Handoff, handoff_id, populate_existing=True)

    def add(self, handoff: Handoff) -> Handoff:
        """Insert a new handoff."""
        self._session.add(handoff)
        self._session.flush()
        return handoff

    def waiting(self, queues: Collection[str] | None) -> list[Handoff]:
        """Queued handoffs, best first (priority rank, then age); all queues when None."""
        statement = select(Handoff).where(Handoff.status == HandoffStatus.QUEUED.value)
        if queues is not None:
            statement = statement.where(Handoff.queue.in_(sorted(queues)))
        statement = statement.order_by(Handoff.priority_rank, Handoff.queued_at, Handoff.handoff_id)
        return list(self._session.execute(statement).scalars())

    def position(self, handoff: Handoff) -> int | None:
        """1-based place of a queued handoff in its queue; None when it is not queued."""
        if handoff.status != HandoffStatus.QUEUED.value:
            return None
        ahead = or_(
            Handoff.priority_rank < handoff.priority_rank,
            and_(
                Handoff.priority_rank == handoff.priority_rank,
                or_(
                    Handoff.queued_at < handoff.queued_at,
                    and_(
                        Handoff.queued_at == handoff.queued_at,
                        Handoff.handoff_id < handoff.handoff_id,
                    ),
                ),
            ),
        )
        statement = (
            select(func.count())
            .select_from(Handoff)
            .where(
                Handoff.status == HandoffStatus.QUEUED.value,
                Handoff.queue == handoff.queue,
                ahead,
            )
        )
        return int(self._session.execute(statement).scalar_one()) + 1

    def transition(
        self,
        handoff_id: str,
        *,
        from_statuses: Sequence[HandoffStatus],
        values: dict[str, Any],
        extra_condition: Any = None,
    ) -> bool:
        """Conditionally update one handoff; True when this call won the change."""
        statement = update(Handoff).where(
            Handoff.handoff_id == handoff_id,
            Handoff.status.in_([status.value for status in from_statuses]),
        )
        if extra_condition is not None:
            statement = statement.where(extra_condition)
        statement = statement.values(**values).execution_options(synchronize_session=False)
        return bool(self._session.execute(statement).rowcount == 1)

    def open_for_sender(self, sender_id: str) -> Handoff | None:
        """The newest queued or claimed handoff of a conversation."""
        statement = (
            select(Handoff)
            .where(
                Handoff.sender_id == sender_id,
                Handoff.status.in_([HandoffStatus.QUEUED.value, HandoffStatus.CLAIMED.value]),
            )
            .order_by(Handoff.queued_at.desc())
            .limit(1)
        )
        return self._session.execute(statement).scalar_one_or_none()

    def unconfirmed(
        self, statuses: Collection[str], older_than: datetime, limit: int
    ) -> list[Handoff]:
        """Handoffs in `statuses` queued before `older_than` that the bot has not confirmed,
        oldest first."""
        statement = (
            select(Handoff)
            .where(
                Handoff.status.in_(list(statuses)),
                Handoff.bot_confirmed_at.is_(None),
                Handoff.queued_at < older_than,
            )
            .order_by(Handoff.queued_at)
            .limit(limit)
        )
        return list(self._session.scalars(statement))

    def mark_confirmed(self, handoff_id: str, at: datetime) -> None:
        """Record that the bot confirmed it knows of the handoff."""
        self._session.execute(
            update(Handoff)
            .where(Handoff.handoff_id == handoff_id, Handoff.bot_confirmed_at.is_(None))
            .values(bot_confirmed_at=at)
            .execution_options(synchronize_session=False)
        )

    def claimed_by(self, agent_id: int) -> list[Handoff]:
        """The claimed handoffs an agent owns, newest claim first, with their agent."""
        statement = (
            select(Handoff)
            .where(
                Handoff.status == HandoffStatus.CLAIMED.value,
                Handoff.agent_id == agent_id,
            )
            .options(selectinload(Handoff.agent))
            .order_by(Handoff.claimed_at.desc(), Handoff.handoff_id)
        )
        return list(self._session.execute(statement).scalars())

    # --- History and notes -------------------------------------------------------------------

    def add_event(
        self,
        handoff_id: str,
        kind: str,
        *,
        at: datetime,
        actor_agent_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> HandoffEvent:
        """Append one entry to a handoff's history."""
        event = HandoffEvent(
            handoff_id=handoff_id,
            kind=kind,
            occurred_at=at,
            actor_agent_id=actor_agent_id,
            detail=detail or {},
        )
        self._session.add(event)
        self._session.flush()
        return event

    def events(self, handoff_id: str) -> list[HandoffEvent]:
        """A handoff's history, oldest first."""
        statement = (
            select(HandoffEvent)
            .where(HandoffEvent.handoff_id == handoff_id)
            .order_by(HandoffEvent.occurred_at, HandoffEvent.id)
        )
        return list(self._session.execute(statement).scalars())

    def add_note(self, handoff_id: str, agent_id: int, text: str, at: datetime) -> HandoffNote:
        """Store a private note."""
        note = HandoffNote(handoff_id=handoff_id, agent_id=agent_id, text=text, created_at=at)
        self._session.add(note)
        self._session.flush()
        return note

    def notes(self, handoff_id: str) -> list[HandoffNote]:
        """A handoff's notes, oldest first, with their authors."""
        statement = (
            select(HandoffNote)
            .where(HandoffNote.handoff_id == handoff_id)
            .options(selectinload(HandoffNote.agent))
            .order_by(HandoffNote.created_at, HandoffNote.id)
        )
        return list(self._session.execute(statement).scalars())
