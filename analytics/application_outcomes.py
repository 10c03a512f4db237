"""Mortgage timeline entries that end a document review or a branch appointment, as facts.

The FMEA (docs/metrics.md, "FMEA occurrence") counts documents rejected twice and appointments
missed from them, over the reviews and the appointments that came to an end. Only the
checklist item is kept from an entry's detail: never the rejection's reason (free text the
customer reads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, Final

DOCUMENT_ACCEPTED: Final = "document_accepted"
DOCUMENT_REJECTED: Final = "document_rejected"
SIGNED: Final = "signed"
APPOINTMENT_MISSED: Final = "appointment_missed"
#: The timeline kinds kept (contract.applications.ApplicationEventKind values).
OUTCOME_KINDS: Final = frozenset({DOCUMENT_ACCEPTED, DOCUMENT_REJECTED, SIGNED, APPOINTMENT_MISSED})
_ITEM_MAX: Final = 64


def outcome_rows(
    entries: Iterable[Any], local_day: Callable[[datetime], date]
) -> list[dict[str, Any]]:
    """The `application_outcomes` rows of timeline entries (rows of `application_events`)."""
    rows = []
    for entry in entries:
        if entry.kind not in OUTCOME_KINDS:
            continue
        detail = entry.detail if isinstance(entry.detail, dict) else {}
        item = detail.get("item")
        rows.append(
            {
                "event_id": entry.id,
                "application_id": entry.application_id,
                "kind": entry.kind,
                "item": str(item)[:_ITEM_MAX] if item is not None else None,
                "occurred_at": entry.occurred_at,
                "day": local_day(entry.occurred_at),
            }
        )
    return rows
