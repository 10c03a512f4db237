"""The live conversation, through the desk's HTTP API and a recording stand-in for Rasa:
notifications to the customer, agent messages and typing, hand-back, the console websocket,
and a customer cancelling while waiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestServer

from contract.analytics_report import FLOOR_MESSAGE
from contract.desk_notices import DESK_NOTICE_KEY
from desk.api.runtime import TASKS
from desk.workflows import customer as customer_workflows
from tests.desk.conftest import Browser, post_handoff
from tests.desk.rasa_stand_in import Call, RasaStandIn

ContextFactory = Callable[..., dict[str, Any]]
WAIT = 5.0


def is_notice(call: Call) -> bool:
    """Whether an append is one of the desk's own messages (`metadata.desk_notice`)."""
    return any(DESK_NOTICE_KEY in (event.get("metadata") or {}) for event in call.body)


def agent_turns(rasa: RasaStandIn) -> list[dict[str, Any]]:
    """The bot events the desk appended for agents (not its own notices)."""
    return [call.body[0] for call in rasa.of_kind("events") if not is_notice(call)]


async def settle(server: TestServer) -> None:
    """Let the desk finish what it does in the background (notifications after intake)."""
    await server.app[TASKS].settle()


async def claimed(bot: Browser, agent: Browser, payload: dict[str, Any]) -> str:
    """A handoff delivered, its customer told their place (the background work), then claimed."""
    handoff_id = await post_handoff(bot, payload)
    await settle(bot.server)
    status, body = await agent.post(f"/api/handoffs/{handoff_id}/claim")
    assert status == 200, body
    return handoff_id


async def connect(browser: Browser) -> ClientWebSocketResponse:
    socket = await browser.live()
    hello = await socket.receive_json(timeout=WAIT)
    assert hello["type"] == "connected"
    return socket


async def next_message(socket: ClientWebSocketResponse) -> dict[str, Any]:
    """The next message about handoffs (a supervisor's live strip, pushed whenever it may
    have changed, is skipped)."""
    while True:
        message: dict[str, Any] = await socket.receive_json(timeout=WAIT)
        if message["type"] != FLOOR_MESSAGE:
            return message


def user_event(text: str, intent: str = "inform") -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": 1_741_946_400.5,
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 0.97}},
        "input_channel": "socketio",
    }


async def send_event(bot: Browser, sender_id: str, event: dict[str, Any]) -> Any:
    status, body = await bot.post(
        "/api/conversation-events", json={"sender_id": sender_id, "event": event}
    )
    assert status == 202, body
    return body


# --- Notifications to the customer's page ---------------------------------------------------------


