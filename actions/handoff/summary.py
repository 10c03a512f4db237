"""A short, deterministic paragraph that tells the agent what happened before the handoff."""

from __future__ import annotations

from collections.abc import Iterator

from contract.handoff_context import (
    ApplicationEvidence,
    Attempt,
    AttemptKind,
    Flow,
    HandoffContext,
    OrderEvidence,
    TroubleshootingEvidence,
)

MAX_SUMMARY_CHARS = 600
# Free-form parts (step descriptions, tree titles) are cut so one long value cannot crowd out
# the rest of the paragraph.
MAX_PART_CHARS = 80
ELLIPSIS = "…"

FLOW_PHRASES = {
    Flow.ORDER_STATUS: "asked about an order",
    Flow.TROUBLESHOOTING: "was troubleshooting a device error",
    Flow.MORTGAGE: "was applying for a mortgage",
    Flow.NONE: "was talking to the bot",
}


def summarize(context: HandoffContext) -> str:
    """Summarise a handoff context for the agent, at most 600 characters.

    Built only from the context's own fields (its `summary` and `pii` are ignored), so the
    same context always gives the same text. The only personal data it may contain is the
    customer's name.
    """
    text = " ".join(_sentences(context))
    if len(text) <= MAX_SUMMARY_CHARS:
        return text
    return text[: MAX_SUMMARY_CHARS - len(ELLIPSIS)].rstrip() + ELLIPSIS


def customer_name(context: HandoffContext) -> str | None:
    """The customer's name as the bot knows it, if at all."""
    order = context.evidence.order
    application = context.evidence.mortgage_application
    candidates = [
        order.customer_name if order else None,
        application.applicant_name if application else None,
    ]
    return next((name.strip() for name in candidates if name and name.strip()), None)


def _sentences(context: HandoffContext) -> Iterator[str]:
    name = customer_name(context)
    who = _clip(name) if name else "The customer"
    yield f"{who} {FLOW_PHRASES[context.flow]}."
    trigger = context.trigger
    yield (
        f"Handed over: {_humanize(trigger.reason_code)}"
        f" ({_humanize(trigger.type.value)}), routed to {context.routing.queue}"
        f" at {context.routing.priority.value} priority."
    )
    evidence = context.evidence
    if evidence.order:
        yield _order_sentence(evidence.order)
    lookups = [a for a in context.attempts if a.kind is AttemptKind.ORDER_LOOKUP]
    if lookups and not evidence.order:
        yield _lookups_sentence(lookups)
    if evidence.troubleshooting:
        steps = [a for a in context.attempts if a.kind is AttemptKind.TROUBLESHOOTING_STEP]
        yield _troubleshooting_sentence(evidence.troubleshooting, steps[-1] if steps else None)
    if evidence.mortgage_application:
        yield _application_sentence(evidence.mortgage_application)
    sentiment = context.sentiment
    if sentiment.turns_scored:
        yield f"Customer sentiment: {sentiment.label.value} ({sentiment.score:+.2f})."


def _order_sentence(order: OrderEvidence) -> str:
    parts = [f"Order {order.order_number} is {_humanize(order.status)}"]
    if order.carrier:
        parts.append(f"carrier {_clip(order.carrier)}")
    if order.estimated_delivery:
        parts.append(f"estimated delivery {order.estimated_delivery.isoformat()}")
    if order.tracking_events:
        latest = max(order.tracking_events, key=lambda event: event.occurred_at)
        parts.append(f"last scan {_humanize(latest.status)} on {latest.occurred_at.date()}")
    return ", ".join(parts) + "."


def _lookups_sentence(lookups: list[Attempt]) -> str:
    failed = [a for a in lookups if a.outcome != "found"]
    return f"{len(failed)} of {len(lookups)} order lookups failed."


def _troubleshooting_sentence(evidence: TroubleshootingEvidence, last_step: Attempt | None) -> str:
    what = f"error {evidence.error_code}"
    if evidence.tree_title:
        what += f" ({_clip(evidence.tree_title)})"
    elif not evidence.known_code:
        what += " (unknown code)"
    text = (
        f"Troubleshooting {what}: {evidence.cycles_completed} of {evidence.cycle_limit}"
        " cycles completed without a fix"
    )
    if last_step:
        text += f"; last step {last_step.label}: {_clip(last_step.description)}"
        text += f" ({_humanize(last_step.outcome)})"
    return text + "."


def _application_sentence(application: ApplicationEvidence) -> str:
    status = _humanize(application.status)
    if application.reference:
        text = f"Mortgage application {application.reference} is {status}"
    else:
        text = f"Mortgage application not yet submitted ({status})"
    if application.loan_to_value is not None:
        text += f", loan-to-value {application.loan_to_value * 100:.1f}%"
    return text + "."


def _humanize(code: str) -> str:
    return code.replace("_", " ")


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_PART_CHARS:
        return text
    return text[: MAX_PART_CHARS - len(ELLIPSIS)].rstrip() + ELLIPSIS
