"""The supervisors' numbers end to end: scripted conversations through the real system, then
the analytics built and read over the desk's HTTP API, and every count and rate the scripts
imply checked in the report.

This module runs its own system (`desk_system.py`, its own tracker store, desk and facts
databases), so the report holds exactly the conversations played here. The scripts are the
demo's (`harness.scripted_traffic.SCRIPTS`, what `make demo-traffic` plays); what they imply is
written out below by hand from docs/metrics.md, not computed by the code under test:

- ten conversations, nine engaged (the greeting with a message the bot did not understand is
  not): three contained (an order found, an order found after a malformed number, a
  troubleshooting step that fixed it), six handed off;
- handoffs: an order delayed after the bot asked for the number (hybrid, rated 5), twelve
  unhelpful troubleshooting steps to Level 2 (hybrid, rated 3), a person asked for at once
  (person-only, rated 5), one given up ("never mind"), a mortgage question at once
  (person-only, rated 2), and one moved from customer service to orders before anyone
  claimed it (person-only, resolved, not rated);
- the bot's own rating is answered when the bot asks it (5, skipped, 4), so the bot-only
  segment counts what the customers were asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from analytics.store.database import FactsDatabase
from analytics.store.models import ConversationFact, FailurePoint, HandlePart, HandoffFact
from contract.analytics_report import Distribution, Report
from harness.loopback import sqlite_url
from harness.scripted_traffic import (
    SCRIPTS,
    ConversationRun,
    DeskAgent,
    SystemAddress,
    TrafficDriver,
)
from tests.e2e.desk_system import DeskStack, running_desk_stack
from tests.e2e.environment import MODEL_PATH

pytestmark = pytest.mark.e2e

#: The reporting zone (ANALYTICS_TIMEZONE's default, which the system here runs with).
ZONE = ZoneInfo("Europe/London")
FACT_MODELS = (ConversationFact, HandoffFact, HandlePart, FailurePoint)
ENGAGED = 9
HANDED_OFF = 6


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskStack]:
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    root = tmp_path_factory.mktemp("analytics-numbers")
    # The desk's own timer stays out of the way: the test asks for each build.
    with running_desk_stack(root, ANALYTICS_INTERVAL_SECONDS="3600") as running:
        yield running


@pytest.fixture
async def sam(system: DeskStack) -> AsyncIterator[DeskAgent]:
    """The supervisor, who may build and read the analytics."""
    agent = await DeskAgent(system.desk_url, "sam").start(system.password)
    yield agent
    await agent.close()


async def play(system: DeskStack) -> list[ConversationRun]:
    """The demo's scripts, played against the system."""
    address = SystemAddress(
        rasa_url=system.rasa_url,
        rasa_token=system.env.rasa_auth_token,
        desk_url=system.desk_url,
        desk_password=system.password,
    )
    return await TrafficDriver(address, run="e2e-analytics").play(SCRIPTS)


async def build(sam: DeskAgent) -> dict[str, Any]:
    built: dict[str, Any] = await sam.expect("POST", "/api/analytics/build", 200)
    return built


async def report(sam: DeskAgent) -> Report:
    # Yesterday to tomorrow: a run that crosses local midnight is still all in the period.
    today = datetime.now(ZONE).date()
    period = {"start": str(today - timedelta(days=1)), "end": str(today + timedelta(days=1))}
    body = await sam.expect("GET", "/api/analytics/report", 200, params=period)
    return Report.parse_obj(body)


def fact_rows(system: DeskStack) -> dict[str, int]:
    """Rows in each fact table of the desk's analytics database."""
    facts = FactsDatabase(sqlite_url(system.env.root / "analytics.db"))
    try:
        with facts.session() as session:
            return {
                model.__tablename__: session.execute(
                    select(func.count()).select_from(model)
                ).scalar_one()
                for model in FACT_MODELS
            }
    finally:
        facts.dispose()


def ordered(distribution: Distribution, count: int) -> None:
    """`count` positive durations whose percentiles are in order."""
    assert distribution.count == count
    assert distribution.p50 is not None and distribution.p95 is not None
    assert 0 < distribution.p50 <= distribution.p95


def kpi(found: Report, key: str) -> tuple[float | None, int]:
    (tile,) = [k for k in found.kpis if k.key == key]
    return tile.value, tile.count


