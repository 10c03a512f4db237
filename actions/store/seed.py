"""Demo orders for trying the assistant: one per status, each with a believable story.

Dates are relative to the moment of seeding so the demo never looks stale. Seeding is
idempotent: orders that already exist are left exactly as they are (to refresh the dates,
delete the database and seed again).

Run ``python -m actions.store.seed`` to migrate the database and seed it.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Final

from sqlalchemy import select

from actions.settings import get_settings
from actions.store.database import Database, utcnow
from actions.store.models import Order, OrderItem, OrderStatus, TrackingEvent


@dataclass(frozen=True)
class _DemoItem:
    sku: str
    name: str
    quantity: int = 1


@dataclass(frozen=True)
class _DemoEvent:
    ago: timedelta
    location: str
    description: str
    status: OrderStatus


@dataclass(frozen=True)
class _DemoOrder:
    number: str
    status: OrderStatus
    customer_name: str
    customer_email: str
    placed_ago: timedelta
    items: tuple[_DemoItem, ...]
    events: tuple[_DemoEvent, ...]
    carrier: str | None = None
    tracking_number: str | None = None
    delivery_in_days: int | None = None  # negative: the estimate is in the past


def _days(days: float, hours: float = 0) -> timedelta:
    return timedelta(days=days, hours=hours)


_HUB = _DemoItem("NHH-200", "Nimbus Home Hub (router and smart home hub)")
_WAREHOUSE = "Nimbus fulfilment centre, Milton Keynes"
_STORE = "Nimbus online store"

_DEMO_ORDERS: Final[tuple[_DemoOrder, ...]] = (
    _DemoOrder(
        number="ORD-100001",
        status=OrderStatus.PROCESSING,
        customer_name="Amelia Hughes",
        customer_email="amelia.hughes@example.com",
        placed_ago=_days(0, 5),
        delivery_in_days=4,
        items=(_HUB, _DemoItem("NCB-ETH2", "Ethernet cable, 2 m", 2)),
        events=(
            _DemoEvent(
                _days(0, 5), _STORE, "Order placed and payment confirmed", OrderStatus.PROCESSING
            ),
            _DemoEvent(_days(0, 2), _WAREHOUSE, "Being picked and packed", OrderStatus.PROCESSING),
        ),
    ),
    _DemoOrder(
        number="ORD-100002",
        status=OrderStatus.SHIPPED,
        customer_name="Oliver Bennett",
        customer_email="oliver.bennett@example.com",
        placed_ago=_days(2, 6),
        carrier="DHL",
        tracking_number="JD014600006281937452",
        delivery_in_days=2,
        items=(_DemoItem("NMS-100", "Nimbus Mesh Satellite"),),
        events=(
            _DemoEvent(
                _days(2, 6), _STORE, "Order placed and payment confirmed", OrderStatus.PROCESSING
            ),
            _DemoEvent(_days(1, 20), _WAREHOUSE, "Dispatched with DHL", OrderStatus.SHIPPED),
            _DemoEvent(_days(1, 2), "DHL hub, East Midlands", "In transit", OrderStatus.SHIPPED),
        ),
    ),
    _DemoOrder(
        number="ORD-100003",
        status=OrderStatus.OUT_FOR_DELIVERY,
        customer_name="Priya Shah",
        customer_email="priya.shah@example.com",
        placed_ago=_days(3, 4),
        carrier="Royal Mail",
        tracking_number="RM482915736GB",
        delivery_in_days=0,
        items=(_DemoItem("NSP-4PK", "Nimbus Smart Plug, 4-pack"),),
        events=(
            _DemoEvent(
                _days(3, 4), _STORE, "Order placed and payment confirmed", OrderStatus.PROCESSING
            ),
            _DemoEvent(_days(2, 8), _WAREHOUSE, "Dispatched with Royal Mail", OrderStatus.SHIPPED),
            _DemoEvent(
                _days(0, 9),
                "Leeds Delivery Office",
                "Arrived at delivery office",
                OrderStatus.SHIPPED,
            ),
            _DemoEvent(
                _days(0, 3),
                "Leeds Delivery Office",
                "Out for delivery",
                OrderStatus.OUT_FOR_DELIVERY,
            ),
        ),
    ),
    _DemoOrder(
        number="ORD-100004",
        status=OrderStatus.DELIVERED,
        customer_name="Thomas Wright",
        customer_email="thomas.wright@example.com",
        placed_ago=_days(7, 3),
        carrier="UPS",
        tracking_number="1Z9A4E720398214465",
        delivery_in_days=-3,
        items=(_HUB,),
        events=(
            _DemoEvent(
                _days(7, 3), _STORE, "Order placed and payment confirmed", OrderStatus.PROCESSING
            ),
            _DemoEvent(_days(6, 10), _WAREHOUSE, "Dispatched with UPS", OrderStatus.SHIPPED),
            _DemoEvent(_days(4, 1), "UPS, Bristol", "Arrived at local depot", OrderStatus.SHIPPED),
            _DemoEvent(
                _days(3, 7), "UPS, Bristol", "Out for delivery", OrderStatus.OUT_FOR_DELIVERY
            ),
            _DemoEvent(
                _days(3, 2), "Bristol", "Delivered, signed for by T. Wright", OrderStatus.DELIVERED
            ),
        ),
    ),
    _DemoOrder(
        number="ORD-100005",
        status=OrderStatus.DELAYED,
        customer_name="Sophie Clarke",
        customer_email="sophie.clarke@example.com",
        placed_ago=_days(8, 2),
        carrier="DHL",
        tracking_number="JD014600007719302845",
        delivery_in_days=-3,
        items=(_HUB, _DemoItem("NMS-100", "Nimbus Mesh Satellite", 2)),
        events=(
            _DemoEvent(
                _days(8, 2), _STORE, "Order placed and payment confirmed", OrderStatus.PROCESSING
            ),
            _DemoEvent(_days(7, 9), _WAREHOUSE, "Dispatched with DHL", OrderStatus.SHIPPED),
            _DemoEvent(_days(5, 4), "DHL depot, Coventry", "Arrived at depot", OrderStatus.SHIPPED),
            _DemoEvent(
                _days(2, 2),
                "DHL depot, Coventry",
                "Estimated delivery date missed: parcel not loaded for delivery",
                OrderStatus.DELAYED,
            ),
            _DemoEvent(
                _days(1, 6),
                "DHL depot, Coventry",
                "Held at depot awaiting onward transport; new delivery date to be confirmed",
                OrderStatus.DELAYED,
            ),
        ),
    ),
    _DemoOrder(
        number="ORD-100006",
        status=OrderStatus.LOST,
        customer_name="James Patel",
        customer_email="james.patel@example.com",
        placed_ago=_days(16, 5),
        carrier="Royal Mail",
        tracking_number="RM730184562GB",
        delivery_in_days=-12,
        items=(_DemoItem("NTH-300", "Nimbus Smart Thermostat"),),
        events=(
            _DemoEvent(
                _days(16, 5), _STORE, "Order placed and payment confirmed", OrderStatus.PROCESSING
            ),
            _DemoEvent(_days(15, 8), _WAREHOUSE, "Dispatched with Royal Mail", OrderStatus.SHIPPED),
            # The last scan: nothing for ten days since.
            _DemoEvent(
                _days(10, 6),
                "Royal Mail Warrington Mail Centre",
                "Arrived at mail centre",
                OrderStatus.SHIPPED,
            ),
        ),
    ),
    _DemoOrder(
        number="ORD-100007",
        status=OrderStatus.DELIVERED,
        customer_name="Grace Okafor",
        customer_email="grace.okafor@example.com",
        placed_ago=_days(12, 1),
        carrier="Royal Mail",
        tracking_number="RM615290847GB",
        delivery_in_days=-9,
        items=(
            _DemoItem("NSB-COL", "Nimbus Smart Bulb, colour", 3),
            _DemoItem("NMO-200", "Nimbus Motion Sensor", 2),
        ),
        events=(
            _DemoEvent(
                _days(12, 1), _STORE, "Order placed and payment confirmed", OrderStatus.PROCESSING
            ),
            _DemoEvent(_days(11, 4), _WAREHOUSE, "Dispatched with Royal Mail", OrderStatus.SHIPPED),
            _DemoEvent(
                _days(9, 5), "Glasgow", "Delivered to the front porch", OrderStatus.DELIVERED
            ),
        ),
    ),
    _DemoOrder(
        number="ORD-100008",
        status=OrderStatus.SHIPPED,
        customer_name="Harry Evans",
        customer_email="harry.evans@example.com",
        placed_ago=_days(1, 7),
        carrier="UPS",
        tracking_number="1Z9A4E720377410290",
        delivery_in_days=1,
        items=(_HUB, _DemoItem("NMS-100", "Nimbus Mesh Satellite")),
        events=(
            _DemoEvent(
                _days(1, 7), _STORE, "Order placed and payment confirmed", OrderStatus.PROCESSING
            ),
            _DemoEvent(_days(0, 20), _WAREHOUSE, "Dispatched with UPS", OrderStatus.SHIPPED),
        ),
    ),
)

#: The demo order numbers and their statuses, for the README, tests and demos.
DEMO_ORDERS: Final[Mapping[str, OrderStatus]] = MappingProxyType(
    {demo.number: demo.status for demo in _DEMO_ORDERS}
)


def seed_demo_data(db: Database) -> None:
    """Add the demo orders that are not in the database yet; existing ones are untouched."""
    now = utcnow()
    with db.session() as session:
        existing = set(
            session.scalars(select(Order.order_number).where(Order.order_number.in_(DEMO_ORDERS)))
        )
        session.add_all(
            _build_order(demo, now) for demo in _DEMO_ORDERS if demo.number not in existing
        )


def _build_order(demo: _DemoOrder, now: datetime) -> Order:
    events = [
        TrackingEvent(
            occurred_at=now - event.ago,
            location=event.location,
            description=event.description,
            status=event.status.value,
        )
        for event in demo.events
    ]
    return Order(
        order_number=demo.number,
        customer_name=demo.customer_name,
        customer_email=demo.customer_email,
        status=demo.status.value,
        carrier=demo.carrier,
        tracking_number=demo.tracking_number,
        estimated_delivery=_estimated_delivery(now, demo.delivery_in_days),
        placed_at=now - demo.placed_ago,
        updated_at=max((event.occurred_at for event in events), default=now - demo.placed_ago),
        items=[
            OrderItem(sku=item.sku, name=item.name, quantity=item.quantity) for item in demo.items
        ],
        tracking_events=events,
    )


def _estimated_delivery(now: datetime, in_days: int | None) -> date | None:
    return None if in_days is None else now.date() + timedelta(days=in_days)


def prepare_demo_store(url: str) -> None:
    """Create or upgrade the database at `url` and add the demo orders (a fresh copy for a test,
    a benchmark or `make db`)."""
    db = Database(url)
    try:
        db.migrate()
        seed_demo_data(db)
    finally:
        db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Migrate the database, seed the demo orders and list them."""
    parser = argparse.ArgumentParser(
        prog="python -m actions.store.seed",
        description="Create or upgrade the database and add the demo orders.",
    )
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: APP_DATABASE_URL from the settings)",
    )
    arguments = parser.parse_args(argv)
    prepare_demo_store(arguments.database_url or get_settings().database_url)
    print("Demo orders:")
    for number, status in DEMO_ORDERS.items():
        print(f"  {number}  {status.value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