async def test_intake_tells_the_customer_their_place_and_estimated_wait(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    # Olivia (order_support) is logged in, so no wait choice follows.
    await post_handoff(bot, context_factory(sender_id="first"))
    await post_handoff(bot, context_factory(sender_id="second"))
    await settle(server)

    (notice,) = rasa.notifications("second")
    assert notice == {
        "sender_id": "second",
        "type": "handoff_status",
        "status": "waiting",
        "queue": "order_support",
        "team_name": "Order Support",
        "position": 2,
        "estimated_wait_seconds": 480.0,  # 2 x average_handle_seconds (240 in the tests)
        "notice_text": "You're number 2 in the queue for Order Support. "
        "Estimated wait: about 8 minutes.",
    }


async def test_a_redelivered_handoff_does_not_notify_again(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    # Olivia (order_support) is logged in, so no wait choice follows the `waiting`.
    payload = context_factory(sender_id="once")
    await post_handoff(bot, payload)
    again = await bot.post("/api/handoffs", json=payload)
    await settle(server)

    assert again[0] == 200
    assert rasa.statuses("once") == ["waiting"]


async def test_claim_and_transfer_tell_the_customer(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="moving"))

    status, moved = await olivia.post(
        f"/api/handoffs/{handoff_id}/transfer", json={"queue": "tech_support_l2"}
    )
    await settle(server)

    assert status == 200
    waiting, joined, transferred = rasa.notifications("moving")
    assert waiting["status"] == "waiting"
    assert (joined["status"], joined["agent_name"]) == ("agent_joined", "Olivia")
    assert transferred == {
        "sender_id": "moving",
        "type": "handoff_status",
        "status": "waiting",
        "queue": "tech_support_l2",
        "team_name": "Technical Support (2nd line)",
        "position": moved["position"],
        "estimated_wait_seconds": 240.0,
        "notice_text": "You're number 1 in the queue for Technical Support (2nd line). "
        "Estimated wait: about 4 minutes.",
    }


async def test_a_failing_notification_never_fails_the_agent(
    bot: Browser, olivia: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    rasa.fail["notify"] = 500
    handoff_id = await claimed(bot, olivia, context_factory())

    typing = await olivia.post(f"/api/handoffs/{handoff_id}/typing", json={"typing": True})
    resolved = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )

    assert typing == (202, {"typing": True, "notified": False})
    assert resolved[0] == 200
    assert resolved[1]["handed_back"] is True


# --- Agent messages and typing --------------------------------------------------------------------


async def test_agent_messages_go_into_the_conversation_and_the_first_reply_is_timed(
    bot: Browser, olivia: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="chat-1"))

    first = await olivia.post(f"/api/handoffs/{handoff_id}/messages", json={"text": "Hi Jane!"})
    second = await olivia.post(
        f"/api/handoffs/{handoff_id}/messages", json={"text": "Your parcel left the depot."}
    )

    assert first[0] == 201 and second[0] == 201
    assert first[1]["text"] == "Hi Jane!"
    reply_at = first[1]["handoff"]["first_agent_reply_at"]
    assert reply_at is not None
    assert second[1]["handoff"]["first_agent_reply_at"] == reply_at
    sent = agent_turns(rasa)
    assert [event["text"] for event in sent] == ["Hi Jane!", "Your parcel left the depot."]
    assert sent[0]["event"] == "bot"
    assert sent[0]["metadata"]["handoff_agent"]["name"] == "Olivia"
    assert all(call.sender_id == "chat-1" for call in rasa.of_kind("events"))
    _, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    kinds = [event["kind"] for event in pop["events"]]
    assert kinds.count("first_agent_reply") == 1
    messages = [event for event in pop["events"] if event["kind"] == "message"]
    assert [m["detail"]["text"] for m in messages] == ["Hi Jane!", "Your parcel left the depot."]
    assert messages[0]["actor"]["name"] == "Olivia"


async def test_only_the_owner_of_a_claimed_handoff_can_message(
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    anonymous: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    waiting = await post_handoff(bot, context_factory())
    handoff_id = await claimed(bot, olivia, context_factory())
    path = f"/api/handoffs/{handoff_id}/messages"

    not_claimed = await olivia.post(f"/api/handoffs/{waiting}/messages", json={"text": "hi"})
    other_queue = await leo.post(path, json={"text": "hi"})
    logged_out = await anonymous.post(path, json={"text": "hi"})
    empty = await olivia.post(path, json={"text": "   "})
    too_long = await olivia.post(path, json={"text": "x" * 2001})
    typing_not_owner = await leo.post(f"/api/handoffs/{handoff_id}/typing", json={"typing": True})
    typing_bad = await olivia.post(f"/api/handoffs/{handoff_id}/typing", json={"typing": "yes"})

    assert not_claimed[0] == 409
    assert other_queue[0] == 404
    assert logged_out[0] == 401
    assert (empty[0], too_long[0]) == (422, 422)
    assert (typing_not_owner[0], typing_bad[0]) == (404, 422)
    assert agent_turns(rasa) == []


async def test_a_message_rasa_refuses_is_a_503_and_is_not_logged(
    bot: Browser, olivia: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory())
    rasa.fail["events"] = 500

    status, body = await olivia.post(f"/api/handoffs/{handoff_id}/messages", json={"text": "Hi"})

    assert status == 503
    assert "Rasa answered 500 when appending events" in body["error"]
    _, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert pop["handoff"]["first_agent_reply_at"] is None
    assert "message" not in [event["kind"] for event in pop["events"]]


async def test_typing_is_shown_to_the_customer(
    bot: Browser, olivia: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="typist"))

    answer = await olivia.post(f"/api/handoffs/{handoff_id}/typing", json={"typing": True})
    await olivia.post(f"/api/handoffs/{handoff_id}/typing", json={"typing": False})

    assert answer == (202, {"typing": True, "notified": True})
    typing = [n for n in rasa.notifications("typist") if n["status"] == "agent_typing"]
    assert [(n["typing"], n["agent_name"]) for n in typing] == [(True, "Olivia"), (False, "Olivia")]


# --- Resolve and hand back ------------------------------------------------------------------------


