"""The supervisors' live strip: who waits now, who works, which claims breach the service level.

`read_floor` reads a `contract.analytics_report.Floor` in one unit of work:
- **waiting**, per queue and in all: the handoffs with status `queued`. A queue the routing
  file names is listed even when empty; a queue only the bot named (intake takes any) is listed
  while someone waits in it.
- **oldest wait**: from the handoff's `queued_at` to now. A transfer keeps `queued_at` (it is
  the first queue's: `desk.services.handoffs.transfer` only changes the queue), so the wait runs
  from the customer's first place in a queue, as docs/metrics.md defines it.
- **agents online**: distinct desk users with a console's websocket open, on any desk process
  (`desk.presence`).
- **breaches**: waiting handoffs whose wait is beyond their queue's service level
  (`desk.services.service_levels`), and handoffs first claimed within the last
  `CLAIMED_WINDOW` after waiting beyond the level of the queue they were claimed from
  (`claimed` true; the wait is first `queued_at` to first claim). A handoff waiting again
  after a transfer is listed as waiting only. Longest waits first, the waiting before the
  claimed.

`LiveFloor` pushes the strip to the supervisors' consoles as `{"type": FLOOR_MESSAGE, ...}`:
when a handoff is queued, claimed, transferred, resolved, abandoned or expires (the event
bus), when a console connects or disconnects (agents online), and every `REFRESH_SECONDS` so
waits grow and breaches appear while nothing happens. With no supervisor connected it reads
nothing. `GET /api/analytics/floor` (`desk.api.floor`) answers the same strip.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Final

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from contract.analytics_report import FLOOR_MESSAGE, Breach, Floor, QueueFloor
from contract.handoff_status import HandoffStatus
from desk.background import BackgroundTasks, Periodic
from desk.bus import EventBus, Reach
from desk.console_hub import LiveHub
from desk.events import (
    AboutHandoff,
    HandoffAbandoned,
    HandoffClaimed,
    HandoffExpired,
    HandoffQueued,
    HandoffResolved,
    HandoffTransferred,
)
from desk.presence import LocalPresence, Presence
from desk.services.queues import QUEUES
from desk.services.service_levels import ServiceLevels
from desk.store.database import UnitRunner
from desk.store.models import EventKind, Handoff, HandoffEvent
from desk.store.types import utcnow

#: How far back claims are looked at for breaches.
CLAIMED_WINDOW: Final = timedelta(hours=1)
#: How often the strip is pushed while nothing happens (waits grow by this much at most unseen).
REFRESH_SECONDS: Final = 15.0


def read_floor(
    session: Session, *, levels: ServiceLevels, agents_online: int, now: datetime
) -> Floor:
    """The live strip as of `now` (see the module doc)."""
    waiting = session.execute(
        select(Handoff.handoff_id, Handoff.queue, Handoff.queued_at).where(
            Handoff.status == HandoffStatus.QUEUED.value
        )
    ).all()
    waits: dict[str, list[float]] = defaultdict(list)
    breaches: list[Breach] = []
    for handoff_id, queue, queued_at in waiting:
        waited = _seconds(now - queued_at)
        waits[queue].append(waited)
        if waited > levels.for_queue(queue):
            breaches.append(
                Breach(handoff_id=handoff_id, queue=queue, waited_s=waited, claimed=False)
            )
    breaches.sort(key=lambda breach: -breach.waited_s)
    breaches += _late_claims(session, levels, now)
    names = [*QUEUES, *sorted(set(waits) - set(QUEUES))]
    queues = [
        QueueFloor(
            queue=name,
            waiting=len(waits[name]),
            oldest_wait_s=max(waits[name], default=None),
            sla_s=levels.for_queue(name),
        )
        for name in names
    ]
    all_waits = [wait for queue_waits in waits.values() for wait in queue_waits]
    return Floor(
        at=now,
        waiting=len(all_waits),
        oldest_wait_s=max(all_waits, default=None),
        agents_online=agents_online,
        queues=queues,
        breaches=breaches,
    )


def _late_claims(session: Session, levels: ServiceLevels, now: datetime) -> list[Breach]:
    """Handoffs first claimed within CLAIMED_WINDOW after their queue's level, longest first."""
    claim = aliased(HandoffEvent)
    earlier = aliased(HandoffEvent)
    first_claims = session.execute(
        select(claim.handoff_id, claim.occurred_at, claim.detail, Handoff.queue, Handoff.queued_at)
        .join(Handoff, Handoff.handoff_id == claim.handoff_id)
        .where(
            claim.kind == EventKind.CLAIMED.value,
            claim.occurred_at >= now - CLAIMED_WINDOW,
            claim.occurred_at <= now,
            Handoff.status != HandoffStatus.QUEUED.value,
            ~exists().where(
                earlier.handoff_id == claim.handoff_id,
                earlier.kind == EventKind.CLAIMED.value,
                earlier.occurred_at < claim.occurred_at,
            ),
        )
    ).all()
    breaches = []
    for handoff_id, claimed_at, detail, current_queue, queued_at in first_claims:
        queue = str(detail.get("queue") or current_queue)  # the queue it was claimed from
        waited = _seconds(claimed_at - queued_at)
        if waited > levels.for_queue(queue):
            breaches.append(
                Breach(handoff_id=handoff_id, queue=queue, waited_s=waited, claimed=True)
            )
    return sorted(breaches, key=lambda breach: -breach.waited_s)


