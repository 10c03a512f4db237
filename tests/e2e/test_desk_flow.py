"""The live handoff end to end with the real desk (`tests/e2e/desk_system.py`), the customer
on Rasa's REST channel: any channel the bot speaks works with the desk, not only the web chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tests.e2e.client import REPLY_TIMEOUT_SECONDS, new_sender
from tests.e2e.desk_system import Agent, DeskStack, eventually, tracker_of

pytestmark = pytest.mark.e2e

OLIVIA = "Olivia (Orders)"


class Customer:
    """The customer on Rasa's REST channel (and, to check, Rasa's token-protected API)."""

    def __init__(self, http: aiohttp.ClientSession, system: DeskStack) -> None:
        self.http = http
        self.system = system
        self.sender = new_sender("desk-flow")

    async def say(self, text: str) -> list[str]:
        async with self.http.post(
            f"{self.system.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text},
            timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_SECONDS),
        ) as response:
            assert response.status == 200, await response.text()
            return [str(reply.get("text", "")) for reply in await response.json()]

    async def tracker(self) -> dict[str, Any]:
        return await tracker_of(self.http, self.system, self.sender)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def olivia(agents: Callable[[str], Awaitable[Agent]]) -> Agent:
    return await agents("olivia")


@pytest.fixture
async def sam(agents: Callable[[str], Awaitable[Agent]]) -> Agent:
    return await agents("sam")  # the supervisor: every queue


def bot_texts_after_resume(tracker: dict[str, Any]) -> list[str]:
    events = tracker["events"]
    resumed = max(i for i, event in enumerate(events) if event["event"] == "resume")
    return [e.get("text") or "" for e in events[resumed:] if e["event"] == "bot"]


async def test_an_agent_takes_over_and_hands_back_to_the_bot(
    desk_stack: DeskStack, http: aiohttp.ClientSession, olivia: Agent
) -> None:
    customer = Customer(http, desk_stack)
    assert "order support team" in " ".join(await customer.say("where is my order ORD-100005?"))
    handoff_id = await olivia.waiting_handoff_of(customer.sender)
    await olivia.live()

    status, claimed = await olivia.call("POST", f"/api/handoffs/{handoff_id}/claim")
    assert (status, claimed["status"]) == (200, "claimed")

    status, sent = await olivia.call(
        "POST",
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "Hi, I'm Olivia. I'm chasing the carrier for you now."},
    )
    assert status == 201, sent
    agent_turns = [
        event
        for event in (await customer.tracker())["events"]
        if event["event"] == "bot" and (event.get("metadata") or {}).get("handoff_agent")
    ]
    assert [turn["text"] for turn in agent_turns] == [
        "Hi, I'm Olivia. I'm chasing the carrier for you now."
    ]
    assert agent_turns[0]["metadata"]["handoff_agent"]["name"] == OLIVIA

    assert await customer.say("thanks, will it come today?") == []  # the agent has it
    relayed = await olivia.next_live("customer_message", handoff_id=handoff_id)
    assert relayed["text"] == "thanks, will it come today?"

    status, resolved = await olivia.call(
        "POST",
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"order_lookup_failures": 0.0}},
    )
    assert status == 200, resolved
    assert (resolved["handed_back"], resolved["hand_back_error"]) == (True, None)
    tracker = await customer.tracker()
    assert tracker["paused"] is False
    assert tracker["slots"]["order_lookup_failures"] == 0.0
    welcome = " ".join(bot_texts_after_resume(tracker)).lower()
    assert "welcome back" in welcome
    assert "from 1 (poor) to 5 (excellent)" in welcome

    assert "anything you'd like to add" in " ".join(await customer.say("5")).lower()
    assert "thank you for your feedback" in " ".join(await customer.say("no")).lower()
    handoff = await olivia.handoff(handoff_id)
    assert (handoff["status"], handoff["csat_rating"]) == ("handed_back", 5)
    for step in ("requested", "queued", "claimed", "first_agent_reply", "resolved", "handed_back"):
        assert handoff[f"{step}_at"] is not None, step


async def test_never_mind_while_waiting_cancels_the_handoff(
    desk_stack: DeskStack, http: aiohttp.ClientSession, sam: Agent
) -> None:
    customer = Customer(http, desk_stack)
    assert "passing you to" in " ".join(await customer.say("I want to talk to a human")).lower()
    handoff_id = await sam.waiting_handoff_of(customer.sender)

    assert await customer.say("never mind") == []  # paused; the desk gives it back

    async def abandoned() -> dict[str, Any] | None:
        handoff = await sam.handoff(handoff_id)
        return handoff if handoff["status"] == "abandoned" else None

    handoff = await eventually(abandoned, "the handoff abandoned")
    assert handoff["abandoned_at"] is not None

    async def told() -> str | None:
        tracker = await customer.tracker()
        said = " ".join(bot_texts_after_resume(tracker)) if not tracker["paused"] else ""
        return said if "cancelled your request for a person" in said else None

    await eventually(told, "the bot confirming the cancellation")
    assert "passing you to" in " ".join(await customer.say("agent")).lower()
