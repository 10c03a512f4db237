"""The behaviour evaluation: what the assistant does with the first message of a new chat.

Each phrasing of the held-out set (`phrasings.yml`, never used for training) is sent as the
first message of its own conversation to a running system (Rasa, the action server and a desk
or the desk's stand-in). What the bot then did is read back from the conversation's tracker
and the handoffs the desk received: which journey it started, which queue it handed to, or
which other answer it gave. That is compared with the behaviour the phrasing is labelled with.

A *misroute* is the worst error: a handoff reached another team's queue, or a journey of
another team started (a person's time spent on the wrong queue). A generic fallback, a
question back, or the wrong journey of the right team is an error, but not a misroute.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from uuid import uuid4

import yaml

from actions.constants import (
    ACTION_ASK_NEXT_DOCUMENT,
    ACTION_HANDOFF,
    ACTION_NLU_FALLBACK,
    ACTION_OFFER_CUSTOMER_SERVICE,
    ACTION_ORDER_STATUS,
    ACTION_START_BOOKING,
    ACTION_START_TROUBLESHOOTING,
    FORM_BRANCH_BOOKING,
    FORM_MORTGAGE,
    FORM_ORDER,
    FORM_RESUME_APPLICATION,
    FORM_TROUBLESHOOTING,
    SLOT_SUPPORT_TOPIC,
    UTTER_OFFER_HUMAN,
)
from actions.customer_service import TOPICS

PHRASINGS: Final = Path(__file__).resolve().parent / "phrasings.yml"
#: A second set, written after the first had guided the training data: measured, never tuned on.
UNSEEN: Final = Path(__file__).resolve().parent / "unseen.yml"

# --- The behaviours ----------------------------------------------------------------------------

ORDER_STATUS: Final = "order_status"
TROUBLESHOOTING: Final = "troubleshooting"
MORTGAGE_INTAKE: Final = "mortgage_intake"
MORTGAGE_ADVICE: Final = "mortgage_advice"
DOCUMENTS: Final = "documents"
RESUME_APPLICATION: Final = "resume_application"
BRANCH_APPOINTMENT: Final = "branch_appointment"
HUMAN: Final = "human"
OUT_OF_SCOPE: Final = "out_of_scope"
SMALLTALK: Final = "smalltalk"
CUSTOMER_SERVICE: Final = "customer_service"
#: Not a label: what the bot did when it gave none of the behaviours.
FALLBACK: Final = "generic_fallback"
CONFIRMATION: Final = "asked_to_confirm"
OTHER: Final = "other"

#: Each journey a first message can start, by the form or action that starts it.
JOURNEY_STEPS: Final[Mapping[str, str]] = {
    FORM_ORDER: ORDER_STATUS,
    ACTION_ORDER_STATUS: ORDER_STATUS,
    ACTION_START_TROUBLESHOOTING: TROUBLESHOOTING,
    FORM_TROUBLESHOOTING: TROUBLESHOOTING,
    FORM_MORTGAGE: MORTGAGE_INTAKE,
    ACTION_ASK_NEXT_DOCUMENT: DOCUMENTS,
    FORM_RESUME_APPLICATION: RESUME_APPLICATION,
    ACTION_START_BOOKING: BRANCH_APPOINTMENT,
    FORM_BRANCH_BOOKING: BRANCH_APPOINTMENT,
}
#: Replies that are a behaviour of their own.
REPLY_BEHAVIOURS: Final[Mapping[str, str]] = {
    "utter_out_of_scope": OUT_OF_SCOPE,
    "utter_greet": SMALLTALK,
    "utter_goodbye": SMALLTALK,
    "utter_you_are_welcome": SMALLTALK,
    "utter_iamabot": SMALLTALK,
    UTTER_OFFER_HUMAN: HUMAN,
    ACTION_NLU_FALLBACK: FALLBACK,
}
#: The queue each behaviour's handoff belongs to (content/handoff_routing.yml).
QUEUE_OF: Final[Mapping[str, str]] = {
    ORDER_STATUS: "order_support",
    TROUBLESHOOTING: "tech_support_l2",
    MORTGAGE_INTAKE: "mortgage_advisors",
    MORTGAGE_ADVICE: "mortgage_advisors",
    DOCUMENTS: "mortgage_advisors",
    RESUME_APPLICATION: "mortgage_advisors",
    BRANCH_APPOINTMENT: "mortgage_advisors",
    HUMAN: "general_support",
    CUSTOMER_SERVICE: "general_support",
}
#: The behaviour a first-turn handoff to each queue shows.
BEHAVIOUR_OF_QUEUE: Final[Mapping[str, str]] = {
    "order_support": ORDER_STATUS,
    "tech_support_l2": TROUBLESHOOTING,
    "mortgage_advisors": MORTGAGE_ADVICE,
    "general_support": HUMAN,
}

TOPIC_LABELS: Final = tuple(f"{CUSTOMER_SERVICE}:{topic.key}" for topic in TOPICS.values())
LABELS: Final = (
    ORDER_STATUS,
    TROUBLESHOOTING,
    MORTGAGE_INTAKE,
    MORTGAGE_ADVICE,
    DOCUMENTS,
    RESUME_APPLICATION,
    BRANCH_APPOINTMENT,
    HUMAN,
    *TOPIC_LABELS,
    OUT_OF_SCOPE,
    SMALLTALK,
)
#: Behaviours that put a person's or a journey's time on the conversation.
ROUTED: Final = frozenset(LABELS) - {OUT_OF_SCOPE, SMALLTALK}


class PhrasingsError(ValueError):
    """The evaluation set is missing, not YAML, or has an entry that is not valid."""


@dataclass(frozen=True)
class Phrasing:
    """One customer message and the behaviour expected in answer to it."""

    text: str
    expect: str


def load_phrasings(path: Path = PHRASINGS) -> list[Phrasing]:
    """The evaluation set, checked: every entry a non-empty text with a known label, no
    text twice."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PhrasingsError(f"{path}: {error}") from error
    if not isinstance(document, dict) or document.get("version") != 1:
        raise PhrasingsError(f"{path}: expected a mapping with version: 1")
    entries = document.get("phrasings")
    if not isinstance(entries, list) or not entries:
        raise PhrasingsError(f"{path}: `phrasings` must be a non-empty list")
    problems: list[str] = []
    phrasings: list[Phrasing] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        text = entry.get("text") if isinstance(entry, dict) else None
        expect = entry.get("expect") if isinstance(entry, dict) else None
        if not isinstance(text, str) or not text.strip():
            problems.append(f"entry {number}: `text` must be a non-empty string")
            continue
        if expect not in LABELS:
            problems.append(f"entry {number} ({text!r}): unknown behaviour {expect!r}")
            continue
        if text.strip().casefold() in seen:
            problems.append(f"entry {number} ({text!r}): the same text is in the set twice")
            continue
        seen.add(text.strip().casefold())
        phrasings.append(Phrasing(text, str(expect)))
    if problems:
        raise PhrasingsError(f"{path}: " + "; ".join(problems))
    return phrasings


