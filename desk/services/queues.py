"""The desk's queues and what waits in them.

The queues and their team names are the `queues:` section of `content/handoff_routing.yml`, read
once with the contract's `load_queues` (the action server routes to the same file). Intake
accepts any queue the bot names (a customer is never dropped for a routing typo; supervisors
see every queue), but agents can only be transferred to a known queue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy.orm import Session

from contract.queues import ROUTING_FILE, load_queues
from desk.services.agents import Actor
from desk.settings import PROJECT_ROOT
from desk.store.models import Handoff
from desk.store.repositories import HandoffRepository
from desk.store.types import utcnow

_ROUTED_QUEUES: Final = load_queues(PROJECT_ROOT / ROUTING_FILE)
#: Queue name → the team that works it, in the routing file's order.
QUEUES: Final[Mapping[str, str]] = MappingProxyType(
    {name: queue.team_name for name, queue in _ROUTED_QUEUES.items()}
)


def queues_with_skill(skill: str) -> frozenset[str]:
    """The queues whose agents have `skill` (the routing file's `skills:`)."""
    return frozenset(name for name, queue in _ROUTED_QUEUES.items() if skill in queue.skills)


def team_name(queue: str, unknown: str | None = None) -> str:
    """The team that works `queue`; for a queue the routing file does not name, `unknown`
    (the queue's own name by default)."""
    return QUEUES.get(queue, queue if unknown is None else unknown)


@dataclass(frozen=True)
class WaitingHandoff:
    """One customer waiting in a queue, as an agent's queue view shows them."""

    handoff: Handoff
    position: int
    waiting_seconds: float
    sentiment_label: str | None
    sentiment_score: float | None
    summary: str


@dataclass(frozen=True)
class QueueView:
    """A queue and who waits in it, best first."""

    name: str
    team_name: str
    waiting: list[WaitingHandoff]


def visible_queues(actor: Actor) -> list[str] | None:
    """The queues an actor sees; None means every queue (supervisors)."""
    return None if actor.is_supervisor else sorted(actor.queues)


def queues_for(session: Session, actor: Actor, *, now: datetime | None = None) -> list[QueueView]:
    """The actor's queues (every queue for a supervisor) with their waiting handoffs."""
    now = now or utcnow()
    names = visible_queues(actor)
    waiting = HandoffRepository(session).waiting(names)
    by_queue: dict[str, list[WaitingHandoff]] = {}
    for handoff in waiting:
        entries = by_queue.setdefault(handoff.queue, [])
        entries.append(_waiting(handoff, len(entries) + 1, now))
    shown = list(QUEUES) if names is None else names
    shown += sorted(set(by_queue) - set(shown))  # unknown queues the bot routed to
    return [QueueView(name, team_name(name), by_queue.get(name, [])) for name in shown]


def context_of(handoff: Handoff) -> dict[str, Any]:
    """The stored handoff context, decoded."""
    decoded: dict[str, Any] = json.loads(handoff.context)
    return decoded


def _waiting(handoff: Handoff, position: int, now: datetime) -> WaitingHandoff:
    context = context_of(handoff)
    sentiment = context.get("sentiment") or {}
    return WaitingHandoff(
        handoff=handoff,
        position=position,
        waiting_seconds=max(0.0, (now - handoff.queued_at).total_seconds()),
        sentiment_label=sentiment.get("label"),
        sentiment_score=sentiment.get("score"),
        summary=str(context.get("summary", "")),
    )