async def test_resolve_says_goodbye_hands_back_then_says_back_with_bot(
    bot: Browser, olivia: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="done"))

    status, body = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"order_lookup_failures": 0.0}},
    )

    assert status == 200
    assert (body["handed_back"], body["hand_back_error"]) == (True, None)
    assert body["handoff"]["status"] == "handed_back"
    assert body["handoff"]["handed_back_at"] is not None
    order = [
        call.body["status"] if call.kind == "notify" else call.kind
        for call in rasa.calls
        if call.sender_id == "done" and call.kind != "handoff_opened"
    ]
    # Each state as a status, then as a bot message; the agent's side ends before the bot
    # takes over again.
    assert order == [
        "waiting",
        "events",
        "agent_joined",
        "events",
        "agent_left",
        "events",
        "events",
        "execute",
        "back_with_bot",
    ]
    conversation = rasa.conversation("done")
    assert conversation.slots == {"order_lookup_failures": 0.0}
    assert conversation.paused is False
    assert rasa.of_kind("execute")[0].body == {"name": "action_welcome_back"}


async def test_a_failed_hand_back_is_reported_and_the_handoff_stays_resolved(
    bot: Browser, olivia: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="stuck"))
    rasa.fail["execute"] = 500

    status, body = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )

    assert status == 200
    assert body["handed_back"] is False
    assert "Rasa answered 500 when executing action_welcome_back" in body["hand_back_error"]
    assert (body["handoff"]["status"], body["handoff"]["handed_back_at"]) == ("resolved", None)
    assert "back_with_bot" not in rasa.statuses("stuck")


async def test_a_failed_hand_back_can_be_tried_again_with_the_stored_slot_updates(
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="retry"))
    rasa.fail["execute"] = 500
    await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved_with_followup", "slots": {"order_number": "ORD-100005"}},
    )

    still_down = await olivia.post(f"/api/handoffs/{handoff_id}/hand-back")
    del rasa.fail["execute"]
    not_hers = await leo.post(f"/api/handoffs/{handoff_id}/hand-back")
    status, body = await olivia.post(f"/api/handoffs/{handoff_id}/hand-back")
    again = await olivia.post(f"/api/handoffs/{handoff_id}/hand-back")

    assert (still_down[0], still_down[1]["handed_back"]) == (200, False)
    assert not_hers[0] == 404  # Leo does not serve order_support: he cannot even see it
    assert (status, body["handed_back"], body["hand_back_error"]) == (200, True, None)
    assert (body["handoff"]["status"], body["handoff"]["disposition"]) == (
        "handed_back",
        "resolved_with_followup",
    )
    assert rasa.conversation("retry").slots == {"order_number": "ORD-100005"}
    assert rasa.statuses("retry")[-1] == "back_with_bot"
    assert again[0] == 409  # nothing left to hand back


# --- The console websocket ------------------------------------------------------------------------


async def test_the_websocket_needs_a_session_and_the_same_origin(
    server: TestServer, anonymous: Browser, olivia: Browser
) -> None:
    refused = await anonymous.raw("GET", "/api/live")
    foreign = await olivia.raw(
        "GET",
        "/api/live",
        headers={
            "Origin": "https://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    plain = await olivia.get("/api/live")

    assert refused.status == 401
    assert foreign.status == 403
    assert plain[0] == 400


async def test_customer_messages_and_typing_reach_the_agents_who_may_see_them(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    sam: Browser,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="talker"))
    olivia_live, leo_live, sam_live = [await connect(b) for b in (olivia, leo, sam)]

    accepted = await send_event(bot, "talker", user_event("Is it coming today?"))
    await send_event(bot, "talker", {"event": "user_typing", "typing": True})
    tech = await post_handoff(bot, context_factory(queue="tech_support_l2"))

    assert accepted == {"accepted": True, "handoff_id": handoff_id}
    message = await next_message(olivia_live)
    assert message == {
        "type": "customer_message",
        "handoff_id": handoff_id,
        "sender_id": "talker",
        "text": "Is it coming today?",
        "intent": "inform",
        "timestamp": 1_741_946_400.5,
    }
    assert await next_message(olivia_live) == {
        "type": "customer_typing",
        "handoff_id": handoff_id,
        "sender_id": "talker",
        "typing": True,
    }
    assert (await next_message(sam_live))["type"] == "customer_message"
    # Leo serves another queue: the first thing he hears of is the handoff in his own queue.
    assert await next_message(leo_live) == {
        "type": "queue_changed",
        "queue": "tech_support_l2",
        "handoff_id": tech,
        "change": "queued",
    }
    for socket in (olivia_live, leo_live, sam_live):
        await socket.close()


async def test_queues_change_live_on_intake_claim_transfer_and_resolve(
    server: TestServer, bot: Browser, olivia: Browser, leo: Browser, context_factory: ContextFactory
) -> None:
    olivia_live, leo_live = await connect(olivia), await connect(leo)

    first = await post_handoff(bot, context_factory())
    await olivia.post(f"/api/handoffs/{first}/claim")
    await olivia.post(f"/api/handoffs/{first}/transfer", json={"queue": "tech_support_l2"})
    await leo.post(f"/api/handoffs/{first}/claim")
    await leo.post(f"/api/handoffs/{first}/resolve", json={"disposition": "resolved"})

    olivia_saw = [await next_message(olivia_live) for _ in range(3)]
    leo_saw = [await next_message(leo_live) for _ in range(3)]
    assert [(m["queue"], m["change"]) for m in olivia_saw] == [
        ("order_support", "queued"),
        ("order_support", "claimed"),
        ("order_support", "transferred_out"),
    ]
    assert [(m["queue"], m["change"]) for m in leo_saw] == [
        ("tech_support_l2", "transferred_in"),
        ("tech_support_l2", "claimed"),
        ("tech_support_l2", "resolved"),
    ]
    assert all(m["type"] == "queue_changed" and m["handoff_id"] == first for m in olivia_saw)
    await olivia_live.send_str("ping")
    assert (await olivia_live.receive(timeout=WAIT)).data == "pong"
    await olivia_live.close()
    await leo_live.close()


async def test_the_desk_closes_consoles_when_it_shuts_down(
    settings: Any, olivia: Browser, server: TestServer
) -> None:
    socket = await connect(olivia)

    await server.app.shutdown()

    closing = await socket.receive(timeout=WAIT)
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)


