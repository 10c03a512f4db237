"""The console routes: queues, claim (and the claim race), screen pop, notes, transfer, resolve."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from desk.services.agents import create_agent
from desk.store.database import Database
from tests.desk.conftest import PASSWORD, Browser, post_handoff

ContextFactory = Callable[..., dict[str, Any]]


async def test_the_queue_view_lists_waiting_customers_best_first(
    bot: Browser, olivia: Browser, context_factory: ContextFactory
) -> None:
    normal = await post_handoff(bot, context_factory(queue="order_support", priority="normal"))
    urgent = await post_handoff(bot, context_factory(queue="order_support", priority="urgent"))
    await post_handoff(bot, context_factory(queue="tech_support_l2"))

    status, body = await olivia.get("/api/queues")

    assert status == 200
    assert [q["name"] for q in body["queues"]] == ["order_support"]
    waiting = body["queues"][0]["waiting"]
    assert [w["handoff_id"] for w in waiting] == [urgent, normal]
    first = waiting[0]
    assert {k: first[k] for k in ("queue", "reason_code", "trigger_type", "priority")} == {
        "queue": "order_support",
        "reason_code": "order_delayed",
        "trigger_type": "business_rule",
        "priority": "urgent",
    }
    assert first["position"] == 1
    assert first["sentiment"]["label"] == "negative"
    assert isinstance(first["sentiment"]["score"], float)
    assert first["summary"].startswith("Jane Smith")
    assert first["waiting_seconds"] >= 0
    assert first["customer_label"] == "Jane Smith"


async def test_a_supervisor_sees_every_queue(
    bot: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    tech = await post_handoff(bot, context_factory(queue="tech_support_l2"))

    status, body = await sam.get("/api/queues")

    assert status == 200
    by_name = {q["name"]: [w["handoff_id"] for w in q["waiting"]] for q in body["queues"]}
    assert by_name == {
        "order_support": [],
        "tech_support_l2": [tech],
        "mortgage_advisors": [],
        "general_support": [],
    }
    assert (await sam.get(f"/api/handoffs/{tech}"))[0] == 200


async def test_claim_then_someone_else_gets_409_and_other_queues_404(
    bot: Browser, olivia: Browser, leo: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    handoff_id = await post_handoff(bot, context_factory(queue="order_support"))

    other_queue = await leo.post(f"/api/handoffs/{handoff_id}/claim")
    status, body = await olivia.post(f"/api/handoffs/{handoff_id}/claim")
    too_late = await sam.post(f"/api/handoffs/{handoff_id}/claim")

    # Leo may not see it: 404 as for a handoff that does not exist, no queue named.
    assert other_queue == (404, {"error": f"no handoff {handoff_id}"})
    assert status == 200
    assert (body["status"], body["agent"]["name"]) == ("claimed", "Olivia")
    assert body["claimed_at"] is not None
    assert too_late[0] == 409
    assert "no longer waiting" in too_late[1]["error"]


async def test_ten_concurrent_claims_have_exactly_one_winner(
    bot: Browser,
    browsers: Callable[..., Browser],
    database: Database,
    context_factory: ContextFactory,
) -> None:
    with database.session(write=True) as session:
        for n in range(10):
            create_agent(
                session,
                username=f"agent{n}",
                display_name=f"Agent {n}",
                password=PASSWORD,
                queues=["order_support"],
            )
    agents = [await browsers().login(f"agent{n}") for n in range(10)]
    handoff_id = await post_handoff(bot, context_factory(queue="order_support"))

    results = await asyncio.gather(
        *(agent.post(f"/api/handoffs/{handoff_id}/claim") for agent in agents)
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 9
    winner = next(body for status, body in results if status == 200)
    pop_status, pop = await agents[0].get(f"/api/handoffs/{handoff_id}")
    assert pop_status == 200
    assert pop["handoff"]["agent"] == winner["agent"]
    assert [e["kind"] for e in pop["events"]] == ["queued", "claimed"]


async def test_the_screen_pop_has_context_notes_and_history(
    bot: Browser, olivia: Browser, leo: Browser, context_factory: ContextFactory
) -> None:
    payload = context_factory(queue="order_support")
    handoff_id = await post_handoff(bot, payload)
    await olivia.post(f"/api/handoffs/{handoff_id}/claim")
    note_status, note = await olivia.post(
        f"/api/handoffs/{handoff_id}/notes", json={"text": "x" * 10_000}
    )

    status, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    hidden = await leo.get(f"/api/handoffs/{handoff_id}")

    assert (note_status, note["agent"]["name"], len(note["text"])) == (201, "Olivia", 10_000)
    assert status == 200
    assert pop["context"] == payload
    assert pop["handoff"]["status"] == "claimed"
    assert [n["id"] for n in pop["notes"]] == [note["id"]]
    assert [(e["kind"], (e["actor"] or {}).get("name")) for e in pop["events"]] == [
        ("queued", None),
        ("claimed", "Olivia"),
        ("note_added", "Olivia"),
    ]
    assert hidden[0] == 404  # another queue's handoff does not exist for Leo


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"text": "x" * 100_000}, 422),
        ({"text": ""}, 422),
        ({"text": "   "}, 422),
        ({"text": 5}, 422),
        ({"note": "hi"}, 422),
        ("just a string", 422),
    ],
)
async def test_bad_notes_are_refused(
    bot: Browser, olivia: Browser, context_factory: ContextFactory, body: Any, status: int
) -> None:
    handoff_id = await post_handoff(bot, context_factory())

    answer = await olivia.post(f"/api/handoffs/{handoff_id}/notes", json=body)

    assert answer[0] == status
    assert answer[1]["error"]


async def test_broken_json_and_unknown_handoffs(
    bot: Browser, olivia: Browser, context_factory: ContextFactory
) -> None:
    handoff_id = await post_handoff(bot, context_factory())
    unknown = "11111111-1111-4111-8111-111111111111"

    broken = await olivia.post(
        f"/api/handoffs/{handoff_id}/notes",
        data="{oops",
        headers={"Content-Type": "application/json"},
    )
    missing = await olivia.get(f"/api/handoffs/{unknown}")
    garbage = await olivia.get("/api/handoffs/../../etc")
    claim_missing = await olivia.post(f"/api/handoffs/{unknown}/claim")

    assert broken[0] == 400
    assert missing == (404, {"error": f"no handoff {unknown}"})
    assert garbage[0] == 404
    assert claim_missing[0] == 404


async def test_a_transfer_moves_the_handoff_and_its_context(
    bot: Browser, olivia: Browser, leo: Browser, context_factory: ContextFactory
) -> None:
    payload = context_factory(queue="order_support")
    handoff_id = await post_handoff(bot, payload)
    await olivia.post(f"/api/handoffs/{handoff_id}/claim")

    unknown_queue = await olivia.post(
        f"/api/handoffs/{handoff_id}/transfer", json={"queue": "nowhere"}
    )
    status, moved = await olivia.post(
        f"/api/handoffs/{handoff_id}/transfer", json={"queue": "tech_support_l2"}
    )

    assert unknown_queue[0] == 422
    assert status == 200
    assert (moved["status"], moved["queue"], moved["agent"], moved["transfer_count"]) == (
        "queued",
        "tech_support_l2",
        None,
        1,
    )
    assert moved["position"] == 1
    _, leo_queues = await leo.get("/api/queues")
    assert [w["handoff_id"] for w in leo_queues["queues"][0]["waiting"]] == [handoff_id]
    _, olivia_queues = await olivia.get("/api/queues")
    assert olivia_queues["queues"][0]["waiting"] == []
    assert (await olivia.get(f"/api/handoffs/{handoff_id}"))[0] == 404
    status, pop = await leo.get(f"/api/handoffs/{handoff_id}")
    assert status == 200
    assert pop["context"] == payload
    assert pop["events"][-1]["detail"] == {"from": "order_support", "to": "tech_support_l2"}


async def test_resolve_then_csat_from_the_bot(
    bot: Browser, olivia: Browser, context_factory: ContextFactory
) -> None:
    handoff_id = await post_handoff(bot, context_factory())
    await olivia.post(f"/api/handoffs/{handoff_id}/claim")

    before_resolve = await bot.post(f"/api/handoffs/{handoff_id}/csat", json={"rating": 5})
    bad = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "fixed it", "slots": {}}
    )
    bad_slot = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"bad name!": 1}},
    )
    status, resolved = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"order_number": "ORD-204117"}},
    )
    again = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )
    csat = await bot.post(
        f"/api/handoffs/{handoff_id}/csat", json={"rating": 4, "comment": "Thanks!"}
    )
    callback = await bot.post(f"/api/handoffs/{handoff_id}/callback", json={"message": "hi"})

    assert before_resolve[0] == 409
    assert (bad[0], bad_slot[0]) == (422, 422)
    assert status == 200
    assert resolved["handed_back"] is True  # to the Rasa stand-in
    handoff = resolved["handoff"]
    assert (handoff["status"], handoff["disposition"]) == ("handed_back", "resolved")
    assert handoff["resolved_at"] is not None
    assert again[0] == 409
    assert csat == (200, {"handoff_id": handoff_id, "status": "handed_back"})
    assert callback[0] == 409
    _, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert (pop["handoff"]["csat_rating"], pop["handoff"]["csat_comment"]) == (4, "Thanks!")
    resolved_event = next(e for e in pop["events"] if e["kind"] == "resolved")
    assert resolved_event["detail"]["slots"] == {"order_number": "ORD-204117"}
