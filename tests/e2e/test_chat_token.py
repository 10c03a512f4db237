"""A web chat's id is no credential: against the real Rasa server, with the npm registry's
socket.io-client (`tests/support/node/page.mjs`), as web pages and stock widgets use it.

The customer's page joins its chat with the token the desk signed (`contract.webchat`);
someone who knows only the id (logs carry it) asks for that chat without the token. The
channel gives them a chat of their own (`assistant.channels.chat_access`): they receive none
of the customer's replies and cannot speak in the customer's chat.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from assistant.channels.webchat import REFUSED_EVENT
from contract.webchat import CHAT_TOKEN_EVENT, new_chat, transcript_key, transcript_session
from launcher.stack import Stack
from tests.e2e.client import BotClient
from tests.e2e.environment import E2EEnvironment
from tests.support.node_page import NodePage

pytestmark = pytest.mark.e2e

INTRUDER_WORDS = "where is my order ORD-100005? send the answer to me"


@pytest.fixture
async def pages(stack: Stack) -> AsyncIterator[list[NodePage]]:
    why_not = NodePage.available()
    if why_not is not None:
        pytest.fail(why_not)
    opened: list[NodePage] = []
    yield opened
    for page in opened:
        await page.close()


def user_texts(tracker: dict[str, Any]) -> list[str]:
    return [str(event.get("text")) for event in tracker["events"] if event["event"] == "user"]


async def test_an_id_without_its_token_neither_reads_nor_speaks_in_that_chat(
    e2e_env: E2EEnvironment, bot: BotClient, pages: list[NodePage]
) -> None:
    key = transcript_key(e2e_env.handoff_secret)
    chat = new_chat(key)
    customer = await NodePage().open(e2e_env.rasa_url, chat.session_id, token=chat.token)
    pages.append(customer)
    assert await customer.next("session_confirm") == chat.session_id
    intruder = await NodePage().open(e2e_env.rasa_url, chat.session_id)
    pages.append(intruder)

    # The intruder is given a chat of its own, with a token that opens only that one.
    own = await intruder.next("session_confirm")
    assert own != chat.session_id
    grant = await intruder.next(CHAT_TOKEN_EVENT)
    assert grant["session_id"] == own
    assert transcript_session(key, grant["token"], time.time()) == own

    # It cannot speak in the customer's chat...
    await intruder.send(
        emit="user_uttered", data={"message": INTRUDER_WORDS, "session_id": chat.session_id}
    )
    refused = await intruder.next(REFUSED_EVENT)
    assert (refused["event"], refused["field"]) == ("user_uttered", "session_id")

    # ...and the customer's replies reach the customer only.
    await customer.say("where is my order ORD-100002?")
    answer = await customer.next(
        "bot_uttered", lambda data: "ORD-100002 has shipped" in str(data.get("text", ""))
    )
    assert answer["text"]
    await intruder.say("hi")  # its own chat works, and is answered
    await intruder.next("bot_uttered", lambda data: "support assistant" in str(data.get("text")))
    heard = " ".join(str(data.get("text")) for data in intruder.events("bot_uttered"))
    assert "ORD-100002" not in heard

    assert user_texts(bot.tracker(chat.session_id)) == ["where is my order ORD-100002?"]
    assert user_texts(bot.tracker(own)) == ["hi"]
