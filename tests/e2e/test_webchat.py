"""The web chat of the live handoff against the real Rasa server (trained model, credentials.yml
and endpoints.yml as committed), driven by python-socketio's client over long-polling.

A recording desk listens on the environment's DESK_URL for the length of the test: the typing
relay and the event broker reach it there; the desk's notifications go the other way, through
`POST /webhooks/socketio/notify`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from harness.chat_client import ChatClient
from launcher.stack import Stack
from tests.assistant.test_desk_events import RecordingDesk
from tests.e2e.client import REPLY_TIMEOUT_SECONDS, new_sender
from tests.e2e.environment import E2EEnvironment

pytestmark = pytest.mark.e2e

#: The broker retries a desk that was down with a back-off of up to 5 s.
DESK_WAIT_SECONDS = 20.0


@pytest.fixture
async def desk(stack: Stack, e2e_env: E2EEnvironment) -> AsyncIterator[RecordingDesk]:
    async with RecordingDesk(secret=e2e_env.handoff_secret, port=e2e_env.desk_port) as running:
        yield running


@pytest.fixture
async def page(stack: Stack) -> AsyncIterator[ChatClient]:
    client = ChatClient()
    yield client
    await client.close()


async def post(url: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body, **kwargs) as response:
        return response.status, await response.json(content_type=None)


async def test_the_web_chat_carries_the_live_handoff(
    e2e_env: E2EEnvironment, desk: RecordingDesk, page: ChatClient
) -> None:
    sender = await page.connect(e2e_env.rasa_url, new_sender("webchat"))  # a new chat

    # The standard protocol with the trained model.
    await page.sio.emit("user_uttered", {"message": "hi", "session_id": sender})
    reply = await page.next("bot_uttered", timeout=REPLY_TIMEOUT_SECONDS)
    assert reply.get("text"), reply

    # The customer's message reaches the desk through the event broker.
    await desk.wait_until(
        lambda: any(
            event["event"] == "user" and event["text"] == "hi" for event in desk.events_for(sender)
        ),
        timeout=DESK_WAIT_SECONDS,
        what="the user event arrives",
    )
    user = next(event for event in desk.events_for(sender) if event["event"] == "user")
    assert user["input_channel"] == "socketio"
    assert user["parse_data"]["intent"]["name"]

    # Typing is relayed to the desk.
    await page.sio.emit("user_typing", {"session_id": sender, "typing": True})
    await desk.wait_until(
        lambda: any(event["event"] == "user_typing" for event in desk.events_for(sender)),
        timeout=DESK_WAIT_SECONDS,
        what="the typing signal arrives",
    )
    typing = [event for event in desk.events_for(sender) if event["event"] == "user_typing"]
    assert typing[0]["typing"] is True

    # The desk's notification reaches the customer's page; a wrong token does not.
    notify_url = f"{e2e_env.rasa_url}/webhooks/socketio/notify"
    notice = {
        "sender_id": sender,
        "type": "handoff_status",
        "status": "waiting",
        "position": 1,
        "estimated_wait_seconds": 60,
    }
    refused, _ = await post(notify_url, notice, headers={"Authorization": "Bearer wrong"})
    assert refused == 401
    status, answer = await post(
        notify_url, notice, headers={"Authorization": f"Bearer {e2e_env.rasa_auth_token}"}
    )
    assert (status, answer) == (202, {"status": "accepted"})
    assert await page.next("handoff_status") == notice

    # An agent's turn, appended the way the desk does it, reaches the page marked with who
    # wrote it (Rasa only sends appended `bot` events with execute_side_effects).
    agent = {"handoff_agent": {"id": 1, "name": "Sam"}}
    status, _ = await post(
        f"{e2e_env.rasa_url}/conversations/{sender}/tracker/events",
        [{"event": "bot", "text": "Hi, I'm Sam.", "metadata": agent}],
        params={
            "token": e2e_env.rasa_auth_token,
            "output_channel": "latest",
            "execute_side_effects": "true",
        },
    )
    assert status == 200
    assert await page.next("bot_uttered") == {"text": "Sam: Hi, I'm Sam.", "metadata": agent}