# --- What the bot did ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """What the bot did with a first message: the behaviour, the queue its handoff reached
    (if any) and the intent NLU gave the message."""

    behaviour: str
    queue: str | None
    intent: str | None


def observe(tracker: Mapping[str, Any], handoffs: Sequence[Mapping[str, Any]]) -> Observed:
    """The behaviour shown in a one-message conversation's tracker and its handoffs."""
    events = list(tracker.get("events") or [])
    intent = next(
        (
            str((event.get("parse_data") or {}).get("intent", {}).get("name"))
            for event in events
            if event.get("event") == "user"
        ),
        None,
    )
    queue = str(handoffs[0]["routing"]["queue"]) if handoffs else None
    steps = [
        str(event.get("name"))
        for event in events
        if event.get("event") in ("action", "active_loop") and event.get("name")
    ]
    journey = next((JOURNEY_STEPS[step] for step in steps if step in JOURNEY_STEPS), None)
    if journey is not None:
        return Observed(journey, queue, intent)
    if queue is not None:
        return Observed(BEHAVIOUR_OF_QUEUE.get(queue, OTHER), queue, intent)
    if ACTION_OFFER_CUSTOMER_SERVICE in steps:
        topic = (tracker.get("slots") or {}).get(SLOT_SUPPORT_TOPIC)
        return Observed(f"{CUSTOMER_SERVICE}:{topic}", None, intent)
    if ACTION_HANDOFF in steps:
        # No handoff reached the desk: the bot asked whether the request is its team's.
        return Observed(CONFIRMATION, None, intent)
    for step in steps:
        if step in REPLY_BEHAVIOURS:
            return Observed(REPLY_BEHAVIOURS[step], None, intent)
    return Observed(OTHER, None, intent)


def expected_queue(behaviour: str) -> str | None:
    """The queue a handoff for this behaviour belongs to."""
    return QUEUE_OF.get(behaviour.split(":")[0])


