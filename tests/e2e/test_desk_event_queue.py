"""A real desk process (`python -m desk`) consumes what Rasa's pika broker publishes, and loses
nothing while it restarts.

The desk runs alone on loopback with DESK_EVENT_QUEUE_URL set (no bot: RASA_URL where nothing
listens); Rasa's own `PikaEventBroker` publishes to the real RabbitMQ in this process, with this
test's exchange and queue.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from rasa.core.brokers.broker import EventBroker

from contract.handoff_status import HandoffStatus
from desk.seed import prepare_demo_desk
from desk.store.database import Database
from desk.store.models import Handoff
from harness.loopback import free_ports, sqlite_url
from launcher.stack import desk_server, running_stack
from tests.desk.conftest import make_context
from tests.support.rabbitmq import RABBITMQ_URL, Names, names, rasa_broker, user_said

__all__ = ["names", "rasa_broker"]  # fixtures

WAIT = 30.0


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll the async `check` until it returns something truthy (failing after WAIT s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not (result := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return result


def handoff_row(database_url: str, handoff_id: str) -> Handoff | None:
    database = Database(database_url)
    try:
        with database.session() as session:
            return session.get(Handoff, handoff_id)
    finally:
        database.dispose()


async def test_a_desk_process_consumes_rasa_events_and_loses_none_while_it_restarts(
    tmp_path: Path, names: Names, rasa_broker: EventBroker
) -> None:
    port, nobody = free_ports(2)
    password, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
    database_url = sqlite_url(tmp_path / "desk.db")
    prepare_demo_desk(database_url, password)
    env = {
        **os.environ,
        "DESK_PORT": str(port),
        "DESK_DATABASE_URL": database_url,
        "DESK_DEMO_PASSWORD": password,
        "DESK_DOCUMENTS_DIR": str(tmp_path / "documents"),
        "HANDOFF_SECRET": secret,
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(24),
        "RASA_URL": f"http://127.0.0.1:{nobody}",
        "ANALYTICS_DATABASE_URL": sqlite_url(tmp_path / "analytics.db"),
        "ANALYTICS_INTERVAL_SECONDS": "86400",
        "DESK_EVENT_QUEUE_URL": RABBITMQ_URL,
        "DESK_EVENT_EXCHANGE": names.exchange,
        "DESK_EVENT_QUEUE": names.queue,
    }
    desk_url = f"http://127.0.0.1:{port}"
    sender = "queue-e2e"
    context = make_context(sender_id=sender)
    with running_stack([desk_server(port)], tmp_path / "logs", env) as stack:
        bearer = {"Authorization": f"Bearer {secret}"}
        async with (
            aiohttp.ClientSession(headers=bearer) as bot,
            bot.post(f"{desk_url}/api/handoffs", json=context) as response,
        ):
            assert response.status == 201, await response.text()
        handoff_id = context["handoff_id"]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as olivia:
            login = {"username": "olivia", "password": password}
            async with olivia.post(f"{desk_url}/api/login", json=login) as response:
                assert response.status == 200, await response.text()
            live = await olivia.ws_connect(f"{desk_url}/api/live")
            assert (await live.receive_json(timeout=WAIT))["type"] == "connected"
            before = [user_said(sender, f"before {n}") for n in range(1, 4)]
            for event in before:
                rasa_broker.publish(event)

            texts: list[str] = []
            while len(texts) < len(before):
                message = json.loads((await live.receive(timeout=WAIT)).data)
                if message["type"] == "customer_message":
                    texts.append(message["text"])
            assert texts == [event["text"] for event in before]
            await live.close()

        stack.stop("desk")  # SIGTERM: the desk stops consuming and shuts down
        meanwhile = user_said(sender, "still there?")
        never_mind = user_said(sender, "never mind", intent="cancel")
        rasa_broker.publish(meanwhile)
        rasa_broker.publish(never_mind)
        stack.start(desk_server(port))
        stack.wait_healthy("desk")

        async def abandoned() -> Handoff | None:
            row = handoff_row(database_url, handoff_id)
            return row if row is not None and row.status == HandoffStatus.ABANDONED else None

        row = await eventually(abandoned, "the customer's 'never mind' to abandon the handoff")
        # The last message applied is the last one published: none was lost on the way.
        assert row.last_message_timestamp == never_mind["timestamp"]
        log = (tmp_path / "logs" / "desk.log").read_text(errors="replace")
        assert "consuming" in log and names.queue in log
        assert "guest:guest" not in log
