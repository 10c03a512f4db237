"""What the customer does, as the bot reports it: messages and typing while a handoff is open,
cancelling the wait, choosing a wait option, the rating and the callback message.

The bot waits for these answers with short timeouts (and Rasa may hold the conversation's lock
meanwhile), so what they set off in Rasa (giving a conversation that left the queue back to the
bot) runs in the background after the answer, retried: the handoff has left the queue, so
nobody else would resume the conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy.orm import Session

from contract.bot_actions import ACTION_ASK_CALLBACK, ACTION_HANDOFF_CANCELLED
from contract.handoff_status import HandoffStatus
from desk.background import with_retries
from desk.events import (
    AboutHandoff,
    ConversationResumed,
    CustomerMessage,
    CustomerTyping,
    HandoffAbandoned,
    HandoffCallbackLeft,
    HandoffExpired,
    HandoffKeptWaiting,
    HandoffRated,
)
from desk.services import conversations, handoffs
from desk.services.conversations import CustomerActivity, WaitOutcome
from desk.store.models import Handoff
from desk.store.repositories import HandoffRepository
from desk.workflows.context import Desk

T = TypeVar("T")

#: Pauses between attempts to give a conversation that left the queue back to the bot.
GIVE_BACK_RETRY_SECONDS: Final[tuple[float, ...]] = (0.5, 2.0)
#: Why a handoff expired, as `handoff.expired` says.
LEFT_MESSAGE: Final = "left_message"
CALLBACK: Final = "callback"


async def conversation_event(desk: Desk, sender_id: str, event: dict[str, Any]) -> str | None:
    """A tracker event of a conversation; the open handoff it concerns, if any.

    For a conversation with an open handoff, what the customer says (`message.customer`) or
    types (`typing.customer`) goes to the consoles that may see it. While the handoff is still
    queued, the wait intents change it in the same unit of work (`desk.services.conversations`):
    "never mind" → `cancel_wait`, "keep waiting" / "leave a message" → `choose_wait_option`.
    A message delivered again is ignored: None when this process saw it lately (`desk.seen`),
    the handoff's id with nothing relayed or changed when the handoff already had it (the
    database's mark, which holds across desks and restarts).
    """
    if not desk.seen.first_time(sender_id, event):
        return None
    writes = event.get("event") == conversations.USER  # only a customer's message changes one

    def work(session: Session) -> CustomerActivity:
        return conversations.receive_event(session, sender_id, event)

    activity = await desk.units(work, write=writes)
    if activity.handoff_id is None or activity.queue is None or activity.repeated:
        return activity.handoff_id
    if activity.outcome is WaitOutcome.ABANDONED:
        await cancel_wait(desk, activity)
    elif activity.outcome is not None:
        await choose_wait_option(desk, activity, event)
    elif activity.kind == "message":
        await desk.bus.publish(_customer_message(activity, event))
    elif activity.kind == "typing":
        typing = CustomerTyping(
            activity.handoff_id,
            sender_id,
            activity.queue,
            owner_id=activity.owner_id,
            typing=bool(event.get("typing")),
        )
        await desk.bus.publish(typing)
    return activity.handoff_id


async def cancel_wait(desk: Desk, activity: CustomerActivity) -> None:
    """The waiting customer said "never mind" (the handoff is abandoned): publish
    `handoff.abandoned`, then give the conversation back to the bot in the background
    (`action_handoff_cancelled`, then `conversation.resumed`)."""
    abandoned = HandoffAbandoned(*_handoff_of(activity))
    await desk.bus.publish(abandoned)
    _give_back(desk, abandoned, ACTION_HANDOFF_CANCELLED)


async def choose_wait_option(desk: Desk, activity: CustomerActivity, event: dict[str, Any]) -> None:
    """The waiting customer answered the wait choice.

    "Leave a message" (the handoff expired): publish `handoff.expired`, then give the
    conversation back to the bot, which asks for the message (`action_ask_callback`).
    "Keep waiting" (the clock restarted): the agents see the message, then
    `handoff.kept_waiting` re-tells the customer their place.
    """
    if activity.outcome is WaitOutcome.LEFT_MESSAGE:
        expired = HandoffExpired(*_handoff_of(activity), reason=LEFT_MESSAGE)
        await desk.bus.publish(expired)
        _give_back(desk, expired, ACTION_ASK_CALLBACK)
    else:
        await desk.bus.publish(_customer_message(activity, event))
        await desk.bus.publish(HandoffKeptWaiting(*_handoff_of(activity)))


async def rate(
    desk: Desk,
    handoff_id: str,
    rating: int,
    comment: str | None,
    present: Callable[[Handoff], T],
) -> T:
    """Store the customer's rating of a resolved handoff; publishes `handoff.rated`."""

    def work(session: Session) -> tuple[T, HandoffRated]:
        rated = handoffs.store_csat(session, handoff_id, rating, comment)
        event = HandoffRated(
            handoff_id, rated.sender_id, rated.queue, rating=rating, has_comment=bool(comment)
        )
        return present(rated), event

    answer, event = await desk.units(work, write=True)
    await desk.bus.publish(event)
    return answer


async def leave_callback(
    desk: Desk, handoff_id: str, message: str, present: Callable[[Handoff], T]
) -> T:
    """Store the message a customer left instead of waiting; publishes
    `handoff.callback_left`, after `handoff.expired` when the handoff was still waiting."""

    def work(session: Session) -> tuple[T, list[AboutHandoff]]:
        before = HandoffRepository(session).get(handoff_id)
        was_waiting = before is not None and before.status == HandoffStatus.QUEUED
        stored = handoffs.store_callback(session, handoff_id, message)
        where = (handoff_id, stored.sender_id, stored.queue)
        events: list[AboutHandoff] = (
            [HandoffExpired(*where, reason=CALLBACK)] if was_waiting else []
        )
        events.append(HandoffCallbackLeft(*where))
        return present(stored), events

    answer, events = await desk.units(work, write=True)
    for event in events:
        await desk.bus.publish(event)
    return answer


def _handoff_of(activity: CustomerActivity) -> tuple[str, str, str]:
    """The handoff, conversation and queue of an activity that concerns an open handoff."""
    assert activity.handoff_id is not None and activity.queue is not None
    return activity.handoff_id, activity.sender_id, activity.queue


def _customer_message(activity: CustomerActivity, event: dict[str, Any]) -> CustomerMessage:
    return CustomerMessage(
        *_handoff_of(activity),
        owner_id=activity.owner_id,
        text=event.get("text"),
        intent=conversations.intent_of(event),
        timestamp=event.get("timestamp"),
    )


def _give_back(desk: Desk, left: AboutHandoff, action: str) -> None:
    """In the background: resume the conversation and let the bot run `action` (retried, then
    logged), then publish `conversation.resumed`."""

    async def give_back() -> None:
        await desk.rasa.give_back(left.sender_id, action)

    async def work() -> None:
        if await with_retries(give_back, GIVE_BACK_RETRY_SECONDS, what=f"giving back ({action})"):
            resumed = ConversationResumed(left.handoff_id, left.sender_id, left.queue, action)
            await desk.bus.publish(resumed)

    desk.tasks.spawn(work(), name=f"give back a handoff ({left.NAME.value})")
