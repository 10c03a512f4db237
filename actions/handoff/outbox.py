"""The transactional outbox: a handoff is written down before it is sent, so none is lost.

`HandoffDispatcher.dispatch` first stores the serialised context as a pending row, then
delivers it, then records the result. If the desk is down the row stays pending and
`OutboxRelay` delivers it later; if this process dies between the steps, the row is still
there when it comes back. The desk is idempotent on `handoff_id`, so the rare second
delivery (a lease that ran out mid-delivery) opens nothing new.

SQLAlchemy is synchronous here, so every database call runs in a worker thread
(`asyncio.to_thread`) and never blocks the event loop. Every write is a single statement whose
WHERE clause re-checks the row's state, which is what keeps two relays (or a relay and a
dispatcher) from both claiming or overwriting the same row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from actions.handoff.delivery import DeliveryResult, DeliveryStatus, HandoffClient
from actions.settings import Settings
from actions.store.database import Database, utcnow
from actions.store.models import HandoffOutboxEntry, OutboxStatus
from contract.handoff_context import HandoffContext

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

MAX_ERROR_CHARS = 2_000


class OutboxUnavailableError(RuntimeError):
    """The outbox could not store a handoff and the desk could not be reached either."""


class DispatchStatus(str, Enum):
    """What became of a dispatched handoff."""

    DELIVERED = "delivered"  # the desk has it
    QUEUED = "queued"  # stored; the relay will deliver it
    REJECTED = "rejected"  # the desk refused it; kept as a dead letter
    DUPLICATE = "duplicate"  # this handoff_id was dispatched before; nothing sent


@dataclass(frozen=True)
class DispatchOutcome:
    """Result of `HandoffDispatcher.dispatch`.

    `handoff_id` is the handoff the customer is in: the dispatched one, or, when the desk
    already held an open handoff for the conversation, that one.
    """

    status: DispatchStatus
    handoff_id: str
    error: str | None = None


#: The longest a pending handoff waits between two tries. A customer is waiting for a person
#: behind every pending row, so once the desk is back each reaches it within this plus one
#: relay interval (README, "Delivery"); a longer cap spared a down desk little and, after a
#: long outage, kept customers waiting up to 15 minutes after it recovered.
MAX_RETRY_DELAY_SECONDS: Final = 60.0


@dataclass(frozen=True)
class OutboxPolicy:
    """Timing shared by the dispatcher and the relay.

    Attributes:
        lease_seconds: How long a row being delivered is hidden from relays. Must exceed the
            longest delivery, or a relay may send it a second time (harmless but wasteful).
        retry_backoff_seconds: Delay after the first failed try; doubles with every try.
        max_retry_delay_seconds: Cap of that delay (`MAX_RETRY_DELAY_SECONDS`): the backoff
            only spares a desk that keeps failing from a burst of tries every interval.
    """

    lease_seconds: float
    retry_backoff_seconds: float
    max_retry_delay_seconds: float = MAX_RETRY_DELAY_SECONDS

    @classmethod
    def for_client(cls, client: HandoffClient, retry_backoff_seconds: float) -> OutboxPolicy:
        """A policy whose lease comfortably covers `client`'s slowest delivery."""
        return cls(
            lease_seconds=2 * client.max_delivery_seconds + 5.0,
            retry_backoff_seconds=retry_backoff_seconds,
            # A relay interval set above the cap is the pace then: never wait longer.
            max_retry_delay_seconds=max(MAX_RETRY_DELAY_SECONDS, retry_backoff_seconds),
        )

    @classmethod
    def from_settings(cls, settings: Settings, client: HandoffClient) -> OutboxPolicy:
        """Retry pending rows at the relay's pace."""
        return cls.for_client(client, retry_backoff_seconds=settings.outbox_interval_seconds)

    def retry_delay(self, tries_so_far: int) -> timedelta:
        """How long to wait before the next try, after `tries_so_far` failed tries."""
        exponent = max(tries_so_far - 1, 0)
        seconds = self.retry_backoff_seconds * 2.0 ** min(exponent, 32)
        return timedelta(seconds=min(seconds, self.max_retry_delay_seconds))

    @property
    def lease(self) -> timedelta:
        """`lease_seconds` as a timedelta."""
        return timedelta(seconds=self.lease_seconds)


