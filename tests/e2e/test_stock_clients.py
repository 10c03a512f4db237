"""A socket.io client nobody here wrote, in its default configuration, through a whole handoff.

socket.io-client from the npm registry, run by node (`tests/support/node/page.mjs`), as a web
page or a stock Rasa widget uses it: long-polling first, then the upgrade the server offers.
Under Rasa 3.6's Sanic engine.io's own websocket upgrade wedged the session (no answer ever,
~126 polls a second); the web chat's own websocket driver (`assistant.channels.
websocket_transport`) completes it, so the client ends on websocket and gets every answer.

The journey: greeting with its buttons → handoff → waiting → the agent joins → the agent's
message → hand-back → CSAT; then the idle page must not poll in a loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.client import new_sender
from tests.e2e.desk_system import Agent, DeskStack
from tests.support.node_page import NodePage

pytestmark = pytest.mark.e2e

Agents = Callable[[str], Awaitable[Agent]]
#: An idle client on websocket makes no HTTP request (one on long-polling about one per ping
#: interval, 25 s); a wedged one made ~126 a second. The window is a measurement interval,
#: not a wait for an event.
IDLE_WINDOW_SECONDS = 5.0
MAX_IDLE_REQUESTS = 5


@pytest.fixture
async def page(desk_stack: DeskStack) -> AsyncIterator[NodePage]:
    why_not = NodePage.available()
    if why_not is not None:
        pytest.fail(why_not)
    node = await NodePage().open(desk_stack.rasa_url, new_sender("stock-client"))
    yield node
    await node.close()


def texts_of(messages: list[dict[str, Any]]) -> str:
    return " ".join(str(message.get("text", "")) for message in messages).lower()


async def bot_says(page: NodePage, words: str) -> dict[str, Any]:
    """The next bot message containing `words` (earlier ones are passed over)."""
    message: dict[str, Any] = await page.next(
        "bot_uttered", lambda data: words in str(data.get("text", "")).lower()
    )
    return message


async def test_a_default_socketio_client_goes_through_a_whole_handoff(
    desk_stack: DeskStack, page: NodePage, agents: Agents
) -> None:
    olivia = await agents("olivia")
    await olivia.live()
    opened = await page.next("open")
    sender = await page.next("session_confirm")
    assert opened["transport"] == "polling"

    # 1. Greeting and buttons.
    await page.say("hi")
    greeting = await bot_says(page, "support assistant")
    assert [reply["title"] for reply in greeting["quick_replies"]] == [
        "Where is my order?",
        "I have an error code",
        "Apply for a mortgage",
    ]

    # 2. Handoff; 3. waiting.
    await page.say("where is my order ORD-100005?")
    await bot_says(page, "passing you to our order support team")
    waiting = await page.next("handoff_status", lambda data: data.get("status") == "waiting")
    assert waiting["queue"] == "order_support" and waiting["position"] >= 1
    await bot_says(page, f"number {waiting['position']} in the queue for order support")

    # 4. The agent joins; 5. the agent's message.
    handoff_id = await olivia.waiting_handoff_of(sender)
    status, _ = await olivia.call("POST", f"/api/handoffs/{handoff_id}/claim")
    assert status == 200
    await page.next("handoff_status", lambda data: data.get("status") == "agent_joined")
    await bot_says(page, "has joined the chat")
    text = "Hi, this is Olivia. Your parcel is at the Coventry depot."
    status, _ = await olivia.call(
        "POST", f"/api/handoffs/{handoff_id}/messages", json={"text": text}
    )
    assert status == 201
    said = await bot_says(page, "your parcel is at the coventry depot")
    assert said["text"] == f"Olivia (Orders): {text}"
    assert said["metadata"]["handoff_agent"]["name"] == "Olivia (Orders)"

    # 6. Hand-back; 7. CSAT.
    status, resolved = await olivia.call(
        "POST", f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )
    assert (status, resolved["handed_back"]) == (200, True)
    await bot_says(page, "has left the chat")
    await bot_says(page, "welcome back")
    await bot_says(page, "from 1 (poor) to 5 (excellent)")
    await page.say("5")
    await bot_says(page, "anything you'd like to add")
    await page.say("Olivia was great")
    await bot_says(page, "thank you for your feedback")
    handoff = await olivia.handoff(handoff_id)
    assert (handoff["csat_rating"], handoff["csat_comment"]) == (5, "Olivia was great")

    # The client upgraded to websocket, and an idle page does not poll in a loop.
    assert page.events("upgrade") == [{"transport": "websocket"}]
    assert page.events("connect_error") == []
    before = await page.requests()
    await asyncio.sleep(IDLE_WINDOW_SECONDS)  # the measurement window
    idle = await page.requests() - before
    assert idle <= MAX_IDLE_REQUESTS, f"{idle} requests in {IDLE_WINDOW_SECONDS}s while idle"
