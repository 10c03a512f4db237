"""The journeys the assistant offers, one line each, in the order the handoff reports them.

A new journey is its module (with its `JOURNEY` descriptor), its data and its tests, plus its
line here; the handoff (`actions.handoff`) gets this registry and knows no journey itself.
"""

from __future__ import annotations

from typing import Final

from actions import mortgage, orders, troubleshooting
from actions.handoff.journey import JourneyRegistry

JOURNEYS: Final = JourneyRegistry(
    (
        orders.JOURNEY,
        troubleshooting.JOURNEY,
        mortgage.JOURNEY,
    )
)