class HandoffDispatcher:
    """Stores a handoff in the outbox, then delivers it."""

    def __init__(
        self,
        database: Database,
        client: HandoffClient,
        policy: OutboxPolicy,
        *,
        clock: Clock = utcnow,
    ) -> None:
        """Wire the dispatcher to a database and a desk client."""
        self._database = database
        self._client = client
        self._policy = policy
        self._clock = clock

    async def dispatch(self, context: HandoffContext) -> DispatchOutcome:
        """Store `context` in the outbox, then try to deliver it now.

        Returns `DUPLICATE` without sending anything if this `handoff_id` is already in the
        outbox (whatever its state), so calling this twice never delivers twice.
        """
        handoff_id = str(context.handoff_id)
        body = context.json()
        now = self._clock()
        try:
            stored = await asyncio.to_thread(
                _store_pending,
                self._database,
                handoff_id,
                context.conversation.sender_id,
                body,
                now,
                # Leased from the start: the relay must not send it while we are sending it.
                now + self._policy.lease,
            )
        except Exception:
            # With the outbox's database down, a customer who needs a person must still reach
            # one: deliver straight away, and fail only if the desk cannot be reached either.
            logger.exception("Handoff %s: outbox unavailable; delivering directly", handoff_id)
            return await self._deliver_without_outbox(handoff_id, body)
        if not stored:
            return DispatchOutcome(DispatchStatus.DUPLICATE, handoff_id)
        # From here on the row is safe: whatever fails below, the relay sends it later.
        try:
            result = await self._client.deliver_body(handoff_id, body)
        except Exception as error:
            logger.exception("Handoff %s: delivery crashed; left to the outbox relay", handoff_id)
            return DispatchOutcome(DispatchStatus.QUEUED, handoff_id, repr(error))
        try:
            await asyncio.to_thread(
                _record_result, self._database, self._policy, handoff_id, result, 0, self._clock()
            )
        except Exception:
            # The desk's answer stands; the row stays pending and the relay's re-send is
            # answered 200 by the idempotent desk, which then marks it delivered.
            logger.exception("Handoff %s: could not record the delivery result", handoff_id)
        return _outcome(handoff_id, result)

    async def _deliver_without_outbox(self, handoff_id: str, body: str) -> DispatchOutcome:
        result = await self._client.deliver_body(handoff_id, body)
        if result.status is DeliveryStatus.FAILED:
            raise OutboxUnavailableError(
                f"Handoff {handoff_id}: neither the outbox nor the desk is reachable "
                f"({result.error})"
            )
        return _outcome(handoff_id, result)


@dataclass(frozen=True)
class RelayReport:
    """What one `OutboxRelay.run_once` did."""

    claimed: int = 0
    delivered: int = 0
    rejected: int = 0
    retrying: int = 0


class OutboxRelay:
    """Delivers outbox rows whose time has come, once at start-up and then periodically."""

    def __init__(
        self,
        database: Database,
        client: HandoffClient,
        policy: OutboxPolicy,
        *,
        interval_seconds: float,
        batch_size: int = 50,
        tries_per_claim: int = 1,
        clock: Clock = utcnow,
    ) -> None:
        """Configure the relay.

        Args:
            database: Where the outbox lives.
            client: How to reach the desk.
            policy: Lease and retry timing.
            interval_seconds: Pause between runs when started with `start()`.
            batch_size: Most rows delivered per run.
            tries_per_claim: HTTP tries per claimed row; the outbox's own backoff does the
                rest, so one is enough.
            clock: Current UTC time (injectable for tests).
        """
        self._database = database
        self._client = client
        self._policy = policy
        self._interval_seconds = interval_seconds
        self._batch_size = batch_size
        self._tries_per_claim = tries_per_claim
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the periodic task is running."""
        return self._task is not None and not self._task.done()

    async def run_once(self) -> RelayReport:
        """Claim the due pending rows one by one, deliver each, and record the results."""
        due = await asyncio.to_thread(
            _due_handoff_ids, self._database, self._clock(), self._batch_size
        )
        claimed = delivered = rejected = retrying = 0
        for handoff_id in due:
            now = self._clock()
            claim = await asyncio.to_thread(
                _claim, self._database, handoff_id, now, now + self._policy.lease
            )
            if claim is None:
                continue  # another relay (or the dispatcher) got there first
            claimed += 1
            body, tries_so_far = claim
            result = await self._client.deliver_body(
                handoff_id, body, attempts=self._tries_per_claim
            )
            await asyncio.to_thread(
                _record_result,
                self._database,
                self._policy,
                handoff_id,
                result,
                tries_so_far,
                self._clock(),
            )
            delivered += result.status is DeliveryStatus.DELIVERED
            rejected += result.status is DeliveryStatus.REJECTED
            retrying += result.status is DeliveryStatus.FAILED
        return RelayReport(claimed, delivered, rejected, retrying)

    def start(self) -> None:
        """Run `run_once` now and then every `interval_seconds`, in a background task."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._run_forever(), name="handoff-outbox-relay"
        )

    async def stop(self) -> None:
        """Cancel the background task and wait for it to end.

        A row being delivered at that moment keeps its lease and is retried once it expires.
        """
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run_forever(self) -> None:
        while True:
            try:
                report = await self.run_once()
                if report.claimed:
                    logger.info("Handoff outbox relay: %s", report)
            except Exception:
                # One bad run (database briefly locked, ...) must not end the relay for good.
                logger.exception("Handoff outbox relay run failed; retrying next interval")
            await asyncio.sleep(self._interval_seconds)


