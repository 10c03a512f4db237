"""The Alembic migration produces exactly the schema the models declare."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from actions.store.database import Database, utcnow
from actions.store.models import (
    ORDER_STATUSES,
    Base,
    Order,
    OrderItem,
    OrderStatus,
    TrackingEvent,
)


def _schema_differences(db: Database) -> list[Any]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_migration_matches_the_models(any_database: Database) -> None:
    assert _schema_differences(any_database) == []


def test_schema_comparison_notices_a_difference(database: Database) -> None:
    # Guards the test above against passing vacuously.
    with database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_orders_status"))

    differences = _schema_differences(database)

    assert [difference[0] for difference in differences] == ["add_index"]


def test_statuses_have_one_source_of_truth() -> None:
    assert ORDER_STATUSES == (
        "processing",
        "shipped",
        "out_for_delivery",
        "delivered",
        "delayed",
        "lost",
    )


@pytest.mark.parametrize(
    ("table", "values"),
    [
        (
            "orders",
            "(order_number, customer_name, customer_email, status, placed_at, updated_at) "
            "VALUES ('ORD-999999', 'A', 'a@example.com', 'teleported', :now, :now)",
        ),
    ],
)
def test_check_constraints_refuse_unknown_statuses(
    any_database: Database, table: str, values: str
) -> None:
    now = utcnow().replace(tzinfo=None)
    with pytest.raises(IntegrityError), any_database.engine.begin() as connection:
        connection.execute(text(f"INSERT INTO {table} {values}"), {"now": now})


def test_deleting_an_order_cascades_to_its_children_in_the_database(
    any_database: Database,
) -> None:
    with any_database.session() as session:
        session.add(
            Order(
                order_number="ORD-123456",
                customer_name="A Customer",
                customer_email="a@example.com",
                status=OrderStatus.SHIPPED.value,
                placed_at=utcnow(),
                items=[OrderItem(sku="S", name="Thing", quantity=1)],
                tracking_events=[
                    TrackingEvent(occurred_at=utcnow(), description="Sent", status="shipped")
                ],
            )
        )

    # Core DELETE: only the database's ON DELETE CASCADE can remove the children.
    with any_database.engine.begin() as connection:
        connection.execute(delete(Order.__table__))
        items = connection.scalar(select(func.count()).select_from(OrderItem.__table__))
        events = connection.scalar(select(func.count()).select_from(TrackingEvent.__table__))

    assert (items, events) == (0, 0)


def test_outbox_table_has_exactly_the_agreed_columns(any_database: Database) -> None:
    columns = {
        column["name"]: column
        for column in inspect(any_database.engine).get_columns("handoff_outbox")
    }

    assert list(columns) == [
        "handoff_id",
        "sender_id",
        "payload",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    ]
    nullable = {name for name, column in columns.items() if column["nullable"]}
    assert nullable == {"last_error", "delivered_at"}
    assert columns["handoff_id"]["type"].length == 36
    assert columns["sender_id"]["type"].length == 255
    assert columns["status"]["type"].length == 16
    indexed = {
        tuple(index["column_names"])
        for index in inspect(any_database.engine).get_indexes("handoff_outbox")
    }
    assert {("sender_id",), ("next_attempt_at",)} <= indexed


def test_outbox_defaults_live_in_the_database(any_database: Database) -> None:
    now = utcnow().replace(tzinfo=None)
    with any_database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO handoff_outbox (handoff_id, sender_id, payload, next_attempt_at, "
                "created_at) VALUES ('h-1', 's-1', '{}', :now, :now)"
            ),
            {"now": now},
        )
        row = connection.execute(text("SELECT status, attempts FROM handoff_outbox")).one()

    assert tuple(row) == ("pending", 0)


def test_downgrade_removes_everything_and_upgrade_restores_it(database: Database) -> None:
    config = database.alembic_config()

    command.downgrade(config, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}

    database.migrate()
    assert _schema_differences(database) == []
