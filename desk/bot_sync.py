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

The customer learns the same way that a person joined or left (`tell_now`, from
`desk.customer_link`): "Olivia from Order Support has joined the chat." is owed from the claim
until Rasa has it (`handoffs.joined_told_at`, later than `claimed_at`), "Olivia has left the
chat." from the resolution (`handoffs.left_told_at`). The claim and the resolution send theirs
at once; one that failed, or that a desk killed right after the claim never sent, is sent by
the retries and the same sweep. Several desk processes share the database: a process sends an
owed notice only while it holds the row's lease (`handoffs.notice_lease_until`, taken by a
conditional UPDATE; a process that died lets it run out). The notice carries an id
(`contract.desk_notices.DESK_NOTICE_ID_KEY`) and a notice sent before is first looked for in
the tracker: one that reached Rasa just before its sender died is recorded, not said twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from contract.customer_status import CustomerStatus
from contract.desk_notices import DESK_NOTICE_ID_KEY, DeskNotice
from contract.handoff_opened import HandoffOpenedNotice
from contract.handoff_status import OPEN_STATUSES
from desk.background import BackgroundTasks, Periodic, with_retries
from desk.bus import EventBus, Reach
from desk.customer_link import joined_text, left_text, notice_event, notify_page
from desk.events import HandoffQueued
from desk.rasa_client import RasaClient, RasaUnavailable
from desk.services.queues import team_name
from desk.store.database import UnitRunner
from desk.store.models import Agent, Handoff
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
#: The most Rasa calls one owed notice takes (`BotSync.tell`: the tracker, the page, the
#: events), each cut off at the Rasa client's timeout.
CALLS_PER_NOTICE: Final = 3
#: Added to those calls for the database's writes.
LEASE_MARGIN_SECONDS: Final = 5.0


def lease_seconds(rasa_timeout_seconds: float) -> float:
    """How long one desk process holds an owed notice before another may send it: longer than
    the notice's Rasa calls can take, so two desks never send it at once, and no longer, so a
    desk that died holding it (killed mid-claim) delays the customer's notice by little: 20 s
    with the default 5 s timeout (a fixed 60 s before)."""
    return CALLS_PER_NOTICE * rasa_timeout_seconds + LEASE_MARGIN_SECONDS


class BotSync:
    """Reports new handoffs to the Rasa server, and sweeps up those it could not."""

    def __init__(self, units: UnitRunner, rasa: RasaClient, tasks: BackgroundTasks) -> None:
        """Record through `units`, reach Rasa through `rasa`, work in the background through
        `tasks`."""
        self.units = units
        self.rasa = rasa
        self.tasks = tasks
        #: See `lease_seconds`.
        self.lease_seconds = lease_seconds(rasa.timeout_seconds)
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

    async def tell_now(self, handoff_id: str, notice: DeskNotice) -> None:
        """Tell the customer `notice` (agent joined or left) now if it is still owed; when
        Rasa does not take it, retry in the background, then leave it to the sweep."""
        try:
            await self.tell(handoff_id, notice, first=True)
        except RasaUnavailable as error:
            LOGGER.warning("handoff %s: %s not told yet: %s", handoff_id, notice.value, error)
            self.tasks.spawn(
                self._retry(handoff_id, notice), name=f"tell {notice.value} {handoff_id}"
            )

    async def _retry(self, handoff_id: str, notice: DeskNotice) -> None:
        """`tell` again after each of `RETRY_SECONDS` (the first attempt has just failed)."""
        if not RETRY_SECONDS:
            return  # left to the sweep
        await asyncio.sleep(RETRY_SECONDS[0])  # back-off after the failed attempt

        async def again() -> None:
            await self.tell(handoff_id, notice)

        await with_retries(
            again,
            RETRY_SECONDS[1:],
            what=f"telling the customer of handoff {handoff_id} {notice.value}",
        )

    async def tell(self, handoff_id: str, notice: DeskNotice, *, first: bool = False) -> bool:
        """Send an owed notice while holding the handoff's lease and record it as told;
        whether this call did (False: not owed, told already, or another desk holds the
        lease). Unless it is the `first` attempt, a notice already in the tracker is only
        recorded. Raises `RasaUnavailable` when Rasa did not take it (the lease is given
        back)."""
        lease = self.lease_seconds
        owed = await self.units(
            lambda s: _take_lease(s, handoff_id, notice, utcnow(), lease), write=True
        )
        if owed is None:
            return False
        try:
            if first or not await self._in_tracker(owed):
                await notify_page(
                    self.rasa,
                    owed.sender_id,
                    owed.status,
                    notice_text=owed.text,
                    agent_name=owed.agent_name,
                )
                await self.rasa.append_events(
                    owed.sender_id,
                    [notice_event(notice, owed.text, owed.notice_id)],
                    execute_side_effects=True,
                )
        except Exception:
            await self.units(lambda s: _release_lease(s, handoff_id), write=True)
            raise
        await self.units(lambda s: _mark_told(s, owed, utcnow()), write=True)
        return True

    async def _in_tracker(self, owed: OwedNotice) -> bool:
        tracker = await self.rasa.tracker(owed.sender_id)
        return any(
            (event.get("metadata") or {}).get(DESK_NOTICE_ID_KEY) == owed.notice_id
            for event in tracker.get("events") or []
            if event.get("event") == "bot"
        )

    async def sweep(self) -> int:
        """Report the open handoffs the bot has not confirmed, and tell the customers the
        notices they are still owed (each joined before its left); how many were done."""
        done = 0
        for sender_id, handoff_id, queue in await self.units(_unconfirmed):
            if await with_retries(
                lambda: self.report(sender_id, handoff_id, queue),  # noqa: B023 (awaited here)
                (),
                what=f"reporting handoff {handoff_id} to the bot again",
            ):
                done += 1
        for handoff_id, notice in await self.units(_owed):
            try:
                done += await self.tell(handoff_id, notice)
            except RasaUnavailable as error:
                LOGGER.error("handoff %s: %s still not told: %s", handoff_id, notice.value, error)
        return done

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


