"""While an agent owns the chat, nothing the customer does wakes the bot (issue 7, section 4).

A customer on the web chat is handed to order support and claimed by Olivia. Then every way of
waking the bot is tried: "/restart" twice, "restart", "/greet", "/session_start", "/back",
"/cancel", an "agent" request, 20 rapid messages, and more than `session_expiration_time`
(60 minutes) of silence before the next message. The bot says nothing of its own (a restart
request only gets the reply that the customer is with a person), the conversation stays
paused and claimed, no second handoff opens, and the agent can still write. After the
hand-back the bot answers again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from assistant.handoff_guard import WITH_A_PERSON
from tests.e2e.desk_system import Agent, DeskStack, SocketCustomer, eventually

pytestmark = pytest.mark.e2e

Agents = Callable[[str], Awaitable[Agent]]
Customers = Callable[[str], Awaitable[SocketCustomer]]

RESTART_REQUESTS = ("/restart", "/restart", "restart")
OTHER_WAKE_UPS = ("/greet", "/session_start", "/back", "/cancel", "hi", "agent")
#: As many as one connection may send at once (WEBCHAT_EVENT_BURST, 20): more are dropped with
#: a `slow_down` before they reach Rasa (assistant/channels/rate_limit.py).
RAPID_MESSAGES = 20
#: Sent at once (python-engineio refuses a long-polling POST of more than 16 packets); the next
#: burst waits until this one is in the tracker, so the bucket refills in between.
BURST = 5
#: Longer than the domain's session_expiration_time (60 minutes).
SILENCE_SECONDS = 63 * 60


async def owned_by_olivia(
    agents: Agents, customers: Customers
) -> tuple[Agent, SocketCustomer, str]:
    agent = await agents("olivia")
    await agent.live()
    customer = await customers("owned")
    assert "order support" in " ".join(await customer.turn("where is my order ORD-100005?"))
    handoff_id = await agent.waiting_handoff_of(customer.sender)
    status, claimed = await agent.call("POST", f"/api/handoffs/{handoff_id}/claim")
    assert (status, claimed["status"]) == (200, "claimed"), claimed
    await customer.status("agent_joined")
    return agent, customer, handoff_id


async def still_owned(
    system: DeskStack, agent: Agent, customer: SocketCustomer, handoff_id: str, note: str
) -> None:
    """Paused, claimed, one handoff, and the agent's message still reaches the page."""
    tracker = await customer.tracker()
    assert tracker["paused"] is True, note
    assert (await agent.handoff(handoff_id))["status"] == "claimed", note
    assert len(system.handoffs_of(customer.sender)) == 1, note
    text = f"Still here ({note})."
    status, sent = await agent.call(
        "POST", f"/api/handoffs/{handoff_id}/messages", json={"text": text}
    )
    assert status == 201, sent
    message = await customer.bot_message()
    assert message["text"].endswith(text) and message["metadata"]["handoff_agent"]["name"]


async def test_the_customer_cannot_wake_the_bot_while_an_agent_owns_the_chat(
    desk_stack: DeskStack, agents: Agents, customers: Customers
) -> None:
    agent, customer, handoff_id = await owned_by_olivia(agents, customers)

    for text in RESTART_REQUESTS:
        assert await customer.turn(text) == [WITH_A_PERSON], text
        await still_owned(desk_stack, agent, customer, handoff_id, text)
    for text in OTHER_WAKE_UPS:
        assert await customer.turn(text) == [], text
    await still_owned(desk_stack, agent, customer, handoff_id, "other wake-ups")

    # The bursts come from a reloaded page (the same chat, opened with its token): the page
    # above has spent its connection's allowance of events on the wake-ups.
    reloaded = SocketCustomer(desk_stack, "owned", sender=customer.sender, token=customer.token)
    assert (await reloaded.connect()).sender == customer.sender
    for burst in range(RAPID_MESSAGES // BURST):
        before = len((await customer.tracker())["events"])
        for number in range(BURST):
            await reloaded.page.say(f"hello? {burst}.{number}")

        async def all_logged(before: int = before) -> list[dict[str, Any]] | None:
            events: list[dict[str, Any]] = (await customer.tracker())["events"][before:]
            said = [event for event in events if event["event"] == "user"]
            return events if len(said) == BURST else None

        logged = await eventually(all_logged, "a burst of messages in the tracker", timeout=60)
        assert {event["event"] for event in logged} == {"user"}, "the bot did nothing in between"
    await reloaded.close()
    await still_owned(desk_stack, agent, customer, handoff_id, "rapid messages")

    await resolve_and_check_the_bot_is_back(agent, customer, handoff_id)


async def test_a_new_session_after_long_silence_stays_with_the_agent(
    desk_stack: DeskStack, agents: Agents, customers: Customers
) -> None:
    agent, customer, handoff_id = await owned_by_olivia(agents, customers)
    await went_silent(customer, desk_stack, SILENCE_SECONDS)

    assert await customer.turn("are you still there?") == []

    events = (await customer.tracker())["events"]
    started = max(i for i, e in enumerate(events) if e["event"] == "session_started")
    assert "pause" in [e["event"] for e in events[started:]], "the new session starts paused"
    await still_owned(desk_stack, agent, customer, handoff_id, "after a new session")
    # The console still shows the conversation from the handover on.
    status, conversation = await agent.call("GET", f"/api/handoffs/{handoff_id}/conversation")
    assert status == 200, conversation
    said = [turn["text"] for turn in conversation["turns"] if turn["role"] == "customer"]
    assert said[-1] == "are you still there?"
    assert any("order support" in turn["text"] for turn in conversation["turns"])

    await resolve_and_check_the_bot_is_back(agent, customer, handoff_id)


async def went_silent(customer: SocketCustomer, system: DeskStack, seconds: float) -> None:
    """Make the customer's last message `seconds` old, as if they had been silent that long.

    Rasa decides a session expired from the timestamp of the tracker's last `user` event; one
    dated `seconds` ago is appended through Rasa's HTTP API (no process's clock is changed).
    """
    event = {
        "event": "user",
        "text": "(earlier)",
        "parse_data": {"intent": {"name": "greet", "confidence": 1.0}, "entities": []},
        "timestamp": time.time() - seconds,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{system.rasa_url}/conversations/{customer.sender}/tracker/events",
            params={"token": system.env.rasa_auth_token},
            json=[event],
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def resolve_and_check_the_bot_is_back(
    agent: Agent, customer: SocketCustomer, handoff_id: str
) -> None:
    status, resolved = await agent.call(
        "POST", f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )
    assert (status, resolved["handed_back"]) == (200, True), resolved
    welcome = [(await customer.bot_message())["text"] for _ in range(2)]
    assert "welcome back" in welcome[0].lower()
    await customer.status("back_with_bot")
    assert (await customer.tracker())["paused"] is False
