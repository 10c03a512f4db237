"""Percentiles and the least-squares slope the benchmarks report."""

from __future__ import annotations

import pytest

from benchmarks.stats import least_squares_slope, percentile


def test_percentiles_interpolate_between_closest_ranks() -> None:
    samples = [float(value) for value in range(1, 101)]  # 1..100
    assert percentile(samples, 0.5) == pytest.approx(50.5)
    assert percentile(samples, 0.95) == pytest.approx(95.05)
    assert percentile(samples, 0.99) == pytest.approx(99.01)
    assert percentile([3.0, 1.0, 2.0], 1.0) == 3.0
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)


def test_the_slope_of_points_on_a_line_is_the_line_s() -> None:
    assert least_squares_slope([(0, 5.0), (1, 7.0), (2, 9.0), (4, 13.0)]) == pytest.approx(2.0)
    assert least_squares_slope([(0, 1.0), (10, 1.0)]) == 0.0


def test_the_slope_balances_noise_around_the_line() -> None:
    # y = 0.5 x plus noise +1, -1, -1, +1, which has no trend of its own
    points = [(0, 1.0), (2, 0.0), (4, 1.0), (6, 4.0)]
    assert least_squares_slope(points) == pytest.approx(0.5)
    assert least_squares_slope([(0, 0.0), (1, 1.0), (2, 0.0)]) == pytest.approx(0.0)


def test_a_slope_needs_two_distinct_x_values() -> None:
    with pytest.raises(ValueError, match="two or more distinct"):
        least_squares_slope([(1, 1.0), (1, 2.0)])
    with pytest.raises(ValueError, match="two or more distinct"):
        least_squares_slope([])
