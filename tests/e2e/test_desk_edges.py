"""Edge cases of the live handoff end to end (`desk_system.py`): many agents claiming one chat
at once, the desk being down when the bot hands off, and a second trigger in one conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

from tests.e2e.desk_system import DESK, Agent, DeskStack, SocketCustomer, eventually

pytestmark = pytest.mark.e2e

Agents = Callable[[str], Awaitable[Agent]]
Customers = Callable[[str], Awaitable[SocketCustomer]]
CLAIMANTS = 8


async def test_of_many_agents_claiming_one_chat_at_once_exactly_one_wins(
    agents: Agents, customers: Customers
) -> None:
    # Eight browsers: four of Olivia's (order support) and four of Sam's (supervisor).
    claimants = [await agents("olivia" if i % 2 else "sam") for i in range(CLAIMANTS)]
    await claimants[0].live()
    customer = await customers("claim-race")
    await customer.turn("where is my order ORD-100006?")  # lost: order support
    handoff_id = await claimants[0].waiting_handoff_of(customer.sender)

    results = await asyncio.gather(
        *(agent.call("POST", f"/api/handoffs/{handoff_id}/claim") for agent in claimants)
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (CLAIMANTS - 1)
    (winner,) = [body for status, body in results if status == 200]
    handoff = await claimants[0].handoff(handoff_id)
    assert (handoff["status"], handoff["agent"]) == ("claimed", winner["agent"])
    assert (await customer.status("agent_joined"))["agent_name"] == winner["agent"]["name"]
    pop = await claimants[0].screen_pop(handoff_id)
    assert [event["kind"] for event in pop["events"]].count("claimed") == 1


@pytest.fixture
def desk_down(desk_stack: DeskStack) -> Iterator[None]:
    """The desk is stopped; it is always running again afterwards."""
    desk_stack.stack.stop(DESK)
    try:
        yield
    finally:
        if DESK not in desk_stack.stack.running:
            desk_stack.restart_desk()


async def test_a_handoff_made_while_the_desk_is_down_reaches_it_once_it_is_back(
    desk_stack: DeskStack, desk_down: None, customers: Customers, agents: Agents
) -> None:
    customer = await customers("desk-down")

    said = " ".join(await customer.turn("where is my order ORD-100005?"))

    # The customer is told what is happening: a person will take over, the request is saved.
    assert "order support team" in said
    assert "isn't reachable" in said and "saved your request" in said
    assert (await customer.tracker())["paused"] is True

    desk_stack.restart_desk()
    olivia = await agents("olivia")
    handoff_id = await olivia.waiting_handoff_of(customer.sender)
    # Once delivered, the desk tells the customer their place in the queue.
    waiting = await customer.status("waiting")
    assert waiting["queue"] == "order_support"

    pop = await olivia.screen_pop(handoff_id)
    assert pop["context"]["trigger"]["reason_code"] == "order_delayed"
    assert [h.handoff_id for h in desk_stack.handoffs_of(customer.sender)] == [handoff_id]


async def test_a_second_trigger_in_the_same_conversation_opens_nothing_new(
    desk_stack: DeskStack, customers: Customers, agents: Agents
) -> None:
    sam = await agents("sam")
    customer = await customers("second-trigger")
    assert "order support team" in " ".join(await customer.turn("where is my order ORD-100005?"))
    handoff_id = await sam.waiting_handoff_of(customer.sender)

    # Asking again (and again for a person) while waiting: silence, and no second handoff.
    assert await customer.turn("where is my order ORD-100005?") == []
    assert await customer.turn("I want to talk to a human") == []

    async def relayed() -> bool:
        pop = await sam.screen_pop(handoff_id)
        return pop["handoff"]["status"] == "queued"

    await eventually(relayed, "the handoff still waiting")
    assert [h.handoff_id for h in desk_stack.handoffs_of(customer.sender)] == [handoff_id]
    assert len(desk_stack.env.outbox(customer.sender)) == 1


async def test_after_a_hand_back_a_new_request_for_a_person_opens_a_new_handoff(
    desk_stack: DeskStack, customers: Customers, agents: Agents
) -> None:
    sam = await agents("sam")
    customer = await customers("ask-again")
    assert "passing you to" in " ".join(await customer.turn("I want to talk to a human")).lower()
    first = await sam.waiting_handoff_of(customer.sender)
    status, _ = await sam.call("POST", f"/api/handoffs/{first}/claim")
    assert status == 200
    status, resolved = await sam.call(
        "POST", f"/api/handoffs/{first}/resolve", json={"disposition": "resolved"}
    )
    assert (status, resolved["handed_back"]) == (200, True)
    await customer.status("back_with_bot")
    for _ in range(2):  # welcome back, and the rating question
        await customer.bot_message()

    # The customer skips the rating and, later, wants a person again: a new handoff.
    await customer.turn("never mind")
    said = " ".join(await customer.turn("I want to talk to a human")).lower()

    assert "passing you to" in said and "already in the queue" not in said
    handoffs = desk_stack.handoffs_of(customer.sender)
    assert handoffs[0].handoff_id == first
    assert len(handoffs) == 2
    assert [h.status for h in handoffs] == ["handed_back", "queued"]
