"""Request and response bodies of the desk's HTTP API (pydantic).

Requests are strict: unknown fields are refused and nothing is coerced ("5" is not a rating),
so a client bug shows up as a 422 naming the field instead of silently doing something else.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, Field, StrictBool, ValidationError, conint, constr, validator

from contract.applications import (
    NEXT_STEP_SLOT,
    AdviceOutcome,
    ApplicationEventKind,
    ApplicationRecord,
    NextStep,
)
from contract.documents import DocumentRecord
from desk.services.advice import MAX_CASE_NOTE_CHARS
from desk.services.agents import MAX_PASSWORD_LENGTH, Actor
from desk.services.application_stages import stage_after
from desk.services.errors import Conflict
from desk.services.handoffs import (
    MAX_CALLBACK_CHARS,
    MAX_CSAT_COMMENT_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_NOTE_CHARS,
    MAX_SLOTS,
    ScreenPop,
)
from desk.services.queues import QueueView, WaitingHandoff, team_name
from desk.store.models import Agent, Disposition, Handoff, HandoffEvent, HandoffNote

SLOT_NAME_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"

if TYPE_CHECKING:
    Username = str
    Password = str
    NoteText = str
    MessageText = str
    QueueName = str
    SlotName = str
    Rating = int
    CsatComment = str
    CallbackMessage = str
    CaseNoteText = str
else:
    Username = constr(strict=True, min_length=1, max_length=64)
    Password = constr(strict=True, min_length=1, max_length=MAX_PASSWORD_LENGTH)
    NoteText = constr(strict=True, min_length=1, max_length=MAX_NOTE_CHARS)
    MessageText = constr(strict=True, min_length=1, max_length=MAX_MESSAGE_CHARS)
    QueueName = constr(strict=True, min_length=1, max_length=64)
    SlotName = constr(strict=True, regex=SLOT_NAME_PATTERN)
    Rating = conint(strict=True, ge=1, le=5)
    CsatComment = constr(strict=True, max_length=MAX_CSAT_COMMENT_CHARS)
    CallbackMessage = constr(strict=True, min_length=1, max_length=MAX_CALLBACK_CHARS)
    CaseNoteText = constr(strict=True, max_length=MAX_CASE_NOTE_CHARS)


def error_list(error: ValidationError) -> list[str]:
    """pydantic's errors as "<JSON Pointer>: <message>" lines, like the contract's."""
    lines = []
    for item in error.errors():
        pointer = "".join(f"/{part}" for part in item["loc"] if part != "__root__") or "(root)"
        lines.append(f"{pointer}: {item['msg']}")
    return lines


class _Request(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


def _a_json_object(value: Any) -> Any:
    """Refuse anything but an object where pydantic would turn pairs (`[["a", 1]]`) into one."""
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


# --- Requests ---------------------------------------------------------------------------------


class LoginRequest(_Request):
    """POST /api/login."""

    username: Username
    password: Password


class NoteRequest(_Request):
    """POST /api/handoffs/{id}/notes."""

    text: NoteText


class MessageRequest(_Request):
    """POST /api/handoffs/{id}/messages: what the agent says to the customer."""

    text: MessageText


class TypingRequest(_Request):
    """POST /api/handoffs/{id}/typing: whether the agent is typing."""

    typing: StrictBool


class TransferRequest(_Request):
    """POST /api/handoffs/{id}/transfer."""

    queue: QueueName


class ResolveRequest(_Request):
    """POST /api/handoffs/{id}/resolve: how it ended, and slot values for the bot."""

    disposition: Disposition
    slots: dict[SlotName, Any] = Field(default_factory=dict)

    _slots_are_an_object = validator("slots", pre=True, allow_reuse=True)(_a_json_object)

    @validator("slots")
    def _not_too_many(cls, slots: dict[str, Any]) -> dict[str, Any]:
        if len(slots) > MAX_SLOTS:
            raise ValueError(f"at most {MAX_SLOTS} slots")
        return slots

    @validator("slots")
    def _a_known_next_step(cls, slots: dict[str, Any]) -> dict[str, Any]:
        # The bot acts on the advisor's next step; one it does not know would be ignored.
        step = slots.get(NEXT_STEP_SLOT)
        if step is not None and not (
            isinstance(step, str) and step in {member.value for member in NextStep}
        ):
            allowed = ", ".join(member.value for member in NextStep)
            raise ValueError(f"{NEXT_STEP_SLOT} must be one of: {allowed}")
        return slots


class AdviceRequest(_Request):
    """POST /api/cases/{reference}/advice: the advisor's outcome, and a note."""

    outcome: AdviceOutcome
    note: CaseNoteText | None = None


