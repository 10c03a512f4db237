"""The console's callbacks over HTTP: `GET /api/callbacks` and
`POST /api/handoffs/{handoff_id}/callback-done`, with what the consoles are told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestServer

from desk.api.runtime import BUS
from desk.events import HandoffCallbackDone
from tests.desk.api.test_live_handoff import connect, next_message, settle
from tests.desk.conftest import Browser, post_handoff

ContextFactory = Callable[..., dict[str, Any]]
UNKNOWN = "00000000-0000-4000-8000-000000000000"
MESSAGE = "Please call me after 5pm on 020 7946 0000"


async def left_message(
    bot: Browser, context_factory: ContextFactory, queue: str = "order_support"
) -> str:
    """A waiting handoff whose customer left a message instead (it expired); its id."""
    handoff_id = await post_handoff(bot, context_factory(queue=queue))
    await settle(bot.server)
    status, body = await bot.post(f"/api/handoffs/{handoff_id}/callback", json={"message": MESSAGE})
    assert (status, body["status"]) == (200, "expired"), body
    return handoff_id


def done_path(handoff_id: str) -> str:
    return f"/api/handoffs/{handoff_id}/callback-done"


async def test_an_agent_lists_the_open_callbacks_of_their_queues(
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    sam: Browser,
    context_factory: ContextFactory,
) -> None:
    orders = await left_message(bot, context_factory)
    technical = await left_message(bot, context_factory, queue="tech_support_l2")

    status, body = await olivia.get("/api/callbacks")

    assert status == 200
    assert body["open_count"] == 1
    (callback,) = body["callbacks"]
    assert {key: callback[key] for key in ("handoff_id", "queue", "team_name", "message")} == {
        "handoff_id": orders,
        "queue": "order_support",
        "team_name": "Order Support",
        "message": MESSAGE,
    }
    assert callback["expired_at"] is not None
    assert (callback["done_at"], callback["done_by"]) == (None, None)
    assert [c["handoff_id"] for c in (await leo.get("/api/callbacks"))[1]["callbacks"]] == [
        technical
    ]
    assert [c["handoff_id"] for c in (await sam.get("/api/callbacks"))[1]["callbacks"]] == [
        orders,
        technical,
    ]


async def test_marking_done_answers_the_callback_and_tells_the_queue_s_consoles(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    context_factory: ContextFactory,
) -> None:
    published: list[HandoffCallbackDone] = []

    async def keep(event: HandoffCallbackDone) -> None:
        published.append(event)

    server.app[BUS].subscribe(HandoffCallbackDone, keep)
    olivia_console = await connect(olivia)
    handoff_id = await left_message(bot, context_factory)
    changes = [await next_message(olivia_console) for _ in range(2)]
    assert [(m["type"], m.get("change")) for m in changes] == [
        ("queue_changed", "queued"),
        ("queue_changed", "expired"),
    ]
    assert await next_message(olivia_console) == {
        "type": "callbacks_changed",
        "queue": "order_support",
        "handoff_id": handoff_id,
        "change": "left",
    }

    status, body = await olivia.post(done_path(handoff_id))

    assert status == 200, body
    assert (body["handoff_id"], body["message"], body["done_by"]["name"]) == (
        handoff_id,
        MESSAGE,
        "Olivia",
    )
    assert body["done_at"] is not None
    assert await next_message(olivia_console) == {
        "type": "callbacks_changed",
        "queue": "order_support",
        "handoff_id": handoff_id,
        "change": "done",
    }
    assert [(e.handoff_id, e.queue, e.agent_name) for e in published] == [
        (handoff_id, "order_support", "Olivia")
    ]
    assert (await olivia.get("/api/callbacks"))[1] == {"callbacks": [], "open_count": 0}
    status, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert status == 200
    assert pop["handoff"]["callback_done_by"]["name"] == "Olivia"
    assert pop["events"][-1]["kind"] == "callback_done"
    assert pop["events"][-1]["actor"]["name"] == "Olivia"
    await olivia_console.close()


async def test_a_callback_is_marked_done_once(
    bot: Browser, olivia: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    handoff_id = await left_message(bot, context_factory)
    assert (await olivia.post(done_path(handoff_id)))[0] == 200

    status, body = await sam.post(done_path(handoff_id))

    assert status == 409
    assert body["error"].startswith("this callback was already marked done at ")
    assert body["error"].endswith(" UTC by Olivia")


async def test_who_may_mark_a_callback_done(
    bot: Browser,
    leo: Browser,
    sam: Browser,
    anonymous: Browser,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await left_message(bot, context_factory)

    refused = [
        await leo.post(done_path(handoff_id)),  # another queue's agent
        await anonymous.post(done_path(handoff_id)),
        await sam.post(done_path(handoff_id), headers={"Origin": "https://evil.example"}),
        await bot.post(done_path(handoff_id)),  # the bot's secret is no session
    ]

    assert [(status, body["error"]) for status, body in refused] == [
        (404, f"no handoff {handoff_id}"),  # hidden from him: as if there were none
        (401, "log in first"),
        (403, "cross-site request refused"),
        (401, "log in first"),
    ]
    status, body = await sam.post(done_path(handoff_id))  # a supervisor may
    assert (status, body["done_by"]["name"]) == (200, "Sam")


async def test_no_such_handoff_or_no_callback(
    bot: Browser, olivia: Browser, context_factory: ContextFactory
) -> None:
    waiting = await post_handoff(bot, context_factory())

    answers = [
        await olivia.post(done_path(UNKNOWN)),
        await olivia.post(done_path("not-a-handoff")),
        await olivia.post(done_path(waiting)),
    ]

    assert [(status, body["error"]) for status, body in answers] == [
        (404, f"no handoff {UNKNOWN}"),
        (404, "no handoff not-a-handoff"),
        (409, f"handoff {waiting} has no callback to mark done (it is queued)"),
    ]
