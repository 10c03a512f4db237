"""The desk's care for customers who wait for a person (runs in the desk's event loop).

- **Their place in the queue.** Whenever a queue moves (a handoff arrives, is claimed,
  transferred, abandoned or expires), `queue_moved` tells every customer still waiting in it
  whose position changed: the `waiting` status with the position and estimated wait, and the
  same words as a bot message marked `desk_notice: queue_position` ("You're number 2 in the
  queue for Order Support. Estimated wait: about 8 minutes."). What each customer was last
  told is remembered (`desk.told_places`: in the process, or in Redis shared by every desk
  process), so nobody is told the same place twice (unless asked: "keep waiting" re-tells
  it, "You're still number ..."); a message Rasa could not take is tried again at the next
  move. Telling is one teller at a time, across the desk processes too, so an older place is
  never told after a newer one.
- **The choice when the wait is long.** A check (every `check_seconds` in the background, and
  at once whenever a queue moves) takes the offers due under `desk.services.waiting`'s rules
  and delivers each: the assistant's message with the quick replies "Keep waiting" / "Leave a
  message", appended to the conversation's one transcript in Rasa (any Rasa web widget shows
  it), then the
  `timeout_choice` status for the web chat's banner. An offer Rasa could not take is withdrawn
  and made again at the next check.

It follows the event bus (`subscribe`), once per event in the process that published it
(`Reach.ONCE`: it tells customers things): a handoff queued, claimed, abandoned or expired
moves its queue; a transfer tells the customer their place in the new queue (awaited, so
before the transfer is answered) and moves the old one; "keep waiting" re-tells the place.
Who is online for the offers is asked of `desk.presence` (consoles on any desk process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from functools import partial
from typing import Final

from sqlalchemy.orm import Session

from contract.customer_status import CustomerStatus
from contract.desk_notices import DESK_NOTICE_KEY, DeskNotice
from desk.background import BackgroundTasks, Periodic
from desk.bus import EventBus, Reach
from desk.console_hub import LiveHub
from desk.customer_link import CustomerLink
from desk.events import (
    HandoffAbandoned,
    HandoffClaimed,
    HandoffExpired,
    HandoffKeptWaiting,
    HandoffQueued,
    HandoffTransferred,
)
from desk.presence import LocalPresence, Presence
from desk.redis_link import RedisUnavailable
from desk.services.waiting import (
    ChoiceOffer,
    Waiting,
    offers_due,
    online_queues,
    take_offers,
    waiting_in,
    withdraw_offer,
)
from desk.store.database import UnitRunner
from desk.told_places import InMemoryToldPlaces, ToldPlaces

LOGGER = logging.getLogger(__name__)

MIN_CHECK_SECONDS: Final = 0.2
MAX_CHECK_SECONDS: Final = 5.0


class WaitingRoom:
    """Queue positions and wait choices for the customers of one desk application."""

    def __init__(
        self,
        units: UnitRunner,
        hub: LiveHub,
        customer: CustomerLink,
        tasks: BackgroundTasks,
        *,
        claim_timeout_seconds: float,
        told: ToldPlaces | None = None,
        presence: Presence | None = None,
    ) -> None:
        """Read through `units`, reach customers via `customer`, tell them in the background
        through `tasks`; remember what they were told in `told` (by default in this process)
        and see who is online in `presence` (by default `hub`'s consoles)."""
        self.units = units
        self.hub = hub
        self.told = told or InMemoryToldPlaces()
        self.presence = presence or LocalPresence(hub)
        self.customer = customer
        self.tasks = tasks
        self.claim_timeout_seconds = claim_timeout_seconds
        self.check_seconds = min(
            MAX_CHECK_SECONDS, max(MIN_CHECK_SECONDS, claim_timeout_seconds / 4)
        )
        self._checking = asyncio.Lock()
        self._checker = Periodic(self.check, self.check_seconds, "desk waiting-room check")

    # --- The events that move a queue -------------------------------------------------------------

    def subscribe(self, bus: EventBus) -> None:
        """Follow the events that move a queue, once per event (`Reach.ONCE`: the customers
        are told through Rasa, and the shared memory of places keeps the processes in step)."""
        once = Reach.ONCE
        bus.subscribe(HandoffQueued, self.handoff_moved, reach=once)
        bus.subscribe(HandoffClaimed, self.handoff_moved, reach=once)
        bus.subscribe(HandoffAbandoned, self.handoff_moved, reach=once)
        bus.subscribe(HandoffExpired, self.handoff_moved, reach=once)
        bus.subscribe(HandoffTransferred, self.transferred, reach=once)
        bus.subscribe(HandoffKeptWaiting, self.kept_waiting, reach=once)

    async def handoff_moved(
        self, event: HandoffQueued | HandoffClaimed | HandoffAbandoned | HandoffExpired
    ) -> None:
        """A handoff joined or left its queue: the others there learn their places (and anyone
        an urgent arrival overtook, theirs; with nobody of the queue online, a new customer
        gets the wait choice at once)."""
        self.queue_moved(event.queue)

    async def transferred(self, event: HandoffTransferred) -> None:
        """The customer learns their place in the new queue; those behind them in the old one,
        theirs."""
        await self.tell_positions([event.queue], tell=[event.handoff_id])
        self.queue_moved(event.from_queue)

    async def kept_waiting(self, event: HandoffKeptWaiting) -> None:
        """The customer chose to keep waiting: re-tell their place ("still number 1")."""
        self.queue_moved(event.queue, tell=[event.handoff_id])

    # --- Positions ------------------------------------------------------------------------------

    def queue_moved(self, *queues: str, tell: Collection[str] = ()) -> None:
        """Tell the customers of `queues` their new places, then check for due offers (in the
        background; in that order, so a customer hears their place before any offer). Handoffs
        in `tell` are told their place even if it did not change."""
        self.tasks.spawn(self._moved(queues, tell), name="tell queue positions and check")

    async def _moved(self, queues: Collection[str], tell: Collection[str]) -> None:
        await self.tell_positions(queues, tell=tell)
        await self.check()

    async def tell_positions(self, queues: Collection[str], *, tell: Collection[str] = ()) -> int:
        """Notify the waiting customers of `queues` whose place changed; how many were told
        (none, logged, when the shared memory of places is unreachable: they are told at the
        next move)."""
        names = sorted(set(queues))
        try:
            # One teller at a time (in every desk process), so the newest place is told last.
            async with self.told.telling():
                waiting = await self.units(lambda session: waiting_in(session, names))
                told = await asyncio.gather(
                    *(self._tell_queue(name, waiting, tell) for name in names)
                )
        except RedisUnavailable as error:
            LOGGER.warning("places in %s not told: %s", ", ".join(names), error)
            return 0
        return sum(told)

    async def _tell_queue(self, queue: str, waiting: list[Waiting], tell: Collection[str]) -> int:
        """Tell the customers of `queue` whose place changed (and those in `tell`); forget
        those no longer waiting there."""
        entries = [entry for entry in waiting if entry.queue == queue]
        told = await self.told.recall(queue)
        present = {entry.handoff_id for entry in entries}
        await self.told.forget(queue, [handoff for handoff in told if handoff not in present])
        due = [
            entry
            for entry in entries
            if entry.handoff_id in tell or told.get(entry.handoff_id) != entry.position
        ]
        results = await asyncio.gather(
            *(self._tell(entry, told.get(entry.handoff_id)) for entry in due)
        )
        return sum(results)

    async def _tell(self, entry: Waiting, previous: int | None) -> bool:
        """The `waiting` status, then the same words as a bot message (every widget shows it);
        remembered as told once the message is in the conversation (`previous`: the place
        remembered before)."""
        still = previous == entry.position
        details = self.customer.waiting_details(entry.queue, entry.position)
        text = self.customer.waiting_text(entry.queue, entry.position, still=still)
        told = await self.customer.announce(
            entry.sender_id, DeskNotice.QUEUE_POSITION, text, CustomerStatus.WAITING, **details
        )
        if told:
            await self.told.remember(
                entry.queue, entry.handoff_id, entry.position, previous=previous
            )
        return told

    # --- Wait choices ---------------------------------------------------------------------------

    async def check(self) -> list[ChoiceOffer]:
        """Take and deliver the offers due now; those delivered."""
        async with self._checking:
            return await self._check()

    async def _check(self) -> list[ChoiceOffer]:
        connected = await self.presence.agent_ids()
        timeout = self.claim_timeout_seconds

        def look(session: Session) -> tuple[set[str], bool]:
            online = online_queues(session, connected)
            return online, offers_due(session, timeout_seconds=timeout, online=online)

        # Most checks find nothing due: they only read, and the write lock is left to intake.
        online, due = await self.units(look)
        if not due:
            return []
        take = partial(take_offers, timeout_seconds=timeout, online=online)
        delivered: list[ChoiceOffer] = []
        for offer in await self.units(take, write=True):
            if await self._deliver(offer):
                delivered.append(offer)
            else:
                await self.units(partial(withdraw_offer, offer=offer), write=True)
        return delivered

    async def _deliver(self, offer: ChoiceOffer) -> bool:
        waiting = offer.waiting
        message = offer.message()
        event = {
            "event": "bot",
            "text": message["text"],
            "data": {"buttons": message["buttons"]},
            "metadata": {
                DESK_NOTICE_KEY: DeskNotice.WAIT_CHOICE.value,
                "reason": offer.reason.value,
            },
        }
        if not await self.customer.say(waiting.sender_id, event):
            return False
        await self.customer.notify(
            waiting.sender_id,
            CustomerStatus.TIMEOUT_CHOICE,
            reason=offer.reason.value,
            text=message["text"],
            **self.customer.waiting_details(waiting.queue, waiting.position),
        )
        return True

    # --- The background check -------------------------------------------------------------------

    def start(self) -> None:
        """Start checking in the background (the application's start-up)."""
        self._checker.start()

    async def stop(self) -> None:
        """Stop checking (the application's shutdown)."""
        await self._checker.stop()
