"""Handoff facts from the desk's rows (docs/metrics.md, "Handoff latency", "Agent handle time",
"Outcomes of a wait").

`handoff_fact` turns one handoff, its history and its agents' names into a `handoff_facts` row
and its agents' `handle_parts`. The wait runs from the first queueing to the FIRST claim: the
desk clears `claimed_at` at a transfer, so the first claim is read from the history, and a
transfer never restarts the clock. The system part runs from the customer message that
triggered the handoff (the last customer turn of the context's transcript) to queued.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from analytics.tracker import Unparseable

#: Handoff history kinds the facts read (desk.store.models.EventKind values).
QUEUED: Final = "queued"
CLAIMED: Final = "claimed"
TRANSFERRED: Final = "transferred"
RESOLVED: Final = "resolved"
DUPLICATE_SUPPRESSED: Final = "duplicate_suppressed"
HAND_BACK_REFUSED: Final = "hand_back_refused"
#: The transcript speaker of a customer turn (contract.handoff_context.Speaker).
CUSTOMER: Final = "customer"


@dataclass(frozen=True)
class HistoryEntry:
    """One row of a handoff's history."""

    kind: str
    at: datetime
    agent_id: int | None
    detail: Mapping[str, Any]


def triggered_at(context_json: str | None) -> datetime | None:
    """When the customer sent the message that triggered the handoff: the last customer turn of
    the context's transcript; None when there is none.

    Raises:
        Unparseable: The context is not a JSON object, or that turn's time is not a time.
    """
    try:
        context = json.loads(context_json or "")
    except (ValueError, RecursionError):
        raise Unparseable("handoff context is not JSON") from None
    if not isinstance(context, dict):
        raise Unparseable("handoff context is not a JSON object")
    transcript = context.get("transcript")
    turns = transcript if isinstance(transcript, list) else []
    for turn in reversed(turns):
        if isinstance(turn, dict) and turn.get("speaker") == CUSTOMER:
            stamp = turn.get("timestamp")
            try:
                moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
            except ValueError:
                raise Unparseable("a transcript turn's timestamp is not a time") from None
            if moment.tzinfo is None:
                raise Unparseable("a transcript turn's timestamp has no zone")
            return moment
    return None


def handoff_fact(
    handoff: Mapping[str, Any],
    history: Sequence[HistoryEntry],
    agent_names: Mapping[int, str],
    local_day: Callable[[datetime], date],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `handoff_facts` row of one handoff and its `handle_parts` rows.

    Args:
        handoff: The desk's `handoffs` row (its columns).
        history: Its `handoff_events`, oldest first.
        agent_names: Display names of the agents in the history.
        local_day: The reporting day of a moment.

    Raises:
        Unparseable: The handoff's context cannot be read.
    """
    queued_at: datetime = handoff["queued_at"]
    first_claim = next((e for e in history if e.kind == CLAIMED), None)
    transfers = [e for e in history if e.kind == TRANSFERRED]
    trigger = triggered_at(handoff["context"])
    reply: datetime | None = handoff["first_agent_reply_at"]
    first_queue = str(transfers[0].detail.get("from") or handoff["queue"]) if transfers else None
    fact = {
        "handoff_id": handoff["handoff_id"],
        "sender_id": handoff["sender_id"],
        "day": local_day(queued_at),
        "journey": handoff["flow"],
        "first_queue": first_queue or handoff["queue"],
        "queue": handoff["queue"],
        "reason_code": handoff["reason_code"],
        "trigger_type": handoff["trigger_type"],
        "status": handoff["status"],
        "triggered_at": trigger,
        "queued_at": queued_at,
        "first_claimed_at": first_claim.at if first_claim else None,
        "first_agent_reply_at": handoff["first_agent_reply_at"],
        "resolved_at": handoff["resolved_at"],
        "handed_back_at": handoff["handed_back_at"],
        "abandoned_at": handoff["abandoned_at"],
        "expired_at": handoff["expired_at"],
        "callback_left": bool(handoff["callback_message"]),
        "callback_done_at": handoff["callback_done_at"],
        "transfers": max(int(handoff["transfer_count"] or 0), len(transfers)),
        "system_ms": (queued_at - trigger).total_seconds() * 1000 if trigger else None,
        "wait_s": (first_claim.at - queued_at).total_seconds() if first_claim else None,
        "first_reply_s": _seconds(queued_at, reply),
        "claim_to_reply_s": _seconds(first_claim.at if first_claim else None, reply),
        "csat_rating": handoff["csat_rating"],
        "channel": None,
        "turns_before_handoff": None,
        **fmea_columns(handoff, history),
    }
    return fact, handle_parts(handoff, history, agent_names, local_day)


def fmea_columns(handoff: Mapping[str, Any], history: Sequence[HistoryEntry]) -> dict[str, Any]:
    """What the FMEA counts of one handoff (docs/metrics.md, "FMEA occurrence"): duplicates
    intake suppressed in its favour, hand-backs Rasa refused, agents of its queue online at
    intake (None when the `queued` entry does not say), and seconds from the bot building the
    context to queued (None without `requested_at`)."""
    queued = next((e for e in history if e.kind == QUEUED), None)
    online = queued.detail.get("agents_online") if queued else None
    requested: datetime | None = handoff.get("requested_at")
    return {
        "duplicates_suppressed": sum(1 for e in history if e.kind == DUPLICATE_SUPPRESSED),
        "hand_back_refusals": sum(1 for e in history if e.kind == HAND_BACK_REFUSED),
        "agents_online_at_queue": online if type(online) is int else None,
        "delivery_s": _seconds(requested, handoff["queued_at"]),
    }


def handle_parts(
    handoff: Mapping[str, Any],
    history: Sequence[HistoryEntry],
    agent_names: Mapping[int, str],
    local_day: Callable[[datetime], date],
) -> list[dict[str, Any]]:
    """Each agent's part: from their claim to the transfer or resolve that ended it."""
    parts: list[dict[str, Any]] = []
    queue = _first_queue(handoff, history)
    open_claim: HistoryEntry | None = None
    for entry in history:
        if entry.kind == CLAIMED:
            open_claim = entry
        elif entry.kind in (TRANSFERRED, RESOLVED) and open_claim is not None:
            agent_id = open_claim.agent_id
            parts.append(
                {
                    "handoff_id": handoff["handoff_id"],
                    "seq": len(parts),
                    "agent": agent_names.get(agent_id, "unknown") if agent_id else "unknown",
                    "queue": queue,
                    "claimed_at": open_claim.at,
                    "ended_at": entry.at,
                    "ended_by": entry.kind,
                    "seconds": max((entry.at - open_claim.at).total_seconds(), 0.0),
                    "day": local_day(entry.at),
                }
            )
            open_claim = None
        if entry.kind == TRANSFERRED:
            queue = str(entry.detail.get("to") or queue)
    return parts


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None


def _first_queue(handoff: Mapping[str, Any], history: Sequence[HistoryEntry]) -> str:
    first_transfer = next((e for e in history if e.kind == TRANSFERRED), None)
    if first_transfer is not None and first_transfer.detail.get("from"):
        return str(first_transfer.detail["from"])
    return str(handoff["queue"])
