"""An action fails (its table is gone): the customer gets an apology and can reach a person."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from actions.store.seed import prepare_demo_store
from contract.schema import validate_payload
from harness.loopback import sqlite_url
from launcher.stack import Stack
from tests.e2e.client import BotClient, joined, new_sender
from tests.e2e.environment import E2EEnvironment
from tests.e2e.scripts import OFFER_OF_A_PERSON

pytestmark = pytest.mark.e2e

ACTIONS = "actions"


@pytest.fixture
def orders_table_missing(stack: Stack, e2e_env: E2EEnvironment, tmp_path: Path) -> Iterator[str]:
    """The action server runs on a throwaway app database without the orders tables.

    The outbox table is still there, so a handoff can be stored and delivered. The usual
    action server is back (same port, same database) afterwards, whatever happened.
    """
    broken = tmp_path / "app-without-orders.db"
    prepare_demo_store(sqlite_url(broken))
    with closing(sqlite3.connect(broken)) as connection:
        connection.executescript(
            "DROP TABLE tracking_events; DROP TABLE order_items; DROP TABLE orders;"
        )

    stack.stop(ACTIONS)
    try:
        stack.start(e2e_env.action_server(app_database_url=sqlite_url(broken)))
        stack.wait_healthy(ACTIONS)
        yield sqlite_url(broken)
    finally:
        stack.stop(ACTIONS)
        stack.start(e2e_env.action_server())
        stack.wait_healthy(ACTIONS)


def test_failing_action_apologises_and_hands_off_on_yes(
    orders_table_missing: str, bot: BotClient
) -> None:
    sender = new_sender("action-error")
    said = joined(bot.say(sender, "where is my order ORD-100002?"))
    assert "something went wrong" in said
    assert OFFER_OF_A_PERSON in said
    # Nothing was looked up: the bot must not report the order, nor claim it does not exist.
    assert "shipped" not in said and "can't find" not in said
    assert "what's your order number" in said, "the form stays active and asks again"

    assert "passing you to" in joined(bot.say(sender, "yes"))
    [context] = bot.handoffs_for(sender)
    assert validate_payload(context) == []
    assert context["trigger"]["reason_code"] == "action_error"
    assert context["trigger"]["type"] == "business_rule"
    assert context["routing"]["queue"] == "order_support"
    assert context["flow"] == "order_status"


def test_actions_work_again_on_the_real_database(bot: BotClient) -> None:
    said = joined(bot.say(new_sender("after-action-error"), "where is my order ORD-100002?"))
    assert "shipped" in said
