"""The customer's side of a handoff: what their page and their conversation are told.

`CustomerLink` tells the customer's page what happens (`handoff_status` through the web chat's
notify route, `contract.customer_status`). The states every widget should show (place in the
queue, agent joined, agent left) are also said in the conversation (`announce`): a short `bot`
event marked `metadata.desk_notice` (`contract.desk_notices`), appended through Rasa's HTTP API
so it is in the one transcript and any Rasa widget shows it. The status goes first and carries
the same words as `notice_text`, so a rich page that shows the status can skip the message even
where the marking does not reach it. A notification is a courtesy: a failure is logged and
never fails the agent's request or the bot's call.

It subscribes to the event bus (`subscribe`): `handoff.claimed` → "Olivia from Order Support
has joined the chat." (awaited by the claim, so said before the agent's first message),
`handoff.resolved` → "Olivia has left the chat." (before the bot's welcome back), and
`conversation.resumed` → `back_with_bot`. Those two notices a customer must not miss: they are
owed until Rasa has them (`OwedNotices`, `desk.bot_sync`), which records their delivery and
sends them again after a failure or a restart (with these words, `joined_text` and `left_text`,
as `notice_event`s carrying an id, so the conversation has each once).

The estimated wait told to a queued customer is `position * DESK_AVERAGE_HANDLE_SECONDS`: the
customers ahead of them plus their own, each taking an average handle time, as if one agent
worked the queue. Deliberately simple and pessimistic when several agents are online; it is
sent as `estimated_wait_seconds` and the page may round it to minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from contract.customer_status import CustomerStatus
from contract.desk_notices import DESK_NOTICE_ID_KEY, DESK_NOTICE_KEY, DeskNotice
from desk.bus import EventBus, Reach
from desk.events import ConversationResumed, HandoffClaimed, HandoffResolved
from desk.rasa_client import RasaClient, RasaUnavailable
from desk.services.queues import team_name

LOGGER = logging.getLogger(__name__)


def about_minutes(seconds: float) -> str:
    """A wait in whole minutes, at least one: "about 1 minute", "about 8 minutes"."""
    minutes = max(1, round(seconds / 60))
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


def joined_text(agent_name: str, queue: str) -> str:
    """The words when an agent takes the chat: Olivia from Order Support has joined the chat."""
    return f"{agent_name} from {team_name(queue)} has joined the chat."


def left_text(agent_name: str) -> str:
    """The words when the agent leaves: Olivia has left the chat."""
    return f"{agent_name} has left the chat."


class OwedNotices(Protocol):
    """Sends a notice the customer is owed until Rasa has it (`desk.bot_sync.BotSync`)."""

    async def tell_now(self, handoff_id: str, notice: DeskNotice) -> None:
        """Send `notice` of the handoff now if it is still owed; a failure is left to retries
        and the sweep, never raised."""
        ...


class CustomerLink:
    """Status notifications to the customer's page, and the desk's notices in the chat."""

    def __init__(
        self,
        rasa: RasaClient,
        *,
        average_handle_seconds: float,
        owed: OwedNotices | None = None,
    ) -> None:
        """Notify through `rasa`; estimate waits with `average_handle_seconds`; say an agent
        joined or left through `owed` (without it, nothing tells the customer of that)."""
        self.rasa = rasa
        self.average_handle_seconds = average_handle_seconds
        self.owed = owed

    def subscribe(self, bus: EventBus) -> None:
        """Tell the customer when an agent joins or leaves, and when the bot has them again:
        once per event, in the process that published it (`Reach.ONCE`: a customer must not
        hear "joined" twice)."""
        bus.subscribe(HandoffClaimed, self.agent_joined, reach=Reach.ONCE)
        bus.subscribe(HandoffResolved, self.agent_left, reach=Reach.ONCE)
        bus.subscribe(ConversationResumed, self.back_with_bot, reach=Reach.ONCE)

    async def agent_joined(self, event: HandoffClaimed) -> None:
        """ "Olivia from Order Support has joined the chat." (status and message)."""
        if self.owed is not None:
            await self.owed.tell_now(event.handoff_id, DeskNotice.AGENT_JOINED)

    async def agent_left(self, event: HandoffResolved) -> None:
        """ "Olivia has left the chat." (status and message)."""
        await self.tell_owed(event.handoff_id)

    async def tell_owed(self, handoff_id: str) -> None:
        """Say what the customer is still owed of a handoff: "joined" if the desk stopped
        before it was said, then "left" once the agent has resolved it. Before the bot's
        welcome back, also when a failed hand-back is tried again."""
        if self.owed is not None:
            await self.owed.tell_now(handoff_id, DeskNotice.AGENT_JOINED)
            await self.owed.tell_now(handoff_id, DeskNotice.AGENT_LEFT)

    async def back_with_bot(self, event: ConversationResumed) -> None:
        """The page shows that the bot answers again."""
        await self.notify(event.sender_id, CustomerStatus.BACK_WITH_BOT)

    def estimated_wait_seconds(self, position: int) -> float:
        """position * the average handle time (see the module doc)."""
        return float(max(position, 1) * self.average_handle_seconds)

    def waiting_details(self, queue: str, position: int | None) -> dict[str, Any]:
        """The details of a `waiting` notification for a queued customer."""
        details: dict[str, Any] = {"queue": queue, "team_name": team_name(queue)}
        if position is not None:
            details["position"] = position
            details["estimated_wait_seconds"] = self.estimated_wait_seconds(position)
        return details

    def waiting_text(self, queue: str, position: int, *, still: bool = False) -> str:
        """The words for a place in the queue: "You're number 2 in the queue for Order
        Support. Estimated wait: about 8 minutes." (`still`: the place did not change)."""
        again = "still " if still else ""
        return (
            f"You're {again}number {position} in the queue for {team_name(queue)}. "
            f"Estimated wait: {about_minutes(self.estimated_wait_seconds(position))}."
        )

    async def announce(
        self,
        sender_id: str,
        notice: DeskNotice,
        text: str,
        status: CustomerStatus,
        **details: Any,
    ) -> bool:
        """Tell the page `status` (with `notice_text=text`), then say `text` in the conversation
        as a bot message marked `notice`; whether the message was appended (False is logged,
        never an exception: Rasa being down must not fail a claim or a resolve)."""
        await self.notify(sender_id, status, notice_text=text, **details)
        return await self.say(sender_id, notice_event(notice, text))

    async def say(self, sender_id: str, event: Mapping[str, Any]) -> bool:
        """Append a desk `bot` event to the conversation, sent to the customer; whether Rasa
        took it (a failure is logged, never raised)."""
        notice = event.get("metadata", {}).get(DESK_NOTICE_KEY)
        try:
            await self.rasa.append_events(sender_id, [event], execute_side_effects=True)
        except RasaUnavailable as error:
            LOGGER.warning("could not tell the customer (%s): %s", notice, error)
            return False
        except Exception:  # a courtesy must never break the caller
            LOGGER.exception("telling the customer (%s) failed", notice)
            return False
        return True

    async def notify(self, sender_id: str, status: CustomerStatus, **details: Any) -> bool:
        """Tell the customer's page; False (logged) when that failed, never an exception."""
        return await notify_page(self.rasa, sender_id, status, **details)


def notice_event(notice: DeskNotice, text: str, notice_id: str | None = None) -> dict[str, Any]:
    """The `bot` event that says `text` in the conversation, marked as the desk's `notice`
    (and, for a notice the desk may send again, with its `notice_id`)."""
    metadata = {DESK_NOTICE_KEY: notice.value}
    if notice_id is not None:
        metadata[DESK_NOTICE_ID_KEY] = notice_id
    return {"event": "bot", "text": text, "metadata": metadata}


async def notify_page(
    rasa: RasaClient, sender_id: str, status: CustomerStatus, **details: Any
) -> bool:
    """Tell the customer's page `status`; False (logged) when that failed, never an exception:
    the page's status is a courtesy, the conversation has the words."""
    try:
        return await rasa.notify(sender_id, status, **details)
    except RasaUnavailable as error:
        LOGGER.warning("could not notify the customer (%s): %s", status.value, error)
    except Exception:  # a courtesy must never break the caller
        LOGGER.exception("notifying the customer (%s) failed", status.value)
    return False
