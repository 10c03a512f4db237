"""The agent-facing summary paragraph."""

from __future__ import annotations

from collections.abc import Callable

from actions.handoff.summary import MAX_SUMMARY_CHARS, summarize
from actions.journeys import JOURNEYS
from contract.handoff_context import (
    Attempt,
    AttemptKind,
    Evidence,
    HandoffContext,
    TroubleshootingEvidence,
)
from tests.support.handoff_examples import utc

MakeContext = Callable[..., HandoffContext]


def test_order_summary(order_delayed_context: HandoffContext) -> None:
    summary = summarize(order_delayed_context, JOURNEYS)

    assert summary == (
        "Jane Smith asked about an order. Handed over: order delayed (business rule), routed to"
        " order_support at normal priority. Order ORD-204117 is delayed, carrier DHL, estimated"
        " delivery 2025-03-12, last scan delayed on 2025-03-11. Customer sentiment: negative"
        " (-0.08)."
    )
    assert order_delayed_context.summary == summary


def test_no_personal_data_beyond_the_name(order_delayed_context: HandoffContext) -> None:
    summary = summarize(order_delayed_context, JOURNEYS)

    assert "jane.smith@example.com" not in summary
    assert "Leipzig" not in summary  # tracking locations
    assert "birthday" not in summary  # what the customer typed


def test_troubleshooting_summary(make_context: MakeContext) -> None:
    summary = summarize(make_context("cycle_limit"), JOURNEYS)

    assert summary.startswith("The customer was troubleshooting a device error.")
    assert "Troubleshooting error E42 (No internet connection): 2 of 2 cycles completed" in summary
    assert "last step check_wall_cable: Check the cable into the wall socket. (unresolved)" in (
        summary
    )
    assert "useless" not in summary  # the customer's answers stay out


def test_mortgage_summary(make_context: MakeContext) -> None:
    summary = summarize(make_context("needs_advice"), JOURNEYS)

    assert "Jane Smith was applying for a mortgage." in summary
    assert "Mortgage application MA-7Q2K9 is advice requested, loan-to-value 80.0%." in summary
    assert "72000" not in summary and "72,000" not in summary  # income stays out


def test_draft_application_summary(make_context: MakeContext) -> None:
    summary = summarize(make_context("customer_request"), JOURNEYS)

    assert "Mortgage application not yet submitted (draft), loan-to-value 80.0%." in summary


def test_failed_order_lookups_are_counted(make_context: MakeContext) -> None:
    lookups = [
        Attempt(
            kind=AttemptKind.ORDER_LOOKUP,
            label=f"ORD-99999{n}",
            description="Looked up an order",
            outcome="not_found",
            asked_at=utc(n),
        )
        for n in range(2)
    ]
    context = make_context("nlu_fallback").copy(update={"attempts": lookups})

    assert "2 of 2 order lookups failed." in summarize(context, JOURNEYS)


def test_without_a_name_or_sentiment(make_context: MakeContext) -> None:
    context = make_context("nlu_fallback")
    neutral = context.sentiment.copy(update={"turns_scored": 0})

    summary = summarize(context.copy(update={"sentiment": neutral}), JOURNEYS)

    assert summary.startswith("The customer was talking to the bot.")
    assert "sentiment" not in summary


def test_never_longer_than_the_limit(make_context: MakeContext) -> None:
    context = make_context("cycle_limit")
    huge = TroubleshootingEvidence(
        error_code="E" + "9" * 400,
        tree="no_internet",
        tree_title="Very long title " * 100,
        known_code=True,
        cycles_completed=2,
        cycle_limit=2,
    )
    long_step = context.attempts[-1].copy(update={"description": "Do this. " * 500})
    context = context.copy(
        update={"evidence": Evidence(troubleshooting=huge), "attempts": [long_step]}
    )

    summary = summarize(context, JOURNEYS)

    assert len(summary) <= MAX_SUMMARY_CHARS
    assert summary.endswith("…")


def test_is_deterministic(make_context: MakeContext) -> None:
    context = make_context("needs_advice")

    assert summarize(context, JOURNEYS) == summarize(
        context.copy(update={"summary": "ignored"}), JOURNEYS
    )
