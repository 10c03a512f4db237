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
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, relationship

from contract.applications import APPLICATION_STAGES, ActorKind, ApplicationStage
from contract.appointments import AppointmentState
from contract.documents import DocumentState
from contract.handoff_context import Priority
from contract.handoff_status import HandoffStatus as HandoffStatus  # re-exported
from desk.store.types import UTCDateTime, utcnow
from sqlsupport.models import new_base, one_of

Base: Any = new_base()


class AgentRole(str, enum.Enum):
    """What a desk user may do: agents work their queues, supervisors see every queue, branch
    staff see their branch's appointments and the applications behind them."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    BRANCH_STAFF = "branch_staff"


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
    CALLBACK_DONE = "callback_done"
    #: Intake answered a second handoff of the conversation with this open one (detail: the
    #: suppressed handoff's id and reason code).
    DUPLICATE_SUPPRESSED = "duplicate_suppressed"
    #: Rasa did not take the conversation back after the resolve (detail: why, no text).
    HAND_BACK_REFUSED = "hand_back_refused"


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
    #: The branch (a key of content/branches.yml) a `branch_staff` user works at.
    branch: Mapped[str | None] = Column(String(64), nullable=True)
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


class LoginFailureKind(str, enum.Enum):
    """What a `LoginFailure` row counts (desk/services/login_throttle.py)."""

    #: A failed login for a username (known or not): counted towards its lockout.
    ACCOUNT = "account"
    #: A failed login from a client address: counted towards its 429s.
    ADDRESS = "address"
    #: A username's lockout began here (after too many ACCOUNT rows).
    LOCKOUT = "lockout"


LOGIN_FAILURE_KINDS: Final[tuple[str, ...]] = tuple(kind.value for kind in LoginFailureKind)


class LoginFailure(Base):
    """A failed login (or a lockout it began), kept for a while to throttle password guessing.

    Rows are only ever inserted and deleted, never updated, so desk processes sharing the
    database count together without a lost update. `subject` is the SHA-256 of the username
    or address: a password typed into the username field is never stored.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        CheckConstraint(one_of("kind", LOGIN_FAILURE_KINDS), name="kind"),
        Index("ix_login_failures_subject", "subject", "failed_at"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    kind: Mapped[str] = Column(String(16), nullable=False)
    subject: Mapped[str] = Column(String(64), nullable=False)
    failed_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, index=True)


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
    # When Rasa took "<agent> has joined the chat." for the current claim (earlier than
    # claimed_at: owed for a newer claim) and "<agent> has left the chat." (desk.bot_sync);
    # NULL: not yet. `notice_lease_until`: one desk process is sending an owed notice until then.
    joined_told_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    left_told_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    notice_lease_until: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    # The last customer message applied to this handoff: Rasa's timestamp (epoch seconds,
    # Rasa's clock) and a digest of its text (never the text). A message delivered again (an
    # event queue redelivers what a desk handled but had not acknowledged when it stopped) is
    # not applied twice (desk.services.conversations). NULL: none yet.
    last_message_timestamp: Mapped[float | None] = Column(Float, nullable=True)
    last_message_digest: Mapped[str | None] = Column(String(16), nullable=True)
    disposition: Mapped[str | None] = Column(String(32), nullable=True)
    csat_rating: Mapped[int | None] = Column(Integer, nullable=True)
    csat_comment: Mapped[str | None] = Column(Text, nullable=True)
    callback_message: Mapped[str | None] = Column(Text, nullable=True)
    # When and by whom the callback the customer asked for was marked done. NULL: still open
    # (or no callback). The agent stays NULL if their account is deleted; the time stays.
    callback_done_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    callback_done_by: Mapped[int | None] = Column(
        Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    transfer_count: Mapped[int] = Column(
        Integer, nullable=False, default=0, server_default=text("0")
    )

    agent: Mapped[Agent | None] = relationship("Agent", foreign_keys=[agent_id])
    callback_done_agent: Mapped[Agent | None] = relationship(
        "Agent", foreign_keys=[callback_done_by]
    )


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


_BOOKED: Final = text(f"state = '{AppointmentState.BOOKED.value}'")
APPLICATION_DOCUMENT_STATES: Final[tuple[str, ...]] = tuple(
    state.value for state in DocumentState if state is not DocumentState.MISSING
)
APPOINTMENT_STATES: Final[tuple[str, ...]] = tuple(state.value for state in AppointmentState)


class MortgageApplication(Base):
    """A mortgage application shared by web chat, the advice desk and the branch."""

    __tablename__ = "mortgage_applications"
    __table_args__ = (
        CheckConstraint(one_of("stage", APPLICATION_STAGES), name="stage"),
        CheckConstraint("property_value > 0", name="property_value_positive"),
        CheckConstraint("loan_amount > 0", name="loan_amount_positive"),
        CheckConstraint("deposit_amount >= 0", name="deposit_amount_not_negative"),
        CheckConstraint("loan_to_value > 0 AND loan_to_value <= 1", name="loan_to_value_range"),
        CheckConstraint("term_years > 0", name="term_years_positive"),
        CheckConstraint("failed_verifications >= 0", name="failed_verifications_not_negative"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    reference: Mapped[str] = Column(String(16), nullable=False, unique=True)
    stage: Mapped[str] = Column(
        String(32), nullable=False, index=True, default=ApplicationStage.INTAKE.value
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
    #: Failed resume verifications in a row (wrong e-mail or code); reset by a success.
    failed_verifications: Mapped[int] = Column(
        Integer, nullable=False, default=0, server_default=text("0")
    )
    #: Resuming is refused until then (too many failures).
    resume_locked_until: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
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
    checklist: Mapped[list[ChecklistRequirement]] = relationship(
        "ChecklistRequirement",
        back_populates="application",
        order_by="(ChecklistRequirement.position, ChecklistRequirement.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    documents: Mapped[list[ApplicationDocument]] = relationship(
        "ApplicationDocument",
        back_populates="application",
        order_by="(ApplicationDocument.uploaded_at, ApplicationDocument.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    appointments: Mapped[list[BranchAppointment]] = relationship(
        "BranchAppointment",
        back_populates="application",
        order_by="(BranchAppointment.booked_at, BranchAppointment.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    chats: Mapped[list[ApplicationChat]] = relationship(
        "ApplicationChat",
        back_populates="application",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


def _application_id() -> Column:
    return Column(
        Integer, ForeignKey("mortgage_applications.id", ondelete="CASCADE"), nullable=False
    )


class ApplicationEvent(Base):
    """One entry in an application's append-only timeline, whichever touchpoint wrote it."""

    __tablename__ = "application_events"
    __table_args__ = (
        Index("ix_application_events_application_id_occurred_at", "application_id", "occurred_at"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    application_id: Mapped[int] = _application_id()
    occurred_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    touchpoint: Mapped[str] = Column(String(32), nullable=False)
    kind: Mapped[str] = Column(String(64), nullable=False, index=True)
    actor_kind: Mapped[str] = Column(
        String(16),
        nullable=False,
        default=ActorKind.SYSTEM.value,
        server_default=text(f"'{ActorKind.SYSTEM.value}'"),
    )
    actor: Mapped[str | None] = Column(String(255), nullable=True)
    detail: Mapped[dict[str, Any]] = Column(JSON, nullable=False, default=dict)
    #: The application's stage after this entry (NULL: written before the desk kept it, and
    #: not recoverable by replaying the timeline; see migration 0007).
    stage: Mapped[str | None] = Column(String(32), nullable=True)

    application: Mapped[MortgageApplication] = relationship(
        "MortgageApplication", back_populates="events"
    )


class ChecklistRequirement(Base):
    """A document this application needs: fixed from the designers' checklist when documents
    were first requested (a later edit of the file does not change an application under way),
    or added by an advisor."""

    __tablename__ = "application_checklist_items"
    __table_args__ = (UniqueConstraint("application_id", "key"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    application_id: Mapped[int] = _application_id()
    key: Mapped[str] = Column(String(64), nullable=False)
    title: Mapped[str] = Column(String(100), nullable=False)
    ask: Mapped[str] = Column(String(200), nullable=False)
    requested_by: Mapped[str] = Column(String(16), nullable=False)
    position: Mapped[int] = Column(Integer, nullable=False)
    requested_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)

    application: Mapped[MortgageApplication] = relationship(
        "MortgageApplication", back_populates="checklist"
    )


class ApplicationDocument(Base):
    """One uploaded file for a checklist item: where the storage keeps it, its fingerprint and
    detected type, and the review."""

    __tablename__ = "application_documents"
    __table_args__ = (
        CheckConstraint(one_of("state", APPLICATION_DOCUMENT_STATES), name="state"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        Index("ix_application_documents_application_id_item_key", "application_id", "item_key"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    application_id: Mapped[int] = _application_id()
    item_key: Mapped[str] = Column(String(64), nullable=False)
    file_name: Mapped[str] = Column(String(120), nullable=False)
    content_type: Mapped[str] = Column(String(64), nullable=False)
    size_bytes: Mapped[int] = Column(Integer, nullable=False)
    sha256: Mapped[str] = Column(String(64), nullable=False)
    storage_key: Mapped[str] = Column(String(255), nullable=False, unique=True)
    state: Mapped[str] = Column(String(16), nullable=False, default=DocumentState.UPLOADED.value)
    uploaded_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    uploaded_via: Mapped[str] = Column(String(32), nullable=False)
    #: The chat it came from (empty when a desk user attached it).
    sender_id: Mapped[str | None] = Column(String(255), nullable=True)
    reviewed_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = Column(String(100), nullable=True)
    rejection_reason: Mapped[str | None] = Column(String(500), nullable=True)

    application: Mapped[MortgageApplication] = relationship(
        "MortgageApplication", back_populates="documents"
    )


class BranchAppointment(Base):
    """A signing appointment: one desk of one branch for one slot.

    Only a `booked` appointment holds its slot: two partial unique indexes make double
    booking impossible, whatever the race (one desk per slot, one booking per application).
    """

    __tablename__ = "branch_appointments"
    __table_args__ = (
        CheckConstraint(one_of("state", APPOINTMENT_STATES), name="state"),
        CheckConstraint("desk >= 1", name="desk_positive"),
        Index(
            "uq_branch_appointments_booked_slot",
            "branch",
            "starts_at",
            "desk",
            unique=True,
            sqlite_where=_BOOKED,
            postgresql_where=_BOOKED,
        ),
        Index(
            "uq_branch_appointments_booked_application",
            "application_id",
            unique=True,
            sqlite_where=_BOOKED,
            postgresql_where=_BOOKED,
        ),
        Index("ix_branch_appointments_branch_starts_at", "branch", "starts_at"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    application_id: Mapped[int] = _application_id()
    branch: Mapped[str] = Column(String(64), nullable=False)
    desk: Mapped[int] = Column(Integer, nullable=False)
    starts_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    state: Mapped[str] = Column(String(16), nullable=False, default=AppointmentState.BOOKED.value)
    booked_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    booked_by: Mapped[str | None] = Column(String(100), nullable=True)
    identity_checked_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    identity_checked_by: Mapped[str | None] = Column(String(100), nullable=True)
    identity_document: Mapped[str | None] = Column(String(32), nullable=True)
    signed_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    signed_by: Mapped[str | None] = Column(String(100), nullable=True)
    closed_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)

    application: Mapped[MortgageApplication] = relationship(
        "MortgageApplication", back_populates="appointments"
    )


class ApplicationChat(Base):
    """A chat that may act on the application: the one that made it, and each chat in which
    the customer passed the resume verification. Uploads are accepted only from these."""

    __tablename__ = "application_chats"

    application_id: Mapped[int] = Column(
        Integer, ForeignKey("mortgage_applications.id", ondelete="CASCADE"), primary_key=True
    )
    sender_id: Mapped[str] = Column(String(255), primary_key=True, index=True)
    linked_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    #: "origin" or "verified".
    how: Mapped[str] = Column(String(16), nullable=False)

    application: Mapped[MortgageApplication] = relationship(
        "MortgageApplication", back_populates="chats"
    )


class ResumeCode(Base):
    """A one-time code sent for resuming an application; only its SHA-256 is kept."""

    __tablename__ = "resume_codes"
    __table_args__ = (
        Index("ix_resume_codes_application_id_created_at", "application_id", "created_at"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    application_id: Mapped[int] = _application_id()
    sender_id: Mapped[str] = Column(String(255), nullable=False)
    code_digest: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)


class ResumeDecoy(Base):
    """The failed resume attempts on a reference no application has.

    Counted and locked exactly like a real application's (`MortgageApplication`'s
    `failed_verifications`, `resume_locked_until`), so that the answers to guesses never tell
    a reference that exists from one that does not.
    """

    __tablename__ = "resume_decoys"
    __table_args__ = (
        CheckConstraint("failed_verifications >= 0", name="failed_verifications_not_negative"),
    )

    reference: Mapped[str] = Column(String(16), primary_key=True)
    failed_verifications: Mapped[int] = Column(
        Integer, nullable=False, default=0, server_default=text("0")
    )
    resume_locked_until: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
