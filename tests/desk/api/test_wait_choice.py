"""Waiting customers through the desk's HTTP API, with the recording stand-in for Rasa: their
place as the queue moves, the wait choice (claim time-out, nobody online), and their answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import update

from desk.api.runtime import DATABASE, WAITING_ROOM
from desk.store.models import Handoff
from desk.store.types import utcnow
from tests.desk.api.test_live_handoff import connect, next_message, send_event, settle, user_event
from tests.desk.conftest import Browser, post_handoff
from tests.desk.rasa_stand_in import RasaStandIn

ContextFactory = Callable[..., dict[str, Any]]


def age(server: TestServer, handoff_id: str, seconds: float) -> None:
    """Make a handoff look as if it was queued `seconds` ago."""
    with server.app[DATABASE].session(write=True) as session:
        session.execute(
            update(Handoff)
            .where(Handoff.handoff_id == handoff_id)
            .values(queued_at=utcnow() - timedelta(seconds=seconds))
        )


def offers_in_transcript(rasa: RasaStandIn, sender_id: str) -> list[dict[str, Any]]:
    return [
        event
        for event in rasa.conversation(sender_id).events
        if event["event"] == "bot" and event.get("metadata", {}).get("desk_notice") == "wait_choice"
    ]


def waiting_positions(rasa: RasaStandIn, sender_id: str) -> list[int]:
    return [n["position"] for n in rasa.notifications(sender_id) if n["status"] == "waiting"]


async def test_with_nobody_of_the_queue_online_the_choice_comes_at_once(
    server: TestServer, bot: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="alone"))
    await settle(server)

    assert rasa.statuses("alone") == ["waiting", "timeout_choice"]
    choice = rasa.notifications("alone")[1]
    assert (choice["reason"], choice["position"], choice["queue"]) == (
        "no_agent_online",
        1,
        "order_support",
    )
    (offer,) = offers_in_transcript(rasa, "alone")
    assert "Nobody from Order Support is online right now" in offer["text"]
    assert offer["data"]["buttons"] == [
        {"title": "Keep waiting", "payload": "/keep_waiting"},
        {"title": "Leave a message", "payload": "/leave_message"},
    ]
    # Its place first, then the offer; Rasa sends both to the customer.
    calls = [c for c in rasa.of_kind("events") if c.sender_id == "alone"]
    assert [c.body[0]["metadata"]["desk_notice"] for c in calls] == [
        "queue_position",
        "wait_choice",
    ]
    assert all(c.query["execute_side_effects"] == "true" for c in calls)
    # Made once: a later check offers nothing new.
    assert await server.app[WAITING_ROOM].check() == []
    supervisor = await Browser(server).login("sam")
    _, pop = await supervisor.get(f"/api/handoffs/{handoff_id}")
    await supervisor.close()
    assert [e["kind"] for e in pop["events"]].count("choice_offered") == 1


async def test_a_claim_time_out_offers_the_choice(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="patient"))
    await settle(server)
    room = server.app[WAITING_ROOM]
    assert await room.check() == []  # Olivia is online and the wait is short

    age(server, handoff_id, room.claim_timeout_seconds + 1)
    (offer,) = await room.check()

    assert offer.reason.value == "claim_timeout"
    assert rasa.statuses("patient") == ["waiting", "timeout_choice"]
    assert (
        "everyone in Order Support is still busy"
        in offers_in_transcript(rasa, "patient")[0]["text"]
    )


async def test_leaving_a_message_expires_the_wait_and_the_bot_asks_for_it(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="busy"))
    await settle(server)
    age(server, handoff_id, server.app[WAITING_ROOM].claim_timeout_seconds + 1)
    assert len(await server.app[WAITING_ROOM].check()) == 1
    olivia_live = await connect(olivia)

    await send_event(bot, "busy", user_event("/leave_message", intent="leave_message"))
    await settle(server)

    assert await next_message(olivia_live) == {
        "type": "queue_changed",
        "queue": "order_support",
        "handoff_id": handoff_id,
        "change": "expired",
    }
    assert [c.body for c in rasa.of_kind("execute")] == [{"name": "action_ask_callback"}]
    assert rasa.conversation("busy").paused is False
    assert rasa.statuses("busy")[-1] == "back_with_bot"
    # The bot's callback form then sends the message, stored with the handoff.
    status, body = await bot.post(
        f"/api/handoffs/{handoff_id}/callback", json={"message": "Call me after 5pm"}
    )
    assert (status, body["status"]) == (200, "expired")
    _, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert pop["handoff"]["callback_message"] == "Call me after 5pm"
    assert pop["handoff"]["expired_at"] is not None
    await olivia_live.close()


async def test_keeping_waiting_retells_the_place_and_restarts_the_clock(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    room = server.app[WAITING_ROOM]
    handoff_id = await post_handoff(bot, context_factory(sender_id="stays"))
    await settle(server)
    age(server, handoff_id, room.claim_timeout_seconds + 1)
    assert len(await room.check()) == 1
    assert rasa.statuses("stays") == ["waiting", "timeout_choice"]

    await send_event(bot, "stays", user_event("I'll wait", intent="keep_waiting"))
    await settle(server)

    assert rasa.statuses("stays") == ["waiting", "timeout_choice", "waiting"]
    _, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert pop["handoff"]["status"] == "queued"
    assert await room.check() == []  # the clock restarted with the choice
    assert rasa.of_kind("execute") == []  # the bot stays out of it


async def test_when_the_queue_moves_the_others_learn_their_new_places(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    first = await post_handoff(bot, context_factory(sender_id="first"))
    await post_handoff(bot, context_factory(sender_id="second"))
    await post_handoff(bot, context_factory(sender_id="third"))
    await settle(server)
    assert [waiting_positions(rasa, s) for s in ("first", "second", "third")] == [[1], [2], [3]]

    status, _ = await olivia.post(f"/api/handoffs/{first}/claim")
    assert status == 200
    await settle(server)
    assert [waiting_positions(rasa, s) for s in ("first", "second", "third")] == [
        [1],
        [2, 1],
        [3, 2],
    ]

    await post_handoff(bot, context_factory(sender_id="urgent", priority="urgent"))
    await settle(server)
    assert waiting_positions(rasa, "urgent") == [1]
    assert waiting_positions(rasa, "second")[-1] == 2
    assert waiting_positions(rasa, "third")[-1] == 3
    estimate = [n for n in rasa.notifications("third") if n["status"] == "waiting"][-1]
    assert estimate["estimated_wait_seconds"] == 3 * 240.0


async def test_an_offer_rasa_cannot_take_is_made_again_later(
    server: TestServer, bot: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    rasa.fail["events"] = 503
    await post_handoff(bot, context_factory(sender_id="unlucky"))
    await settle(server)
    assert "timeout_choice" not in rasa.statuses("unlucky")

    del rasa.fail["events"]
    (offer,) = await server.app[WAITING_ROOM].check()

    assert offer.waiting.sender_id == "unlucky"
    assert rasa.statuses("unlucky") == ["waiting", "timeout_choice"]
    assert len(offers_in_transcript(rasa, "unlucky")) == 1


async def test_a_customer_message_delivered_twice_reaches_the_agent_once(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="twice"))
    live = await connect(olivia)
    message = user_event("is anyone there?")

    await send_event(bot, "twice", message)
    again = await send_event(bot, "twice", message)  # the broker retried after a time-out
    await send_event(bot, "twice", {**message, "text": "hello?"})

    first = await next_message(live)
    assert (first["type"], first["handoff_id"], first["text"]) == (
        "customer_message",
        handoff_id,
        "is anyone there?",
    )
    assert again == {"accepted": True, "handoff_id": None}
    assert (await next_message(live))["text"] == "hello?"  # not the duplicate
    await live.close()
