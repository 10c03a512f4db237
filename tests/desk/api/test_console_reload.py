"""What a reloaded console (or another browser) needs from the desk: the conversation of a
handoff, read from Rasa's tracker (`GET /api/handoffs/{id}/conversation`), and the agent's own
open chats (`GET /api/my-handoffs`)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from desk.api.runtime import TASKS
from tests.desk.api.test_live_handoff import claimed
from tests.desk.conftest import Browser, post_handoff
from tests.desk.rasa_stand_in import RasaStandIn

ContextFactory = Callable[..., dict[str, Any]]
WAITING_FIRST = "You're number 1 in the queue for Order Support. Estimated wait: about 4 minutes."


def conversation_path(handoff_id: str) -> str:
    return f"/api/handoffs/{handoff_id}/conversation"


def handed_over(handoff_id: str, start: float) -> list[dict[str, Any]]:
    """A tracker as Rasa keeps it: the chat with the bot, then the bot's handoff action."""
    return [
        {"event": "action", "name": "action_session_start", "timestamp": start},
        {"event": "user", "text": "where is my order ORD-100005?", "timestamp": start + 1},
        {"event": "bot", "text": "It is delayed.", "timestamp": start + 2},
        {"event": "user", "text": "I want a person", "timestamp": start + 3},
        {"event": "action", "name": "action_handoff", "timestamp": start + 4},
        {"event": "bot", "text": "I'm passing you to Order Support now.", "timestamp": start + 4.1},
        {"event": "slot", "name": "handoff_id", "value": handoff_id, "timestamp": start + 4.2},
        {"event": "pause", "timestamp": start + 4.3},
        {
            "event": "bot",
            "text": "Nobody is free yet.\n\nKeep waiting?",
            "timestamp": start + 5,
            "data": {"buttons": [{"title": "Keep waiting", "payload": "/keep_waiting"}]},
        },
        {"event": "user", "text": "/keep_waiting", "timestamp": start + 6},
    ]


def customer_says(rasa: RasaStandIn, sender_id: str, text: str) -> None:
    """The customer writes while the agent has the chat (Rasa logs it in the tracker)."""
    rasa.conversation(sender_id).events.append(
        {"event": "user", "text": text, "timestamp": time.time()}
    )


# --- The conversation ---------------------------------------------------------------------------


