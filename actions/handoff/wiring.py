"""The action server's handoff parts and its desk client, built once per process from settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from actions.handoff.delivery import HandoffClient
from actions.handoff.outbox import HandoffDispatcher, OutboxPolicy, OutboxRelay
from actions.handoff.routing import HandoffRouter, load_router
from actions.settings import get_settings
from actions.store.database import get_database


@dataclass(frozen=True)
class HandoffServices:
    """One desk client shared by the dispatcher (live handoffs), the relay (the outbox) and
    every other call the action server makes to the desk (hand-back, applications)."""

    router: HandoffRouter
    dispatcher: HandoffDispatcher
    relay: OutboxRelay
    desk: HandoffClient


@lru_cache(maxsize=1)
def handoff_services() -> HandoffServices:
    """Builds the handoff parts on first use (the HTTP session opens lazily, in the loop)."""
    settings = get_settings()
    database = get_database()
    client = HandoffClient.from_settings(settings)
    policy = OutboxPolicy.from_settings(settings, client)
    return HandoffServices(
        router=load_router(),
        dispatcher=HandoffDispatcher(database, client, policy),
        relay=OutboxRelay(
            database, client, policy, interval_seconds=settings.outbox_interval_seconds
        ),
        desk=client,
    )


def desk_client() -> HandoffClient:
    """The process's one client of the desk: handoffs (with retries), hand-backs, applications."""
    return handoff_services().desk
