"""A short, deterministic paragraph that tells the agent what happened before the handoff."""

from __future__ import annotations

from collections.abc import Iterator

from actions.handoff.journey import JourneyRegistry
from contract.handoff_context import HandoffContext

MAX_SUMMARY_CHARS = 600
# Free-form parts (step descriptions, tree titles) are cut so one long value cannot crowd out
# the rest of the paragraph.
MAX_PART_CHARS = 80
ELLIPSIS = "…"
#: What the customer did when they were in no journey (or in one the registry does not know).
NO_JOURNEY_PHRASE = "was talking to the bot"


def summarize(context: HandoffContext, journeys: JourneyRegistry) -> str:
    """Summarise a handoff context for the agent, at most 600 characters.

    Built only from the context's own fields (its `summary` and `pii` are ignored), so the
    same context always gives the same text. The only personal data it may contain is the
    customer's name (`customer_name`).
    """
    text = " ".join(_sentences(context, journeys))
    if len(text) <= MAX_SUMMARY_CHARS:
        return text
    return text[: MAX_SUMMARY_CHARS - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _sentences(context: HandoffContext, journeys: JourneyRegistry) -> Iterator[str]:
    name = context.customer_name
    who = clip(name) if name else "The customer"
    yield f"{who} {journeys.phrase(context.flow) or NO_JOURNEY_PHRASE}."
    trigger = context.trigger
    yield (
        f"Handed over: {humanize(trigger.reason_code)}"
        f" ({humanize(trigger.type.value)}), routed to {context.routing.queue}"
        f" at {context.routing.priority.value} priority."
    )
    yield from journeys.summary_sentences(context)
    sentiment = context.sentiment
    if sentiment.turns_scored:
        yield f"Customer sentiment: {sentiment.label.value} ({sentiment.score:+.2f})."


def humanize(code: str) -> str:
    """A snake_case code as words: "order_delayed" -> "order delayed"."""
    return code.replace("_", " ")


def clip(text: str) -> str:
    """Free text on one line, cut to `MAX_PART_CHARS` (journeys' sentences use it too)."""
    text = " ".join(text.split())
    if len(text) <= MAX_PART_CHARS:
        return text
    return text[: MAX_PART_CHARS - len(ELLIPSIS)].rstrip() + ELLIPSIS
