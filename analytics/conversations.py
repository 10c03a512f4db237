"""The fold of tracker events into conversation facts (docs/metrics.md, "Engaged
conversations", "Bot resolution", "Where the bot fails").

`Conversation` mirrors a `conversation_facts` row, with `state`, the fold's memory between
builds (the active form, the question it asked last, the troubleshooting answers seen).
`ConversationFold.feed` takes one event of a sender and that sender's open conversation and
returns the conversation open after it: a new session starts a new conversation. Pure: no
database; the build loads and stores what it folds.

Besides the conversation's own facts the fold keeps, in `state`:
- the journey stages it reached (`content/journey_stages.yml`, `analytics.stages`), each with
  the VADER sentiment of the customer turns while it was the latest (`stage_rows`);
- after each handoff, the repeat detector's watch (`analytics.repeats.RepeatWatch`) over the
  context's values, as digests, and what it counted per field (`field_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from typing import Any, Final
from zoneinfo import ZoneInfo

from analytics.repeats import ASKED, RESTATED, SLOT_FIELDS, RepeatWatch, slot_values, value_key
from analytics.stages import CONVERSATION, Mark, StageCatalog, slot_value_text, stage_catalog
from analytics.tracker import (
    ACTION,
    ACTION_SESSION_START,
    ACTIVE_LOOP,
    BOT,
    RESTART,
    RESUME,
    SESSION_STARTED,
    SLOT,
    USER,
    TrackerEvent,
)
from contract.conversation_marks import (
    ACTION_HANDOFF,
    FORM_BOT_CSAT,
    INTENT_NLU_FALLBACK,
    INTENT_REQUEST_HUMAN,
    JOURNEY_FORMS,
    NO_JOURNEY,
    SLOT_BOT_CSAT_RATING,
    SLOT_HANDOFF_ID,
    SLOT_REQUESTED,
    SLOT_TROUBLESHOOTING_ATTEMPTS,
    SLOT_TROUBLESHOOTING_TREE,
    STEP_RESOLVED,
    journey_of_intent,
    journey_of_step,
)
from sentimentsupport import compound


class FailureKind:
    """The kinds of failure point (`failure_points.kind`)."""

    FALLBACK: Final = "fallback"
    STEP: Final = "step"
    REASK: Final = "reask"


@dataclass
class Conversation:
    """One conversation as the fold knows it (the columns of `conversation_facts`)."""

    sender_id: str
    started_at: datetime
    last_event_at: datetime
    last_event_id: int
    id: int | None = None
    first_message_at: datetime | None = None
    day: date | None = None
    channel: str | None = None
    journey: str = NO_JOURNEY
    engaged: bool = False
    engaged_at: datetime | None = None
    customer_messages: int = 0
    handed_off: bool = False
    handoff_id: str | None = None
    turns_before_handoff: int | None = None
    bot_csat_asked: bool = False
    bot_csat_rating: int | None = None
    fallbacks: int = 0
    returned_at: datetime | None = None
    returned_ts: float | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The `conversation_facts` row."""
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["last_event_ts"] = self.last_event_at.timestamp()
        return row

    @classmethod
    def of_row(cls, row: Any) -> Conversation:
        """From a `conversation_facts` row (a mapping of its columns)."""
        values = {f.name: row[f.name] for f in fields(cls)}
        values["state"] = dict(values["state"] or {})
        return cls(**values)

    @property
    def durable_key(self) -> tuple[str, str] | None:
        """(sender, journey) once the conversation is engaged in a journey, else None."""
        if self.engaged and self.journey != NO_JOURNEY:
            return (self.sender_id, self.journey)
        return None


@dataclass(frozen=True)
class Failure:
    """A failure point seen in `conversation` (its id is known once it is stored)."""

    event_id: int
    kind: str
    seq: int
    conversation: Conversation
    day: date
    subject: str
    helped: bool | None = None