# --- Database work (runs in worker threads) ---------------------------------------------------


def _store_pending(
    database: Database,
    handoff_id: str,
    sender_id: str,
    payload: str,
    now: datetime,
    next_attempt_at: datetime,
) -> bool:
    """Insert the pending row; False if the handoff_id is already in the outbox."""
    entry = HandoffOutboxEntry(
        handoff_id=handoff_id,
        sender_id=sender_id,
        payload=payload,
        status=OutboxStatus.PENDING.value,
        attempts=0,
        last_error=None,
        next_attempt_at=next_attempt_at,
        created_at=now,
        delivered_at=None,
    )
    # Insert without looking first: the primary key is the only check that holds when two
    # dispatches of the same id race.
    try:
        with database.session() as session:
            session.add(entry)
    except IntegrityError:
        return False
    return True


def _record_result(
    database: Database,
    policy: OutboxPolicy,
    handoff_id: str,
    result: DeliveryResult,
    tries_before: int,
    now: datetime,
) -> None:
    """Mark the row delivered, rejected (dead letter) or due again after a backoff."""
    values: dict[str, object] = {
        "attempts": HandoffOutboxEntry.attempts + result.tries,
        "last_error": _clip(result.error),
    }
    if result.status is DeliveryStatus.DELIVERED:
        values.update(status=OutboxStatus.DELIVERED.value, delivered_at=now, last_error=None)
    elif result.status is DeliveryStatus.REJECTED:
        values.update(status=OutboxStatus.REJECTED.value)
        logger.error("Handoff %s rejected by the desk: %s", handoff_id, result.error)
    else:
        values.update(next_attempt_at=now + policy.retry_delay(tries_before + result.tries))
    with database.session() as session:
        # Only a pending row changes: a row another worker already finished stays finished.
        session.execute(
            update(HandoffOutboxEntry)
            .where(
                HandoffOutboxEntry.handoff_id == handoff_id,
                HandoffOutboxEntry.status == OutboxStatus.PENDING.value,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _due_handoff_ids(database: Database, now: datetime, limit: int) -> list[str]:
    with database.session() as session:
        rows = session.execute(
            select(HandoffOutboxEntry.handoff_id)
            .where(
                HandoffOutboxEntry.status == OutboxStatus.PENDING.value,
                HandoffOutboxEntry.next_attempt_at <= now,
            )
            .order_by(HandoffOutboxEntry.next_attempt_at, HandoffOutboxEntry.created_at)
            .limit(limit)
        )
        return [handoff_id for (handoff_id,) in rows]


def _claim(
    database: Database, handoff_id: str, now: datetime, lease_until: datetime
) -> tuple[str, int] | None:
    """Lease one due row; its payload and tries so far, or None if it is no longer due."""
    with database.session() as session:
        # The UPDATE is the claim: it only moves the lease forward while the row is still due,
        # so of two relays racing for it exactly one sees a changed row.
        claimed = session.execute(
            update(HandoffOutboxEntry)
            .where(
                HandoffOutboxEntry.handoff_id == handoff_id,
                HandoffOutboxEntry.status == OutboxStatus.PENDING.value,
                HandoffOutboxEntry.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return None
        row = session.execute(
            select(HandoffOutboxEntry.payload, HandoffOutboxEntry.attempts).where(
                HandoffOutboxEntry.handoff_id == handoff_id
            )
        ).one()
        return row.payload, row.attempts


def _outcome(handoff_id: str, result: DeliveryResult) -> DispatchOutcome:
    # The desk may answer with the conversation's open handoff instead of this one.
    return DispatchOutcome(
        _dispatch_status(result), result.desk_handoff_id or handoff_id, result.error
    )


def _dispatch_status(result: DeliveryResult) -> DispatchStatus:
    return {
        DeliveryStatus.DELIVERED: DispatchStatus.DELIVERED,
        DeliveryStatus.REJECTED: DispatchStatus.REJECTED,
        DeliveryStatus.FAILED: DispatchStatus.QUEUED,
    }[result.status]


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:MAX_ERROR_CHARS]