# --- The customer cancels while waiting -----------------------------------------------------------


async def test_never_mind_while_waiting_abandons_and_gives_the_conversation_back(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="changed-mind"))
    olivia_live = await connect(olivia)

    await send_event(bot, "changed-mind", user_event("never mind", intent="cancel"))
    await settle(server)

    assert await next_message(olivia_live) == {
        "type": "queue_changed",
        "queue": "order_support",
        "handoff_id": handoff_id,
        "change": "abandoned",
    }
    _, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert pop["handoff"]["status"] == "abandoned"
    assert pop["handoff"]["abandoned_at"] is not None
    events, execute = rasa.of_kind("events"), rasa.of_kind("execute")
    assert [call.body for call in events if not is_notice(call)] == [[{"event": "resume"}]]
    assert [call.body for call in execute] == [{"name": "action_handoff_cancelled"}]
    assert rasa.statuses("changed-mind") == ["waiting", "back_with_bot"]
    # Nothing open any more: later messages are not relayed.
    assert (await send_event(bot, "changed-mind", user_event("hello")))["handoff_id"] is None
    await olivia_live.close()


async def test_cancel_after_the_claim_is_just_a_message_to_the_agent(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="late-cancel"))
    olivia_live = await connect(olivia)

    await send_event(bot, "late-cancel", user_event("cancel", intent="cancel"))
    await settle(server)

    message = await next_message(olivia_live)
    assert (message["type"], message["intent"]) == ("customer_message", "cancel")
    _, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert pop["handoff"]["status"] == "claimed"
    assert rasa.of_kind("execute") == []
    await olivia_live.close()


async def test_events_of_conversations_without_an_open_handoff_are_accepted_and_ignored(
    bot: Browser, olivia: Browser, rasa: RasaStandIn
) -> None:
    olivia_live = await connect(olivia)

    body = await send_event(bot, "nobody", user_event("never mind", intent="cancel"))
    await send_event(bot, "nobody", {"event": "bot", "text": "Hi!"})

    assert body == {"accepted": True, "handoff_id": None}
    assert rasa.calls == []
    await olivia_live.send_str("ping")
    assert (await olivia_live.receive(timeout=WAIT)).data == "pong"  # nothing came before it
    await olivia_live.close()


async def test_a_cancelled_conversation_rasa_cannot_take_is_retried_then_logged(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(customer_workflows, "GIVE_BACK_RETRY_SECONDS", (0.01, 0.01))
    handoff_id = await post_handoff(bot, context_factory(sender_id="unlucky"))
    rasa.fail["execute"] = 500

    await send_event(bot, "unlucky", user_event("never mind", intent="cancel"))
    await settle(server)

    assert len(rasa.of_kind("execute")) == 3
    assert "back_with_bot" not in rasa.statuses("unlucky")
    _, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert pop["handoff"]["status"] == "abandoned"