class CaseNoteRequest(_Request):
    """POST /api/cases/{reference}/notes: an advisor's note on the application's timeline."""

    text: CaseNoteText


class CsatRequest(_Request):
    """POST /api/handoffs/{id}/csat (from the bot)."""

    rating: Rating
    comment: CsatComment | None = None


class CallbackRequest(_Request):
    """POST /api/handoffs/{id}/callback (from the bot)."""

    message: CallbackMessage


# --- Responses --------------------------------------------------------------------------------


class AgentRef(BaseModel):
    """Who did something."""

    id: int
    name: str


class AgentOut(BaseModel):
    """A desk user."""

    id: int
    username: str
    display_name: str
    role: str
    queues: list[str]

    @classmethod
    def of(cls, actor: Actor) -> AgentOut:
        """From the acting user."""
        return cls(
            id=actor.agent_id,
            username=actor.username,
            display_name=actor.display_name,
            role=actor.role,
            queues=sorted(actor.queues),
        )


class HandoffAccepted(BaseModel):
    """Answer to the bot's POST /api/handoffs (201 new, 200 already known)."""

    handoff_id: str
    status: str
    queue: str
    position: int | None


class HandoffStatusOut(BaseModel):
    """Answer to the bot's CSAT and callback POSTs."""

    handoff_id: str
    status: str


class SentimentOut(BaseModel):
    """The customer's mood as the bot read it."""

    label: str | None
    score: float | None


class WaitingOut(BaseModel):
    """One waiting customer in a queue view."""

    handoff_id: str
    queue: str
    reason_code: str
    trigger_type: str
    priority: str
    customer_label: str | None
    sentiment: SentimentOut
    summary: str
    waiting_seconds: float
    position: int
    transfer_count: int

    @classmethod
    def of(cls, waiting: WaitingHandoff) -> WaitingOut:
        """From the service's view."""
        handoff = waiting.handoff
        return cls(
            handoff_id=handoff.handoff_id,
            queue=handoff.queue,
            reason_code=handoff.reason_code,
            trigger_type=handoff.trigger_type,
            priority=handoff.priority,
            customer_label=handoff.customer_label,
            sentiment=SentimentOut(label=waiting.sentiment_label, score=waiting.sentiment_score),
            summary=waiting.summary,
            waiting_seconds=round(waiting.waiting_seconds, 3),
            position=waiting.position,
            transfer_count=handoff.transfer_count,
        )


class QueueOut(BaseModel):
    """A queue with its waiting customers, best first."""

    name: str
    team_name: str
    waiting: list[WaitingOut]


class QueuesOut(BaseModel):
    """GET /api/queues."""

    queues: list[QueueOut]

    @classmethod
    def of(cls, views: list[QueueView]) -> QueuesOut:
        """From the service's views."""
        return cls(
            queues=[
                QueueOut(
                    name=view.name,
                    team_name=view.team_name,
                    waiting=[WaitingOut.of(w) for w in view.waiting],
                )
                for view in views
            ]
        )


class HandoffOut(BaseModel):
    """A handoff's state and lifecycle (without its context)."""

    handoff_id: str
    sender_id: str
    queue: str
    priority: str
    reason_code: str
    trigger_type: str
    flow: str
    customer_label: str | None
    status: str
    agent: AgentRef | None
    position: int | None
    transfer_count: int
    disposition: str | None
    csat_rating: int | None
    csat_comment: str | None
    callback_message: str | None
    requested_at: datetime
    queued_at: datetime
    claimed_at: datetime | None
    first_agent_reply_at: datetime | None
    resolved_at: datetime | None
    handed_back_at: datetime | None
    abandoned_at: datetime | None
    expired_at: datetime | None
    callback_done_at: datetime | None
    callback_done_by: AgentRef | None

    @classmethod
    def of(cls, handoff: Handoff, *, position: int | None = None) -> HandoffOut:
        """From a handoff row, inside its unit of work (its agent is loaded to name them)."""
        agent: Agent | None = handoff.agent
        agent_ref = None if agent is None else AgentRef(id=agent.id, name=agent.display_name)
        done_by: Agent | None = handoff.callback_done_agent
        return cls(
            handoff_id=handoff.handoff_id,
            sender_id=handoff.sender_id,
            queue=handoff.queue,
            priority=handoff.priority,
            reason_code=handoff.reason_code,
            trigger_type=handoff.trigger_type,
            flow=handoff.flow,
            customer_label=handoff.customer_label,
            status=handoff.status,
            agent=agent_ref,
            position=position,
            transfer_count=handoff.transfer_count,
            disposition=handoff.disposition,
            csat_rating=handoff.csat_rating,
            csat_comment=handoff.csat_comment,
            callback_message=handoff.callback_message,
            requested_at=handoff.requested_at,
            queued_at=handoff.queued_at,
            claimed_at=handoff.claimed_at,
            first_agent_reply_at=handoff.first_agent_reply_at,
            resolved_at=handoff.resolved_at,
            handed_back_at=handoff.handed_back_at,
            abandoned_at=handoff.abandoned_at,
            expired_at=handoff.expired_at,
            callback_done_at=handoff.callback_done_at,
            callback_done_by=None
            if done_by is None
            else AgentRef(id=done_by.id, name=done_by.display_name),
        )


