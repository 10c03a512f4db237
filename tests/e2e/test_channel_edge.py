"""The channel edge against the real system (issue 7): one bad message never ends the Rasa
server, a malformed REST body is a 400, and a failing action server is never silence.

A lone UTF-16 surrogate in a conversation id used to end the Rasa process (the SQL tracker
store's encoding error was reported as a missing schema, with an exit). Each test checks that
the process is still running and that the next ordinary message is answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import requests

from assistant.apology import APOLOGY
from assistant.channels.webchat import REFUSED_EVENT
from contract.webchat import new_chat, transcript_key
from harness.chat_client import ChatClient
from launcher.stack import Stack
from tests.e2e.client import REPLY_TIMEOUT_SECONDS, BotClient, joined, new_sender
from tests.e2e.environment import E2EEnvironment

pytestmark = pytest.mark.e2e

ACTIONS = "actions"
#: How Python's JSON encoder (and a browser's) writes a lone surrogate: a valid JSON escape.
SURROGATE_SENDER = "\ud800web"


def assert_rasa_is_running(stack: Stack) -> None:
    assert stack.running["rasa"].process.poll() is None, "the Rasa server exited"


def assert_an_ordinary_message_is_answered(bot: BotClient) -> None:
    assert bot.say(new_sender("edge-after"), "hi"), "the bot stayed silent"


def post_rest(e2e_env: E2EEnvironment, raw: bytes) -> requests.Response:
    return requests.post(
        f"{e2e_env.rasa_url}/webhooks/rest/webhook",
        data=raw,
        headers={"Content-Type": "application/json"},
        timeout=REPLY_TIMEOUT_SECONDS,
    )


# --- REST -------------------------------------------------------------------------------------


def test_a_surrogate_sender_over_rest_is_refused_and_the_server_keeps_running(
    stack: Stack, bot: BotClient, e2e_env: E2EEnvironment
) -> None:
    answer = post_rest(e2e_env, b'{"sender": "\\ud800web", "message": "hi"}')

    assert answer.status_code == 400, answer.text
    assert answer.json() == {
        "error": "sender: contains a lone surrogate (invalid Unicode) (U+D800)",
        "field": "sender",
    }
    assert_rasa_is_running(stack)
    assert_an_ordinary_message_is_answered(bot)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "body"),
        (b"hello", "body"),
        (b'{"sender": "a", "message": "hi"', "body"),
        (b"[1, 2]", "body"),
        (b"null", "body"),
        (b'{"message": "hi"}', "sender"),
        (b'{"sender": 7, "message": "hi"}', "sender"),
        (b'{"sender": "a\\u0000b", "message": "hi"}', "sender"),
        (b'{"sender": "e2e-edge"}', "message"),
        (b'{"sender": "e2e-edge", "message": ["hi"]}', "message"),
        (b'{"sender": "e2e-edge", "message": "hi", "metadata": [1]}', "metadata"),
        (b'{"sender": "e2e-edge", "message": "hi", "metadata": {"k": "\\udfff"}}', "metadata"),
    ],
)
def test_malformed_rest_bodies_are_a_400_never_a_5xx(
    stack: Stack, e2e_env: E2EEnvironment, raw: bytes, field: str
) -> None:
    answer = post_rest(e2e_env, raw)

    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["error"].startswith(f"{field}: ")
    assert_rasa_is_running(stack)


# --- socket.io ----------------------------------------------------------------------------------


@pytest.fixture
async def page(stack: Stack) -> AsyncIterator[ChatClient]:
    client = ChatClient()
    yield client
    await client.close()


async def next_refusal(refusals: asyncio.Queue[Any]) -> Any:
    return await asyncio.wait_for(refusals.get(), REPLY_TIMEOUT_SECONDS)


async def test_a_surrogate_session_over_socketio_is_refused_and_the_server_keeps_running(
    stack: Stack, bot: BotClient, e2e_env: E2EEnvironment, page: ChatClient
) -> None:
    refusals: asyncio.Queue[Any] = asyncio.Queue()
    page.sio.on(REFUSED_EVENT, refusals.put)
    await page.sio.connect(e2e_env.rasa_url, transports=["polling"], socketio_path="/socket.io")

    await page.sio.emit("session_request", {"session_id": SURROGATE_SENDER})
    refused_session = await next_refusal(refusals)
    await page.sio.emit("user_uttered", {"message": "hi", "session_id": SURROGATE_SENDER})
    refused_message = await next_refusal(refusals)

    assert refused_session["event"] == "session_request"
    assert refused_message["event"] == "user_uttered"
    assert refused_session["field"] == refused_message["field"] == "session_id"
    assert_rasa_is_running(stack)
    # The same page carries on with a valid conversation.
    chat = new_chat(transcript_key(e2e_env.handoff_secret))
    sender = chat.session_id
    await page.sio.emit("session_request", {"session_id": sender, "token": chat.token})
    assert await page.next("session_confirm", timeout=REPLY_TIMEOUT_SECONDS) == sender
    await page.sio.emit("user_uttered", {"message": "hi", "session_id": sender})
    reply = await page.next("bot_uttered", timeout=REPLY_TIMEOUT_SECONDS)
    assert reply.get("text"), reply
    assert_an_ordinary_message_is_answered(bot)


# --- The action server fails ----------------------------------------------------------------------


@pytest.fixture
def action_server_down(stack: Stack, e2e_env: E2EEnvironment) -> Iterator[None]:
    """The action server is stopped for the test and started again afterwards, whatever
    happened."""
    stack.stop(ACTIONS)
    try:
        yield
    finally:
        stack.start(e2e_env.action_server())
        stack.wait_healthy(ACTIONS)


def test_a_turn_whose_action_cannot_run_gets_the_apology(
    action_server_down: None, stack: Stack, bot: BotClient
) -> None:
    sender = new_sender("edge-actions-down")

    replies = bot.say(sender, "where is my order ORD-100002?")

    said = joined(replies)
    assert said.count(APOLOGY.lower()) == 1, replies
    assert "shipped" not in said  # nothing was looked up, nothing is claimed
    assert_rasa_is_running(stack)


def test_orders_are_looked_up_again_once_the_action_server_is_back(bot: BotClient) -> None:
    said = joined(bot.say(new_sender("edge-actions-back"), "where is my order ORD-100002?"))

    assert "shipped" in said
    assert APOLOGY.lower() not in said
