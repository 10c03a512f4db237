"""The desk's domain events: what happened to a handoff or an application, said once for every
subscriber.

The workflows (`desk.workflows`) publish these on the event bus (`desk.bus`) after the unit of
work that made them true; the console hub, the customer link, the waiting room and the bot sync
subscribe (docs/desk-design.md, "Workflows and the event bus"). Each event is a frozen dataclass
of plain JSON values named by `NAME`, so it can cross a process (`encode` / `decode`) when a
shared transport replaces the in-process bus. Fields listed in `PERSONAL` hold personal data
and are masked wherever an event is logged (`masked`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Final

#: What a masked personal field shows in a log.
MASK: Final = "***"


class EventName(str, enum.Enum):
    """Every event's name: `<subject>.<what happened>`."""

    HANDOFF_QUEUED = "handoff.queued"
    HANDOFF_CLAIMED = "handoff.claimed"
    HANDOFF_TRANSFERRED = "handoff.transferred"
    HANDOFF_RESOLVED = "handoff.resolved"
    HANDOFF_HANDED_BACK = "handoff.handed_back"
    HANDOFF_ABANDONED = "handoff.abandoned"
    HANDOFF_EXPIRED = "handoff.expired"
    HANDOFF_KEPT_WAITING = "handoff.kept_waiting"
    HANDOFF_NOTE_ADDED = "handoff.note_added"
    HANDOFF_RATED = "handoff.rated"
    HANDOFF_CALLBACK_LEFT = "handoff.callback_left"
    HANDOFF_CALLBACK_DONE = "handoff.callback_done"
    CONVERSATION_RESUMED = "conversation.resumed"
    MESSAGE_CUSTOMER = "message.customer"
    MESSAGE_AGENT = "message.agent"
    TYPING_CUSTOMER = "typing.customer"
    SESSION_ENDED = "session.ended"
    APPLICATION_OPENED = "application.opened"
    APPLICATION_EVENT_RECORDED = "application.event_recorded"


@dataclass(frozen=True)
class DeskEvent:
    """An event: its `NAME`, and its fields, those in `PERSONAL` holding personal data."""

    NAME: ClassVar[EventName]
    PERSONAL: ClassVar[frozenset[str]] = frozenset()

    def payload(self) -> dict[str, Any]:
        """The fields as plain JSON values."""
        return asdict(self)

    def masked(self) -> dict[str, Any]:
        """The fields with the personal ones masked (for logs)."""
        return {
            name: MASK if name in self.PERSONAL and value is not None else value
            for name, value in self.payload().items()
        }


@dataclass(frozen=True)
class AboutHandoff(DeskEvent):
    """What every event about a handoff says: which handoff, whose conversation, which queue
    it is in now."""

    PERSONAL = frozenset({"sender_id"})

    handoff_id: str
    sender_id: str
    queue: str


@dataclass(frozen=True)
class HandoffQueued(AboutHandoff):
    """The bot handed a conversation over; it waits in `queue`."""

    NAME = EventName.HANDOFF_QUEUED

    priority: str


@dataclass(frozen=True)
class HandoffClaimed(AboutHandoff):
    """An agent took the handoff."""

    NAME = EventName.HANDOFF_CLAIMED

    agent_id: int
    agent_name: str


@dataclass(frozen=True)
class HandoffTransferred(AboutHandoff):
    """The handoff moved from `from_queue` to `queue`, where it waits again."""

    NAME = EventName.HANDOFF_TRANSFERRED

    from_queue: str
    previous_owner_id: int | None
    agent_id: int


@dataclass(frozen=True)
class HandoffResolved(AboutHandoff):
    """The agent closed the handoff; the bot takes the conversation back next."""

    NAME = EventName.HANDOFF_RESOLVED

    agent_id: int
    agent_name: str
    disposition: str


@dataclass(frozen=True)
class HandoffHandedBack(AboutHandoff):
    """The bot took a resolved conversation back."""

    NAME = EventName.HANDOFF_HANDED_BACK


@dataclass(frozen=True)
class HandoffAbandoned(AboutHandoff):
    """The waiting customer no longer wanted a person ("never mind")."""

    NAME = EventName.HANDOFF_ABANDONED


@dataclass(frozen=True)
class HandoffExpired(AboutHandoff):
    """The wait ended without a person: `reason` left_message (the customer's choice) or
    callback (a message arrived for a handoff still waiting)."""

    NAME = EventName.HANDOFF_EXPIRED

    reason: str


@dataclass(frozen=True)
class HandoffKeptWaiting(AboutHandoff):
    """The waiting customer chose to keep waiting: the wait's clock restarts."""

    NAME = EventName.HANDOFF_KEPT_WAITING


@dataclass(frozen=True)
class HandoffNoteAdded(AboutHandoff):
    """An agent wrote a private note on the handoff."""

    NAME = EventName.HANDOFF_NOTE_ADDED

    agent_id: int
    note_id: int