class CallbackOut(BaseModel):
    """A callback: the message a customer left instead of waiting, and whether it is done.

    `queue` is the one the handoff expired in; `done_by` is None while it is open (or when
    the agent who marked it done is no longer known).
    """

    handoff_id: str
    queue: str
    team_name: str
    reason_code: str
    customer_label: str | None
    message: str
    queued_at: datetime
    expired_at: datetime | None
    done_at: datetime | None
    done_by: AgentRef | None

    @classmethod
    def of(cls, handoff: Handoff) -> CallbackOut:
        """From an expired handoff with a callback message, inside its unit of work."""
        agent: Agent | None = handoff.callback_done_agent
        return cls(
            handoff_id=handoff.handoff_id,
            queue=handoff.queue,
            team_name=team_name(handoff.queue),
            reason_code=handoff.reason_code,
            customer_label=handoff.customer_label,
            message=handoff.callback_message or "",
            queued_at=handoff.queued_at,
            expired_at=handoff.expired_at,
            done_at=handoff.callback_done_at,
            done_by=None if agent is None else AgentRef(id=agent.id, name=agent.display_name),
        )


class CallbacksOut(BaseModel):
    """GET /api/callbacks: the open callbacks of the agent's queues, oldest first, at most
    `desk.services.callbacks.MAX_LISTED`; `open_count` is how many are open in all."""

    callbacks: list[CallbackOut]
    open_count: int

    @classmethod
    def of(cls, handoffs: list[Handoff], open_count: int) -> CallbacksOut:
        """From the service's list and count."""
        return cls(callbacks=[CallbackOut.of(h) for h in handoffs], open_count=open_count)


class NoteOut(BaseModel):
    """A private agent note."""

    id: int
    agent: AgentRef
    created_at: datetime
    text: str

    @classmethod
    def of(cls, note: HandoffNote, agent_name: str) -> NoteOut:
        """From a note row."""
        return cls(
            id=note.id,
            agent=AgentRef(id=note.agent_id, name=agent_name),
            created_at=note.created_at,
            text=note.text,
        )


class EventOut(BaseModel):
    """One entry of a handoff's history."""

    id: int
    occurred_at: datetime
    kind: str
    actor: AgentRef | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: HandoffEvent, names: dict[int, str]) -> EventOut:
        """From an event row."""
        actor = None
        if event.actor_agent_id is not None:
            actor = AgentRef(id=event.actor_agent_id, name=names.get(event.actor_agent_id, ""))
        return cls(
            id=event.id,
            occurred_at=event.occurred_at,
            kind=event.kind,
            actor=actor,
            detail=event.detail,
        )


class ScreenPopOut(BaseModel):
    """GET /api/handoffs/{id}: the handoff, the bot's context, notes and history."""

    handoff: HandoffOut
    context: dict[str, Any]
    notes: list[NoteOut]
    events: list[EventOut]

    @classmethod
    def of(cls, pop: ScreenPop) -> ScreenPopOut:
        """From the service's screen pop."""
        names = pop.agent_names
        return cls(
            handoff=HandoffOut.of(pop.handoff, position=pop.position),
            context=pop.context,
            notes=[NoteOut.of(note, names.get(note.agent_id, "")) for note in pop.notes],
            events=[EventOut.of(event, names) for event in pop.events],
        )


class ResolvedOut(BaseModel):
    """POST /api/handoffs/{id}/resolve; `hand_back_error` says why the bot did not take over."""

    handoff: HandoffOut
    handed_back: bool
    hand_back_error: str | None = None


class MessageSentOut(BaseModel):
    """POST /api/handoffs/{id}/messages (201): the message reached the conversation."""

    handoff: HandoffOut
    text: str


