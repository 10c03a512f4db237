"""The arithmetic of the definitions in docs/metrics.md: rates, nearest-rank percentiles, CSAT.

Pure functions of plain numbers; `analytics.report` feeds them from the fact tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

from contract.analytics_report import Distribution

#: Below this many items a figure is shown but marked "few".
FEW: Final = 5
#: A rating counts as satisfied from this score up (of 1-5).
SATISFIED: Final = 4


def rate(part: int, whole: int) -> float | None:
    """`part / whole`, or None when there is nothing to divide (never a made-up 0% or 100%)."""
    return part / whole if whole > 0 else None


def nearest_rank(ordered: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile of values sorted ascending: the smallest value with at least
    `percent`% of the values at or below it. None for no values."""
    if not ordered:
        return None
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def distribution(values: Iterable[float], *, excluded: int = 0) -> Distribution:
    """p50, p90 and p95 of `values`; `excluded` counts the items that had no value."""
    ordered = sorted(values)
    return Distribution(
        count=len(ordered),
        p50=nearest_rank(ordered, 50),
        p90=nearest_rank(ordered, 90),
        p95=nearest_rank(ordered, 95),
        few=len(ordered) < FEW,
        excluded=excluded,
    )


def csat(ratings: Sequence[int]) -> tuple[float | None, float | None]:
    """(share of ratings of 4 or 5, mean rating); (None, None) without ratings."""
    if not ratings:
        return None, None
    satisfied = sum(1 for r in ratings if r >= SATISFIED)
    return satisfied / len(ratings), sum(ratings) / len(ratings)


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or None."""
    return sum(values) / len(values) if values else None
