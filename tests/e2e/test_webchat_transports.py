"""The web chat over each of engine.io's transports, against the real Rasa server.

The npm registry's socket.io-client in node (`tests/support/node/page.mjs`), as web pages and
rasa-webchat use it: over websocket only (`transports: ["websocket"]`), with its defaults
(long-polling, then the upgrade to websocket the server offers) and over long-polling only
(a client behind a proxy that refuses websockets). Each gets `session_confirm`, a bot-only
answer and an order lookup's answer (two action-server calls), on the transport it asked for.
Each asks for a chat the desk would have started, with its token, and joins that chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from contract.webchat import new_chat, transcript_key
from launcher.stack import Stack
from tests.e2e.environment import E2EEnvironment
from tests.support.node_page import NodePage

pytestmark = pytest.mark.e2e


async def open_page(
    e2e_env: E2EEnvironment, transports: Sequence[str]
) -> AsyncIterator[tuple[NodePage, str]]:
    why_not = NodePage.available()
    if why_not is not None:
        pytest.fail(why_not)
    # A chat started as the desk starts one (`POST /chat/sessions`), with its token.
    chat = new_chat(transcript_key(e2e_env.handoff_secret))
    sender = chat.session_id
    page = await NodePage().open(e2e_env.rasa_url, sender, transports, token=chat.token)
    try:
        yield page, sender
    finally:
        await page.close()


async def bot_says(page: NodePage, words: str) -> dict[str, Any]:
    """The next bot message containing `words` (earlier ones are passed over)."""
    message: dict[str, Any] = await page.next(
        "bot_uttered", lambda data: words in str(data.get("text", ""))
    )
    return message


async def chat(page: NodePage, sender: str) -> None:
    """The session is confirmed; a greeting and an order lookup are answered."""
    assert await page.next("session_confirm") == sender
    await page.say("hi")
    await bot_says(page, "I'm the support assistant")
    await page.say("where is my order ORD-100002?")
    await bot_says(page, "ORD-100002 has shipped")


@pytest.fixture
async def websocket_page(
    stack: Stack, e2e_env: E2EEnvironment
) -> AsyncIterator[tuple[NodePage, str]]:
    async for opened in open_page(e2e_env, ["websocket"]):
        yield opened


@pytest.fixture
async def default_page(
    stack: Stack, e2e_env: E2EEnvironment
) -> AsyncIterator[tuple[NodePage, str]]:
    async for opened in open_page(e2e_env, []):
        yield opened


@pytest.fixture
async def polling_page(
    stack: Stack, e2e_env: E2EEnvironment
) -> AsyncIterator[tuple[NodePage, str]]:
    async for opened in open_page(e2e_env, ["polling"]):
        yield opened


async def test_a_websocket_only_client_chats_over_websocket(
    websocket_page: tuple[NodePage, str],
) -> None:
    page, sender = websocket_page

    connected = await page.next("connect")
    await chat(page, sender)

    assert connected["transport"] == "websocket"
    assert page.events("connect_error") == []
    assert (await page.stats())["transport"] == "websocket"


async def test_a_default_client_upgrades_to_websocket_and_chats(
    default_page: tuple[NodePage, str],
) -> None:
    page, sender = default_page

    opened = await page.next("open")
    upgraded = await page.next("upgrade")
    await chat(page, sender)

    assert opened["transport"] == "polling"
    assert upgraded["transport"] == "websocket"
    assert (await page.stats())["transport"] == "websocket"


async def test_a_polling_only_client_still_chats(polling_page: tuple[NodePage, str]) -> None:
    page, sender = polling_page

    connected = await page.next("connect")
    await chat(page, sender)

    assert connected["transport"] == "polling"
    assert page.events("upgrade") == []
    assert (await page.stats())["transport"] == "polling"
