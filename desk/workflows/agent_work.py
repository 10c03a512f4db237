"""What an agent does with a handoff: claim it, write to the customer, type, note, transfer.

Each workflow takes `present`, which turns the handoff (or note) into the caller's answer inside
the unit of work (the rows are only readable there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from contract.customer_status import CustomerStatus
from desk.events import AgentMessage, HandoffClaimed, HandoffNoteAdded, HandoffTransferred
from desk.services import claims, handoffs
from desk.services.agents import Actor
from desk.store.models import Handoff, HandoffNote
from desk.store.repositories import HandoffRepository
from desk.workflows.context import Desk

T = TypeVar("T")


async def claim(desk: Desk, actor: Actor, handoff_id: str, present: Callable[[Handoff], T]) -> T:
    """Take a waiting handoff (exactly one agent wins; `desk.services.claims`).

    Publishes `handoff.claimed`: the customer hears "Olivia from Order Support has joined the
    chat." before this returns (so before the agent's first message), the consoles reload the
    queue, those still waiting learn their new places.
    """

    def work(session: Session) -> tuple[T, HandoffClaimed]:
        handoff = claims.claim(session, actor, handoff_id)
        claimed = HandoffClaimed(
            handoff_id=handoff.handoff_id,
            sender_id=handoff.sender_id,
            queue=handoff.queue,
            agent_id=actor.agent_id,
            agent_name=actor.display_name,
        )
        return present(handoff), claimed

    answer, claimed = await desk.units(work, write=True)
    await desk.bus.publish(claimed)
    return answer


async def send_message(
    desk: Desk, actor: Actor, handoff_id: str, text: str, present: Callable[[Handoff], T]
) -> T:
    """Say something to the customer, then log it (the first reply's time is kept).

    The message is appended to Rasa's tracker as the agent's `bot` event (Rasa delivers it);
    `RasaUnavailable` when Rasa did not take it, and then nothing is logged. Publishes
    `message.agent`.
    """
    handoffs.check_message(text)
    sender_id = await desk.units(lambda s: handoffs.working_on(s, actor, handoff_id).sender_id)
    await desk.rasa.send_agent_message(sender_id, text, actor)

    def work(session: Session) -> tuple[T, AgentMessage]:
        logged = handoffs.record_agent_message(session, actor, handoff_id, text)
        sent = AgentMessage(
            handoff_id=handoff_id,
            sender_id=logged.sender_id,
            queue=logged.queue,
            agent_id=actor.agent_id,
            agent_name=actor.display_name,
            text=text,
        )
        return present(logged), sent

    answer, sent = await desk.units(work, write=True)
    await desk.bus.publish(sent)
    return answer


async def typing(desk: Desk, actor: Actor, handoff_id: str, is_typing: bool) -> bool:
    """Show (or stop showing) "the agent is typing" on the customer's page; whether the page
    was told. A direct call, not an event: the console learns the answer, and nothing else
    follows from a passing indicator."""
    sender_id = await desk.units(lambda s: handoffs.working_on(s, actor, handoff_id).sender_id)
    return await desk.customer.notify(
        sender_id, CustomerStatus.AGENT_TYPING, typing=is_typing, agent_name=actor.display_name
    )


async def add_note(
    desk: Desk, actor: Actor, handoff_id: str, text: str, present: Callable[[HandoffNote], T]
) -> T:
    """Add a private note; publishes `handoff.note_added`."""

    def work(session: Session) -> tuple[T, HandoffNoteAdded]:
        note = handoffs.add_note(session, actor, handoff_id, text)
        handoff = handoffs.get_existing(session, handoff_id)
        added = HandoffNoteAdded(
            handoff_id=handoff_id,
            sender_id=handoff.sender_id,
            queue=handoff.queue,
            agent_id=actor.agent_id,
            note_id=note.id,
        )
        return present(note), added

    answer, added = await desk.units(work, write=True)
    await desk.bus.publish(added)
    return answer


async def transfer(
    desk: Desk,
    actor: Actor,
    handoff_id: str,
    queue: str,
    present: Callable[[Handoff, int | None], T],
) -> T:
    """Move the handoff to another queue, where it waits with its context.

    `present` also gets the handoff's place in its new queue. Publishes `handoff.transferred`:
    the consoles of both queues (and the former owner) reload, the customer learns their place
    in the new queue before this returns, those behind them in the old one learn theirs.
    """

    def work(session: Session) -> tuple[T, HandoffTransferred]:
        before = handoffs.get_existing(session, handoff_id)
        old_queue, owner = before.queue, before.agent_id  # read now: the row object is refreshed
        moved = handoffs.transfer(session, actor, handoff_id, queue)
        transferred = HandoffTransferred(
            handoff_id=handoff_id,
            sender_id=moved.sender_id,
            queue=moved.queue,
            from_queue=old_queue,
            previous_owner_id=owner,
            agent_id=actor.agent_id,
        )
        return present(moved, HandoffRepository(session).position(moved)), transferred

    answer, transferred = await desk.units(work, write=True)
    await desk.bus.publish(transferred)
    return answer
