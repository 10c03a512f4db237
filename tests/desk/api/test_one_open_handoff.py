"""One open handoff per conversation, and the bot told of every new one (issue 7, section 2).

The action server may die after delivering a handoff, before its events reach the tracker; the
outbox relay may deliver a context long after its turn. The desk answers a second delivery for
the conversation with the open handoff, and confirms each new handoff to the Rasa server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from contract.handoff_opened import HANDOFF_ID_SLOT
from desk import bot_sync
from desk.api.runtime import BOT_SYNC, DATABASE
from desk.store.repositories import HandoffRepository
from tests.desk.api.test_live_handoff import settle
from tests.desk.conftest import Browser, post_handoff
from tests.desk.rasa_stand_in import RasaStandIn

ContextFactory = Callable[..., dict[str, Any]]


async def test_a_second_handoff_of_the_conversation_is_answered_with_the_open_one(
    bot: Browser, server: TestServer, context_factory: ContextFactory
) -> None:
    first = context_factory(sender_id="web-twice")
    again = context_factory(sender_id="web-twice", queue="tech_support_l2")

    await post_handoff(bot, first)
    status, body = await bot.post(
        "/api/handoffs", json=again, headers={"Idempotency-Key": again["handoff_id"]}
    )

    assert status == 200
    assert body == {
        "handoff_id": first["handoff_id"],
        "status": "queued",
        "queue": "order_support",
        "position": 1,
    }
    await settle(server)


async def test_a_handoff_the_bot_missed_is_confirmed_and_the_customer_told(
    bot: Browser, server: TestServer, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    payload = context_factory(sender_id="web-missed", queue="order_support")
    rasa.conversation("web-missed").paused = False  # the action's events never arrived

    await post_handoff(bot, payload)
    await settle(server)

    [call] = rasa.of_kind("handoff_opened")
    assert call.authorization == f"Bearer {rasa.token}"
    assert call.body["handoff_id"] == payload["handoff_id"]
    conversation = rasa.conversation("web-missed")
    assert conversation.paused is True
    assert conversation.slots[HANDOFF_ID_SLOT] == payload["handoff_id"]
    told = [
        event["text"]
        for event in conversation.events
        if event["event"] == "bot" and "desk_notice" not in event.get("metadata", {})
    ]
    assert [text for text in told if "queue for Order Support" in text] == [
        bot_sync.HANDOFF_OPENED_TEXT.format(team="Order Support")
    ]


async def test_a_repeated_delivery_is_not_confirmed_again(
    bot: Browser, server: TestServer, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    payload = context_factory(sender_id="web-relay")
    await post_handoff(bot, payload)
    status, _ = await bot.post(
        "/api/handoffs", json=payload, headers={"Idempotency-Key": payload["handoff_id"]}
    )
    await settle(server)

    assert status == 200
    assert [call.body["handoff_id"] for call in rasa.of_kind("handoff_opened")] == [
        payload["handoff_id"]
    ]


async def test_the_confirmation_is_retried_while_rasa_fails(
    bot: Browser,
    server: TestServer,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(bot_sync, "RETRY_SECONDS", (0.01, 0.01))
    rasa.fail["handoff_opened"] = 503

    await post_handoff(bot, context_factory(sender_id="web-rasa-down"))
    await settle(server)

    assert len(rasa.of_kind("handoff_opened")) == 3
    assert "failed for good" in caplog.text


def confirmed_at(server: TestServer, handoff_id: str) -> object:
    with server.app[DATABASE].session() as session:
        handoff = HandoffRepository(session).get(handoff_id)
        assert handoff is not None
        return handoff.bot_confirmed_at


async def test_a_report_rasa_took_is_recorded_and_not_swept_again(
    bot: Browser, server: TestServer, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="web-took"))
    await settle(server)

    assert confirmed_at(server, handoff_id) is not None
    assert await server.app[BOT_SYNC].sweep() == 0
    assert len(rasa.of_kind("handoff_opened")) == 1


async def test_the_sweep_reports_what_rasa_could_not_take_when_it_is_back(
    bot: Browser,
    server: TestServer,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot_sync, "RETRY_SECONDS", ())
    monkeypatch.setattr(bot_sync, "SWEEP_AFTER_SECONDS", 0.0)
    rasa.fail["handoff_opened"] = 503
    rasa.conversation("web-rasa-back").paused = False
    handoff_id = await post_handoff(bot, context_factory(sender_id="web-rasa-back"))
    await settle(server)
    assert confirmed_at(server, handoff_id) is None
    assert await server.app[BOT_SYNC].sweep() == 0  # Rasa is still down

    del rasa.fail["handoff_opened"]
    assert await server.app[BOT_SYNC].sweep() == 1

    assert confirmed_at(server, handoff_id) is not None
    assert rasa.conversation("web-rasa-back").paused is True
    assert [call.body["handoff_id"] for call in rasa.of_kind("handoff_opened")] == [handoff_id] * 3
    assert await server.app[BOT_SYNC].sweep() == 0
