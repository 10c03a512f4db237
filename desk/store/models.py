"""Tables of the desk's database.

Every timestamp is a `UTCDateTime`. Closed sets of values (roles, statuses, priorities,
dispositions) are enums, enforced by CHECK constraints: the handoff status is the contract's
(`contract.handoff_status.HandoffStatus`, re-exported here), the others live here; the migration in
`migrations/versions` must produce exactly this schema (a test compares them).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
    true,
)
from sqlalchemy.orm import Mapped, relationship

from contract.applications import APPLICATION_STATUSES, ApplicationStatus
from contract.handoff_context import Priority
from contract.handoff_status import HandoffStatus as HandoffStatus  # re-exported
from desk.store.types import UTCDateTime, utcnow
from sqlsupport.models import new_base, one_of

Base: Any = new_base()


class AgentRole(str, enum.Enum):
    """What a desk user may do: agents work their queues, supervisors see every queue."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"


# Lower rank is served first: queues order by (priority_rank, queued_at).
PRIORITY_RANK: Final[dict[str, int]] = {
    Priority.URGENT.value: 0,
    Priority.HIGH.value: 1,
    Priority.NORMAL.value: 2,
    Priority.LOW.value: 3,
}


class Disposition(str, enum.Enum):
    """How the agent closed the handoff."""

    RESOLVED = "resolved"
    RESOLVED_WITH_FOLLOWUP = "resolved_with_followup"
    NOT_RESOLVED = "not_resolved"
    DUPLICATE = "duplicate"


