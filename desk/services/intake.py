"""Receiving a handoff from the bot: schema check, idempotent store, queued event.

The context is stored exactly as received (the raw JSON text), so what the agent sees is
what the bot sent; the columns next to it are copies for querying and ordering.

Two entries of the history feed the handoff FMEA (docs/metrics.md, "FMEA occurrence"): the
`queued` entry says how many agents of the queue were online at intake (`agents_online`), and
a second handoff of a conversation that already has an open one is recorded on the open one
as `duplicate_suppressed`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic.datetime_parse import parse_datetime
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contract.schema import validate_payload
from desk.services.errors import InvalidHandoff
from desk.services.waiting import agents_online_for
from desk.store.models import PRIORITY_RANK, EventKind, Handoff, HandoffStatus
from desk.store.repositories import HandoffRepository
from desk.store.types import utcnow

CUSTOMER_LABEL_MAX: Final = 200
# Slots that may name the customer, most specific first.
_NAME_SLOTS: Final = ("customer_name", "name", "applicant_name", "full_name")


@dataclass(frozen=True)
class Received:
    """The stored handoff, whether this call created it, and its place in its queue."""

    handoff: Handoff
    created: bool
    position: int | None


def receive(
    session: Session,
    payload: Any,
    *,
    raw: str | None = None,
    now: datetime | None = None,
    connected_agents: Collection[int] = (),
) -> Received:
    """Validate and store a handoff context; idempotent on `handoff_id`, and on the
    conversation while it has an open handoff (that one is returned, with `created` False,
    and the suppressed handoff is recorded on it).

    Args:
        session: The unit of work.
        payload: The decoded JSON body.
        raw: The body exactly as received (defaults to `payload` re-encoded).
        now: The clock.
        connected_agents: Agents with a console connected now (with those seen lately, who
            is online for the `queued` entry's `agents_online`).

    Raises:
        InvalidHandoff: The payload does not match the committed schema; `errors` name the
            fields by JSON Pointer.
    """
    errors = validate_payload(payload)
    if errors:
        raise InvalidHandoff(errors)
    now = now or utcnow()
    handoffs = HandoffRepository(session)
    handoff_id = str(payload["handoff_id"]).lower()
    sender_id = str(payload["conversation"]["sender_id"])
    existing = _known(handoffs, handoff_id, sender_id)
    if existing is not None:
        _record_duplicate(handoffs, existing, payload, handoff_id, now)
        return Received(existing, created=False, position=handoffs.position(existing))
    handoff = _new_handoff(handoff_id, payload, raw or json.dumps(payload), now)
    try:
        with session.begin_nested():
            handoffs.add(handoff)
    except IntegrityError:
        # A concurrent delivery committed first: of this handoff, or of another handoff of the
        # same conversation (one open handoff per conversation). Theirs is the handoff.
        session.expunge(handoff)
        winner = _known(handoffs, handoff_id, sender_id)
        if winner is None:
            raise
        _record_duplicate(handoffs, winner, payload, handoff_id, now)
        return Received(winner, created=False, position=handoffs.position(winner))
    online = agents_online_for(session, handoff.queue, connected_agents, now=now)
    handoffs.add_event(
        handoff_id,
        EventKind.QUEUED.value,
        at=now,
        detail={"queue": handoff.queue, "priority": handoff.priority, "agents_online": online},
    )
    return Received(handoff, created=True, position=handoffs.position(handoff))


def _known(handoffs: HandoffRepository, handoff_id: str, sender_id: str) -> Handoff | None:
    """The handoff that answers this delivery: the same one delivered before, or the
    conversation's open handoff (a second trigger never queues the customer twice)."""
    return handoffs.get(handoff_id) or handoffs.open_for_sender(sender_id)


def _record_duplicate(
    handoffs: HandoffRepository,
    kept: Handoff,
    payload: dict[str, Any],
    handoff_id: str,
    now: datetime,
) -> None:
    """Record on the open handoff `kept` that it answered another handoff of its conversation
    (once per suppressed id: the bot's outbox may deliver that one again). The same handoff
    delivered again is not a duplicate."""
    if kept.handoff_id == handoff_id:
        return
    kind = EventKind.DUPLICATE_SUPPRESSED.value
    for event in handoffs.events(kept.handoff_id):
        if event.kind == kind and event.detail.get("handoff_id") == handoff_id:
            return
    detail = {"handoff_id": handoff_id, "reason_code": str(payload["trigger"]["reason_code"])}
    handoffs.add_event(kept.handoff_id, kind, at=now, detail=detail)


def _new_handoff(handoff_id: str, payload: dict[str, Any], raw: str, now: datetime) -> Handoff:
    routing = payload["routing"]
    trigger = payload["trigger"]
    return Handoff(
        handoff_id=handoff_id,
        sender_id=payload["conversation"]["sender_id"],
        queue=routing["queue"],
        priority=routing["priority"],
        priority_rank=PRIORITY_RANK[routing["priority"]],
        reason_code=trigger["reason_code"],
        trigger_type=trigger["type"],
        flow=payload["flow"],
        customer_label=customer_label(payload),
        context=raw,
        status=HandoffStatus.QUEUED.value,
        requested_at=parse_datetime(payload["created_at"]),
        queued_at=now,
        transfer_count=0,
    )


def customer_label(payload: dict[str, Any]) -> str | None:
    """A name to show for the customer, if the bot knew one: a name the customer gave (slots),
    else the context's `customer_name` (v1.1), else (a 1.0 context) the evidence's names."""
    slots = payload.get("slots") or {}
    evidence = payload.get("evidence") or {}
    candidates = [slots.get(name) for name in _NAME_SLOTS]
    candidates.append(payload.get("customer_name"))
    candidates.append((evidence.get("order") or {}).get("customer_name"))
    candidates.append((evidence.get("mortgage_application") or {}).get("applicant_name"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:CUSTOMER_LABEL_MAX]
    return None