def _seconds(span: timedelta) -> float:
    return round(max(0.0, span.total_seconds()), 3)


class LiveFloor:
    """The live strip of one desk application, pushed to its supervisors."""

    def __init__(
        self,
        units: UnitRunner,
        hub: LiveHub,
        levels: ServiceLevels,
        tasks: BackgroundTasks,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], datetime] = utcnow,
        presence: Presence | None = None,
    ) -> None:
        """Read through `units` against `levels`; push to the supervisors of `hub` in the
        background (`tasks`), and every `refresh_seconds` once started; count the agents
        online in `presence` (by default `hub`'s)."""
        self.units = units
        self.hub = hub
        self.presence = presence or LocalPresence(hub)
        self.levels = levels
        self.tasks = tasks
        self.clock = clock
        self._refresher = Periodic(self.push, refresh_seconds, "desk live floor refresh")
        self._running = False
        self._pushing = False
        self._again = False

    def subscribe(self, bus: EventBus) -> None:
        """Push again whenever a handoff joins or leaves a queue (in every desk process: each
        pushes to its own supervisors), and when a console connects or disconnects."""
        for event_type in (
            HandoffQueued,
            HandoffClaimed,
            HandoffTransferred,
            HandoffResolved,
            HandoffAbandoned,
            HandoffExpired,
        ):
            bus.subscribe(event_type, self.handoff_moved, reach=Reach.EVERY_PROCESS)
        self.hub.watch(self.changed)

    async def handoff_moved(self, event: AboutHandoff) -> None:
        """A queue moved: push the strip (in the background)."""
        self.changed()

    def changed(self) -> None:
        """Push the strip soon, in the background; changes that come while a push is under
        way make one more push after it, not one each."""
        if not self._running or not self.hub.supervisors_connected():
            return
        if self._pushing:
            self._again = True
            return
        self._pushing = True
        self.tasks.spawn(self._push_until_current(), name="push the live floor")

    async def _push_until_current(self) -> None:
        try:
            self._again = True
            while self._again and self._running:
                self._again = False
                await self.push()
        finally:
            self._pushing = False

    async def now(self) -> Floor:
        """The live strip now (one unit of work)."""
        online = len(await self.presence.agent_ids())
        read = partial(read_floor, levels=self.levels, agents_online=online, now=self.clock())
        return await self.units(read)

    async def push(self) -> int:
        """Send the strip to the connected supervisors; to how many consoles it went."""
        if not self.hub.supervisors_connected():
            return 0
        floor = await self.now()
        return await self.hub.send_to_supervisors(
            {"type": FLOOR_MESSAGE, **json.loads(floor.json())}
        )

    def start(self) -> None:
        """Start pushing (the application's start-up)."""
        self._running = True
        self._refresher.start()

    async def stop(self) -> None:
        """Stop pushing (the application's shutdown)."""
        self._running = False
        await self._refresher.stop()
