"""Summaries of timing samples: median, 95th percentile, extremes."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    """A set of timings, in the unit they were given in (milliseconds for turns)."""

    count: int
    p50: float
    p95: float
    mean: float
    min: float
    max: float

    def to_json(self) -> dict[str, Any]:
        """The summary with values rounded for the results file."""
        return {key: round(value, 3) for key, value in asdict(self).items()}


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def summarise(samples: Sequence[float]) -> Summary:
    """Median, 95th percentile, mean and extremes of the samples."""
    return Summary(
        count=len(samples),
        p50=statistics.median(samples),
        p95=percentile(samples, 0.95),
        mean=statistics.fmean(samples),
        min=min(samples),
        max=max(samples),
    )


def least_squares_slope(points: Sequence[tuple[float, float]]) -> float:
    """The slope of the straight line fitted to (x, y) points by least squares.

    Raises:
        ValueError: fewer than two distinct x values.
    """
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        raise ValueError("a slope needs points at two or more distinct x values")
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(y for _, y in points)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x in xs)
    return covariance / variance