class TypingOut(BaseModel):
    """POST /api/handoffs/{id}/typing (202); `notified` is False when the page was not told."""

    typing: bool
    notified: bool


class MyHandoffsOut(BaseModel):
    """GET /api/my-handoffs: the handoffs the agent has claimed and not resolved, newest first."""

    handoffs: list[HandoffOut]

    @classmethod
    def of(cls, handoffs: list[Handoff]) -> MyHandoffsOut:
        """From handoff rows, inside their unit of work."""
        return cls(handoffs=[HandoffOut.of(handoff) for handoff in handoffs])


class ButtonOut(BaseModel):
    """A quick reply the bot offered: what it said, and what choosing it sends."""

    title: str
    payload: str


class TurnOut(BaseModel):
    """One turn of a conversation as the customer saw it.

    `role` is customer, bot or agent; `agent_name` names the agent of an agent turn;
    `timestamp` is when Rasa logged it (epoch seconds), null when unknown.
    """

    role: str
    text: str
    timestamp: float | None
    agent_name: str | None = None
    buttons: list[ButtonOut] = Field(default_factory=list)

    @classmethod
    def of(cls, turn: dict[str, Any]) -> TurnOut:
        """From a turn of `desk.services.transcripts`."""
        timestamp = turn.get("timestamp")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
            timestamp = None
        return cls(
            role=str(turn["role"]),
            text=str(turn.get("text") or ""),
            timestamp=timestamp,
            agent_name=turn.get("agent_name"),
            buttons=[ButtonOut(**button) for button in turn.get("buttons") or []],
        )


class ConversationOut(BaseModel):
    """GET /api/handoffs/{id}/conversation: the conversation from Rasa's tracker.

    `since_handoff` is True when `turns` start where the bot handed the conversation over,
    False when the tracker did not show that moment and `turns` are the whole conversation.
    """

    handoff_id: str
    sender_id: str
    status: str
    since_handoff: bool
    turns: list[TurnOut]

    @classmethod
    def of(
        cls, handoff: HandoffOut, turns: list[dict[str, Any]], *, since_handoff: bool
    ) -> ConversationOut:
        """From the handoff and the turns read from its conversation's tracker."""
        return cls(
            handoff_id=handoff.handoff_id,
            sender_id=handoff.sender_id,
            status=handoff.status,
            since_handoff=since_handoff,
            turns=[TurnOut.of(turn) for turn in turns],
        )


class EventAccepted(BaseModel):
    """POST /api/conversation-events (202)."""

    accepted: bool
    handoff_id: str | None


class CaseActionsOut(BaseModel):
    """What a case worker may do with an application at its stage (the stage table's word)."""

    can_record_advice: bool
    can_request_documents: bool
    can_review_documents: bool
    can_book: bool
    can_move_appointment: bool
    can_cancel_appointment: bool
    can_add_note: bool

    @classmethod
    def at(cls, stage: str) -> CaseActionsOut:
        """The actions the stage table allows at `stage`."""
        kind = ApplicationEventKind
        return cls(
            can_record_advice=_allowed(stage, kind.ADVICE_OUTCOME),
            can_request_documents=_allowed(stage, kind.DOCUMENTS_REQUESTED),
            can_review_documents=_allowed(stage, kind.DOCUMENT_ACCEPTED),
            can_book=_allowed(stage, kind.APPOINTMENT_BOOKED),
            can_move_appointment=_allowed(stage, kind.APPOINTMENT_RESCHEDULED),
            can_cancel_appointment=_allowed(stage, kind.APPOINTMENT_CANCELLED),
            can_add_note=_allowed(stage, kind.ADVISOR_NOTE),
        )


def _allowed(stage: str, kind: ApplicationEventKind) -> bool:
    try:
        stage_after(stage, kind)
    except Conflict:
        return False
    return True


class CaseOut(BaseModel):
    """GET /api/cases/{reference}: the application (stage, checklist, appointment, timeline),
    its uploaded documents (oldest first) and what may be done with it now."""

    application: ApplicationRecord
    documents: list[DocumentRecord]
    actions: CaseActionsOut

    class Config:
        # Exact amounts, as the applications API sends them.
        json_encoders = {Decimal: str}


class CaseDocumentOut(BaseModel):
    """A document the designers defined, for the advisor's "request documents" picker."""

    key: str
    title: str


class CaseDocumentsOut(BaseModel):
    """GET /api/case-documents."""

    documents: list[CaseDocumentOut]
