"""Tables of the action server's database.

Every timestamp is a `UTCDateTime`, every amount of money `Numeric(12, 2)`. Closed sets of
values (order and application statuses) live here as enums and are enforced by CHECK
constraints; the migration in `migrations/versions` must produce exactly this schema (a test
compares them).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, relationship

from actions.store.database import UTCDateTime, utcnow
from sqlsupport.models import new_base, one_of

Base: Any = new_base()

Money = Numeric(12, 2)


class OrderStatus(str, enum.Enum):
    """Where an order is, as the customer would be told."""

    PROCESSING = "processing"
    SHIPPED = "shipped"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    LOST = "lost"


class ApplicationStatus(str, enum.Enum):
    """Where a mortgage application is in its life."""

    INTAKE_COMPLETE = "intake_complete"
    ADVICE_REQUESTED = "advice_requested"
    DOCUMENTS_PENDING = "documents_pending"
    AWAITING_SIGNATURE = "awaiting_signature"
    SIGNED = "signed"
    WITHDRAWN = "withdrawn"


class Touchpoint(str, enum.Enum):
    """Where something happened to an application. Extend freely: no CHECK constraint."""

    WEB_CHAT = "web_chat"
    DESK = "desk"
    BRANCH = "branch"
    PHONE = "phone"
    EMAIL = "email"
    SYSTEM = "system"


class ApplicationEventKind(str, enum.Enum):
    """What happened to an application. Extend freely: no CHECK constraint."""

    CREATED = "created"
    ADVICE_REQUESTED = "advice_requested"
    HANDED_OFF = "handed_off"
    DOCUMENTS_REQUESTED = "documents_requested"
    DOCUMENT_RECEIVED = "document_received"
    SIGNATURE_REQUESTED = "signature_requested"
    SIGNED = "signed"
    WITHDRAWN = "withdrawn"
    NOTE = "note"


class OutboxStatus(str, enum.Enum):
    """Delivery state of a handoff waiting in the outbox."""

    PENDING = "pending"
    DELIVERED = "delivered"
    REJECTED = "rejected"


ORDER_STATUSES: Final[tuple[str, ...]] = tuple(status.value for status in OrderStatus)
APPLICATION_STATUSES: Final[tuple[str, ...]] = tuple(s.value for s in ApplicationStatus)


class Order(Base):
    """A customer's order, as the order-status journey reports it."""

    __tablename__ = "orders"
    __table_args__ = (CheckConstraint(one_of("status", ORDER_STATUSES), name="status"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    order_number: Mapped[str] = Column(String(16), nullable=False, unique=True)
    customer_name: Mapped[str] = Column(String(200), nullable=False)
    customer_email: Mapped[str] = Column(String(320), nullable=False, index=True)
    status: Mapped[str] = Column(String(32), nullable=False, index=True)
    carrier: Mapped[str | None] = Column(String(64), nullable=True)
    tracking_number: Mapped[str | None] = Column(String(64), nullable=True)
    estimated_delivery: Mapped[date | None] = Column(Date, nullable=True)
    placed_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = Column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )

    items: Mapped[list[OrderItem]] = relationship(
        "OrderItem",
        back_populates="order",
        order_by="OrderItem.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    tracking_events: Mapped[list[TrackingEvent]] = relationship(
        "TrackingEvent",
        back_populates="order",
        order_by="(TrackingEvent.occurred_at, TrackingEvent.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class OrderItem(Base):
    """One line of an order."""

    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    order_id: Mapped[int] = Column(
        Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sku: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[str] = Column(String(200), nullable=False)
    quantity: Mapped[int] = Column(Integer, nullable=False)

    order: Mapped[Order] = relationship("Order", back_populates="items")


class TrackingEvent(Base):
    """One carrier scan or store update; `status` is the order's status at that moment."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        CheckConstraint(one_of("status", ORDER_STATUSES), name="status"),
        Index("ix_tracking_events_order_id_occurred_at", "order_id", "occurred_at"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    order_id: Mapped[int] = Column(
        Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
    )
    occurred_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    location: Mapped[str | None] = Column(String(200), nullable=True)
    description: Mapped[str] = Column(String(500), nullable=False)
    status: Mapped[str] = Column(String(32), nullable=False)

    order: Mapped[Order] = relationship("Order", back_populates="tracking_events")


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
    """One entry in an application's history, whichever touchpoint wrote it."""

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


class HandoffOutboxEntry(Base):
    """A handoff to the human desk, kept until the desk has accepted (or refused) it."""

    __tablename__ = "handoff_outbox"

    handoff_id: Mapped[str] = Column(String(36), primary_key=True)
    sender_id: Mapped[str] = Column(String(255), nullable=False, index=True)
    payload: Mapped[str] = Column(Text, nullable=False)
    status: Mapped[str] = Column(
        String(16),
        nullable=False,
        default=OutboxStatus.PENDING.value,
        server_default=text("'pending'"),
    )
    attempts: Mapped[int] = Column(Integer, nullable=False, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = Column(Text, nullable=True)
    next_attempt_at: Mapped[datetime] = Column(
        UTCDateTime, nullable=False, index=True, default=utcnow
    )
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    delivered_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