@dataclass(frozen=True)
class HandoffRated(AboutHandoff):
    """The customer rated the handoff (CSAT)."""

    NAME = EventName.HANDOFF_RATED

    rating: int
    has_comment: bool


@dataclass(frozen=True)
class HandoffCallbackLeft(AboutHandoff):
    """The customer left a message for a callback."""

    NAME = EventName.HANDOFF_CALLBACK_LEFT


@dataclass(frozen=True)
class HandoffCallbackDone(AboutHandoff):
    """An agent marked the customer's callback done (`done_at`, ISO 8601); `queue` is the
    one the handoff expired in."""

    NAME = EventName.HANDOFF_CALLBACK_DONE

    agent_id: int
    agent_name: str
    done_at: str


@dataclass(frozen=True)
class ConversationResumed(AboutHandoff):
    """The bot has the conversation again and ran `action` (`contract.bot_actions`)."""

    NAME = EventName.CONVERSATION_RESUMED

    action: str


@dataclass(frozen=True)
class CustomerMessage(AboutHandoff):
    """The customer said something the agents should see (the handoff stays open).

    `text` and `timestamp` are the Rasa event's, as it sent them (JSON values).
    """

    NAME = EventName.MESSAGE_CUSTOMER
    PERSONAL = frozenset({"sender_id", "text"})

    owner_id: int | None
    text: Any
    intent: str | None
    timestamp: Any


@dataclass(frozen=True)
class AgentMessage(AboutHandoff):
    """The agent's message reached the customer's conversation."""

    NAME = EventName.MESSAGE_AGENT
    PERSONAL = frozenset({"sender_id", "text"})

    agent_id: int
    agent_name: str
    text: str


@dataclass(frozen=True)
class CustomerTyping(AboutHandoff):
    """The customer started or stopped typing."""

    NAME = EventName.TYPING_CUSTOMER

    owner_id: int | None
    typing: bool


@dataclass(frozen=True)
class SessionEnded(DeskEvent):
    """An agent logged out: the consoles opened with that session close, in every process.

    `session_key` is the stored digest of the session's token (`desk.services.agents`).
    """

    NAME = EventName.SESSION_ENDED
    PERSONAL = frozenset({"session_key"})

    session_key: str


@dataclass(frozen=True)
class AboutApplication(DeskEvent):
    """What every event about a mortgage application says: which one, its stage now, and when
    it happened (the timeline entry's time, ISO 8601).

    The applicant's details (name, email, amounts) and an entry's free-form detail stay in the
    record (`desk.services.applications`): a subscriber that needs them reads it.
    """

    reference: str
    stage: str
    occurred_at: str


@dataclass(frozen=True)
class ApplicationOpened(AboutApplication):
    """The bot stored a completed intake as a new application (stage `intake`);
    `origin_sender_id` is the conversation it came from."""

    NAME = EventName.APPLICATION_OPENED
    PERSONAL = frozenset({"origin_sender_id"})

    origin_channel: str
    origin_sender_id: str


@dataclass(frozen=True)
class ApplicationEventRecorded(AboutApplication):
    """A touchpoint appended `kind` to the application's timeline; `stage` is the stage after
    it (some kinds move the application on). `actor_kind` and `actor` say who did it (the
    actor as the touchpoint named them)."""

    NAME = EventName.APPLICATION_EVENT_RECORDED
    PERSONAL = frozenset({"actor"})

    touchpoint: str
    kind: str
    actor_kind: str
    actor: str | None


#: Every event class by its name (for a transport that decodes events).
EVENT_TYPES: Final[Mapping[str, type[DeskEvent]]] = MappingProxyType(
    {
        event_type.NAME.value: event_type
        for event_type in (
            HandoffQueued,
            HandoffClaimed,
            HandoffTransferred,
            HandoffResolved,
            HandoffHandedBack,
            HandoffAbandoned,
            HandoffExpired,
            HandoffKeptWaiting,
            HandoffNoteAdded,
            HandoffRated,
            HandoffCallbackLeft,
            HandoffCallbackDone,
            ConversationResumed,
            CustomerMessage,
            AgentMessage,
            CustomerTyping,
            SessionEnded,
            ApplicationOpened,
            ApplicationEventRecorded,
        )
    }
)


def encode(event: DeskEvent) -> str:
    """The event as JSON text: `{"name": ..., "payload": {...}}`."""
    return json.dumps({"name": event.NAME.value, "payload": event.payload()})


def decode(text: str) -> DeskEvent:
    """The event `encode` wrote.

    Raises:
        ValueError: Not an encoded event, or of an unknown name.
        TypeError: The payload does not fit the event.
    """
    document = json.loads(text)
    event_type = EVENT_TYPES.get(str(document.get("name"))) if isinstance(document, dict) else None
    if event_type is None:
        raise ValueError(f"not a desk event: {text[:80]}")
    return event_type(**document["payload"])
