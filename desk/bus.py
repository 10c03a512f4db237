"""The desk's event bus: workflows publish domain events (`desk.events`), subscribers react.

`EventBus` is the interface the workflows and the subscribers see: `subscribe` a coroutine to
an event type (keyed by the event's name), `publish` an event. `InProcessBus` delivers within
the desk process: to the subscribers of the event's name, one after the other in the order they
subscribed, awaited by the publisher (so a workflow that publishes `handoff.claimed` answers
its caller after the customer was told). A subscriber that fails is logged, with the event's
personal data masked, and neither the publisher nor the other subscribers notice.

A cross-process transport (PostgreSQL LISTEN/NOTIFY, Redis, RabbitMQ) implements the same
interface: `publish` sends `desk.events.encode(event)`, a listener task `decode`s what arrives
and hands it to the local subscribers as `InProcessBus.deliver` does; no subscriber changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from desk.events import DeskEvent

LOGGER = logging.getLogger(__name__)

E = TypeVar("E", bound=DeskEvent)
Subscriber = Callable[[E], Awaitable[None]]


class EventBus(Protocol):
    """Publish and subscribe to the desk's domain events."""

    def subscribe(self, event_type: type[E], subscriber: Subscriber[E]) -> None:
        """Call `subscriber` with every event of `event_type` published from now on."""
        ...

    async def publish(self, event: DeskEvent) -> None:
        """Deliver `event` to its subscribers; never raises for a subscriber's failure."""
        ...


class InProcessBus:
    """The `EventBus` of one desk process."""

    def __init__(self) -> None:
        """No subscribers yet."""
        self._subscribers: dict[str, list[Subscriber[DeskEvent]]] = {}

    def subscribe(self, event_type: type[E], subscriber: Subscriber[E]) -> None:
        """Call `subscriber` with every event of `event_type`, after those subscribed before."""
        subscribers = self._subscribers.setdefault(event_type.NAME.value, [])
        # Only events of `event_type` are delivered to it (keyed by the type's name).
        subscribers.append(subscriber)  # type: ignore[arg-type]

    async def publish(self, event: DeskEvent) -> None:
        """Deliver `event` here and now (see `deliver`)."""
        await self.deliver(event)

    async def deliver(self, event: DeskEvent) -> None:
        """Await each subscriber of the event's name in turn; log (masked) any that fails."""
        for subscriber in list(self._subscribers.get(event.NAME.value, ())):
            try:
                await subscriber(event)
            except Exception:
                LOGGER.exception(
                    "subscriber %s failed on %s %s",
                    getattr(subscriber, "__qualname__", repr(subscriber)),
                    event.NAME.value,
                    event.masked(),
                )