async def test_the_conversation_runs_from_the_handoff_with_every_turn_in_order(
    bot: Browser,
    olivia: Browser,
    sam: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = str(uuid.uuid4())
    rasa.seed("reload-1", handed_over(handoff_id, start=time.time() - 600))
    await claimed(bot, olivia, context_factory(sender_id="reload-1", handoff_id=handoff_id))
    path = f"/api/handoffs/{handoff_id}/messages"
    assert (await olivia.post(path, json={"text": "Hi Jane, I'm Olivia."}))[0] == 201
    customer_says(rasa, "reload-1", "Is it coming today?")
    assert (await sam.post(path, json={"text": "Sam here, checking with the carrier."}))[0] == 201

    status, body = await olivia.get(conversation_path(handoff_id))

    assert status == 200
    assert {k: body[k] for k in ("handoff_id", "sender_id", "status", "since_handoff")} == {
        "handoff_id": handoff_id,
        "sender_id": "reload-1",
        "status": "claimed",
        "since_handoff": True,
    }
    turns = body["turns"]
    assert [(t["role"], t["text"], t["agent_name"]) for t in turns] == [
        ("bot", "I'm passing you to Order Support now.", None),
        ("bot", "Nobody is free yet.", None),
        ("bot", "Keep waiting?", None),
        ("customer", "Keep waiting", None),  # the button's title, as the customer saw it
        ("bot", WAITING_FIRST, None),
        ("bot", "Olivia from Order Support has joined the chat.", None),
        ("agent", "Hi Jane, I'm Olivia.", "Olivia"),
        ("customer", "Is it coming today?", None),
        ("agent", "Sam here, checking with the carrier.", "Sam"),
    ]
    assert turns[2]["buttons"] == [{"title": "Keep waiting", "payload": "/keep_waiting"}]
    assert all(t["buttons"] == [] for i, t in enumerate(turns) if i != 2)
    stamps = [t["timestamp"] for t in turns]
    assert all(isinstance(stamp, float) for stamp in stamps)
    assert stamps == sorted(stamps)
    # The supervisor sees the same; the chat with the bot before is the screen pop's transcript.
    assert (await sam.get(conversation_path(handoff_id)))[1]["turns"] == turns
    assert [call.sender_id for call in rasa.of_kind("tracker")] == ["reload-1", "reload-1"]


async def test_without_the_handover_in_the_tracker_the_whole_conversation_is_shown(
    bot: Browser, olivia: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    rasa.seed(
        "no-marker",
        [
            {"event": "user", "text": "hello", "timestamp": 10.0},
            {"event": "bot", "text": "Hi! How can I help?", "timestamp": 11.0},
        ],
    )
    handoff_id = await post_handoff(bot, context_factory(sender_id="no-marker"))
    await bot.server.app[TASKS].settle()  # the customer is told their place

    status, body = await olivia.get(conversation_path(handoff_id))

    assert status == 200
    assert (body["status"], body["since_handoff"]) == ("queued", False)
    assert [(t["role"], t["text"], t["timestamp"]) for t in body["turns"]] == [
        ("customer", "hello", 10.0),
        ("bot", "Hi! How can I help?", 11.0),
        ("bot", WAITING_FIRST, body["turns"][-1]["timestamp"]),
    ]


async def test_the_conversation_is_shown_only_to_whom_the_screen_pop_is(
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    anonymous: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="private"))
    unknown = "11111111-1111-4111-8111-111111111111"

    other_queue = await leo.get(conversation_path(handoff_id))
    logged_out = await anonymous.get(conversation_path(handoff_id))
    missing = await olivia.get(conversation_path(unknown))
    garbage = await olivia.get("/api/handoffs/not-a-handoff/conversation")

    assert other_queue == (404, {"error": f"no handoff {handoff_id}"})
    assert logged_out == (401, {"error": "log in first"})
    assert missing == (404, {"error": f"no handoff {unknown}"})
    assert garbage[0] == 404
    assert rasa.of_kind("tracker") == []  # nothing is read for those who may not see it
    assert (await olivia.get(conversation_path(handoff_id)))[0] == 200  # waiting in her queue

    # Transferred to Leo's queue, it is his to see and no longer Olivia's.
    moved = await olivia.post(
        f"/api/handoffs/{handoff_id}/transfer", json={"queue": "tech_support_l2"}
    )
    assert moved[0] == 200
    assert (await olivia.get(conversation_path(handoff_id)))[0] == 404
    assert (await leo.get(conversation_path(handoff_id)))[0] == 200


async def test_the_conversation_is_a_503_when_rasa_cannot_be_read(
    bot: Browser, olivia: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await claimed(bot, olivia, context_factory(sender_id="rasa-down"))
    rasa.fail["tracker"] = 500

    status, body = await olivia.get(conversation_path(handoff_id))

    assert status == 503
    assert body["error"].startswith(
        "the conversation could not be loaded from Rasa: Rasa answered 500 when reading the tracker"
    )


# --- My chats -----------------------------------------------------------------------------------


async def test_my_handoffs_are_the_chats_i_have_claimed_newest_first(
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    sam: Browser,
    browsers: Callable[..., Browser],
    context_factory: ContextFactory,
) -> None:
    first = await post_handoff(bot, context_factory(queue="order_support"))
    second = await post_handoff(bot, context_factory(queue="order_support"))
    await post_handoff(bot, context_factory(queue="order_support"))  # still waiting
    samples = await post_handoff(bot, context_factory(queue="order_support"))
    tech = await post_handoff(bot, context_factory(queue="tech_support_l2"))
    claims = {}
    for agent, handoff_id in [(olivia, first), (olivia, second), (sam, samples), (leo, tech)]:
        status, claims[handoff_id] = await agent.post(f"/api/handoffs/{handoff_id}/claim")
        assert status == 200

    status, mine = await olivia.get("/api/my-handoffs")
    _, sams = await sam.get("/api/my-handoffs")
    elsewhere = await (await browsers().login("olivia")).get("/api/my-handoffs")

    assert status == 200
    assert mine == {"handoffs": [claims[second], claims[first]]}  # the queue/claim fields
    assert mine["handoffs"][0]["status"] == "claimed"
    assert mine["handoffs"][0]["agent"]["name"] == "Olivia"
    assert sams == {"handoffs": [claims[samples]]}  # a supervisor's own only
    assert elsewhere == (200, mine)  # another browser shows the same chats

    # Resolved, transferred: no longer "mine".
    resolved = await olivia.post(f"/api/handoffs/{first}/resolve", json={"disposition": "resolved"})
    assert resolved[0] == 200
    assert [h["handoff_id"] for h in (await olivia.get("/api/my-handoffs"))[1]["handoffs"]] == [
        second
    ]
    moved = await olivia.post(f"/api/handoffs/{second}/transfer", json={"queue": "general_support"})
    assert moved[0] == 200
    assert await olivia.get("/api/my-handoffs") == (200, {"handoffs": []})


async def test_my_handoffs_need_a_session(anonymous: Browser) -> None:
    assert await anonymous.get("/api/my-handoffs") == (401, {"error": "log in first"})
