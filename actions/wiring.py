"""The action server's handoff parts, built once per process from the settings.

The composition root: the only module that joins the generic handoff (`actions.handoff`) to
the journeys (`actions.journeys`), by handing the registry to the parts that need it. The
handoff package imports no journey, and no journey imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from actions.handoff.delivery import desk_client
from actions.handoff.journey import JourneyRegistry
from actions.handoff.outbox import HandoffDispatcher, OutboxPolicy, OutboxRelay
from actions.handoff.routing import HandoffRouter, load_router
from actions.journeys import JOURNEYS
from actions.settings import get_settings
from actions.store.database import get_database


@dataclass(frozen=True)
class HandoffServices:
    """One desk client shared by the dispatcher (live handoffs) and the relay (the outbox)."""

    journeys: JourneyRegistry
    router: HandoffRouter
    dispatcher: HandoffDispatcher
    relay: OutboxRelay


@lru_cache(maxsize=1)
def handoff_services() -> HandoffServices:
    """Builds the handoff parts on first use (the HTTP session opens lazily, in the loop)."""
    settings = get_settings()
    database = get_database()
    client = desk_client()
    policy = OutboxPolicy.from_settings(settings, client)
    return HandoffServices(
        journeys=JOURNEYS,
        router=load_router(JOURNEYS),
        dispatcher=HandoffDispatcher(database, client, policy),
        relay=OutboxRelay(
            database, client, policy, interval_seconds=settings.outbox_interval_seconds
        ),
    )