class EventKind(str, enum.Enum):
    """What happened to a handoff. Extend freely: no CHECK constraint."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    NOTE_ADDED = "note_added"
    TRANSFERRED = "transferred"
    FIRST_AGENT_REPLY = "first_agent_reply"
    MESSAGE = "message"
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"
    ABANDONED = "abandoned"
    EXPIRED = "expired"
    CSAT_RECEIVED = "csat_received"
    CALLBACK_RECEIVED = "callback_received"
    CHOICE_OFFERED = "choice_offered"
    KEPT_WAITING = "kept_waiting"


AGENT_ROLES: Final[tuple[str, ...]] = tuple(role.value for role in AgentRole)
HANDOFF_STATUSES: Final[tuple[str, ...]] = tuple(status.value for status in HandoffStatus)
#: A conversation has at most one handoff in these statuses (a partial unique index; the
#: contract's OPEN_STATUSES, in the order the migration wrote them).
OPEN_STATUS_VALUES: Final[tuple[str, ...]] = (
    HandoffStatus.QUEUED.value,
    HandoffStatus.CLAIMED.value,
)
_OPEN: Final = text(one_of("status", OPEN_STATUS_VALUES))
PRIORITIES: Final[tuple[str, ...]] = tuple(priority.value for priority in Priority)
DISPOSITIONS: Final[tuple[str, ...]] = tuple(d.value for d in Disposition)


class Agent(Base):
    """A person who works at the desk."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(one_of("role", AGENT_ROLES), name="role"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = Column(String(100), nullable=False)
    password_hash: Mapped[str] = Column(String(255), nullable=False)
    role: Mapped[str] = Column(String(16), nullable=False, default=AgentRole.AGENT.value)
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True, server_default=true())
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)

    queue_links: Mapped[list[AgentQueue]] = relationship(
        "AgentQueue",
        back_populates="agent",
        order_by="AgentQueue.queue",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def queues(self) -> list[str]:
        """Names of the queues this agent serves."""
        return [link.queue for link in self.queue_links]

    @property
    def is_supervisor(self) -> bool:
        """Whether this user sees and may act on every queue."""
        return self.role == AgentRole.SUPERVISOR.value


class AgentQueue(Base):
    """An agent serves a queue."""

    __tablename__ = "agent_queues"

    agent_id: Mapped[int] = Column(
        Integer, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    queue: Mapped[str] = Column(String(64), primary_key=True, index=True)

    agent: Mapped[Agent] = relationship("Agent", back_populates="queue_links")


class AgentSession(Base):
    """A logged-in browser. Only the SHA-256 of the cookie's random token is stored."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = Column(Integer, primary_key=True)
    token_hash: Mapped[str] = Column(String(64), nullable=False, unique=True)
    agent_id: Mapped[int] = Column(
        Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, index=True)
    last_seen_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)

    agent: Mapped[Agent] = relationship("Agent")


class Handoff(Base):
    """A conversation the bot handed to the desk, with its whole life."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(one_of("status", HANDOFF_STATUSES), name="status"),
        CheckConstraint(one_of("priority", PRIORITIES), name="priority"),
        CheckConstraint(one_of("disposition", DISPOSITIONS), name="disposition"),
        CheckConstraint("csat_rating BETWEEN 1 AND 5", name="csat_rating_range"),
        CheckConstraint("transfer_count >= 0", name="transfer_count_not_negative"),
        # The queue view: waiting handoffs of some queues, best first.
        Index(
            "ix_handoffs_status_queue_rank_queued_at",
            "status",
            "queue",
            "priority_rank",
            "queued_at",
        ),
        # One open handoff per conversation: a second trigger (a retry after a crash, a relay
        # re-send with a new id) is answered with the open one instead of queueing twice.
        Index(
            "uq_handoffs_open_sender",
            "sender_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
    )

    handoff_id: Mapped[str] = Column(String(36), primary_key=True)
    sender_id: Mapped[str] = Column(String(255), nullable=False, index=True)
    queue: Mapped[str] = Column(String(64), nullable=False)
    priority: Mapped[str] = Column(String(16), nullable=False)
    priority_rank: Mapped[int] = Column(Integer, nullable=False)
    reason_code: Mapped[str] = Column(String(64), nullable=False)
    trigger_type: Mapped[str] = Column(String(32), nullable=False)
    flow: Mapped[str] = Column(String(32), nullable=False)
    customer_label: Mapped[str | None] = Column(String(200), nullable=True)
    context: Mapped[str] = Column(Text, nullable=False)
    status: Mapped[str] = Column(
        String(16),
        nullable=False,
        default=HandoffStatus.QUEUED.value,
        server_default=text(f"'{HandoffStatus.QUEUED.value}'"),
    )
    agent_id: Mapped[int | None] = Column(
        Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    requested_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    queued_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    claimed_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    first_agent_reply_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    handed_back_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    abandoned_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    expired_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    # When the waiting customer was last offered "keep waiting or leave a message" (or chose
    # to keep waiting): the next offer is due CLAIM_TIMEOUT_SECONDS later. NULL: never.
    choice_offered_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    # When the Rasa server confirmed it knows of this handoff (desk.bot_sync). NULL: not yet.
    bot_confirmed_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    disposition: Mapped[str | None] = Column(String(32), nullable=True)
    csat_rating: Mapped[int | None] = Column(Integer, nullable=True)
    csat_comment: Mapped[str | None] = Column(Text, nullable=True)
    callback_message: Mapped[str | None] = Column(Text, nullable=True)
    transfer_count: Mapped[int] = Column(
        Integer, nullable=False, default=0, server_default=text("0")
    )

    agent: Mapped[Agent | None] = relationship("Agent")


class HandoffEvent(Base):
    """One entry of a handoff's append-only history."""

    __tablename__ = "handoff_events"
    __table_args__ = (
        Index("ix_handoff_events_handoff_id_occurred_at", "handoff_id", "occurred_at"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    handoff_id: Mapped[str] = Column(
        String(36), ForeignKey("handoffs.handoff_id", ondelete="CASCADE"), nullable=False
    )
    occurred_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    kind: Mapped[str] = Column(String(32), nullable=False)
    actor_agent_id: Mapped[int | None] = Column(
        Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    detail: Mapped[dict[str, Any]] = Column(JSON, nullable=False, default=dict)


class HandoffNote(Base):
    """A private note an agent wrote on a handoff (never shown to the customer)."""

    __tablename__ = "handoff_notes"
    __table_args__ = (Index("ix_handoff_notes_handoff_id_created_at", "handoff_id", "created_at"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    handoff_id: Mapped[str] = Column(
        String(36), ForeignKey("handoffs.handoff_id", ondelete="CASCADE"), nullable=False
    )
    agent_id: Mapped[int] = Column(Integer, ForeignKey("agents.id"), nullable=False)
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    text: Mapped[str] = Column(Text, nullable=False)

    agent: Mapped[Agent] = relationship("Agent")


Money = Numeric(12, 2)


class MortgageApplication(Base):
    """A mortgage application shared by web chat, the advice desk and the branch."""

    __tablename__ = "mortgage_applications"
    __table_args__ = (
        CheckConstraint(one_of("status", APPLICATION_STATUSES), name="status"),
        CheckConstraint("property_value > 0", name="property_value_positive"),
        CheckConstraint("loan_amount > 0", name="loan_amount_positive"),
        CheckConstraint("deposit_amount >= 0", name="deposit_amount_not_negative"),
        CheckConstraint("loan_to_value > 0 AND loan_to_value <= 1", name="loan_to_value_range"),
        CheckConstraint("term_years > 0", name="term_years_positive"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    reference: Mapped[str] = Column(String(16), nullable=False, unique=True)
    status: Mapped[str] = Column(
        String(32), nullable=False, index=True, default=ApplicationStatus.INTAKE_COMPLETE.value
    )
    applicant_name: Mapped[str] = Column(String(100), nullable=False)
    email: Mapped[str] = Column(String(320), nullable=False, index=True)
    property_value: Mapped[Decimal] = Column(Money, nullable=False)
    deposit_amount: Mapped[Decimal] = Column(Money, nullable=False)
    loan_amount: Mapped[Decimal] = Column(Money, nullable=False)
    loan_to_value: Mapped[Decimal] = Column(Numeric(5, 4), nullable=False)
    term_years: Mapped[int] = Column(Integer, nullable=False)
    annual_income: Mapped[Decimal] = Column(Money, nullable=False)
    employment_type: Mapped[str] = Column(String(32), nullable=False)
    currency: Mapped[str] = Column(
        String(3), nullable=False, default="GBP", server_default=text("'GBP'")
    )
    origin_channel: Mapped[str] = Column(String(64), nullable=False)
    origin_sender_id: Mapped[str] = Column(String(255), nullable=False)
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = Column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )

    events: Mapped[list[ApplicationEvent]] = relationship(
        "ApplicationEvent",
        back_populates="application",
        order_by="(ApplicationEvent.occurred_at, ApplicationEvent.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ApplicationEvent(Base):
    """One entry in an application's append-only history, whichever touchpoint wrote it."""

    __tablename__ = "application_events"
    __table_args__ = (
        Index("ix_application_events_application_id_occurred_at", "application_id", "occurred_at"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    application_id: Mapped[int] = Column(
        Integer, ForeignKey("mortgage_applications.id", ondelete="CASCADE"), nullable=False
    )
    occurred_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    touchpoint: Mapped[str] = Column(String(32), nullable=False)
    kind: Mapped[str] = Column(String(64), nullable=False, index=True)
    actor: Mapped[str | None] = Column(String(255), nullable=True)
    detail: Mapped[dict[str, Any]] = Column(JSON, nullable=False, default=dict)

    application: Mapped[MortgageApplication] = relationship(
        "MortgageApplication", back_populates="events"
    )