class ConversationFold:
    """Folds events into conversations; collects the failure points it sees."""

    def __init__(self, zone: ZoneInfo, catalog: StageCatalog | None = None) -> None:
        """Days are cut in `zone`; stages are `catalog`'s (default: the designers' file)."""
        self.zone = zone
        self.catalog = catalog or stage_catalog()
        self.failures: list[Failure] = []
        #: Conversations whose stages, or whose handoffs' fields, changed (by identity).
        self.staged: dict[int, Conversation] = {}
        self.watched: dict[int, Conversation] = {}

    def local_day(self, at: datetime) -> date:
        """The calendar day of `at` in the reporting zone."""
        return at.astimezone(self.zone).date()

    def feed(self, open_conversation: Conversation | None, event: TrackerEvent) -> Conversation:
        """Fold `event` into the sender's open conversation (or a new one); return the one
        open after it."""
        conversation = open_conversation
        if conversation is None or self._starts_session(conversation, event):
            conversation = Conversation(
                sender_id=event.sender_id,
                started_at=event.at,
                last_event_at=event.at,
                last_event_id=event.id,
            )
        conversation.last_event_at = max(conversation.last_event_at, event.at)
        conversation.last_event_id = event.id
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(self, conversation, event)
        self._stage(conversation, event)
        self._watch(conversation, event)
        return conversation

    @staticmethod
    def _starts_session(conversation: Conversation, event: TrackerEvent) -> bool:
        boundary = event.kind in (SESSION_STARTED, RESTART) or (
            event.kind == ACTION and event.name == ACTION_SESSION_START
        )
        # Rasa writes action_session_start then session_started: one boundary, not two; and a
        # conversation with nothing in it yet is not ended by one.
        return boundary and bool(conversation.state.get("content"))

    # --- event kinds -----------------------------------------------------------------------

    def _user(self, conversation: Conversation, event: TrackerEvent) -> None:
        state = conversation.state
        state["content"] = True
        conversation.customer_messages += 1
        if conversation.first_message_at is None:
            conversation.first_message_at = event.at
            conversation.day = self.local_day(event.at)
        conversation.channel = event.channel or conversation.channel
        intent = event.name
        loop_journey = journey_of_step(state.get("loop")) if state.get("loop") else None
        journey = journey_of_intent(intent) or loop_journey
        engaging = journey is not None or intent == INTENT_REQUEST_HUMAN
        if intent == INTENT_NLU_FALLBACK:
            conversation.fallbacks += 1
            self._fail(
                conversation, event, FailureKind.FALLBACK, event.below_threshold or "unknown"
            )
        if engaging:
            state["engaged_turns"] = state.get("engaged_turns", 0) + 1
            self._engage(conversation, event.at)
        if journey is not None and conversation.journey == NO_JOURNEY:
            conversation.journey = journey
        state["last_user_engaging"] = engaging
        state["turn"] = conversation.customer_messages

    def _action(self, conversation: Conversation, event: TrackerEvent) -> None:
        journey = journey_of_step(event.name)
        if journey is not None and conversation.journey == NO_JOURNEY:
            conversation.journey = journey
        if event.name == ACTION_HANDOFF:
            self._hand_off(conversation, event.at)

    def _slot(self, conversation: Conversation, event: TrackerEvent) -> None:
        state = conversation.state
        name, value = event.name, event.value
        if name is not None and name in SLOT_FIELDS:
            # What a handoff's context would carry (slots carried into a new session too).
            known = state.setdefault("known", {})
            keys = sorted(value_key(v) for v in slot_values(name, value))
            if keys:
                known[name] = keys
            else:
                known.pop(name, None)
        if conversation.customer_messages == 0:
            # Before the customer's first message: Rasa carrying the slots over into a new
            # session, or the desk acting on the last one. Nothing happened in this
            # conversation; only the troubleshooting answers already counted are remembered.
            if name == SLOT_TROUBLESHOOTING_TREE:
                state["tree"] = value if isinstance(value, str) else None
            elif name == SLOT_TROUBLESHOOTING_ATTEMPTS:
                state["steps_seen"] = len(value) if isinstance(value, list) else 0
            return
        if name == SLOT_HANDOFF_ID and isinstance(value, str) and value:
            if conversation.handoff_id is None:
                conversation.handoff_id = value[:36]
            self._hand_off(conversation, event.at)
            self._start_watch(conversation, value[:36])
        elif name == SLOT_BOT_CSAT_RATING:
            rating = _rating(value)
            if rating is not None:
                conversation.bot_csat_rating = rating
        elif name == SLOT_REQUESTED:
            self._requested(conversation, event)
        elif name == SLOT_TROUBLESHOOTING_TREE:
            state["tree"] = value if isinstance(value, str) else None
        elif name == SLOT_TROUBLESHOOTING_ATTEMPTS:
            self._steps(conversation, event)

    def _active_loop(self, conversation: Conversation, event: TrackerEvent) -> None:
        state = conversation.state
        state["loop"] = event.name
        state.pop("asked", None)
        if event.name == FORM_BOT_CSAT:
            conversation.bot_csat_asked = True
        journey = journey_of_step(event.name)
        if journey is not None and conversation.journey == NO_JOURNEY:
            conversation.journey = journey

    def _restart(self, conversation: Conversation, event: TrackerEvent) -> None:
        conversation.state.pop("loop", None)
        conversation.state.pop("asked", None)

    # --- journey stages and repeats -------------------------------------------------------

    def _stage(self, conversation: Conversation, event: TrackerEvent) -> None:
        """Record the stage `event` reaches (the first time), and score a customer turn into
        the latest stage."""
        journey = self.catalog.of(conversation.journey)
        if journey is None or journey.unit != CONVERSATION:
            return
        stages = conversation.state.setdefault("stages", [])
        stage = journey.stage(_marks(event))
        if stage is not None and all(reached[0] != stage for reached in stages):
            stages.append([stage, event.at.timestamp(), 0.0, 0])
            self.staged[id(conversation)] = conversation
        if event.kind == USER and event.text and stages:
            score = compound(event.text)
            if score is not None:
                stages[-1][2] += score
                stages[-1][3] += 1
                self.staged[id(conversation)] = conversation

    def _start_watch(self, conversation: Conversation, handoff_id: str) -> None:
        """A handoff was queued: watch what follows for values its context carried."""
        state = conversation.state
        watches = state.setdefault("watches", {})
        if handoff_id in watches:
            return
        known: dict[str, list[str]] = {}
        for slot, keys in state.get("known", {}).items():
            known.setdefault(SLOT_FIELDS[slot], [])
            known[SLOT_FIELDS[slot]] = sorted(set(known[SLOT_FIELDS[slot]]) | set(keys))
        watches[handoff_id] = {"known": known, "awaiting": [], "fields": {}}
        state["watching"] = handoff_id
        self.watched[id(conversation)] = conversation

    def _watch(self, conversation: Conversation, event: TrackerEvent) -> None:
        """Count repeats while a handoff is watched: until the bot takes the conversation back."""
        state = conversation.state
        handoff_id = state.get("watching")
        if handoff_id is None:
            return
        if event.kind == RESUME:
            state["watching"] = None
            return
        if not event.text or event.kind not in (USER, BOT):
            return
        body = state["watches"][handoff_id]
        watch = RepeatWatch(body)
        fields = body["fields"]
        if event.kind == USER:
            counted = [(name, RESTATED) for name in watch.customer(event.text)]
            missing: list[str] = []
        else:
            carried, missing = watch.agent(event.text)
            counted = [(name, ASKED) for name in carried]
        for name, kind in counted:
            entry = fields.setdefault(name, _no_repeat())
            entry[kind] += 1
            if entry["first_at"] is None:
                entry.update(first_at=event.at.timestamp(), first_kind=kind, first_event=event.id)
        for name in missing:
            fields.setdefault(name, _no_repeat())["missing"] += 1
        if counted or missing:
            self.watched[id(conversation)] = conversation

    # --- helpers -----------------------------------------------------------------------------

    def _engage(self, conversation: Conversation, at: datetime) -> None:
        if not conversation.engaged:
            conversation.engaged = True
            conversation.engaged_at = at
            if conversation.day is None:
                conversation.day = self.local_day(at)

    def _hand_off(self, conversation: Conversation, at: datetime) -> None:
        """A handoff was requested: the conversation is handed off (and so engaged: the bot
        acted on a request), never also contained."""
        state = conversation.state
        if conversation.turns_before_handoff is None:
            turns = state.get("engaged_turns", 0)
            # The message that triggered the handoff is not a turn the bot worked "before" it.
            if state.get("last_user_engaging"):
                turns -= 1
            conversation.turns_before_handoff = max(turns, 0)
        conversation.handed_off = True
        self._engage(conversation, at)

    def _requested(self, conversation: Conversation, event: TrackerEvent) -> None:
        """A journey form asking the same question again after the customer answered is a
        re-ask (the answer was refused)."""
        state = conversation.state
        loop = state.get("loop")
        if loop not in JOURNEY_FORMS or not isinstance(event.value, str):
            return
        turn = state.get("turn", 0)
        asked = state.get("asked")
        if asked and asked[0] == event.value and asked[1] < turn:
            self._fail(conversation, event, FailureKind.REASK, f"{loop}/{event.value}")
        state["asked"] = [event.value, turn]

    def _steps(self, conversation: Conversation, event: TrackerEvent) -> None:
        """Each attempt appended to the troubleshooting list is one step answered."""
        state = conversation.state
        attempts = event.value if isinstance(event.value, list) else []
        seen = state.get("steps_seen", 0)
        if len(attempts) < seen:
            seen = 0  # a new run started over
        tree = state.get("tree") or "unknown"
        for index, attempt in enumerate(attempts[seen:], start=seen):
            if not isinstance(attempt, dict):
                continue
            label = attempt.get("label")
            step = label if isinstance(label, str) and label else f"step {index + 1}"
            helped = attempt.get("outcome") == STEP_RESOLVED
            self._fail(conversation, event, FailureKind.STEP, f"{tree}/{step}", helped=helped)
        if len(attempts) > seen:
            # The answer was taken: the form's next `step_answer` asks about the next step,
            # a new question, not the same one again.
            state.pop("asked", None)
        state["steps_seen"] = len(attempts)

    def _fail(
        self,
        conversation: Conversation,
        event: TrackerEvent,
        kind: str,
        subject: str,
        *,
        helped: bool | None = None,
    ) -> None:
        seq = sum(1 for f in self.failures[-50:] if f.event_id == event.id and f.kind == kind)
        self.failures.append(
            Failure(
                event_id=event.id,
                kind=kind,
                seq=seq,
                conversation=conversation,
                day=self.local_day(event.at),
                subject=subject[:200],
                helped=helped,
            )
        )


