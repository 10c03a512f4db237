"""The bot-facing routes: intake (POST /api/handoffs), conversation events, CSAT, callback."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.desk.conftest import HANDOFF_SECRET, Browser, post_handoff

ContextFactory = Callable[..., dict[str, Any]]


async def test_a_new_handoff_is_201_and_a_repeat_200(
    bot: Browser, context_factory: ContextFactory
) -> None:
    payload = context_factory(queue="order_support")
    headers = {"Idempotency-Key": payload["handoff_id"]}

    first = await bot.post("/api/handoffs", json=payload, headers=headers)
    again = await bot.post("/api/handoffs", json=payload, headers=headers)

    expected = {
        "handoff_id": payload["handoff_id"],
        "status": "queued",
        "queue": "order_support",
        "position": 1,
    }
    assert first == (201, expected)
    assert again == (200, expected)


async def test_the_position_counts_who_is_ahead(
    bot: Browser, context_factory: ContextFactory
) -> None:
    await post_handoff(bot, context_factory(priority="high"))
    await post_handoff(bot, context_factory(priority="normal"))

    status, body = await bot.post("/api/handoffs", json=context_factory(priority="normal"))

    assert (status, body["position"]) == (201, 3)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {HANDOFF_SECRET}", f"Bearer {HANDOFF_SECRET}x"]
)
async def test_a_missing_or_wrong_secret_is_401(
    browsers: Callable[..., Browser], context_factory: ContextFactory, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    status, body = await browsers(headers).post("/api/handoffs", json=context_factory())

    assert status == 401
    assert body == {"error": "missing or wrong bearer token"}


async def test_an_invalid_context_is_422_naming_the_fields(
    bot: Browser, context_factory: ContextFactory
) -> None:
    payload = context_factory()
    payload["schema_version"] = "2.0"
    payload["routing"]["queue"] = ""
    payload["sentiment"]["score"] = "very bad"

    status, body = await bot.post("/api/handoffs", json=payload)

    assert status == 422
    assert body["errors"] == [
        "/routing/queue: '' is too short",
        "/schema_version: '2.0' is not one of ['1.0', '1.1', '1.2']",
        "/sentiment/score: 'very bad' is not of type 'number'",
    ]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b""])
async def test_a_body_that_is_not_json_is_400(bot: Browser, body: bytes) -> None:
    status, answer = await bot.post(
        "/api/handoffs", data=body, headers={"Content-Type": "application/json"}
    )

    assert status == 400
    assert "not" in answer["error"]


async def test_json_that_is_not_an_object_is_422(bot: Browser) -> None:
    status, body = await bot.post("/api/handoffs", json=[1, 2])

    assert status == 422
    assert body["errors"] == ["(root): [1, 2] is not of type 'object'"]


async def test_a_body_over_one_megabyte_is_413(
    bot: Browser, context_factory: ContextFactory
) -> None:
    payload = context_factory()
    payload["summary"] = "x" * (1024 * 1024)

    status, body = await bot.post("/api/handoffs", data=json.dumps(payload))

    assert status == 413
    assert "error" in body


async def test_the_idempotency_key_must_match(
    bot: Browser, context_factory: ContextFactory
) -> None:
    status, body = await bot.post(
        "/api/handoffs", json=context_factory(), headers={"Idempotency-Key": "something-else"}
    )

    assert status == 400
    assert "Idempotency-Key" in body["error"]


async def test_conversation_events_are_accepted(
    bot: Browser, context_factory: ContextFactory
) -> None:
    payload = context_factory(sender_id="customer-42")
    handoff_id = await post_handoff(bot, payload)
    event = {"event": "user", "text": "hello?", "timestamp": 1741944700.0}

    open_one = await bot.post(
        "/api/conversation-events", json={"sender_id": "customer-42", "event": event}
    )
    nobody = await bot.post(
        "/api/conversation-events", json={"sender_id": "someone-else", "event": event}
    )
    typing = await bot.post(
        "/api/conversation-events",
        json={"sender_id": "customer-42", "event": {"event": "user_typing", "typing": True}},
    )
    broken = await bot.post("/api/conversation-events", json={"sender_id": "x", "event": {}})

    assert open_one == (202, {"accepted": True, "handoff_id": handoff_id})
    assert nobody == (202, {"accepted": True, "handoff_id": None})
    assert typing[0] == 202
    assert broken[0] == 422


async def test_the_bot_routes_need_the_secret(anonymous: Browser) -> None:
    some_id = "00000000-0000-4000-8000-000000000000"
    for path in (
        "/api/conversation-events",
        f"/api/handoffs/{some_id}/csat",
        f"/api/handoffs/{some_id}/callback",
    ):
        status, _ = await anonymous.post(path, json={})
        assert status == 401, path


async def test_csat_and_callback_of_an_unknown_handoff_are_404(bot: Browser) -> None:
    some_id = "00000000-0000-4000-8000-000000000000"

    csat = await bot.post(f"/api/handoffs/{some_id}/csat", json={"rating": 5, "comment": None})
    callback = await bot.post(f"/api/handoffs/{some_id}/callback", json={"message": "hi"})
    not_an_id = await bot.post("/api/handoffs/not-an-id/csat", json={"rating": 5})

    assert (csat[0], callback[0], not_an_id[0]) == (404, 404, 404)


@pytest.mark.parametrize(
    "body",
    [{"rating": "5"}, {"rating": 0}, {"rating": 6}, {"rating": 5, "comment": "x" * 1001}, {}],
)
async def test_a_bad_csat_is_422(bot: Browser, context_factory: ContextFactory, body: Any) -> None:
    handoff_id = await post_handoff(bot, context_factory())

    status, answer = await bot.post(f"/api/handoffs/{handoff_id}/csat", json=body)

    assert status == 422
    assert answer["errors"]


async def test_a_callback_expires_a_waiting_handoff(
    bot: Browser, context_factory: ContextFactory
) -> None:
    handoff_id = await post_handoff(bot, context_factory())

    status, body = await bot.post(
        f"/api/handoffs/{handoff_id}/callback", json={"message": "Call me at 5pm please."}
    )
    empty = await bot.post(f"/api/handoffs/{handoff_id}/callback", json={"message": ""})

    assert (status, body) == (200, {"handoff_id": handoff_id, "status": "expired"})
    assert empty[0] == 422
