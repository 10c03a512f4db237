"""What the workflows publish on the event bus, through the real app (`desk.workflows`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestServer

from desk.api.runtime import BUS
from desk.events import EVENT_TYPES, DeskEvent
from tests.desk.api.test_live_handoff import send_event, settle, user_event
from tests.desk.conftest import Browser, post_handoff
from tests.desk.rasa_stand_in import RasaStandIn

ContextFactory = Callable[..., dict[str, Any]]


def record(server: TestServer) -> list[DeskEvent]:
    """Every event the app's workflows publish from now on, in order."""
    published: list[DeskEvent] = []

    async def keep(event: DeskEvent) -> None:
        published.append(event)

    for event_type in EVENT_TYPES.values():
        server.app[BUS].subscribe(event_type, keep)
    return published


async def test_a_handoff_from_intake_to_hand_back_publishes_each_step(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    published = record(server)
    handoff_id = await post_handoff(bot, context_factory(sender_id="web-alice"))
    await settle(server)

    assert (await olivia.post(f"/api/handoffs/{handoff_id}/claim"))[0] == 200
    await send_event(bot, "web-alice", user_event("It still has not arrived"))
    message = {"text": "Let me check with the carrier."}
    assert (await olivia.post(f"/api/handoffs/{handoff_id}/messages", json=message))[0] == 201
    note = {"text": "Carrier claim needed"}
    assert (await olivia.post(f"/api/handoffs/{handoff_id}/notes", json=note))[0] == 201
    resolve = {"disposition": "resolved", "slots": {}}
    status, body = await olivia.post(f"/api/handoffs/{handoff_id}/resolve", json=resolve)
    assert (status, body["handed_back"]) == (200, True)
    rating = {"rating": 5, "comment": None}
    assert (await bot.post(f"/api/handoffs/{handoff_id}/csat", json=rating))[0] == 200

    assert [event.NAME.value for event in published] == [
        "handoff.queued",
        "handoff.claimed",
        "message.customer",
        "message.agent",
        "handoff.note_added",
        "handoff.resolved",
        "handoff.handed_back",
        "conversation.resumed",
        "handoff.rated",
    ]
    where = {
        (e.payload()["handoff_id"], e.payload()["sender_id"], e.payload()["queue"])
        for e in published
    }
    assert where == {(handoff_id, "web-alice", "order_support")}
    claimed, resumed = published[1].payload(), published[7].payload()
    assert claimed["agent_name"] == "Olivia"
    assert resumed["action"] == "action_welcome_back"
    assert published[2].payload()["text"] == "It still has not arrived"


async def test_cancelling_the_wait_publishes_abandoned_then_resumed(
    server: TestServer, bot: Browser, rasa: RasaStandIn, context_factory: ContextFactory
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="web-bob"))
    await settle(server)
    published = record(server)

    await send_event(bot, "web-bob", user_event("never mind", intent="cancel"))
    await settle(server)

    assert [(e.NAME.value, e.payload()["handoff_id"]) for e in published] == [
        ("handoff.abandoned", handoff_id),
        ("conversation.resumed", handoff_id),
    ]
    assert published[1].payload()["action"] == "action_handoff_cancelled"


async def test_a_transfer_publishes_where_from_and_where_to(
    server: TestServer, bot: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="web-carol"))
    await settle(server)
    published = record(server)

    target = {"queue": "general_support"}
    assert (await sam.post(f"/api/handoffs/{handoff_id}/transfer", json=target))[0] == 200

    (transferred,) = published
    assert transferred.NAME.value == "handoff.transferred"
    payload = transferred.payload()
    assert payload == {
        "handoff_id": handoff_id,
        "sender_id": "web-carol",
        "queue": "general_support",
        "from_queue": "order_support",
        "previous_owner_id": None,
        "agent_id": payload["agent_id"],
    }
    assert isinstance(payload["agent_id"], int)