def _no_repeat() -> dict[str, Any]:
    return {
        RESTATED: 0,
        ASKED: 0,
        "missing": 0,
        "first_at": None,
        "first_kind": None,
        "first_event": None,
    }


def _marks(event: TrackerEvent) -> list[Mark]:
    """What a stage's `when` may name of this event (analytics.stages), most precise first."""
    name = event.name
    if event.kind == USER:
        return [("intent", name)] if name else []
    if event.kind == ACTION:
        return [("action", name)] if name else []
    if event.kind == ACTIVE_LOOP:
        return [("form", name)] if name else []
    if event.kind == SLOT and name and event.value is not None:
        text = slot_value_text(event.value)
        return ([("slot", name, text)] if text is not None else []) + [("slot", name)]
    if event.kind == BOT:
        if event.notice:
            return [("notice", event.notice)]
        return [("agent_message",)] if event.agent_wrote else []
    if event.kind == RESUME:
        return [("resumed",)]
    return []


def stage_rows(conversation: Conversation, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The `stage_facts` rows of a stored conversation (its id is known)."""
    stages = conversation.state.get("stages") or []
    if not stages or conversation.id is None:
        return []
    first = datetime.fromtimestamp(stages[0][1], zone)
    day = conversation.day or first.date()
    rows = []
    for position, (stage, ts, sentiment_sum, turns) in enumerate(stages):
        following = stages[position + 1] if position + 1 < len(stages) else None
        rows.append(
            {
                "unit": f"c{conversation.id}",
                "stage": stage,
                "journey": conversation.journey,
                "position": position,
                "reached_at": datetime.fromtimestamp(ts, timezone.utc),
                "day": day,
                "next_stage": following[0] if following else None,
                "seconds_to_next": following[1] - ts if following else None,
                "sentiment_sum": sentiment_sum,
                "sentiment_turns": turns,
                "conversation_id": conversation.id,
                "application_id": None,
            }
        )
    return rows


def field_rows(conversation: Conversation) -> list[dict[str, Any]]:
    """The `handoff_fields` rows of a stored conversation's handoffs."""
    rows = []
    for handoff_id, body in (conversation.state.get("watches") or {}).items():
        known = body.get("known", {})
        fields = body.get("fields", {})
        for name in sorted(set(known) | set(fields)):
            entry = fields.get(name) or _no_repeat()
            carried = name in known
            first_at = entry["first_at"]
            rows.append(
                {
                    "handoff_id": handoff_id,
                    "field": name,
                    "conversation_id": conversation.id,
                    "carried": carried,
                    "restated": entry[RESTATED] if carried else 0,
                    "asked": entry[ASKED] if carried else entry["missing"],
                    "first_repeat_at": (
                        datetime.fromtimestamp(first_at, timezone.utc)
                        if carried and first_at is not None
                        else None
                    ),
                    "first_repeat_kind": entry["first_kind"] if carried else None,
                    "first_repeat_event_id": entry["first_event"] if carried else None,
                }
            )
    return rows


def _rating(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() and 1 <= number <= 5 else None


_HANDLERS: Final = {
    USER: ConversationFold._user,
    ACTION: ConversationFold._action,
    SLOT: ConversationFold._slot,
    ACTIVE_LOOP: ConversationFold._active_loop,
    RESTART: ConversationFold._restart,
}
