"""Assemble a complete `HandoffContext` from what an action knows about the conversation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from actions.handoff.journey import JourneyRegistry
from actions.handoff.pii import pii_paths
from actions.handoff.routing import HandoffRouter, RoutingDecision, flow_name
from actions.handoff.sentiment import score_customer_sentiment
from actions.handoff.summary import summarize
from actions.handoff.transcript import build_transcript, customer_texts
from contract.handoff_context import (
    SCHEMA_VERSION,
    Attempt,
    Conversation,
    Evidence,
    HandoffContext,
    Speaker,
    Trigger,
    Turn,
)


@dataclass(frozen=True)
class BuiltHandoff:
    """The context for the desk, and the routing decision it was built with.

    The decision also says how the bot names the team to the customer, so routing is decided
    once per handoff.
    """

    context: HandoffContext
    decision: RoutingDecision


def build_handoff(
    *,
    sender_id: str,
    channel: str,
    language: str,
    events: Sequence[Mapping[str, Any]],
    slots: Mapping[str, Any],
    reason_code: str,
    detail: str,
    flow: str,
    attempts: Iterable[Attempt],
    evidence: Evidence,
    router: HandoffRouter,
    journeys: JourneyRegistry,
    handoff_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> BuiltHandoff:
    """Build the context the desk receives.

    Args:
        sender_id: Rasa sender id of the conversation.
        channel: Input channel name (`tracker.get_latest_input_channel()`).
        language: Language tag the customer is served in.
        events: The tracker's events (rasa-sdk `Tracker.events`).
        slots: The tracker's slots; only those that are set (not None) are included.
        reason_code: Why the bot hands off; must be in the routing table.
        detail: One line for the agent explaining the reason.
        flow: The journey the customer was in (`none` for no journey).
        attempts: What the bot tried, oldest first.
        evidence: Records the bot looked up or collected.
        router: Decides queue, priority and trigger type.
        journeys: Name the customer, label the evidence, and say what in it is personal.
        handoff_id: The id (see `turn_handoff_id`); a random UUID4 when not given.
        now: Fixed creation time for tests; the current UTC time otherwise.

    Raises:
        UnknownReasonCodeError: if `reason_code` is not in the routing table.
    """
    transcript = build_transcript(events)
    sentiment = score_customer_sentiment(customer_texts(events))
    decision = router.route(reason_code, flow, sentiment)
    # Summary and pii are computed from the finished context, so build it in two steps.
    draft = HandoffContext(
        schema_version=SCHEMA_VERSION,
        handoff_id=handoff_id or uuid.uuid4(),
        created_at=now or datetime.now(timezone.utc),
        conversation=Conversation(sender_id=sender_id, channel=channel, language=language),
        trigger=Trigger(type=decision.trigger_type, reason_code=reason_code, detail=detail),
        routing=decision.routing,
        flow=flow_name(flow),
        last_intent=_last_intent(transcript),
        customer_name=journeys.customer_name(evidence),
        slots=set_slots(slots),
        transcript=transcript,
        attempts=list(attempts),
        evidence=evidence,
        evidence_view=journeys.evidence_view(evidence),
        sentiment=sentiment,
        summary="",
        pii=[],
    )
    with_summary = draft.copy(update={"summary": summarize(draft, journeys)})
    context = with_summary.copy(update={"pii": pii_paths(with_summary, journeys)})
    return BuiltHandoff(context=context, decision=decision)


#: Namespace of the handoff ids derived from a conversation's turn (a fixed, random UUID).
HANDOFF_ID_NAMESPACE: Final = uuid.UUID("5d1b3f0e-8f6a-4c42-9a57-2f1f7f0c6b1e")


def turn_handoff_id(sender_id: str, events: Sequence[Mapping[str, Any]]) -> uuid.UUID:
    """The handoff id of the conversation's current turn: the same for every call in one turn.

    It is the idempotency key of the delivery. Derived from the conversation and the
    triggering customer message (Rasa's `message_id`, else its timestamp), never drawn afresh,
    so a repeated call for the same turn (a retry after the action server died) cannot become
    a second handoff.
    """
    turn = "start"
    for event in reversed(events):
        if event.get("event") == "user":
            turn = str(event.get("message_id") or repr(event.get("timestamp")))
            break
    return uuid.uuid5(HANDOFF_ID_NAMESPACE, f"{sender_id}\x1f{turn}")


def set_slots(slots: Mapping[str, Any]) -> dict[str, Any]:
    """The slots that have a value, in the tracker's order."""
    return {name: value for name, value in slots.items() if value is not None}


def _last_intent(transcript: Sequence[Turn]) -> str | None:
    for turn in reversed(transcript):
        if turn.speaker is Speaker.CUSTOMER:
            return turn.intent
    return None
