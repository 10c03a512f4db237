"""What the customer does while a handoff is open, as the bot reports it.

The Rasa server sends the desk tracker events of its conversations (`POST
/api/conversation-events`): what the customer says (`user`), and from the web chat whether they
are typing (`user_typing`). For a conversation with an open (queued or claimed) handoff these go
to the agents; every other event is accepted and ignored.

While the handoff still waits (is queued), three intents of a `user` event change it
(`contract.wait_intents`), in the same unit of work that matched the event with the handoff:
- `cancel` ("never mind") abandons it; the workflow gives the conversation back to the bot;
- `leave_message` (the customer's answer to a wait choice) expires it; the workflow gives the
  conversation back to the bot, which asks for the message;
- `keep_waiting` restarts the wait's clock (`desk.services.waiting`).
Once an agent has claimed the handoff these are ordinary messages for the agent.

A customer message is applied to a handoff once: the handoff keeps the last message applied
(Rasa's timestamp and a digest of the text), set in the same unit of work by a compare-and-set
UPDATE, and a message older than that, or as old and with the same text, is a repeat
(`CustomerActivity.repeated`). Events come twice when RabbitMQ redelivers one a desk handled
but had not acknowledged when it stopped (`desk.event_queue`), or when the HTTP broker retries a
POST the desk answered too late; the mark lives in the database, so it holds across desk
processes and restarts. Events of one conversation arrive in order on either path (Rasa stamps
them under the conversation's lock), so "older" is "seen".
"""

from __future__ import annotations

import enum
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session

from contract.conversation_events import TYPING_EVENT
from contract.wait_intents import INTENT_CANCEL, INTENT_KEEP_WAITING, INTENT_LEAVE_MESSAGE
from desk.services import handoffs as handoff_rules
from desk.services import lifecycle, waiting
from desk.services.errors import Conflict
from desk.services.lifecycle import Action
from desk.store.models import Handoff
from desk.store.repositories import HandoffRepository

#: Rasa's event of what the customer said.
USER: Final = "user"


class WaitOutcome(str, enum.Enum):
    """What a waiting customer's message did to their handoff."""

    ABANDONED = "abandoned"
    LEFT_MESSAGE = "left_message"
    KEPT_WAITING = "kept_waiting"


#: intent → what it does to a waiting handoff, the transition table's action, the change.
_CHANGES: Final = {
    INTENT_CANCEL: (WaitOutcome.ABANDONED, Action.ABANDON, handoff_rules.abandon),
    INTENT_LEAVE_MESSAGE: (WaitOutcome.LEFT_MESSAGE, Action.EXPIRE, waiting.leave_message),
    INTENT_KEEP_WAITING: (WaitOutcome.KEPT_WAITING, Action.KEEP_WAITING, waiting.keep_waiting),
}


@dataclass(frozen=True)
class CustomerActivity:
    """A conversation event seen in the light of the conversation's open handoff.

    `kind` is "message", "typing" or "other"; `handoff_id` is None when no handoff is open
    (then nothing is relayed); `outcome` says what the message did to a waiting handoff;
    `repeated` is True for a message already applied to the handoff (nothing to relay or do).
    """

    sender_id: str
    kind: str
    handoff_id: str | None = None
    queue: str | None = None
    owner_id: int | None = None
    outcome: WaitOutcome | None = None
    repeated: bool = False


class SeenMessages:
    """The customer messages relayed lately, so a re-delivered one is not shown twice.

    The Rasa server's event broker retries a POST the desk may already have handled (a time-out
    after the desk answered); such a `user` event comes again with the same sender, timestamp
    and text. Bounded: the oldest keys are forgotten first.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        """Remember at most `capacity` messages."""
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def first_time(self, sender_id: str, event: dict[str, Any]) -> bool:
        """False when this `user` event of this conversation was seen before (other events:
        always True)."""
        if event.get("event") != USER or event.get("timestamp") is None:
            return True
        key = (sender_id, repr(event.get("timestamp")), str(event.get("text")))
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True


def intent_of(event: dict[str, Any]) -> str | None:
    """The NLU intent of a `user` event, if Rasa parsed one.

    None as well when `parse_data` or its `intent` is not an object: the event still carries
    what the customer said, which the agent must see, so a malformed parse is read as "no
    intent" (the message is relayed and changes no waiting handoff) rather than refused.
    """
    parse_data = event.get("parse_data")
    intent = parse_data.get("intent") if isinstance(parse_data, dict) else None
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else None


def receive_event(
    session: Session, sender_id: str, event: dict[str, Any], *, now: datetime | None = None
) -> CustomerActivity:
    """Match a conversation event with the open handoff; apply a waiting customer's choice."""
    kind = {USER: "message", TYPING_EVENT: "typing"}.get(str(event.get("event")), "other")
    handoff = HandoffRepository(session).open_for_sender(sender_id)
    if handoff is None:
        return CustomerActivity(sender_id=sender_id, kind=kind)
    if kind == "message" and not _first_application(session, handoff, event):
        return CustomerActivity(
            sender_id=sender_id,
            kind=kind,
            handoff_id=handoff.handoff_id,
            queue=handoff.queue,
            owner_id=handoff.agent_id,
            repeated=True,
        )
    outcome: WaitOutcome | None = None
    change = _CHANGES.get(intent_of(event) or "") if kind == "message" else None
    if change is not None and lifecycle.allows(change[1], handoff.status):
        try:
            handoff = change[2](session, handoff.handoff_id, now=now)
            outcome = change[0]
        except Conflict:
            # Claimed a moment ago: the agent has the customer now, and sees the message.
            handoff = handoff_rules.get_existing(session, handoff.handoff_id)
    return CustomerActivity(
        sender_id=sender_id,
        kind=kind,
        handoff_id=handoff.handoff_id,
        queue=handoff.queue,
        owner_id=handoff.agent_id,
        outcome=outcome,
    )


def _first_application(session: Session, handoff: Handoff, event: dict[str, Any]) -> bool:
    """Mark the customer message `event` as applied to `handoff`; False when it (or a later
    one) already was.

    One conditional UPDATE, so two units racing on one message cannot both win. A message
    without a numeric timestamp (the HTTP route reads events leniently) cannot be placed and
    is always applied.
    """
    timestamp = event.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        return True
    at = float(timestamp)
    text = str(event.get("text"))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    mark = Handoff.last_message_timestamp
    statement = (
        update(Handoff)
        .where(
            Handoff.handoff_id == handoff.handoff_id,
            or_(
                mark.is_(None),
                mark < at,
                and_(mark == at, Handoff.last_message_digest != digest),
            ),
        )
        .values(last_message_timestamp=at, last_message_digest=digest)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount == 1)
