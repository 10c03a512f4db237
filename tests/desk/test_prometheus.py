"""The desk's Prometheus metrics (`desk.prometheus`) read from a hand-built database, on both
backends, and parsed back from the text exposition as Prometheus reads it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from desk.prometheus import DeskMetrics
from desk.store.database import Database
from tests.desk.floor_world import NOW, build_world

ContextFactory = Callable[..., dict[str, Any]]


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a text exposition: (name, sorted labels) → value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def expected_world_samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """What tests/desk/floor_world.py's database exposes at NOW, besides agents online."""
    expected: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for queue, waiting, oldest in [
        ("order_support", 2, 1000.0),
        ("tech_support_l2", 1, 900.0),  # from its first queue, not its transfer
        ("mortgage_advisors", 0, 0.0),
        ("general_support", 0, 0.0),
        ("vip_lounge", 1, 10.0),
    ]:
        expected[("desk_queue_waiting", (("queue", queue),))] = waiting
        expected[("desk_queue_oldest_wait_seconds", (("queue", queue),))] = oldest
    for outcome, count in [
        ("queued", 10),
        ("claimed", 5),  # the transferred handoff too, waiting again
        ("resolved", 2),
        ("handed_back", 1),
        ("abandoned", 1),
        ("expired", 1),
    ]:
        expected[("desk_handoffs_total", (("outcome", outcome),))] = count
    # Waits: 50, 290, 250 (the transferred one's first claim), 500 and 1700 s.
    wait_buckets = [0, 0, 0, 1, 1, 3, 4, 5, 5, 5]
    # Handle times: 150 and 310 s.
    handle_buckets = [0, 0, 0, 0, 0, 1, 2, 2, 2, 2]
    bounds = ["5.0", "15.0", "30.0", "60.0", "120.0", "300.0", "600.0", "1800.0", "3600.0", "+Inf"]
    for name, buckets, total in [
        ("desk_handoff_wait_seconds", wait_buckets, 2790.0),
        ("desk_handoff_handle_seconds", handle_buckets, 460.0),
    ]:
        for bound, count in zip(bounds, buckets, strict=True):
            expected[(f"{name}_bucket", (("le", bound),))] = count
        expected[(f"{name}_count", ())] = buckets[-1]
        expected[(f"{name}_sum", ())] = total
    return expected


async def test_a_scrape_reads_the_database(
    any_database: Database, context_factory: ContextFactory
) -> None:
    build_world(any_database, context_factory)
    with ThreadPoolExecutor(max_workers=1) as executor:
        metrics = DeskMetrics(any_database, lambda: 2, executor, clock=lambda: NOW)
        exposition = (await metrics.scrape()).decode("utf-8")

    found = samples(exposition)
    expected = expected_world_samples()
    assert found.pop(("desk_agents_online", ())) == 2
    assert found == expected


async def test_an_empty_desk_exposes_zeroes(any_database: Database) -> None:
    with ThreadPoolExecutor(max_workers=1) as executor:
        exposition = (await DeskMetrics(any_database, lambda: 0, executor).scrape()).decode()

    found = samples(exposition)
    assert found[("desk_queue_waiting", (("queue", "order_support"),))] == 0
    assert found[("desk_handoffs_total", (("outcome", "queued"),))] == 0
    assert found[("desk_handoff_wait_seconds_count", ())] == 0
    assert found[("desk_handoff_wait_seconds_sum", ())] == 0
    assert ("desk_queue_waiting", (("queue", "vip_lounge"),)) not in found
