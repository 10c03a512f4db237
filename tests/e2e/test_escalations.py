"""The three escalations end to end, as the issue scripts them: a customer on the web chat's
socket.io channel and agents on the desk's API and live websocket, with the real Rasa server
(trained model), action server and desk on loopback (`desk_system.py`).

Each journey runs: the bot escalates → the chat appears in the agent's console → claim (the
customer sees the agent join) → typing and messages both ways (the bot stays silent) → for the
troubleshooting journey a transfer to another team, whose agent sees the same context →
resolve with a slot update (hand-back: the agent leaves, the bot welcomes the customer back)
→ CSAT (stored with the handoff) → the bot carries on. The agent's turns are in Rasa's one
transcript, marked as such.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from unittest.mock import ANY

import pytest

from actions.troubleshooting_trees import load_troubleshooting_catalog
from tests.e2e.desk_system import Agent, SocketCustomer
from tests.e2e.scripts import MORTGAGE_ANSWERS, TREES_PATH

pytestmark = pytest.mark.e2e

Agents = Callable[[str], Awaitable[Agent]]
Customers = Callable[[str], Awaitable[SocketCustomer]]


@dataclass(frozen=True)
class Journey:
    """One escalation: what the customer says, where it goes, who takes it."""

    name: str
    turns: tuple[str, ...]
    told: str  # in the bot's last reply
    queue: str
    reason_code: str
    agent: str
    agent_name: str
    transfer_to: tuple[str, str, str] | None = None  # queue, agent, agent name


def _troubleshooting_turns() -> tuple[str, ...]:
    catalog = load_troubleshooting_catalog(TREES_PATH)
    answers = len(catalog.trees["E-1042"].steps) * catalog.cycle_limit
    return ("I keep getting error E-1042", *["no"] * answers)


JOURNEYS = (
    Journey(
        "order",
        ("where is my order ORD-100005?",),
        "order support team",
        "order_support",
        "order_delayed",
        "olivia",
        "Olivia (Orders)",
    ),
    Journey(
        "troubleshooting",
        _troubleshooting_turns(),
        "technical support",
        "tech_support_l2",
        "cycle_limit",
        "leo",
        "Leo (Tech support)",
        transfer_to=("order_support", "olivia", "Olivia (Orders)"),
    ),
    Journey(
        "mortgage",
        ("I want to apply for a mortgage", *MORTGAGE_ANSWERS, "should I go fixed or variable?"),
        "mortgage advisors",
        "mortgage_advisors",
        "needs_advice",
        "maya",
        "Maya (Mortgages)",
    ),
)


def check_evidence(journey: Journey, context: dict[str, Any]) -> None:
    """The screen pop carries what the bot knew for this journey."""
    if journey.name == "order":
        assert context["evidence"]["order"]["order_number"] == "ORD-100005"
        assert context["evidence"]["order"]["status"] == "delayed"
    elif journey.name == "troubleshooting":
        assert len(context["attempts"]) == len(journey.turns) - 1
        assert context["evidence"]["troubleshooting"]["error_code"] == "E-1042"
    else:
        application = context["evidence"]["mortgage_application"]
        assert application["reference"].startswith("MTG-")
        assert application["employment_type"] == "self_employed"
    said = [turn.get("text") for turn in context["transcript"] if turn.get("speaker") == "customer"]
    assert journey.turns[0] in said


async def take(agent: Agent, customer: SocketCustomer, handoff_id: str, name: str) -> None:
    """Claim; the customer's page shows the agent joining."""
    status, claimed = await agent.call("POST", f"/api/handoffs/{handoff_id}/claim")
    assert (status, claimed["status"]) == (200, "claimed"), claimed
    joined = await customer.status("agent_joined")
    assert joined["agent_name"] == name
    # ...and so does any widget: the same news as a plain bot message, before the agent speaks.
    said = await customer.notice("has joined the chat")
    assert said == joined["notice_text"] and said.startswith(f"{name} from ")


def agent_words(name: str) -> str:
    """What the agent called `name` says first."""
    return f"Hi, this is {name}. I have everything the assistant collected."


async def talk(agent: Agent, customer: SocketCustomer, handoff_id: str, name: str) -> None:
    """Typing and a message each way; the bot says nothing while the agent has the chat."""
    status, _ = await agent.call(
        "POST", f"/api/handoffs/{handoff_id}/typing", json={"typing": True}
    )
    assert status == 202
    typing = await customer.status("agent_typing")
    assert (typing["typing"], typing["agent_name"]) == (True, name)

    text = agent_words(name)
    status, sent = await agent.call(
        "POST", f"/api/handoffs/{handoff_id}/messages", json={"text": text}
    )
    assert status == 201, sent
    message = await customer.bot_message()
    # Named in the text (every widget shows it) and marked under metadata (rasa-webchat strips
    # `metadata` and drops a message with any other extra top-level key).
    assert message == {"text": f"{name}: {text}", "metadata": {"handoff_agent": ANY}}
    assert message["metadata"]["handoff_agent"]["name"] == name

    await customer.page.typing(True)
    shown = await agent.next_live("customer_typing", handoff_id=handoff_id)
    assert shown["typing"] is True
    question = f"Thanks {name.split()[0]}, what happens next?"
    assert await customer.turn(question) == []  # paused: only the agent may answer
    relayed = await agent.next_live("customer_message", handoff_id=handoff_id)
    assert relayed["text"] == question


