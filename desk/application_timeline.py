"""A mortgage handoff on the application's timeline: handed to an advisor, and handed back.

`ApplicationTimeline` subscribes to the event bus. When the bot hands over a conversation
whose context names a mortgage application (`evidence.mortgage_application.reference`), the
application's timeline gets `handed_to_advisor` (web chat, the bot, with the handoff and the
reason; the first one moves an application at intake to advice). When an agent resolves such
a handoff, it gets `handed_back` (desk, the agent by name, with the next step the agent set
for the bot, the resolve's `mortgage_next_step` slot).

The entries go through `change_application`, so they are published like any other. This is
bookkeeping beside the handoff, so it runs in the background (`desk.tasks`): the bus awaits
its subscribers, and the claim, the hand-back and the customer's next message must not wait
for a read of the handoff and a write of the application. A failure (the application unknown,
the stage table refusing, e.g. for a withdrawn application, the database) is logged and never
fails the handoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from contract.applications import (
    NEXT_STEP_SLOT,
    ActorKind,
    ApplicationEventKind,
    NextStep,
    Touchpoint,
)
from desk.bus import EventBus, Reach
from desk.events import HandoffQueued, HandoffResolved
from desk.services import applications
from desk.services.errors import Conflict, NotFound
from desk.services.queues import context_of
from desk.store.models import EventKind, HandoffEvent, MortgageApplication
from desk.store.repositories import HandoffRepository
from desk.workflows.applications import change_application
from desk.workflows.context import Desk

LOGGER = logging.getLogger(__name__)

E = TypeVar("E", HandoffQueued, HandoffResolved)


@dataclass(frozen=True)
class _MortgageHandoff:
    """What the timeline needs of a handoff about an application."""

    reference: str
    reason: str
    slots: dict[str, Any]


def mortgage_reference(context: dict[str, Any]) -> str | None:
    """The application reference in a handoff context, if it names one."""
    evidence = context.get("evidence")
    application = evidence.get("mortgage_application") if isinstance(evidence, dict) else None
    reference = application.get("reference") if isinstance(application, dict) else None
    return reference if isinstance(reference, str) and reference else None


def next_step_of(slots: dict[str, Any]) -> str | None:
    """The next step the agent set for the bot, if it is one the bot knows."""
    step = slots.get(NEXT_STEP_SLOT)
    known = isinstance(step, str) and step in {member.value for member in NextStep}
    return step if known else None


class ApplicationTimeline:
    """Writes a mortgage handoff's hand-over and hand-back on the application's timeline."""

    def __init__(self, desk: Desk) -> None:
        """Read handoffs and change applications through `desk`."""
        self.desk = desk
        # The entries are written in the background, one at a time in the order of their
        # events (asyncio's lock serves its waiters first come, first served): on a busy
        # desk a quick resolve's write could otherwise finish before the handoff's own, and
        # the timeline would read "handed back" before "handed to an advisor".
        self._in_order = asyncio.Lock()

    def subscribe(self, bus: EventBus) -> None:
        """Follow handoffs being queued and resolved (the entries are written in the
        background), once per event (`Reach.ONCE`: two processes would append each entry
        twice)."""
        bus.subscribe(HandoffQueued, self._later(self.handed_to_advisor), reach=Reach.ONCE)
        bus.subscribe(HandoffResolved, self._later(self.handed_back), reach=Reach.ONCE)

    def _later(
        self, write: Callable[[E], Coroutine[Any, Any, None]]
    ) -> Callable[[E], Awaitable[None]]:
        async def in_order(event: E) -> None:
            async with self._in_order:
                await write(event)

        async def spawn(event: E) -> None:
            self.desk.tasks.spawn(in_order(event), name=f"timeline of {event.NAME.value}")

        return spawn

    async def handed_to_advisor(self, event: HandoffQueued) -> None:
        """The bot handed a conversation about an application to the desk."""
        handoff = await self._mortgage_handoff(event.handoff_id)
        if handoff is None:
            return
        detail = {"handoff_id": event.handoff_id, "reason": handoff.reason}
        await self._append(
            handoff.reference,
            ApplicationEventKind.HANDED_TO_ADVISOR,
            touchpoint=Touchpoint.WEB_CHAT,
            actor_kind=ActorKind.BOT,
            actor=None,
            detail=detail,
        )

    async def handed_back(self, event: HandoffResolved) -> None:
        """An agent resolved a handoff about an application: the bot has it again."""
        handoff = await self._mortgage_handoff(event.handoff_id, with_slots=True)
        if handoff is None:
            return
        detail = {"handoff_id": event.handoff_id, "next_step": next_step_of(handoff.slots)}
        await self._append(
            handoff.reference,
            ApplicationEventKind.HANDED_BACK,
            touchpoint=Touchpoint.DESK,
            actor_kind=ActorKind.AGENT,
            actor=event.agent_name,
            detail=detail,
        )

    async def _mortgage_handoff(
        self, handoff_id: str, *, with_slots: bool = False
    ) -> _MortgageHandoff | None:
        """The handoff's application reference, reason and (resolved) slots; None when it
        names no application or cannot be read (logged)."""

        def read(session: Session) -> _MortgageHandoff | None:
            handoffs = HandoffRepository(session)
            handoff = handoffs.get(handoff_id)
            if handoff is None:
                return None
            reference = mortgage_reference(context_of(handoff))
            if reference is None:
                return None
            slots: dict[str, Any] = {}
            if with_slots:
                slots = _resolved_slots(handoffs.events(handoff_id))
            return _MortgageHandoff(reference, handoff.reason_code, slots)

        try:
            return await self.desk.units(read)
        except Exception:
            LOGGER.exception("reading handoff %s for its application failed", handoff_id)
            return None

    async def _append(
        self,
        reference: str,
        kind: ApplicationEventKind,
        *,
        touchpoint: Touchpoint,
        actor_kind: ActorKind,
        actor: str | None,
        detail: dict[str, Any],
    ) -> None:
        step = _appending(
            kind, touchpoint=touchpoint, actor_kind=actor_kind, actor=actor, detail=detail
        )
        try:
            await change_application(self.desk, reference, step)
        except Conflict as refused:
            LOGGER.info("%s not recorded for %s: %s", kind.value, reference, refused.message)
        except NotFound:
            LOGGER.warning("%s not recorded: no application %s", kind.value, reference[:64])
        except Exception:
            LOGGER.exception("recording %s for %s failed", kind.value, reference[:64])


def _appending(
    kind: ApplicationEventKind,
    *,
    touchpoint: Touchpoint,
    actor_kind: ActorKind,
    actor: str | None,
    detail: dict[str, Any],
) -> Callable[[Session, MortgageApplication], None]:
    def step(_session: Session, application: MortgageApplication) -> None:
        applications.append_entry(
            application,
            kind,
            touchpoint=touchpoint,
            actor_kind=actor_kind,
            actor=actor,
            detail=detail,
        )

    return step


def _resolved_slots(events: list[HandoffEvent]) -> dict[str, Any]:
    """The slots of the handoff's latest resolve (its history's `resolved` entry)."""
    for event in reversed(events):
        if event.kind == EventKind.RESOLVED.value:
            slots = (event.detail or {}).get("slots")
            return slots if isinstance(slots, dict) else {}
    return {}
