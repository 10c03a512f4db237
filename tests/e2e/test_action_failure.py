"""An action fails (its table is gone, or the action server is gone): the customer gets an
apology, can reach a person, and is answered on every later turn."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from actions.store.seed import prepare_demo_store
from contract.schema import validate_payload
from harness.faults import failing_actions
from harness.loopback import free_ports, sqlite_url
from launcher.stack import Stack
from tests.e2e.client import BotClient, joined, new_sender, texts
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


@pytest.fixture
def lookup_fails(stack: Stack, e2e_env: E2EEnvironment) -> Iterator[list[str]]:
    """The action server dies right after the order form's validation: on its port, a proxy
    passes that validation to an action server on another port and fails every other action
    (HTTP 500). Yields the actions failed. The usual action server is back afterwards,
    whatever happened."""
    (upstream_port,) = free_ports(1)
    stack.stop(ACTIONS)
    try:
        stack.start(e2e_env.action_server(port=upstream_port))
        stack.wait_healthy(ACTIONS)
        upstream = f"http://127.0.0.1:{upstream_port}"
        with failing_actions(
            e2e_env.action_server_port, upstream, ["validate_order_form"]
        ) as proxy:
            yield proxy.failed
    finally:
        stack.stop(ACTIONS)
        stack.start(e2e_env.action_server())
        stack.wait_healthy(ACTIONS)


def test_a_lookup_that_fails_ends_the_turn_and_every_later_turn_is_answered(
    lookup_fails: list[str], bot: BotClient
) -> None:
    """Found by the chaos suite (the action server killed mid-turn): after the failed lookup,
    Rasa's policies ran another custom action over and over until its circuit breaker stopped
    the turn, which then never ended with `action_listen`; Rasa counted those actions on every
    later turn too, and the customer never heard from the bot again."""
    sender = new_sender("lookup-down")
    question = "where is my order ORD-100002?"

    first = joined(bot.say(sender, question))
    again = texts(bot.say(sender, question))
    thanks = texts(bot.say(sender, "thanks"))

    assert "something went wrong" in first
    assert "shipped" not in first
    assert again and all("something went wrong" in text for text in again)
    assert thanks, "the customer is answered after the failures"
    assert lookup_fails == ["action_order_status", "action_order_status"]
    events = bot.tracker(sender)["events"]
    turns = _turns(events)
    assert len(turns) == 3
    for turn in turns:
        assert turn[-1] == "action_listen", f"a turn that did not end by listening: {turn}"
        assert len(turn) < MAX_ACTIONS_IN_A_TURN, f"a turn that ran into the limit: {turn}"


#: Rasa's circuit breaker stops a turn at this many predicted actions.
MAX_ACTIONS_IN_A_TURN = 10


def _turns(events: list[dict[str, object]]) -> list[list[str]]:
    """The actions of each turn: after each customer message, up to the next one."""
    turns: list[list[str]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([])
        elif event["event"] == "action" and turns:
            turns[-1].append(str(event["name"]))
    return turns
