"""Durations per group (a stage, the stage reached next) for the planning views.

The journey map and the blueprint need the nearest-rank p50/p90/p95 of a duration for each
stage of a journey over hundreds of thousands of `stage_facts` rows. Ranking in the database
(window functions) costs SQLite more than fetching the values, and building one SQLAlchemy
`Row` per value costs three times the fetch itself: the (key, seconds) pairs are read straight
from the driver's cursor (`analytics.rows`) and ranked by `analytics.metrics.distribution`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from analytics.metrics import distribution
from analytics.rows import plain_rows
from contract.analytics_report import Distribution


def grouped_distributions(
    session: Session,
    key: ColumnElement[Any],
    value: ColumnElement[Any],
    where: Sequence[ColumnElement[bool]],
) -> dict[Any, Distribution]:
    """For each `key` among the rows `where` selects, the distribution of its non-null
    `value`s (groups without one are absent)."""
    pairs = plain_rows(session, select(key, value).where(*where, value.is_not(None)))
    values: dict[Any, list[float]] = defaultdict(list)
    for group, seconds in pairs:
        values[group].append(seconds)
    return {group: distribution(found) for group, found in values.items()}
