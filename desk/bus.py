"""The desk's event bus: workflows publish domain events (`desk.events`), subscribers react.

`EventBus` is the interface the workflows and the subscribers see: `subscribe` a coroutine to
an event type (keyed by the event's name), `publish` an event. `InProcessBus` delivers within
the desk process: to the subscribers of the event's name, one after the other in the order they
subscribed, awaited by the publisher (so a workflow that publishes `handoff.claimed` answers
its caller after the customer was told). A subscriber that fails is logged, with the event's
personal data masked, and neither the publisher nor the other subscribers notice.

Several desk processes behave as one desk (`desk.redis_bus`), so every subscriber says how far
an event must reach it (`Reach`):

- `Reach.ONCE` (the default): once per event, in the process that published it. Anything with
  a side effect outside the process: a database write, telling the customer something through
  Rasa, an entry on an application's timeline, a report to the bot. Run in two processes it
  would happen twice.
- `Reach.EVERY_PROCESS`: in every desk process, for what each process holds by itself: the
  consoles connected to it (`desk.console_hub.ConsoleFeed`), its supervisors' live strip
  (`desk.floor.LiveFloor`). An agent connected to another process must hear of a handoff
  queued here.

In the publishing process both kinds run, in the order they subscribed, before `publish`
returns; the other processes run their EVERY_PROCESS subscribers when the event arrives
(`deliver_remote`), in the order it was published there, and nobody waits for them.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from typing import NamedTuple, Protocol, TypeVar

from desk.events import DeskEvent

LOGGER = logging.getLogger(__name__)

E = TypeVar("E", bound=DeskEvent)
Subscriber = Callable[[E], Awaitable[None]]


class Reach(str, enum.Enum):
    """Where a subscriber runs when an event is published (see the module doc)."""

    #: Once per event, in the publishing process: side effects that must not happen twice.
    ONCE = "once"
    #: In every desk process: what each process holds by itself (its consoles).
    EVERY_PROCESS = "every_process"


class EventBus(Protocol):
    """Publish and subscribe to the desk's domain events."""

    def subscribe(
        self, event_type: type[E], subscriber: Subscriber[E], *, reach: Reach = Reach.ONCE
    ) -> None:
        """Call `subscriber` with every event of `event_type` published from now on: in the
        publishing process only (`Reach.ONCE`) or in every desk process."""
        ...

    async def publish(self, event: DeskEvent) -> None:
        """Deliver `event` to its subscribers; never raises for a subscriber's failure."""
        ...


class _Subscription(NamedTuple):
    subscriber: Subscriber[DeskEvent]
    reach: Reach


class InProcessBus:
    """The `EventBus` of one desk process (the whole desk when it runs as one process)."""

    def __init__(self) -> None:
        """No subscribers yet."""
        self._subscriptions: dict[str, list[_Subscription]] = {}

    def subscribe(
        self, event_type: type[E], subscriber: Subscriber[E], *, reach: Reach = Reach.ONCE
    ) -> None:
        """Call `subscriber` with every event of `event_type`, after those subscribed before."""
        subscriptions = self._subscriptions.setdefault(event_type.NAME.value, [])
        # Only events of `event_type` are delivered to it (keyed by the type's name).
        subscriptions.append(_Subscription(subscriber, reach))  # type: ignore[arg-type]

    def reach_of(self, event_type: type[DeskEvent]) -> list[tuple[str, Reach]]:
        """Who follows `event_type` and how far: (the subscriber's name, its reach), in order."""
        return [
            (_name(subscription.subscriber), subscription.reach)
            for subscription in self._subscriptions.get(event_type.NAME.value, ())
        ]

    async def publish(self, event: DeskEvent) -> None:
        """Deliver `event` here and now (see `deliver`)."""
        await self.deliver(event)

    async def deliver(self, event: DeskEvent) -> None:
        """Await each subscriber of the event's name in turn; log (masked) any that fails."""
        await self._deliver(event, every_process_only=False)

    async def deliver_remote(self, event: DeskEvent) -> None:
        """An event another desk process published: only the EVERY_PROCESS subscribers run
        (its ONCE subscribers ran there)."""
        await self._deliver(event, every_process_only=True)

    async def _deliver(self, event: DeskEvent, *, every_process_only: bool) -> None:
        for subscriber, reach in list(self._subscriptions.get(event.NAME.value, ())):
            if every_process_only and reach is not Reach.EVERY_PROCESS:
                continue
            try:
                await subscriber(event)
            except Exception:
                LOGGER.exception(
                    "subscriber %s failed on %s %s",
                    _name(subscriber),
                    event.NAME.value,
                    event.masked(),
                )

    async def start(self) -> None:
        """Nothing to start in one process (a shared transport starts listening here)."""

    async def stop(self) -> None:
        """Nothing to stop in one process."""


def _name(subscriber: Callable[..., object]) -> str:
    return getattr(subscriber, "__qualname__", repr(subscriber))
