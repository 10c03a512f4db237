"""Journeys plug into the handoff: each declares, in its own module, what the handoff needs.

A `Journey` says which flow it is and what marks it in a conversation, which evidence and
attempts it hands over, how it is summarised and shown to the agent, and which of its data is
personal. The `JourneyRegistry` (built in `actions.journeys`) is what the handoff iterates; the
handoff package itself imports no journey.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from rasa_sdk import Tracker

from actions.constants import FLOW_NONE
from actions.dialogue import latest_intent, latest_user_text
from contract.handoff_context import (
    FLOW_MAX_LENGTH,
    SNAKE_CASE_PATTERN,
    Attempt,
    Evidence,
    EvidenceField,
    EvidenceSection,
    EvidenceTable,
    HandoffContext,
)

#: Collects a journey's evidence sections (section name -> contract model or JSON object) from
#: the tracker; the flow the conversation is in is given. Empty when it has nothing.
EvidenceCollector = Callable[[Tracker, str], Awaitable[Mapping[str, Any]]]


async def no_evidence(tracker: Tracker, flow: str) -> Mapping[str, Any]:
    """The collector of a journey that hands over no records."""
    return {}


@dataclass(frozen=True)
class Journey:
    """What one journey tells the handoff. Declared once, in the journey's module.

    Attributes:
        flow: The snake_case name of the journey (the context's `flow`, `flow_queues` key).
        phrase: Completes "<the customer> ..." in the summary, e.g. "asked about an order".
        forms: Forms whose activity puts the conversation in this journey.
        actions: Actions whose running puts the conversation in this journey.
        intents: Intents that put the conversation in this journey at once, from anywhere.
        handoff_intents: Intents that are themselves a handoff trigger, with the reason code.
        context_words: Words that put a message in this journey. With them, a handoff intent
            hands over only when the conversation shows the journey: its words in the
            message, its form active, or one of its forms or actions run before. Otherwise
            the bot asks first (`confirm_question`), so a misread message never reaches this
            journey's team unasked.
        confirm_question: The yes/no question asked when that context is missing.
        reason_details: The reason codes this journey hands off with, each with the line the
            agent reads as the trigger's detail.
        collect_evidence: Its evidence sections, read from the tracker.
        attempts_slot: The slot holding what the bot tried, as contract `Attempt` objects.
        summarize: Its sentences of the summary, from the finished context (may be none).
        customer_name: The customer's name if its evidence knows it.
        evidence_view: Its evidence sections labelled for display, from the evidence.
        personal_slots: Slots holding personal data.
        personal_evidence: Per evidence section, the fields holding personal data; a field
            may be a path such as `tracking_events/*/location` (`*` = any array index).
    """

    flow: str
    phrase: str
    forms: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    intents: frozenset[str] = frozenset()
    handoff_intents: Mapping[str, str] = field(default_factory=dict)
    context_words: re.Pattern[str] | None = None
    confirm_question: str = ""
    reason_details: Mapping[str, str] = field(default_factory=dict)
    collect_evidence: EvidenceCollector = no_evidence
    attempts_slot: str | None = None
    summarize: Callable[[HandoffContext], Iterable[str]] = lambda context: ()
    customer_name: Callable[[Evidence], str | None] = lambda evidence: None
    evidence_view: Callable[[Evidence], Sequence[EvidenceSection]] = lambda evidence: ()
    personal_slots: tuple[str, ...] = ()
    personal_evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class JourneyRegistry:
    """The journeys, in the order their evidence, sentences and sections are reported."""

    journeys: tuple[Journey, ...]

    def __post_init__(self) -> None:
        """Refuse a registry in which two journeys claim the same name, step or code."""
        problems = [
            f"journey flow {journey.flow!r} must be snake_case, at most {FLOW_MAX_LENGTH}"
            f" characters, and not {FLOW_NONE!r}"
            for journey in self.journeys
            if re.fullmatch(SNAKE_CASE_PATTERN, journey.flow) is None
            or len(journey.flow) > FLOW_MAX_LENGTH
            or journey.flow == FLOW_NONE
        ]
        for what, names in (
            ("flow", [journey.flow for journey in self.journeys]),
            ("form or action", [step for j in self.journeys for step in (*j.forms, *j.actions)]),
            ("reason code", [code for j in self.journeys for code in j.reason_details]),
        ):
            problems += [f"two journeys claim the {what} {name!r}" for name in _repeated(names)]
        if problems:
            raise ValueError("; ".join(problems))

    def __iter__(self) -> Iterator[Journey]:
        """The journeys in order."""
        return iter(self.journeys)

    @property
    def flows(self) -> tuple[str, ...]:
        """Every journey's flow, in order (without `none`)."""
        return tuple(journey.flow for journey in self.journeys)

    @property
    def reason_codes(self) -> frozenset[str]:
        """The reason codes the journeys hand off with."""
        return frozenset(code for journey in self.journeys for code in journey.reason_details)

    @property
    def personal_slots(self) -> tuple[str, ...]:
        """Every slot that holds personal data, journey by journey."""
        return tuple(slot for journey in self.journeys for slot in journey.personal_slots)

    # --- Reading the conversation ---------------------------------------------------------------

    def flow_of_intent(self, intent: str | None) -> str | None:
        """The journey an intent puts the conversation in, wherever it was."""
        return next((j.flow for j in self.journeys if intent and intent in j.intents), None)

    def flow_of_step(self, name: str | None) -> str | None:
        """The journey a form or action belongs to."""
        return next(
            (j.flow for j in self.journeys if name and (name in j.forms or name in j.actions)),
            None,
        )

    def current_flow(self, tracker: Tracker) -> str:
        """The journey the conversation is in: one the latest intent puts it in, else the one
        of the active form, else the latest one whose form or action ran (`none` if none did)."""
        flow = self.flow_of_intent(latest_intent(tracker)) or self.flow_of_step(
            tracker.active_loop_name
        )
        if flow:
            return flow
        # Rasa sends every event, also those from before a restart ("start over"), which the
        # conversation has forgotten.
        for event in reversed(tracker.applied_events()):
            if event.get("event") == "action":
                flow = self.flow_of_step(event.get("name"))
                if flow:
                    return flow
        return FLOW_NONE

    def reason_of_intent(self, intent: str | None) -> str | None:
        """The reason code when the customer's intent is itself a journey's handoff trigger."""
        for journey in self.journeys:
            if intent and intent in journey.handoff_intents:
                return journey.handoff_intents[intent]
        return None

    def unconfirmed_trigger(self, tracker: Tracker) -> Journey | None:
        """The journey whose handoff intent the customer just sent without showing that
        journey's context (see `Journey.context_words`), if any: ask before handing over."""
        intent = latest_intent(tracker)
        for journey in self.journeys:
            if not intent or intent not in journey.handoff_intents or not journey.context_words:
                continue
            if journey.context_words.search(latest_user_text(tracker)):
                return None
            steps = {tracker.active_loop_name} | {
                event.get("name")
                for event in tracker.applied_events()
                if event.get("event") in ("action", "active_loop")
            }
            if any(self.flow_of_step(step) == journey.flow for step in steps):
                return None
            return journey
        return None

    def flow_of_reason(self, reason_code: str) -> str | None:
        """The journey that hands off with this reason code (None for the general ones)."""
        return next((j.flow for j in self.journeys if reason_code in j.reason_details), None)

    def reason_detail(self, reason_code: str) -> str | None:
        """The agent's line for a journey's reason code."""
        for journey in self.journeys:
            if reason_code in journey.reason_details:
                return journey.reason_details[reason_code]
        return None

    async def collect_evidence(self, tracker: Tracker, flow: str) -> Evidence:
        """Every journey's evidence sections of this conversation."""
        sections: dict[str, Any] = {}
        for journey in self.journeys:
            sections.update(await journey.collect_evidence(tracker, flow))
        return Evidence.parse_obj(sections)

    def collect_attempts(self, tracker: Tracker) -> list[Attempt]:
        """Everything the bot tried, in every journey, oldest first."""
        raw = [
            item
            for journey in self.journeys
            if journey.attempts_slot
            for item in tracker.get_slot(journey.attempts_slot) or []
        ]
        attempts = [Attempt.parse_obj(pick_fields(Attempt, item)) for item in raw]
        return sorted(attempts, key=lambda attempt: attempt.asked_at)

    # --- Describing the context -----------------------------------------------------------------

    def phrase(self, flow: str) -> str | None:
        """The summary's phrase for a journey's flow."""
        return next((journey.phrase for journey in self.journeys if journey.flow == flow), None)

    def customer_name(self, evidence: Evidence) -> str | None:
        """The customer's name from the first journey whose evidence knows it."""
        for journey in self.journeys:
            name = journey.customer_name(evidence)
            if name and name.strip():
                return name.strip()
        return None

    def summary_sentences(self, context: HandoffContext) -> list[str]:
        """Every journey's sentences about the context, journey by journey."""
        return [sentence for journey in self.journeys for sentence in journey.summarize(context)]

    def evidence_view(self, evidence: Evidence) -> list[EvidenceSection]:
        """Every journey's sections for the agent's screen, journey by journey."""
        return [section for journey in self.journeys for section in journey.evidence_view(evidence)]

    def personal_evidence_paths(self, evidence: Evidence) -> list[tuple[str, ...]]:
        """Paths (as tokens under `evidence`) of the personal evidence values that are filled."""
        paths = []
        for journey in self.journeys:
            for section, fields in journey.personal_evidence.items():
                record = json_record(evidence.section(section))
                paths += [
                    (section, *path.split("/"))
                    for path in fields
                    if _filled(record, path.split("/"))
                ]
        return paths


# --- Helpers for journeys -------------------------------------------------------------------------


def pick_fields(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields the contract model has (records may carry more)."""
    return {key: value for key, value in data.items() if key in model.__fields__}


def json_record(section: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    """An evidence section as its JSON object (dates and times as ISO strings); {} for None."""
    if section is None:
        return {}
    if isinstance(section, BaseModel):
        record: dict[str, Any] = json.loads(section.json())
        return record
    return dict(section)


def labelled_section(
    key: str,
    title: str,
    record: Mapping[str, Any],
    labels: Sequence[tuple[str, str]],
    *,
    personal: Collection[str] = (),
    tables: Sequence[EvidenceTable] = (),
) -> EvidenceSection:
    """A display section with one field per (record key, label), in that order.

    Args:
        key: The section's stable name.
        title: Its heading.
        record: The evidence section as its JSON object (see `json_record`).
        labels: Which values to show, and their labels.
        personal: Record keys whose values are personal data.
        tables: Tables shown after the fields.
    """
    return EvidenceSection(
        key=key,
        title=title,
        fields=[
            EvidenceField(label=label, value=record.get(name), personal=name in personal)
            for name, label in labels
        ],
        tables=list(tables),
    )


def _filled(node: Any, tokens: list[str]) -> bool:
    """Whether the value at the path has data (`*` matches any array element)."""
    if not tokens:
        return node is not None and node != ""
    head, rest = tokens[0], tokens[1:]
    if head == "*" and isinstance(node, list):
        return any(_filled(item, rest) for item in node)
    if isinstance(node, dict) and head in node:
        return _filled(node[head], rest)
    return False


def _repeated(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated = []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    return repeated
