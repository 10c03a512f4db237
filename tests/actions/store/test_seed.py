"""The demo orders: every status, believable stories, idempotent seeding."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from actions.settings import PROJECT_ROOT
from actions.store.database import Database, utcnow
from actions.store.models import Order, OrderItem, OrderStatus, TrackingEvent
from actions.store.seed import DEMO_ORDERS, main, prepare_demo_store, seed_demo_data


def _dump(db: Database) -> list[tuple[Any, ...]]:
    """Every seeded row, with ids and timestamps, so any change at all shows up."""
    with db.session() as session:
        orders = session.scalars(
            select(Order)
            .order_by(Order.id)
            .options(selectinload(Order.items), selectinload(Order.tracking_events))
        ).all()
        return [
            (
                order.id,
                order.order_number,
                order.status,
                order.placed_at,
                order.updated_at,
                order.estimated_delivery,
                [(item.id, item.sku, item.quantity) for item in order.items],
                [
                    (event.id, event.occurred_at, event.description)
                    for event in order.tracking_events
                ],
            )
            for order in orders
        ]


def _order(db: Database, number: str) -> Order:
    with db.session() as session:
        order: Order = session.scalars(
            select(Order)
            .where(Order.order_number == number)
            .options(selectinload(Order.items), selectinload(Order.tracking_events))
        ).one()
        return order


def test_the_fixed_demo_numbers_have_their_statuses() -> None:
    assert {number: DEMO_ORDERS[number] for number in sorted(DEMO_ORDERS)[:6]} == {
        "ORD-100001": OrderStatus.PROCESSING,
        "ORD-100002": OrderStatus.SHIPPED,
        "ORD-100003": OrderStatus.OUT_FOR_DELIVERY,
        "ORD-100004": OrderStatus.DELIVERED,
        "ORD-100005": OrderStatus.DELAYED,
        "ORD-100006": OrderStatus.LOST,
    }


def test_seed_stores_demo_orders_with_every_status(seeded_database: Database) -> None:
    with seeded_database.session() as session:
        stored = dict(session.execute(select(Order.order_number, Order.status)).all())

    assert stored == {number: status.value for number, status in DEMO_ORDERS.items()}
    assert set(stored.values()) == {status.value for status in OrderStatus}


def test_seeding_twice_changes_nothing(seeded_database: Database) -> None:
    before = _dump(seeded_database)

    seed_demo_data(seeded_database)

    assert _dump(seeded_database) == before
    assert len(before) == len(DEMO_ORDERS)


def test_seeding_restores_a_missing_demo_order_and_leaves_the_rest(
    seeded_database: Database,
) -> None:
    before = {row[1]: row for row in _dump(seeded_database)}
    with seeded_database.session() as session:
        session.execute(delete(Order).where(Order.order_number == "ORD-100003"))

    seed_demo_data(seeded_database)

    after = {row[1]: row for row in _dump(seeded_database)}
    assert set(after) == set(before)
    assert {n: r for n, r in after.items() if n != "ORD-100003"} == {
        n: r for n, r in before.items() if n != "ORD-100003"
    }


def test_every_demo_order_tells_a_consistent_story(seeded_database: Database) -> None:
    now = utcnow()
    for number, status in DEMO_ORDERS.items():
        order = _order(seeded_database, number)
        events = order.tracking_events
        assert order.items, number
        assert all(isinstance(item, OrderItem) and item.quantity > 0 for item in order.items)
        assert events, number
        assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
        assert now - timedelta(days=30) < order.placed_at <= events[0].occurred_at <= now
        assert all(event.location for event in events), number
        if status is not OrderStatus.PROCESSING:
            assert order.carrier in {"DHL", "UPS", "Royal Mail"}, number
            assert order.tracking_number, number


def test_delayed_order_missed_its_date_and_is_held_at_depot(seeded_database: Database) -> None:
    order = _order(seeded_database, "ORD-100005")

    assert order.estimated_delivery is not None
    assert order.estimated_delivery < utcnow().date()
    assert any("held at depot" in e.description.lower() for e in order.tracking_events)
    assert order.tracking_events[-1].status == OrderStatus.DELAYED.value


def test_lost_order_has_had_no_scan_for_ten_days(seeded_database: Database) -> None:
    order = _order(seeded_database, "ORD-100006")
    last_scan: TrackingEvent = order.tracking_events[-1]

    assert utcnow() - last_scan.occurred_at >= timedelta(days=10)
    assert utcnow() - last_scan.occurred_at < timedelta(days=11)


def test_delivered_order_ends_with_a_delivery_event(seeded_database: Database) -> None:
    order = _order(seeded_database, "ORD-100004")

    assert order.tracking_events[-1].status == OrderStatus.DELIVERED.value


def test_dates_are_relative_to_the_seed_time(seeded_database: Database) -> None:
    order = _order(seeded_database, "ORD-100003")

    assert order.estimated_delivery == utcnow().date() or (
        # seeded just before midnight UTC
        order.estimated_delivery == (utcnow() - timedelta(minutes=1)).date()
    )


def test_cli_migrates_seeds_and_lists_the_orders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli' / 'demo.db'}"

    assert main(["--database-url", url]) == 0
    assert main(["--database-url", url]) == 0  # idempotent from the command line too

    output = capsys.readouterr().out
    for number, status in DEMO_ORDERS.items():
        assert f"{number}  {status.value}" in output
    db = Database(url)
    try:
        assert len(_dump(db)) == len(DEMO_ORDERS)
    finally:
        db.dispose()


def test_module_runs_with_python_dash_m_from_any_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'module.db'}"
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}

    completed = subprocess.run(
        [sys.executable, "-m", "actions.store.seed", "--database-url", url],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert "ORD-100006  lost" in completed.stdout


def test_a_fresh_demo_store_is_migrated_and_seeded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh/app.db"

    prepare_demo_store(url)
    db = Database(url)
    try:
        first = _dump(db)
        db.dispose()
        prepare_demo_store(url)  # idempotent
        assert _dump(db) == first
        assert {row[1] for row in first} == set(DEMO_ORDERS)
    finally:
        db.dispose()
