"""Delivering handoffs to a real HTTP endpoint on loopback."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable

import aiohttp
import pytest

from actions.handoff.delivery import DeliveryStatus, HandoffClient
from actions.settings import get_settings
from contract.handoff_context import HandoffContext
from harness.recording_endpoint import RecordingEndpoint

from .conftest import SECRET

MakeClient = Callable[..., HandoffClient]


async def test_delivers_with_secret_and_idempotency_key(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    result = await make_client().deliver_handoff(order_delayed_context)

    assert (result.status, result.status_code, result.tries) == (DeliveryStatus.DELIVERED, 201, 1)
    assert result.delivered and result.error is None
    [request] = endpoint.requests
    handoff_id = str(order_delayed_context.handoff_id)
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.headers["Idempotency-Key"] == handoff_id
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == order_delayed_context.json()
    assert endpoint.handoffs[handoff_id] == json.loads(order_delayed_context.json())


async def test_delivering_again_is_recognised_by_the_desk(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    client = make_client()

    first = await client.deliver_handoff(order_delayed_context)
    second = await client.deliver_handoff(order_delayed_context)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.delivered
    assert len(endpoint.handoffs) == 1


@pytest.mark.parametrize("failures", [(503,), (500, 502), (429,), (429, 504)])
async def test_retries_5xx_and_429_until_delivered(
    endpoint: RecordingEndpoint,
    make_client: MakeClient,
    order_delayed_context: HandoffContext,
    failures: tuple[int, ...],
) -> None:
    endpoint.fail_next(*failures)

    result = await make_client(attempts=3).deliver_handoff(order_delayed_context)

    assert result.status is DeliveryStatus.DELIVERED
    assert result.tries == len(failures) + 1
    assert [r.status for r in endpoint.requests] == [*failures, 201]


async def test_gives_up_after_the_configured_tries_on_5xx(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    endpoint.fail_next(503, 503, 503, 503)

    result = await make_client(attempts=3).deliver_handoff(order_delayed_context)

    assert (result.status, result.status_code, result.tries) == (DeliveryStatus.FAILED, 503, 3)
    assert "HTTP 503" in (result.error or "")
    assert len(endpoint.requests) == 3


@pytest.mark.parametrize("status", [400, 409, 413])
async def test_a_refused_body_is_rejected_without_retry(
    endpoint: RecordingEndpoint,
    make_client: MakeClient,
    order_delayed_context: HandoffContext,
    status: int,
) -> None:
    endpoint.fail_next(status)

    result = await make_client(attempts=3).deliver_handoff(order_delayed_context)

    assert (result.status, result.status_code, result.tries) == (
        DeliveryStatus.REJECTED,
        status,
        1,
    )
    assert len(endpoint.requests) == 1


async def test_a_wrong_secret_fails_for_a_later_retry_not_a_dead_letter(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    # A wrong secret is an operator's mistake: once fixed, the outbox delivers the handoff.
    result = await make_client(secret="wrong", attempts=2).deliver_handoff(order_delayed_context)

    assert (result.status, result.status_code) == (DeliveryStatus.FAILED, 401)
    assert endpoint.handoffs == {}


@pytest.mark.parametrize("status", [403, 404, 405])
async def test_a_wrong_url_or_permission_fails_for_a_later_retry(
    endpoint: RecordingEndpoint,
    make_client: MakeClient,
    order_delayed_context: HandoffContext,
    status: int,
) -> None:
    endpoint.fail_next(status)

    result = await make_client(attempts=1).deliver_handoff(order_delayed_context)

    assert (result.status, result.status_code) == (DeliveryStatus.FAILED, status)


async def test_a_body_the_desk_cannot_accept_is_rejected_with_the_reason(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    payload = json.loads(order_delayed_context.json())
    payload["schema_version"] = "0.9"

    result = await make_client().deliver_body(
        str(order_delayed_context.handoff_id), json.dumps(payload)
    )

    assert (result.status, result.status_code) == (DeliveryStatus.REJECTED, 422)
    assert "/schema_version" in (result.error or "")


async def test_endpoint_down_fails_after_every_try(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    await endpoint.down()

    result = await make_client(attempts=3).deliver_handoff(order_delayed_context)

    assert (result.status, result.status_code, result.tries) == (DeliveryStatus.FAILED, None, 3)
    assert "ClientConnectorError" in (result.error or "")


async def test_endpoint_back_up_on_the_same_port(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    client = make_client(attempts=1)
    port = endpoint.port
    await client.deliver_handoff(order_delayed_context)  # leaves a pooled keep-alive connection

    await endpoint.down()
    down = await client.deliver_body("ignored", "{}")
    await endpoint.up()
    up = await client.deliver_handoff(order_delayed_context)

    assert down.status is DeliveryStatus.FAILED
    assert up.status is DeliveryStatus.DELIVERED
    assert endpoint.port == port


async def test_a_stalled_desk_times_out_and_is_retried(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    endpoint.stall()

    result = await make_client(timeout_seconds=0.2, attempts=2).deliver_handoff(
        order_delayed_context
    )

    assert (result.status, result.tries) == (DeliveryStatus.FAILED, 2)
    assert "timed out" in (result.error or "")
    await endpoint.wait_for_arrivals(2)


async def test_the_event_loop_stays_responsive_during_a_slow_desk(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    endpoint.stall()
    delivery = asyncio.create_task(make_client().deliver_handoff(order_delayed_context))
    await endpoint.wait_for_arrivals(1)

    # While the delivery waits for the desk, other work on the same loop gets done.
    health = endpoint.url.replace("/api/handoffs", "/health")
    async with aiohttp.ClientSession() as session, session.get(health) as response:
        assert response.status == 200
    assert not delivery.done()

    endpoint.resume()
    result = await asyncio.wait_for(delivery, timeout=5)
    assert result.status is DeliveryStatus.DELIVERED


async def test_backoff_is_exponential_with_jitter(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    endpoint.fail_next(503, 503, 503)
    client = make_client(attempts=4, backoff_seconds=1.0, sleep=record, rng=random.Random(7))

    result = await client.deliver_handoff(order_delayed_context)

    assert result.tries == 4
    assert len(delays) == 3
    for try_number, delay in enumerate(delays, start=1):
        nominal = 2.0 ** (try_number - 1)
        assert nominal / 2 <= delay <= nominal
    assert client.max_delivery_seconds == pytest.approx(4 * 2.0 + 1 + 2 + 4)


async def test_one_session_is_reused_and_closed(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    client = make_client()
    await client.deliver_handoff(order_delayed_context)
    session = client._session
    await client.deliver_handoff(order_delayed_context)

    assert client._session is session
    await client.close()
    assert session is not None and session.closed
    # A closed client opens a new session when used again.
    assert (await client.deliver_handoff(order_delayed_context)).delivered


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        HandoffClient(
            url="http://127.0.0.1:9", secret="s", timeout_seconds=1, attempts=0, backoff_seconds=0
        )


def test_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_URL", "http://127.0.0.1:5056/handoffs")
    monkeypatch.setenv("HANDOFF_SECRET", "from-env")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "token")
    monkeypatch.setenv("HANDOFF_TIMEOUT_SECONDS", "1.5")
    monkeypatch.setenv("HANDOFF_ATTEMPTS", "4")
    monkeypatch.setenv("HANDOFF_BACKOFF_SECONDS", "0.5")
    get_settings.cache_clear()
    try:
        client = HandoffClient.from_settings(get_settings())
    finally:
        get_settings.cache_clear()

    assert client.max_delivery_seconds == pytest.approx(4 * 1.5 + 0.5 + 1.0 + 2.0)
