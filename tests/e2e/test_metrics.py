"""Prometheus scraping the running desk (`GET /metrics`, `desk/prometheus.py`): a customer's
real handoff, through Rasa and the action server, shows in the next scrape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.client import REPLY_TIMEOUT_SECONDS, new_sender
from tests.e2e.desk_system import Agent, DeskStack

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
QUEUED = ("desk_handoffs_total", (("outcome", "queued"),))
ORDERS_WAITING = ("desk_queue_waiting", (("queue", "order_support"),))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def scrape(http: aiohttp.ClientSession, system: DeskStack, token: str) -> tuple[int, str]:
    async with http.get(
        f"{system.desk_url}/metrics", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, await response.text()


def samples(exposition: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


async def test_a_real_handoff_shows_in_the_next_scrape(
    desk_stack: DeskStack,
    http: aiohttp.ClientSession,
    agents: Callable[[str], Awaitable[Agent]],
) -> None:
    token = desk_stack.env.metrics_token
    assert (await scrape(http, desk_stack, "not-the-token"))[0] == 401
    status, text = await scrape(http, desk_stack, token)
    assert status == 200, text
    before = samples(text)
    olivia = await agents("olivia")
    await olivia.live()  # her console is open: she is online

    sender = new_sender("metrics")
    async with http.post(
        f"{desk_stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": "where is my order ORD-100005?"},
        timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_SECONDS),
    ) as response:
        assert response.status == 200, await response.text()
    await olivia.waiting_handoff_of(sender)  # queued at the desk
    status, text = await scrape(http, desk_stack, token)

    assert status == 200, text
    after = samples(text)
    assert after[QUEUED] == before[QUEUED] + 1
    assert after[ORDERS_WAITING] == before[ORDERS_WAITING] + 1
    assert after[("desk_queue_oldest_wait_seconds", (("queue", "order_support"),))] > 0
    assert after[("desk_agents_online", ())] >= 1
