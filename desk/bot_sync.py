"""The bot learns of every handoff the desk holds, even one its tracker missed.

The action server may die after delivering a handoff but before the handoff's events (the
`handoff_id` slot, the pause) reach Rasa's tracker; the outbox relay may deliver a context long
after its turn. Either way the desk holds an open handoff while the bot would answer over the
person. So each new handoff is reported to the Rasa server (`contract.handoff_opened`), which
pauses the conversation and tells the customer if its tracker missed it; the answer is recorded
in `handoffs.bot_confirmed_at`.

A report that fails (Rasa down or restarting) is retried a few times at once, and after that by
a sweep every `SWEEP_SECONDS` over the open handoffs still unconfirmed, also those left over
when the desk itself restarted, so no handoff stays unknown to the bot for longer than Rasa is
unreachable plus one sweep.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from sqlalchemy.orm import Session

from contract.handoff_opened import HandoffOpenedNotice
from contract.handoff_status import OPEN_STATUSES
from desk.background import BackgroundTasks, Periodic, with_retries
from desk.bus import EventBus, Reach
from desk.events import HandoffQueued
from desk.rasa_client import RasaClient
from desk.services.queues import team_name
from desk.store.database import UnitRunner
from desk.store.repositories import HandoffRepository
from desk.store.types import utcnow

LOGGER = logging.getLogger(__name__)

#: What the customer is told when the bot learns of their handoff from the desk.
HANDOFF_OPENED_TEXT: Final = (
    "You're in the queue for {team}. Everything we've discussed goes with you, so you won't "
    "need to repeat yourself. Please stay in this chat."
)
#: Pauses between the first attempts to report a new handoff.
RETRY_SECONDS: Final[tuple[float, ...]] = (0.5, 2.0)
#: How often unconfirmed open handoffs are reported again.
SWEEP_SECONDS: Final = 5.0
#: A handoff younger than this is left to its first report (still under way).
SWEEP_AFTER_SECONDS: Final = 10.0
#: At most this many reports per sweep (the oldest first).
SWEEP_BATCH: Final = 50


class BotSync:
    """Reports new handoffs to the Rasa server, and sweeps up those it could not."""

    def __init__(self, units: UnitRunner, rasa: RasaClient, tasks: BackgroundTasks) -> None:
        """Record through `units`, reach Rasa through `rasa`, work in the background through
        `tasks`."""
        self.units = units
        self.rasa = rasa
        self.tasks = tasks
        self._sweeper = Periodic(self.sweep, SWEEP_SECONDS, "desk bot sync sweep")

    def subscribe(self, bus: EventBus) -> None:
        """Report every new handoff (`handoff.queued`), once (`Reach.ONCE`: a report writes
        the database and calls Rasa)."""
        bus.subscribe(HandoffQueued, self.queued, reach=Reach.ONCE)

    async def queued(self, event: HandoffQueued) -> None:
        """Report a new handoff in the background (with retries, then left to the sweep)."""
        sender_id, handoff_id, queue = event.sender_id, event.handoff_id, event.queue
        self.tasks.spawn(
            with_retries(
                lambda: self.report(sender_id, handoff_id, queue),
                RETRY_SECONDS,
                what=f"reporting handoff {handoff_id} to the bot",
            ),
            name=f"report handoff {handoff_id}",
        )

    async def report(self, sender_id: str, handoff_id: str, queue: str) -> None:
        """Report one open handoff; raises `RasaUnavailable` when Rasa did not take it."""
        notice = HandoffOpenedNotice(
            sender_id=sender_id,
            handoff_id=handoff_id,
            text=HANDOFF_OPENED_TEXT.format(team=team_name(queue, "our support team")),
        )
        if await self.rasa.handoff_opened(notice):
            LOGGER.warning("handoff %s: the bot's tracker had missed it and has it now", handoff_id)
        await self.units(lambda session: _mark_confirmed(session, handoff_id), write=True)

    async def sweep(self) -> int:
        """Report the open handoffs the bot has not confirmed; how many it now has."""
        pending = await self.units(_unconfirmed)
        confirmed = 0
        for sender_id, handoff_id, queue in pending:
            if await with_retries(
                lambda: self.report(sender_id, handoff_id, queue),  # noqa: B023 (awaited here)
                (),
                what=f"reporting handoff {handoff_id} to the bot again",
            ):
                confirmed += 1
        return confirmed

    def start(self) -> None:
        """Start sweeping in the background (the application's start-up)."""
        self._sweeper.start()

    async def stop(self) -> None:
        """Stop sweeping (the application's shutdown)."""
        await self._sweeper.stop()


def _unconfirmed(session: Session) -> list[tuple[str, str, str]]:
    older_than = utcnow() - timedelta(seconds=SWEEP_AFTER_SECONDS)
    statuses = [status.value for status in OPEN_STATUSES]
    handoffs = HandoffRepository(session).unconfirmed(statuses, older_than, SWEEP_BATCH)
    return [(h.sender_id, h.handoff_id, h.queue) for h in handoffs]


def _mark_confirmed(session: Session, handoff_id: str) -> None:
    HandoffRepository(session).mark_confirmed(handoff_id, utcnow())