async def test_the_report_counts_exactly_what_the_conversations_did(
    system: DeskStack, sam: DeskAgent
) -> None:
    runs = await play(system)
    assert [run.script.name for run in runs] == [script.name for script in SCRIPTS]
    assert sum(1 for run in runs if run.handoff_ids) == HANDED_OFF
    first = await build(sam)
    assert first["conversations"] == len(SCRIPTS)
    assert (first["handoffs"], first["unparseable"]) == (HANDED_OFF, 0)
    found = await report(sam)

    # Engaged conversations, contained or handed off (never both).
    assert kpi(found, "containment") == pytest.approx((3 / ENGAGED, ENGAGED))
    assert kpi(found, "handoff_rate") == pytest.approx((HANDED_OFF / ENGAGED, ENGAGED))
    containment, handoff_rate = kpi(found, "containment")[0], kpi(found, "handoff_rate")[0]
    assert containment is not None and handoff_rate is not None
    assert containment + handoff_rate == pytest.approx(1.0)
    assert sum(point.engaged for point in found.trends) == ENGAGED
    # Durable resolution waits for ANALYTICS_DURABLE_DAYS after each contained conversation.
    assert kpi(found, "durable_containment") == (None, 0)

    # Handoffs by reason code and journey: shares of the engaged, summing to the handoff rate.
    by_reason = {share.key: share.handoffs for share in found.handoffs_by_reason}
    assert by_reason == {
        "customer_request": 3,
        "order_delayed": 1,
        "cycle_limit": 1,
        "needs_advice": 1,
    }
    assert sum(s.rate or 0 for s in found.handoffs_by_reason) == pytest.approx(handoff_rate)
    by_journey = {share.key: share.handoffs for share in found.handoffs_by_journey}
    assert by_journey == {"none": 3, "order_status": 1, "troubleshooting": 1, "mortgage": 1}

    # What became of each wait.
    outcomes = found.wait_outcomes
    assert (outcomes.handoffs, outcomes.claimed, outcomes.abandoned) == (6, 5, 1)
    assert (outcomes.transferred, outcomes.expired, outcomes.waiting) == (1, 0, 0)
    assert outcomes.callbacks_open == 0

    # Latency: real times, so only that there is one per handoff and that they are in order.
    ordered(found.latency.system_ms, HANDED_OFF)
    ordered(found.latency.wait_s, 5)
    assert found.latency.wait_s.excluded == 1  # the one given up was never claimed
    ordered(found.latency.total_s, 5)
    ordered(found.latency.first_reply_s, 5)
    assert sum(bucket.handoffs for bucket in found.wait_distribution) == 5

    # Handle time: each agent's own parts (Gus moved his chat on before claiming it).
    parts = {time.key: time.parts for time in found.handle_time_by_agent}
    assert parts == {
        "Olivia (Orders)": 2,
        "Leo (Tech support)": 1,
        "Gus (Customer service)": 1,
        "Maya (Mortgages)": 1,
    }
    queues = {time.key: time.parts for time in found.handle_time_by_queue}
    assert queues == {
        "order_support": 2,
        "tech_support_l2": 1,
        "general_support": 1,
        "mortgage_advisors": 1,
    }
    for time in found.handle_time_by_agent:
        assert time.p50_s is not None and time.p95_s is not None
        assert 0 < time.p50_s <= time.p95_s

    # CSAT by segment: asked and rated counts, share of 4-5 and mean.
    csat = {segment.segment: segment for segment in found.csat}
    hybrid, person_only, bot_only = csat["hybrid"], csat["person_only"], csat["bot_only"]
    assert (hybrid.asked, hybrid.rated, hybrid.csat, hybrid.mean) == (2, 2, 0.5, 4.0)
    assert (person_only.asked, person_only.rated) == (3, 2)
    assert (person_only.csat, person_only.mean) == (0.5, 3.5)
    assert person_only.response_rate == pytest.approx(2 / 3)
    asked = [run for run in runs if run.bot_rating_asked]
    ratings = [run.bot_rating for run in asked if run.bot_rating is not None]
    assert (bot_only.asked, bot_only.rated) == (len(asked), len(ratings))
    if ratings:  # the bot asks its own rating (a separate feature of the bot)
        assert bot_only.mean == pytest.approx(sum(ratings) / len(ratings))

    # Where the bot failed: the message it did not understand (the input screen refused it,
    # so NLU ranked no intent), the malformed order number asked again, and every
    # troubleshooting answer: step 1 "no" and step 2 "yes", then three passes of four "no".
    assert [(f.intent, f.fallbacks) for f in found.failures.fallback_intents] == [("unknown", 1)]
    reasks = [(r.form, r.slot, r.reasks) for r in found.failures.form_reasks]
    assert reasks == [("order_form", "order_number", 1)]
    steps = {
        (s.tree, s.step): (s.answers, s.not_helped) for s in found.failures.troubleshooting_steps
    }
    assert steps == {
        ("E-1042", "check_dsl_cable"): (4, 4),
        ("E-1042", "remove_extensions"): (4, 3),
        ("E-1042", "restart_hub"): (3, 3),
        ("E-1042", "check_service_status"): (3, 3),
    }

    # A second build finds nothing new, and the report is the same.
    rows = fact_rows(system)
    second = await build(sam)
    assert (second["tracker_events"], second["handoffs"], second["conversations"]) == (0, 0, 0)
    assert fact_rows(system) == rows
    again = await report(sam)
    assert again.freshness.built_at is not None and found.freshness.built_at is not None
    assert again.freshness.built_at >= found.freshness.built_at
    assert again.copy(update={"freshness": found.freshness}) == found