def is_misroute(expect: str, observed: Observed) -> bool:
    """A handoff reached another team's queue, or a journey of another team started (the
    refund that starts the mortgage intake). Within one team (the mortgage intake where
    advice was asked for) it is an error, not a misroute: the right people see it."""
    wanted = expected_queue(expect)
    if observed.queue is not None and observed.queue != wanted:
        return True
    journeys = set(JOURNEY_STEPS.values())
    return observed.behaviour in journeys and expected_queue(observed.behaviour) != wanted


# --- A run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One phrasing's result."""

    phrasing: Phrasing
    sender: str
    observed: Observed

    @property
    def correct(self) -> bool:
        return self.observed.behaviour == self.phrasing.expect

    @property
    def misroute(self) -> bool:
        return is_misroute(self.phrasing.expect, self.observed)


@dataclass
class Report:
    """Every phrasing's outcome, and the figures."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(o.correct for o in self.outcomes) / len(self.outcomes)

    @property
    def misroutes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.misroute]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]

    def reached_queue(self, queue: str) -> list[Outcome]:
        """The phrasings whose first message reached `queue`."""
        return [o for o in self.outcomes if o.observed.queue == queue]

    def per_label(self) -> dict[str, tuple[int, int]]:
        """Per expected behaviour: (correct, total)."""
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for outcome in self.outcomes:
            totals[outcome.phrasing.expect][0] += outcome.correct
            totals[outcome.phrasing.expect][1] += 1
        return {label: (t[0], t[1]) for label, t in sorted(totals.items())}

    def confusions(self) -> Counter[tuple[str, str]]:
        """(expected, observed) for every error."""
        return Counter((o.phrasing.expect, o.observed.behaviour) for o in self.errors)

    def as_markdown(self) -> str:
        """The report as the README and `make eval` show it."""
        lines = [
            f"Behaviour accuracy: **{self.accuracy:.1%}** "
            f"({len(self.outcomes) - len(self.errors)}/{len(self.outcomes)} phrasings); "
            f"misroutes: **{len(self.misroutes)}**.",
            "",
            "| expected behaviour | correct | of |",
            "|---|---|---|",
        ]
        lines += [f"| {label} | {ok} | {n} |" for label, (ok, n) in self.per_label().items()]
        if self.errors:
            lines += [
                "",
                "| phrasing | expected | observed | intent | queue |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {_cell(o.phrasing.text)} | {o.phrasing.expect} | {o.observed.behaviour}"
                f"{' (MISROUTE)' if o.misroute else ''} | {o.observed.intent} "
                f"| {o.observed.queue or ''} |"
                for o in self.errors
            ]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "phrasings": len(self.outcomes),
            "misroutes": len(self.misroutes),
            "per_label": {k: {"correct": c, "of": n} for k, (c, n) in self.per_label().items()},
            "outcomes": [
                {
                    "text": o.phrasing.text,
                    "expect": o.phrasing.expect,
                    "observed": o.observed.behaviour,
                    "intent": o.observed.intent,
                    "queue": o.observed.queue,
                    "misroute": o.misroute,
                }
                for o in self.outcomes
            ],
        }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


#: Sends one message (sender, text); the bot's answer is not needed.
Say = Callable[[str, str], object]
#: The tracker of a conversation, as Rasa's HTTP API gives it.
ReadTracker = Callable[[str], Mapping[str, Any]]
#: Every handoff the desk (or its stand-in) received so far.
ReadHandoffs = Callable[[], Iterable[Mapping[str, Any]]]


def evaluate(
    phrasings: Sequence[Phrasing], say: Say, tracker: ReadTracker, handoffs: ReadHandoffs
) -> Report:
    """Sends each phrasing as the first message of a new conversation, then reads back what
    the bot did. REST answers come after the turn's handoff was delivered, so the handoffs
    are read once at the end."""
    run = uuid4().hex[:8]
    senders = [f"eval-{run}-{number:04d}" for number in range(len(phrasings))]
    for sender, phrasing in zip(senders, phrasings, strict=True):
        say(sender, phrasing.text)
    by_sender: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for handoff in handoffs():
        by_sender[str(handoff["conversation"]["sender_id"])].append(handoff)
    return Report(
        [
            Outcome(phrasing, sender, observe(tracker(sender), by_sender.get(sender, [])))
            for sender, phrasing in zip(senders, phrasings, strict=True)
        ]
    )
