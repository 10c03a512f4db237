"""The desk is down: the handoff waits in the outbox and reaches the desk once it is back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from contract.schema import validate_payload
from launcher.stack import Stack
from tests.e2e.client import BotClient, joined, new_sender, wait_until
from tests.e2e.environment import E2EEnvironment, OutboxRow

pytestmark = pytest.mark.e2e

INBOX = "handoff-inbox"


def start_desk(stack: Stack, e2e_env: E2EEnvironment) -> None:
    """A new recording endpoint on the same port, appending to the same record file."""
    stack.start(e2e_env.handoff_inbox())
    stack.wait_healthy(INBOX)


@pytest.fixture
def desk_down(stack: Stack, e2e_env: E2EEnvironment) -> Iterator[None]:
    """The recording endpoint is stopped; it is always running again afterwards."""
    stack.stop(INBOX)
    try:
        yield
    finally:
        if INBOX not in stack.running:
            start_desk(stack, e2e_env)


def test_handoff_waits_in_the_outbox_until_the_desk_is_back(
    desk_down: None, stack: Stack, bot: BotClient, e2e_env: E2EEnvironment
) -> None:
    sender = new_sender("outbox")
    said = joined(bot.say(sender, "where is my order ORD-100005?"))
    assert "order support team" in said
    assert "isn't reachable" in said and "saved your request" in said

    [row] = e2e_env.outbox(sender)
    assert row.status == "pending"
    assert row.attempts >= 1
    stored = json.loads(row.payload)
    assert validate_payload(stored) == []
    assert stored["trigger"]["reason_code"] == "order_delayed"
    assert stored["handoff_id"] == row.handoff_id

    start_desk(stack, e2e_env)
    [received] = wait_until(
        lambda: bot.handoffs_for(sender), timeout=30, what="the desk receives the handoff"
    )
    assert received == stored, "the desk gets exactly what was stored"

    def delivered() -> OutboxRow | None:
        [current] = e2e_env.outbox(sender)
        return current if current.status == "delivered" else None

    wait_until(delivered, timeout=10, what="the outbox row is marked delivered")
    recorded = [h for h in bot.recorded_handoffs() if h["handoff_id"] == row.handoff_id]
    assert len(recorded) == 1, "delivered exactly once"
    assert [h["handoff_id"] for h in bot.handoffs_for(sender)] == [row.handoff_id]
