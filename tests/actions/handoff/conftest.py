"""Shared fixtures for the handoff tests: realistic conversations, a real desk endpoint on
loopback, real SQLite databases in tmp_path."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actions.handoff.delivery import HandoffClient
from actions.handoff.routing import HandoffRouter
from actions.journeys import JOURNEYS
from actions.store.database import Database
from contract.handoff_context import HandoffContext
from harness.recording_endpoint import RecordingEndpoint
from tests.actions.conftest import SECRET
from tests.support import handoff_examples
from tests.support.sqlite_copies import migrated


@pytest.fixture
def router() -> HandoffRouter:
    """The routing table the bot ships with."""
    return HandoffRouter.load(handoff_examples.ROUTING_PATH, JOURNEYS)


@pytest.fixture
def order_delayed_events() -> list[dict[str, Any]]:
    """Tracker events of a customer whose order is late and who accepts a human."""
    return handoff_examples.order_delayed_events()


@pytest.fixture
def order_delayed_context(router: HandoffRouter) -> HandoffContext:
    """The golden order_delayed context (fixed id and time)."""
    return handoff_examples.order_delayed_context(router)


@pytest.fixture
def make_context(router: HandoffRouter) -> Callable[..., HandoffContext]:
    """Build an example context for a reason code, optionally with a fresh handoff_id."""

    def make(reason_code: str = "order_delayed", *, fresh_id: bool = True) -> HandoffContext:
        context = handoff_examples.context_for(reason_code, router)
        return context.copy(update={"handoff_id": uuid.uuid4()}) if fresh_id else context

    return make


@pytest.fixture
async def make_client(endpoint: RecordingEndpoint) -> AsyncIterator[Callable[..., HandoffClient]]:
    """Build clients for the endpoint (closed after the test); fast retries by default."""
    clients: list[HandoffClient] = []

    def make(**overrides: Any) -> HandoffClient:
        options: dict[str, Any] = {
            "url": endpoint.url,
            "secret": SECRET,
            "timeout_seconds": 2.0,
            "attempts": 3,
            "backoff_seconds": 0.01,
        }
        options.update(overrides)
        client = HandoffClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    """Where the test's SQLite file lives."""
    return tmp_path / "app.db"


@pytest.fixture
def database(database_path: Path) -> Iterator[Database]:
    """A migrated SQLite database file (a copy of one migrated once per process)."""
    db = migrated(Database, f"sqlite:///{database_path}")
    yield db
    db.dispose()
