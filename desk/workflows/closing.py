"""Closing a handoff: the agent resolves it, then the bot takes the conversation back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from contract.bot_actions import ACTION_WELCOME_BACK
from desk.events import ConversationResumed, HandoffHandedBack, HandoffResolved
from desk.rasa_client import RasaUnavailable
from desk.services import handoffs
from desk.services.agents import Actor
from desk.services.handoffs import Resolution
from desk.store.models import Disposition, Handoff
from desk.workflows.context import Desk

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Closed(Generic[T]):
    """The handoff after its hand-back, whether the bot has the conversation again, and why
    not (`hand_back_error`) when it has not."""

    handoff: T
    handed_back: bool
    hand_back_error: str | None


async def resolve(
    desk: Desk,
    actor: Actor,
    handoff_id: str,
    disposition: Disposition,
    slots: Mapping[str, Any],
    present: Callable[[Handoff], T],
) -> Closed[T]:
    """Close the handoff with a disposition and slot values, then hand it back to the bot.

    Publishes `handoff.resolved` (the customer hears "Olivia has left the chat." before the
    bot's welcome back; the consoles reload), then hands back (`hand_back`).
    """

    def close(session: Session) -> tuple[Resolution, HandoffResolved]:
        resolution = handoffs.resolve(session, actor, handoff_id, disposition, slots)
        resolved = HandoffResolved(
            handoff_id=handoff_id,
            sender_id=resolution.sender_id,
            queue=handoffs.get_existing(session, handoff_id).queue,
            agent_id=actor.agent_id,
            agent_name=actor.display_name,
            disposition=resolution.disposition,
        )
        return resolution, resolved

    resolution, resolved = await desk.units(close, write=True)
    await desk.bus.publish(resolved)
    return await hand_back(desk, resolution, present)


async def retry_hand_back(
    desk: Desk, actor: Actor, handoff_id: str, present: Callable[[Handoff], T]
) -> Closed[T]:
    """Try again to give a resolved handoff back to the bot (its hand-back failed before).

    The failure that stopped the hand-back may have kept "Olivia has left the chat." from the
    customer too: it is said first if it is still owed, so it comes before the welcome back.
    """
    resolution = await desk.units(
        lambda session: handoffs.pending_hand_back(session, actor, handoff_id)
    )
    await desk.customer.tell_owed(handoff_id)
    return await hand_back(desk, resolution, present)


async def hand_back(
    desk: Desk, resolution: Resolution, present: Callable[[Handoff], T]
) -> Closed[T]:
    """Give the conversation back to the bot (`Desk.hand_back`); on success mark the handoff
    handed back and publish `handoff.handed_back` and `conversation.resumed` (the page shows
    the bot again).

    A failure leaves the handoff resolved (the resolution is stored), is recorded in its
    history (`hand_back_refused`, with why: no text) and is reported in `hand_back_error`;
    `retry_hand_back` tries again.
    """
    handoff_id = resolution.handoff_id
    error: str | None = None
    refusal: dict[str, Any] = {}
    try:
        handed_back = await desk.hand_back(resolution)
        if not handed_back:
            error, refusal = "the bot did not take the conversation back", {"reason": "declined"}
    except RasaUnavailable as failure:
        LOGGER.error("handing %s back to the bot failed: %s", handoff_id, failure)
        handed_back, error = False, failure.message
        refusal = {"reason": "rasa_unavailable", "status": failure.status}
    except Exception:
        LOGGER.exception("handing %s back to the bot failed", handoff_id)
        handed_back, error = False, "unexpected error handing back; it has been logged"
        refusal = {"reason": "unexpected_error"}

    def work(session: Session) -> tuple[T, str]:
        if handed_back:
            handoffs.mark_handed_back(session, handoff_id)
        else:
            handoffs.record_hand_back_refused(session, handoff_id, refusal)
        handoff = handoffs.get_existing(session, handoff_id)
        return present(handoff), handoff.queue

    answer, queue = await desk.units(work, write=True)
    if handed_back:
        sender_id = resolution.sender_id
        await desk.bus.publish(HandoffHandedBack(handoff_id, sender_id, queue))
        await desk.bus.publish(
            ConversationResumed(handoff_id, sender_id, queue, ACTION_WELCOME_BACK)
        )
    return Closed(answer, handed_back, error)
