"""Where a handoff is in its life at the desk (docs/desk-design.md, "Lifecycle").

The desk stores and changes it (one transition table, `desk.services.lifecycle`); the bot reads
it in the desk's answers (`POST /api/handoffs/{id}/csat`, `/callback`).
"""

from __future__ import annotations

import enum
from typing import Final


class HandoffStatus(str, enum.Enum):
    """Where a handoff is in its life."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"
    ABANDONED = "abandoned"
    EXPIRED = "expired"


#: A handoff in one of these is open: at most one per conversation.
OPEN_STATUSES: Final = frozenset({HandoffStatus.QUEUED, HandoffStatus.CLAIMED})
