"""Intake: a new handoff from the bot (`POST /api/handoffs`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from desk.events import HandoffQueued
from desk.services import intake
from desk.workflows.context import Desk


@dataclass(frozen=True)
class Intake:
    """The handoff that answers a delivery, and whether this delivery created it."""

    handoff_id: str
    status: str
    queue: str
    position: int | None
    created: bool


async def receive_handoff(
    desk: Desk, payload: Any, *, raw: str, connected_agents: Collection[int] = ()
) -> Intake:
    """Store a handoff context (schema-checked, idempotent; see `desk.services.intake`);
    `connected_agents` are the agents with a console open (who is online at intake).

    A new handoff publishes `handoff.queued`: the consoles of its queue reload it, the customer
    learns their place (with nobody of the queue online, the wait choice follows at once) and
    the Rasa server is told of it in the background (`desk.bot_sync`). A handoff delivered
    before, or the conversation's open one, publishes nothing.
    """

    def work(session: Session) -> tuple[Intake, HandoffQueued | None]:
        received = intake.receive(session, payload, raw=raw, connected_agents=connected_agents)
        handoff = received.handoff
        answer = Intake(
            handoff_id=handoff.handoff_id,
            status=handoff.status,
            queue=handoff.queue,
            position=received.position,
            created=received.created,
        )
        if not received.created:
            return answer, None
        queued = HandoffQueued(
            handoff_id=handoff.handoff_id,
            sender_id=handoff.sender_id,
            queue=handoff.queue,
            priority=handoff.priority,
        )
        return answer, queued

    answer, queued = await desk.units(work, write=True)
    if queued is not None:
        await desk.bus.publish(queued)
    return answer
