"""Order numbers in free text, and order look-ups."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from actions.store.database import Database, utcnow
from actions.store.models import Order, OrderItem, TrackingEvent
from actions.store.orders import (
    OrderNumberMatch,
    OrderSnapshot,
    canonical_order_number,
    find_order,
    parse_order_number,
)
from actions.store.seed import DEMO_ORDERS


def fullwidth(text: str) -> str:
    """Return ASCII text in full-width forms, as some phone keyboards type it."""
    return "".join(chr(ord(character) + 0xFEE0) for character in text)


@pytest.mark.parametrize(
    "text",
    [
        "ORD-104233",
        "ord-104233",
        "where is my order ord 104233?",
        "#104233",
        "# 104233",
        "ORD104233",
        "order 104233",
        "Order number: 104233",
        "my order no. 104233 hasn't come",
        "order #104233",
        "104233",
        "  104233  ",
        "ORD 104233.",
        "ord.104233",
        "ORD_104233",
        "ORD:104233",
        "(ORD-104233)",
        "It's ORD-104233, thanks!",
        fullwidth("ORD-104233"),
        "ORD\u2013104233",  # en dash
        "order ORD-12 sorry I mean ORD-104233",
        "<p>ORD-104233</p>",
        "'; SELECT * FROM orders WHERE order_number='ORD-104233'; --",
        "🙂 ORD-104233 🙏",
    ],
)
def test_finds_an_order_number_anywhere_in_the_text(text: str) -> None:
    assert parse_order_number(text) == OrderNumberMatch(number="ORD-104233", malformed=None)


@pytest.mark.parametrize(
    ("text", "malformed"),
    [
        ("ORD-12", "ORD-12"),
        ("ORD-12A45", "ORD-12A45"),
        ("1042339999", "1042339999"),
        ("ORD-", "ORD-"),
        ("ORD", "ORD"),
        ("my order is ORD-1042", "ORD-1042"),
        ("ORD-1042331", "ORD-1042331"),
        ("ORD-104233X", "ORD-104233X"),
        ("order 12345", "order 12345"),
        ("order number 1234", "order number 1234"),
        ("#12345", "#12345"),
        ("10423", "10423"),
        ("ORD-" + "9" * 500, "ORD-" + "9" * 19 + "…"),
    ],
)
def test_reports_what_looks_like_a_malformed_attempt(text: str, malformed: str) -> None:
    assert parse_order_number(text) == OrderNumberMatch(number=None, malformed=malformed)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "where is my order?",
        "I ordered 2 routers last week",
        "I placed my order 3 days ago",
        "since 2023",
        "ordinary question",
        "Lord of the rings",
        "<script>alert('x')</script>",
        "'; DROP TABLE orders; --",
        "🙂🙂🙂",
        "NaN inf 1e3",
    ],
)
def test_text_without_an_attempt_gives_nothing(text: str) -> None:
    assert parse_order_number(text) == OrderNumberMatch(number=None, malformed=None)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 10_000 + "a",
        "ORD" * 3_334,
        "ORD-" * 2_500,
        "order " * 1_667,
        "order" + " " * 9_995 + "x",
        "#" * 10_000,
        "a1" * 5_000,
        "<div>" * 2_000,
        "SELECT * FROM orders WHERE 1=1 " * 330,
    ],
)
def test_parsing_huge_hostile_input_is_fast(text: str) -> None:
    started = time.perf_counter()

    parse_order_number(text)

    # Catastrophic backtracking would take minutes; linear parsing takes milliseconds.
    assert time.perf_counter() - started < 0.5


def test_malformed_candidates_are_short_enough_to_echo() -> None:
    result = parse_order_number("ORD-" + "1A" * 5_000)

    assert result.malformed is not None
    assert len(result.malformed) <= 24


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ORD-100001", "ORD-100001"), ("ord 100001", "ORD-100001"), ("ORD-1", None), ("", None)],
)
def test_canonical_order_number(value: str, expected: str | None) -> None:
    assert canonical_order_number(value) == expected


@pytest.mark.parametrize("typed", ["ORD-100005", "ord-100005", "100005", "order #100005"])
def test_find_order_returns_a_snapshot(seeded_database: Database, typed: str) -> None:
    with seeded_database.session() as session:
        snapshot = find_order(session, typed)

    assert snapshot is not None
    assert snapshot.order_number == "ORD-100005"
    assert snapshot.status == DEMO_ORDERS["ORD-100005"].value
    assert snapshot.carrier == "DHL"
    assert [item.sku for item in snapshot.items] == ["NHH-200", "NMS-100"]
    assert snapshot.estimated_delivery_missed is True
    assert snapshot.latest_event is not None
    assert "Held at depot" in snapshot.latest_event.description


@pytest.mark.parametrize("typed", ["ORD-999999", "ORD-12", "", "'; DROP TABLE orders; --"])
def test_find_order_returns_none_for_unknown_or_hostile_numbers(
    seeded_database: Database, typed: str
) -> None:
    with seeded_database.session() as session:
        assert find_order(session, typed) is None
        count = session.scalar(select(func.count()).select_from(Order))

    assert count == len(DEMO_ORDERS)


def test_injection_text_is_only_ever_a_parameter(seeded_database: Database) -> None:
    with seeded_database.session() as session:
        snapshot = find_order(session, "ORD-100001' OR '1'='1")

    # The valid number inside is used as a bound value; the rest is ignored, not executed.
    assert snapshot is not None
    assert snapshot.order_number == "ORD-100001"


@pytest.fixture
def statements(seeded_database: Database) -> Iterator[list[str]]:
    executed: list[str] = []

    def record(*args: Any) -> None:
        executed.append(args[2])

    event.listen(seeded_database.engine, "before_cursor_execute", record)
    yield executed
    event.remove(seeded_database.engine, "before_cursor_execute", record)


def test_find_order_loads_everything_in_two_queries(
    seeded_database: Database, statements: list[str]
) -> None:
    with seeded_database.session() as session:
        snapshot = find_order(session, "ORD-100004")
        statements_during_lookup = [
            s for s in statements if s.lstrip().upper().startswith("SELECT")
        ]

    assert snapshot is not None
    assert len(snapshot.items) == 1
    assert len(snapshot.tracking_events) == 5
    assert len(statements_during_lookup) <= 2


def test_tracking_events_come_back_in_time_order(database: Database) -> None:
    now = utcnow()
    with database.session() as session:
        session.add(
            Order(
                order_number="ORD-424242",
                customer_name="A Customer",
                customer_email="a@example.com",
                status="shipped",
                placed_at=now - timedelta(days=3),
                items=[OrderItem(sku="S", name="Thing", quantity=1)],
                # Stored out of order on purpose.
                tracking_events=[
                    TrackingEvent(occurred_at=now, description="third", status="shipped"),
                    TrackingEvent(
                        occurred_at=now - timedelta(days=2), description="first", status="shipped"
                    ),
                    TrackingEvent(
                        occurred_at=now - timedelta(days=1), description="second", status="shipped"
                    ),
                ],
            )
        )

    with database.session() as session:
        snapshot = find_order(session, "ORD-424242")

    assert snapshot is not None
    assert [e.description for e in snapshot.tracking_events] == ["first", "second", "third"]
    assert snapshot.estimated_delivery is None
    assert snapshot.to_evidence()["estimated_delivery"] is None


def test_evidence_is_json_with_iso_dates(seeded_database: Database) -> None:
    with seeded_database.session() as session:
        snapshot = find_order(session, "ORD-100006")
    assert snapshot is not None

    evidence = json.loads(json.dumps(snapshot.to_evidence()))

    assert evidence["order_number"] == "ORD-100006"
    assert evidence["status"] == "lost"
    assert evidence["carrier"] == "Royal Mail"
    assert date.fromisoformat(evidence["estimated_delivery"]) < utcnow().date()
    assert evidence["items"] == [
        {"sku": "NTH-300", "name": "Nimbus Smart Thermostat", "quantity": 1}
    ]
    assert [set(e) for e in evidence["tracking_events"]] == [
        {"occurred_at", "location", "description", "status"}
    ] * 3
    looked_up_at = evidence["looked_up_at"]
    assert looked_up_at.endswith("+00:00")
    assert evidence["tracking_events"][-1]["occurred_at"] < looked_up_at


def test_evidence_leaves_out_the_customers_contact_details(seeded_database: Database) -> None:
    with seeded_database.session() as session:
        snapshot = find_order(session, "ORD-100001")
    assert snapshot is not None

    serialised = json.dumps(snapshot.to_evidence())

    assert snapshot.customer_email not in serialised
    assert snapshot.customer_name not in serialised


def test_snapshots_are_frozen(seeded_database: Database) -> None:
    with seeded_database.session() as session:
        snapshot = find_order(session, "ORD-100002")
    assert isinstance(snapshot, OrderSnapshot)

    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.status = "delivered"  # type: ignore[misc]
