"""What the customer does while a handoff is open, as the bot reports it.

The Rasa server sends the desk tracker events of its conversations (`POST
/api/conversation-events`): what the customer says (`user`), and from the web chat whether they
are typing (`user_typing`). For a conversation with an open (queued or claimed) handoff these go
to the agents; every other event is accepted and ignored.

One message changes the handoff: "never mind" while still waiting (a `user` event whose
parse_data intent is `cancel`, for a queued handoff) abandons it; the caller then gives the
conversation back to the bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from desk.services import handoffs as handoff_rules
from desk.services.errors import Conflict
from desk.store.models import HandoffStatus
from desk.store.repositories import HandoffRepository

USER: Final = "user"
USER_TYPING: Final = "user_typing"
CANCEL_INTENT: Final = "cancel"


@dataclass(frozen=True)
class CustomerActivity:
    """A conversation event seen in the light of the conversation's open handoff.

    `kind` is "message", "typing" or "other"; `handoff_id` is None when no handoff is open
    (then nothing is relayed).
    """

    sender_id: str
    kind: str
    handoff_id: str | None = None
    queue: str | None = None
    owner_id: int | None = None
    status: str | None = None
    abandoned: bool = False


def intent_of(event: dict[str, Any]) -> str | None:
    """The NLU intent of a `user` event, if Rasa parsed one."""
    intent = (event.get("parse_data") or {}).get("intent") or {}
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else None


def receive_event(
    session: Session, sender_id: str, event: dict[str, Any], *, now: datetime | None = None
) -> CustomerActivity:
    """Match a conversation event with the open handoff; abandon it on a cancel while waiting."""
    kind = {USER: "message", USER_TYPING: "typing"}.get(str(event.get("event")), "other")
    handoff = HandoffRepository(session).open_for_sender(sender_id)
    if handoff is None:
        return CustomerActivity(sender_id=sender_id, kind=kind)
    abandoned = False
    if (
        kind == "message"
        and handoff.status == HandoffStatus.QUEUED.value
        and intent_of(event) == CANCEL_INTENT
    ):
        try:
            handoff = handoff_rules.abandon(session, handoff.handoff_id, now=now)
            abandoned = True
        except Conflict:
            # Claimed a moment ago: the agent has the customer now, and sees the message.
            handoff = handoff_rules.get_existing(session, handoff.handoff_id)
    return CustomerActivity(
        sender_id=sender_id,
        kind=kind,
        handoff_id=handoff.handoff_id,
        queue=handoff.queue,
        owner_id=handoff.agent_id,
        status=handoff.status,
        abandoned=abandoned,
    )
