"""Closing the loop on a callback: an agent marks the customer's message done."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from desk.events import HandoffCallbackDone
from desk.services import callbacks
from desk.services.agents import Actor
from desk.store.models import Handoff
from desk.workflows.context import Desk

T = TypeVar("T")


async def mark_callback_done(
    desk: Desk, actor: Actor, handoff_id: str, present: Callable[[Handoff], T]
) -> T:
    """Mark the callback of an expired handoff done (`desk.services.callbacks`).

    Publishes `handoff.callback_done`: the consoles of the handoff's queue reload their
    callbacks, so it leaves every list at once.
    """

    def work(session: Session) -> tuple[T, HandoffCallbackDone]:
        done = callbacks.mark_callback_done(session, actor, handoff_id)
        assert done.callback_done_at is not None  # just set
        event = HandoffCallbackDone(
            handoff_id=done.handoff_id,
            sender_id=done.sender_id,
            queue=done.queue,
            agent_id=actor.agent_id,
            agent_name=actor.display_name,
            done_at=done.callback_done_at.isoformat(),
        )
        return present(done), event

    answer, event = await desk.units(work, write=True)
    await desk.bus.publish(event)
    return answer
