"""The arithmetic: nearest-rank percentiles, rates without a denominator, CSAT."""

from __future__ import annotations

import pytest

from analytics.metrics import csat, distribution, nearest_rank, rate


def test_nearest_rank_takes_a_value_of_the_data() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert nearest_rank(values, 50) == 5.0
    assert nearest_rank(values, 90) == 9.0
    assert nearest_rank(values, 95) == 10.0
    assert nearest_rank([7.0], 95) == 7.0
    assert nearest_rank([], 50) is None


def test_a_distribution_of_few_items_says_so() -> None:
    few = distribution([3.0, 1.0, 2.0], excluded=2)
    assert (few.count, few.p50, few.p95, few.few, few.excluded) == (3, 2.0, 3.0, True, 2)
    assert distribution(float(n) for n in range(20)).few is False


def test_a_rate_of_nothing_is_none_not_zero_or_one() -> None:
    assert rate(0, 0) is None
    assert rate(1, 4) == 0.25


def test_csat_is_the_share_of_fours_and_fives() -> None:
    share, average = csat([5, 4, 3, 1])
    assert share == 0.5
    assert average == pytest.approx(3.25)
    assert csat([]) == (None, None)
