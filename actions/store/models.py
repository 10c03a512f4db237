"""Tables of the action server's database.

Every timestamp is a `UTCDateTime`. Closed sets of values (order statuses) live here as enums
and are enforced by CHECK constraints; the migrations in `migrations/versions` must produce
exactly this schema (a test compares them). The mortgage applications moved to the desk.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, relationship

from actions.store.database import UTCDateTime, utcnow
from sqlsupport.models import new_base, one_of

Base: Any = new_base()


class OrderStatus(str, enum.Enum):
    """Where an order is, as the customer would be told."""

    PROCESSING = "processing"
    SHIPPED = "shipped"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    LOST = "lost"


class OutboxStatus(str, enum.Enum):
    """Delivery state of a handoff waiting in the outbox."""

    PENDING = "pending"
    DELIVERED = "delivered"
    REJECTED = "rejected"


ORDER_STATUSES: Final[tuple[str, ...]] = tuple(status.value for status in OrderStatus)


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