@dataclass(frozen=True)
class OwedNotice:
    """A notice the customer of a handoff is owed, as the desk will send it."""

    handoff_id: str
    sender_id: str
    notice: DeskNotice
    agent_name: str
    queue: str
    #: When it became owed: the claim (joined) or the resolution (left).
    since: datetime

    @property
    def notice_id(self) -> str:
        """The same id for every delivery of this notice (a newer claim, a new id)."""
        return f"{self.handoff_id}/{self.notice.value}/{self.since.isoformat()}"

    @property
    def text(self) -> str:
        """The words (`desk.customer_link`)."""
        if self.notice is DeskNotice.AGENT_JOINED:
            return joined_text(self.agent_name, self.queue)
        return left_text(self.agent_name)

    @property
    def status(self) -> CustomerStatus:
        """The page's status that goes with it."""
        if self.notice is DeskNotice.AGENT_JOINED:
            return CustomerStatus.AGENT_JOINED
        return CustomerStatus.AGENT_LEFT


def _owed_condition(notice: DeskNotice) -> ColumnElement[bool]:
    if notice is DeskNotice.AGENT_JOINED:
        # A transfer clears claimed_at: the customer then hears their new place instead.
        return and_(
            Handoff.claimed_at.is_not(None),
            or_(Handoff.joined_told_at.is_(None), Handoff.joined_told_at < Handoff.claimed_at),
        )
    if notice is DeskNotice.AGENT_LEFT:
        return and_(Handoff.resolved_at.is_not(None), Handoff.left_told_at.is_(None))
    raise ValueError(f"{notice.value} is not a notice the desk owes")


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(Handoff.notice_lease_until.is_(None), Handoff.notice_lease_until < now)


def _take_lease(
    session: Session, handoff_id: str, notice: DeskNotice, now: datetime, lease: float
) -> OwedNotice | None:
    owed, free = _owed_condition(notice), _lease_free(now)
    taken = session.execute(
        update(Handoff)
        .where(Handoff.handoff_id == handoff_id, owed, free)
        .values(notice_lease_until=now + timedelta(seconds=lease))
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    row = session.execute(
        select(Handoff, Agent.display_name)
        .outerjoin(Agent, Agent.id == Handoff.agent_id)
        .where(Handoff.handoff_id == handoff_id)
    ).one()
    handoff, agent_name = row
    since = handoff.claimed_at if notice is DeskNotice.AGENT_JOINED else handoff.resolved_at
    assert since is not None  # owed: see _owed_condition
    return OwedNotice(
        handoff_id=handoff_id,
        sender_id=handoff.sender_id,
        notice=notice,
        agent_name=agent_name or "Our agent",
        queue=handoff.queue,
        since=since,
    )


def _release_lease(session: Session, handoff_id: str) -> None:
    session.execute(
        update(Handoff)
        .where(Handoff.handoff_id == handoff_id)
        .values(notice_lease_until=None)
        .execution_options(synchronize_session=False)
    )


def _mark_told(session: Session, owed: OwedNotice, now: datetime) -> None:
    told = "joined_told_at" if owed.notice is DeskNotice.AGENT_JOINED else "left_told_at"
    session.execute(
        update(Handoff)
        .where(Handoff.handoff_id == owed.handoff_id)
        .values({told: max(now, owed.since), "notice_lease_until": None})
        .execution_options(synchronize_session=False)
    )


def _owed(session: Session) -> list[tuple[str, DeskNotice]]:
    """Notices owed for longer than a first attempt takes, the joined ones first."""
    now = utcnow()
    older_than = now - timedelta(seconds=SWEEP_AFTER_SECONDS)
    since = {
        DeskNotice.AGENT_JOINED: Handoff.claimed_at,
        DeskNotice.AGENT_LEFT: Handoff.resolved_at,
    }
    owed: list[tuple[str, DeskNotice]] = []
    for notice, column in since.items():
        statement = (
            select(Handoff.handoff_id)
            .where(_owed_condition(notice), _lease_free(now), column < older_than)
            .order_by(column)
            .limit(SWEEP_BATCH)
        )
        owed.extend((handoff_id, notice) for handoff_id in session.scalars(statement))
    return owed
