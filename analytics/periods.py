"""Periods and their buckets: local calendar days and ISO weeks (Monday first)."""

from __future__ import annotations

from datetime import date, timedelta

from contract.analytics_report import Grain


def previous(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before [start, end]."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def bucket_of(day: date, grain: Grain) -> date:
    """The first day of the bucket `day` falls in."""
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    return day


def buckets(start: date, end: date, grain: Grain) -> list[date]:
    """Every bucket of [start, end], in order (a week cut by the period is still one bucket)."""
    found: list[date] = []
    day = start
    while day <= end:
        bucket = bucket_of(day, grain)
        if not found or found[-1] != bucket:
            found.append(bucket)
        day += timedelta(days=1)
    return found
