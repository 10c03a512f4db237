"""Customers waiting for a person: their place in the queue, and a choice when the wait is long.

A queued handoff is offered the choice "keep waiting, or leave a message for a callback":
- when nobody claimed it within CLAIM_TIMEOUT_SECONDS of being queued (`claim_timeout`);
- at once when no agent serving its queue is online (`no_agent_online`);
- again CLAIM_TIMEOUT_SECONDS after the customer chose to keep waiting (or after the last offer
  they did not answer).

`choice_offered_at` records the last offer (or the last "keep waiting"). An offer is taken with
a compare-and-set on that column, so two desk processes never offer the same wait twice; if the
offer cannot be delivered it is withdrawn (the column is set back) and made again later.

The customer answers with a message: the quick replies send the intents `keep_waiting` and
`leave_message` (`contract.wait_intents`; customers may also type them). `leave_message`
expires the handoff (the bot then asks for the message, which `handoffs.store_callback` keeps
with it); `keep_waiting` restarts the clock.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from contract.customer_status import Choice
from contract.wait_intents import INTENT_KEEP_WAITING, INTENT_LEAVE_MESSAGE, quick_reply_payload
from desk.services import handoffs as handoff_rules
from desk.services import lifecycle
from desk.services.agents import DEFAULT_ONLINE_SECONDS, online_agent_ids
from desk.services.lifecycle import Action
from desk.services.queues import team_name
from desk.store.models import EventKind, Handoff
from desk.store.repositories import AgentRepository, HandoffRepository
from desk.store.types import utcnow

#: The quick replies of an offer (the web chat and any Rasa widget show them as buttons).
CHOICES: Final[tuple[Choice, ...]] = (
    Choice(title="Keep waiting", payload=quick_reply_payload(INTENT_KEEP_WAITING)),
    Choice(title="Leave a message", payload=quick_reply_payload(INTENT_LEAVE_MESSAGE)),
)
#: An agent counts as online with a console connected, or a session used this recently.
ONLINE_SECONDS: Final = DEFAULT_ONLINE_SECONDS


class OfferReason(str, enum.Enum):
    """Why the customer is offered the choice."""

    CLAIM_TIMEOUT = "claim_timeout"
    NO_AGENT_ONLINE = "no_agent_online"


@dataclass(frozen=True)
class Waiting:
    """A queued customer and their place in the queue."""

    handoff_id: str
    sender_id: str
    queue: str
    position: int


@dataclass(frozen=True)
class ChoiceOffer:
    """An offer taken for a waiting customer; `previous` is what to restore if it fails."""

    waiting: Waiting
    reason: OfferReason
    offered_at: datetime
    previous: datetime | None

    def message(self) -> dict[str, Any]:
        """The assistant's message to the customer: what happened, and the two quick replies."""
        team = team_name(self.waiting.queue, "the team")
        if self.reason is OfferReason.NO_AGENT_ONLINE:
            opening = f"Nobody from {team} is online right now."
        else:
            opening = f"Sorry for the wait: everyone in {team} is still busy."
        return {
            "text": f"{opening} You can keep waiting, or leave a message and they'll call you "
            "back.",
            "buttons": [choice.dict() for choice in CHOICES],
        }


def waiting_in(session: Session, queues: Collection[str] | None = None) -> list[Waiting]:
    """Every queued customer (of `queues`, or of all queues) with their 1-based position."""
    return [waiting for _, waiting in _placed(HandoffRepository(session).waiting(queues))]


def _placed(queued: list[Handoff]) -> list[tuple[Handoff, Waiting]]:
    """Queued handoffs (best first, as the repository orders them) with their positions."""
    placed: list[tuple[Handoff, Waiting]] = []
    counts: dict[str, int] = {}
    for handoff in queued:
        counts[handoff.queue] = counts.get(handoff.queue, 0) + 1
        position = counts[handoff.queue]
        placed.append(
            (handoff, Waiting(handoff.handoff_id, handoff.sender_id, handoff.queue, position))
        )
    return placed


def online_queues(
    session: Session, connected_agent_ids: Collection[int], *, now: datetime | None = None
) -> set[str]:
    """Queues with at least one online agent: a console connected, or a session seen lately."""
    seen = online_agent_ids(session, within_seconds=ONLINE_SECONDS, now=now)
    return AgentRepository(session).queues_of({*connected_agent_ids, *seen})


