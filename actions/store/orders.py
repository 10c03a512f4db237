"""Order numbers as customers type them, and read-only order look-ups.

A canonical order number is "ORD-" followed by exactly six digits, e.g. ``ORD-104233``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from actions.store.database import utcnow
from actions.store.models import Order

ORDER_NUMBER_PREFIX: Final = "ORD-"
ORDER_NUMBER_DIGITS: Final = 6
CANONICAL_ORDER_NUMBER: Final = re.compile(r"ORD-[0-9]{6}", re.ASCII)

# How long a token must be to count as an attempt at an order number, by how it was written.
# Short bare numbers are more likely quantities or years ("2 routers", "since 2023"), and
# "order 2 days ago" is not an order number either; anything after "ORD" is an attempt.
_MIN_ATTEMPT_LENGTH: Final = {"prefixed": 0, "keyword": 3, "hashed": 3, "bare": 5}
# The malformed candidate is echoed back to the customer, so keep it short.
_MAX_ECHO_LENGTH: Final = 24

# Every branch is linear: no nested quantifiers, and separators are bounded. The input is
# NFKC-normalised first, so full-width characters and odd dashes become plain ASCII ones.
_CANDIDATE: Final = re.compile(
    r"""
      (?P<prefixed> \bORD(?![A-Z]) [\s\-_#:./]{0,3} (?P<prefixed_token>[0-9][A-Z0-9]*)? )
    | (?P<keyword> \bORDER (?:\s{1,3}(?:NUMBER|NO\.?|NUM))? (?:\s{1,3}IS)? \s{0,3} [:#]? \s{0,3}
                   (?P<keyword_token>[0-9][A-Z0-9]*) )
    | (?P<hashed> \# \s? (?P<hashed_token>[0-9][A-Z0-9]*) )
    | (?P<bare> (?<![A-Z0-9]) (?P<bare_token>[0-9]+) (?![A-Z0-9]) )
    """,
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)


@dataclass(frozen=True)
class OrderNumberMatch:
    """What `parse_order_number` found in a customer's message.

    Attributes:
        number: The canonical order number ("ORD-104233"), if a valid one was found.
        malformed: What the customer typed that looks like an order number but is not one
            (e.g. "ORD-12"), if no valid number was found.
    """

    number: str | None = None
    malformed: str | None = None


def parse_order_number(text: str) -> OrderNumberMatch:
    """Find an order number anywhere in free text.

    "where is my order ord 104233?", "#104233", "ORD104233", "order 104233" and a bare
    "104233" all give ``ORD-104233``. The first valid number wins; failing that, the first
    attempt that looks like an order number is reported as `malformed`.
    """
    normalised = unicodedata.normalize("NFKC", text or "")
    first_malformed: str | None = None
    for match in _CANDIDATE.finditer(normalised):
        number, malformed = _classify(match)
        if number is not None:
            return OrderNumberMatch(number=number)
        if first_malformed is None and malformed is not None:
            first_malformed = malformed
    return OrderNumberMatch(malformed=first_malformed)


def _classify(match: re.Match[str]) -> tuple[str | None, str | None]:
    """Return (canonical number, None), (None, malformed candidate) or (None, None)."""
    kind = match.lastgroup or "bare"
    token = match.group(f"{kind}_token") or ""
    if token.isdigit() and len(token) == ORDER_NUMBER_DIGITS:
        return ORDER_NUMBER_PREFIX + token, None
    if len(token) < _MIN_ATTEMPT_LENGTH[kind]:
        return None, None
    return None, _shorten(match.group(0).strip())


def _shorten(candidate: str) -> str:
    if len(candidate) <= _MAX_ECHO_LENGTH:
        return candidate
    return candidate[: _MAX_ECHO_LENGTH - 1] + "…"


def canonical_order_number(value: str) -> str | None:
    """Return `value` as a canonical order number, or None if it holds no valid one."""
    if CANONICAL_ORDER_NUMBER.fullmatch(value):
        return value
    return parse_order_number(value).number


@dataclass(frozen=True)
class OrderItemSnapshot:
    """One line of an order, detached from the database."""

    sku: str
    name: str
    quantity: int

    def to_evidence(self) -> dict[str, Any]:
        """Return the line as JSON-serialisable data."""
        return {"sku": self.sku, "name": self.name, "quantity": self.quantity}


@dataclass(frozen=True)
class TrackingEventSnapshot:
    """One tracking event, detached from the database."""

    occurred_at: datetime
    location: str | None
    description: str
    status: str

    def to_evidence(self) -> dict[str, Any]:
        """Return the event as JSON-serialisable data."""
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "location": self.location,
            "description": self.description,
            "status": self.status,
        }


@dataclass(frozen=True)
class OrderSnapshot:
    """An order as it was when looked up; safe to use after the session has closed.

    The customer's name and e-mail are kept here for the action code but left out of
    `to_evidence`: whoever types an order number is not yet known to be its owner.
    """

    order_number: str
    status: str
    customer_name: str
    customer_email: str
    carrier: str | None
    tracking_number: str | None
    estimated_delivery: date | None
    placed_at: datetime
    updated_at: datetime
    items: tuple[OrderItemSnapshot, ...]
    tracking_events: tuple[TrackingEventSnapshot, ...]
    looked_up_at: datetime

    @property
    def latest_event(self) -> TrackingEventSnapshot | None:
        """The most recent tracking event, if any."""
        return self.tracking_events[-1] if self.tracking_events else None

    @property
    def estimated_delivery_missed(self) -> bool:
        """Whether the estimated delivery date has passed without delivery."""
        if self.estimated_delivery is None or self.status == "delivered":
            return False
        return self.estimated_delivery < self.looked_up_at.date()

    def to_evidence(self) -> dict[str, Any]:
        """Return the order as JSON-serialisable data for slots and the handoff context."""
        return {
            "order_number": self.order_number,
            "status": self.status,
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "estimated_delivery": _iso_or_none(self.estimated_delivery),
            "estimated_delivery_missed": self.estimated_delivery_missed,
            "placed_at": self.placed_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "items": [item.to_evidence() for item in self.items],
            "tracking_events": [event.to_evidence() for event in self.tracking_events],
            "looked_up_at": self.looked_up_at.isoformat(),
        }


def find_order(session: Session, order_number: str) -> OrderSnapshot | None:
    """Look an order up by its number (canonical or as typed); None if there is none.

    Two queries: the order joined with its items, then its tracking events.
    """
    canonical = canonical_order_number(order_number)
    if canonical is None:
        return None
    statement = (
        select(Order)
        .where(Order.order_number == canonical)
        .options(joinedload(Order.items), selectinload(Order.tracking_events))
    )
    order = session.execute(statement).unique().scalar_one_or_none()
    return None if order is None else _snapshot(order)


def _snapshot(order: Order) -> OrderSnapshot:
    return OrderSnapshot(
        order_number=order.order_number,
        status=order.status,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        estimated_delivery=order.estimated_delivery,
        placed_at=order.placed_at,
        updated_at=order.updated_at,
        items=tuple(
            OrderItemSnapshot(sku=item.sku, name=item.name, quantity=item.quantity)
            for item in order.items
        ),
        tracking_events=tuple(
            TrackingEventSnapshot(
                occurred_at=event.occurred_at,
                location=event.location,
                description=event.description,
                status=event.status,
            )
            for event in order.tracking_events
        ),
        looked_up_at=utcnow(),
    )


def _iso_or_none(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