@pytest.mark.parametrize("journey", JOURNEYS, ids=[j.name for j in JOURNEYS])
async def test_an_escalation_from_the_bot_to_a_person_and_back(
    journey: Journey, agents: Agents, customers: Customers
) -> None:
    agent = await agents(journey.agent)
    await agent.live()  # the console is open: the agent is online
    customer = await customers(f"escalation-{journey.name}")

    # The bot escalates; the customer learns their place in the queue.
    for text in journey.turns[:-1]:
        assert await customer.turn(text), f"no reply to {text!r}"
    assert journey.told in " ".join(await customer.turn(journey.turns[-1])).lower()
    waiting = await customer.status("waiting")
    assert waiting["queue"] == journey.queue
    assert waiting["position"] >= 1  # other tests' customers may wait in the shared desk
    assert waiting["estimated_wait_seconds"] > 0
    place = await customer.notice("in the queue for")  # the same, as a plain bot message
    assert place == waiting["notice_text"]
    assert f"number {waiting['position']} in the queue" in place

    # The chat appears in the console with everything the bot knew.
    queued = await agent.next_live("queue_changed", change="queued", queue=journey.queue)
    handoff_id = queued["handoff_id"]
    pop = await agent.screen_pop(handoff_id)
    assert pop["handoff"]["sender_id"] == customer.sender
    assert pop["context"]["trigger"]["reason_code"] == journey.reason_code
    check_evidence(journey, pop["context"])

    await take(agent, customer, handoff_id, journey.agent_name)
    await talk(agent, customer, handoff_id, journey.agent_name)
    owner, owner_name = agent, journey.agent_name

    if journey.transfer_to is not None:
        queue, username, name = journey.transfer_to
        colleague = await agents(username)
        await colleague.live()
        status, moved = await agent.call(
            "POST", f"/api/handoffs/{handoff_id}/transfer", json={"queue": queue}
        )
        assert (status, moved["queue"], moved["status"]) == (200, queue, "queued")
        told = await customer.status("waiting")
        assert told["queue"] == queue
        await colleague.next_live("queue_changed", change="transferred_in", handoff_id=handoff_id)
        # The context travelled with the chat.
        moved_pop = await colleague.screen_pop(handoff_id)
        assert moved_pop["context"] == pop["context"]
        await take(colleague, customer, handoff_id, name)
        await talk(colleague, customer, handoff_id, name)
        owner, owner_name = colleague, name

    # Resolve: the agent leaves, the bot takes the conversation back and asks for a rating.
    status, resolved = await owner.call(
        "POST",
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"human_offered": False}},
    )
    assert (status, resolved["handed_back"]) == (200, True), resolved
    assert (await customer.status("agent_left"))["agent_name"] == owner_name
    assert await customer.notice("has left the chat") == f"{owner_name} has left the chat."
    welcome_messages = [await customer.bot_message() for _ in range(2)]
    assert not any("metadata" in message for message in welcome_messages)  # the bot's
    welcome = [message["text"] for message in welcome_messages]
    assert "welcome back" in welcome[0].lower()
    assert "from 1 (poor) to 5 (excellent)" in welcome[1]
    await customer.status("back_with_bot")
    tracker = await customer.tracker()
    assert tracker["paused"] is False
    assert tracker["slots"]["human_offered"] is False

    assert "anything you'd like to add" in " ".join(await customer.turn("4")).lower()
    assert (
        "thank you for your feedback" in " ".join(await customer.turn("Quick and friendly")).lower()
    )
    handoff = await owner.handoff(handoff_id)
    assert (handoff["status"], handoff["csat_rating"], handoff["csat_comment"]) == (
        "handed_back",
        4,
        "Quick and friendly",
    )
    for step in ("requested", "queued", "claimed", "first_agent_reply", "resolved", "handed_back"):
        assert handoff[f"{step}_at"] is not None, step
    assert handoff["transfer_count"] == (1 if journey.transfer_to else 0)

    # The bot carries on as usual.
    assert await customer.turn("hello")

    # One transcript: the agents' turns are in Rasa's tracker, marked with who said them.
    events = (await customer.tracker())["events"]
    marked = [
        (event["metadata"]["handoff_agent"]["name"], event["text"])
        for event in events
        if event["event"] == "bot" and (event.get("metadata") or {}).get("handoff_agent")
    ]
    names = [journey.agent_name] + ([journey.transfer_to[2]] if journey.transfer_to else [])
    assert [name for name, _ in marked] == names
    # Stored once, as the agent typed it: the name the page saw in the text is not repeated.
    assert [text for _, text in marked] == [agent_words(name) for name in names]
    said = [event.get("text") for event in events if event["event"] == "user"]
    assert said[: len(journey.turns)] == list(journey.turns)