def agents_online_for(
    session: Session,
    queue: str,
    connected_agent_ids: Collection[int],
    *,
    now: datetime | None = None,
) -> int:
    """How many agents serving `queue` are online (as `online_queues` counts them): 0 is the
    waiting room's "nobody of the queue online"."""
    seen = online_agent_ids(session, within_seconds=ONLINE_SECONDS, now=now)
    return AgentRepository(session).count_serving(queue, {*connected_agent_ids, *seen})


def offers_due(
    session: Session,
    *,
    timeout_seconds: float,
    online: Collection[str],
    now: datetime | None = None,
) -> bool:
    """Whether any waiting customer is due an offer now (a read; `take_offers` then writes)."""
    cutoff = (now or utcnow()) - timedelta(seconds=timeout_seconds)
    return any(
        _due(handoff, cutoff, online) is not None
        for handoff in HandoffRepository(session).waiting(None)
    )


def take_offers(
    session: Session,
    *,
    timeout_seconds: float,
    online: Collection[str],
    now: datetime | None = None,
) -> list[ChoiceOffer]:
    """Take the offers that are due now (see the module doc), oldest wait first."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=timeout_seconds)
    handoffs = HandoffRepository(session)
    placed = sorted(_placed(handoffs.waiting(None)), key=lambda pair: pair[0].queued_at)
    offers: list[ChoiceOffer] = []
    for handoff, waiting in placed:
        reason = _due(handoff, cutoff, online)
        if reason is None:
            continue
        previous = handoff.choice_offered_at
        if not _set_offered(handoffs, handoff.handoff_id, previous, now):
            continue  # another desk process took it, or it left the queue
        handoffs.add_event(
            handoff.handoff_id,
            EventKind.CHOICE_OFFERED.value,
            at=now,
            detail={"reason": reason.value},
        )
        offers.append(ChoiceOffer(waiting, reason, now, previous))
    return offers


def withdraw_offer(session: Session, offer: ChoiceOffer) -> bool:
    """An offer that could not be delivered: due again at the next check; False if moot."""
    handoffs = HandoffRepository(session)
    withdrawn = _set_offered(handoffs, offer.waiting.handoff_id, offer.offered_at, offer.previous)
    if withdrawn:
        handoffs.add_event(
            offer.waiting.handoff_id,
            EventKind.CHOICE_OFFERED.value,
            at=utcnow(),
            detail={"reason": offer.reason.value, "delivered": False},
        )
    return withdrawn


def keep_waiting(session: Session, handoff_id: str, *, now: datetime | None = None) -> Handoff:
    """The customer keeps waiting: the next offer is due CLAIM_TIMEOUT_SECONDS from now."""
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    won = handoffs.transition(
        handoff_id,
        from_statuses=lifecycle.sources(Action.KEEP_WAITING),
        values={"choice_offered_at": now},
    )
    if not won:
        current = handoff_rules.get_existing(session, handoff_id)
        raise lifecycle.refused(Action.KEEP_WAITING, current.status)
    handoffs.add_event(handoff_id, EventKind.KEPT_WAITING.value, at=now)
    return handoff_rules.get_existing(session, handoff_id)


def leave_message(session: Session, handoff_id: str, *, now: datetime | None = None) -> Handoff:
    """The customer would rather leave a message: the wait expires (the message comes next)."""
    return handoff_rules.expire(session, handoff_id, now=now)


def _due(handoff: Handoff, cutoff: datetime, online: Collection[str]) -> OfferReason | None:
    offline = handoff.queue not in online
    last = handoff.choice_offered_at
    if last is None:
        if offline:
            return OfferReason.NO_AGENT_ONLINE
        return OfferReason.CLAIM_TIMEOUT if handoff.queued_at <= cutoff else None
    if last > cutoff:
        return None
    return OfferReason.NO_AGENT_ONLINE if offline else OfferReason.CLAIM_TIMEOUT


def _set_offered(
    handoffs: HandoffRepository, handoff_id: str, expected: datetime | None, value: datetime | None
) -> bool:
    current = (
        Handoff.choice_offered_at.is_(None)
        if expected is None
        else Handoff.choice_offered_at == expected
    )
    return handoffs.transition(
        handoff_id,
        from_statuses=lifecycle.sources(Action.OFFER_CHOICE),
        values={"choice_offered_at": value},
        extra_condition=current,
    )
