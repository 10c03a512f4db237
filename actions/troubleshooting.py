"""Journey 2, troubleshooting: walk the tree for an error code, cycle, and hand off to Level 2.

A cycle is one full pass through a tree's standard steps that ends unresolved. The number of
cycles before a Level 2 handoff (`cycle_limit`) lives in the tree file, next to the trees.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_ASK_STEP_ANSWER,
    ACTION_START_TROUBLESHOOTING,
    ENTITY_ERROR_CODE,
    FLOW_TROUBLESHOOTING,
    FORM_TROUBLESHOOTING,
    REASON_CYCLE_LIMIT,
    SLOT_ERROR_CODE,
    SLOT_HANDOFF_REASON,
    SLOT_STEP_ANSWER,
    SLOT_TROUBLESHOOTING_ATTEMPTS,
    SLOT_TROUBLESHOOTING_CYCLE,
    SLOT_TROUBLESHOOTING_OUTCOME,
    SLOT_TROUBLESHOOTING_STEP,
    SLOT_TROUBLESHOOTING_TREE,
    TROUBLESHOOTING_CYCLE_LIMIT,
    TROUBLESHOOTING_RESOLVED,
    VALIDATE_TROUBLESHOOTING_FORM,
)
from actions.dialogue import latest_event_time, latest_user_text
from actions.failsafe import GuardedFormValidationAction, apologise_on_failure, describe
from actions.handoff.journey import Journey, json_record, labelled_section
from actions.handoff.summary import clip, humanize
from actions.settings import get_settings
from actions.store.database import utcnow
from actions.troubleshooting_trees import (
    TroubleshootingCatalog,
    TroubleshootingTree,
    load_troubleshooting_catalog,
    normalize_error_code,
)
from contract.handoff_context import (
    Attempt,
    AttemptKind,
    Evidence,
    EvidenceSection,
    HandoffContext,
    TroubleshootingEvidence,
)

#: The slot value naming the general tree, used for codes the catalog does not know.
GENERAL_TREE = "general"

YES_NO_BUTTONS = [
    {"title": "Yes, that fixed it", "payload": "/affirm"},
    {"title": "No, still broken", "payload": "/deny"},
]


@lru_cache(maxsize=4)
def _catalog_at(path: Path, modified: float) -> TroubleshootingCatalog:
    return load_troubleshooting_catalog(path)


def troubleshooting_catalog() -> TroubleshootingCatalog:
    """The designers' tree file, re-read whenever it changes on disk."""
    path = get_settings().troubleshooting_trees_path
    return _catalog_at(path, path.stat().st_mtime)


def tree_for(catalog: TroubleshootingCatalog, tree_name: str | None) -> TroubleshootingTree:
    """The tree a conversation is walking (the general tree for unknown codes)."""
    if tree_name and tree_name != GENERAL_TREE:
        tree = catalog.lookup(tree_name)
        if tree is not None:
            return tree
    return catalog.general


def _answer_text(text: str, resolved: bool) -> str:
    """What the customer answered; a button press ("/affirm") is recorded as yes or no."""
    if not text or text.startswith("/"):
        return "yes" if resolved else "no"
    return describe(text, 200)


def _slot_int(tracker: Tracker, slot: str, default: int) -> int:
    value = tracker.get_slot(slot)
    return int(value) if value is not None else default


class ActionStartTroubleshooting(Action):
    """Starts a fresh walk, keeping only the error code the customer just gave."""

    def name(self) -> str:
        return ACTION_START_TROUBLESHOOTING

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = next(tracker.get_latest_entity_values(ENTITY_ERROR_CODE), None)
        return [
            SlotSet(SLOT_ERROR_CODE, code),
            SlotSet(SLOT_TROUBLESHOOTING_TREE, None),
            SlotSet(SLOT_STEP_ANSWER, None),
            SlotSet(SLOT_TROUBLESHOOTING_STEP, 1),
            SlotSet(SLOT_TROUBLESHOOTING_CYCLE, 1),
            SlotSet(SLOT_TROUBLESHOOTING_ATTEMPTS, []),
            SlotSet(SLOT_TROUBLESHOOTING_OUTCOME, None),
        ]


class ActionAskStepAnswer(Action):
    """Gives the current step and asks whether it helped."""

    def name(self) -> str:
        return ACTION_ASK_STEP_ANSWER

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        catalog = troubleshooting_catalog()
        tree = tree_for(catalog, tracker.get_slot(SLOT_TROUBLESHOOTING_TREE))
        step_number = _slot_int(tracker, SLOT_TROUBLESHOOTING_STEP, 1)
        cycle = _slot_int(tracker, SLOT_TROUBLESHOOTING_CYCLE, 1)
        step = tree.steps[step_number - 1]
        dispatcher.utter_message(
            text=f"Step {step_number} of {len(tree.steps)} (round {cycle} of "
            f"{catalog.cycle_limit}): {step.text}\n\nDid that fix it?",
            buttons=YES_NO_BUTTONS,
        )
        return []


class ValidateTroubleshootingForm(GuardedFormValidationAction):
    """Picks the tree for the code, then records each answer and moves through the steps."""

    def name(self) -> str:
        return VALIDATE_TROUBLESHOOTING_FORM

    async def validate_error_code(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Chooses the tree: the code's own, or the general one for an unknown code."""
        if slot_value is None or not str(slot_value).strip():
            # No code given yet ("my router shows an error"): the form asks for it.
            return {SLOT_ERROR_CODE: None}
        code = normalize_error_code(str(slot_value))
        if code is None:
            dispatcher.utter_message(
                text=f'"{describe(slot_value)}" doesn\'t look like an error code. Codes look '
                "like E-1042 and are shown on the device's screen or in its app."
            )
            return {SLOT_ERROR_CODE: None}
        catalog = troubleshooting_catalog()
        tree = catalog.lookup(code)
        if tree is None:
            dispatcher.utter_message(
                text=f"I don't have a guide for {code}, so let's try the general steps that "
                "fix most problems. You can ask for a person at any time."
            )
            tree_name = GENERAL_TREE
        else:
            dispatcher.utter_message(
                text=f"{code} means: {tree.title}. Let's work through it step by step."
            )
            tree_name = code
        return {SLOT_ERROR_CODE: code, SLOT_TROUBLESHOOTING_TREE: tree_name}

    async def validate_step_answer(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Records the answer; resolves, moves on, starts a new cycle or hits the limit."""
        catalog = troubleshooting_catalog()
        tree = tree_for(catalog, tracker.get_slot(SLOT_TROUBLESHOOTING_TREE))
        step_number = _slot_int(tracker, SLOT_TROUBLESHOOTING_STEP, 1)
        cycle = _slot_int(tracker, SLOT_TROUBLESHOOTING_CYCLE, 1)
        resolved = slot_value == "yes"
        attempts = [
            *(tracker.get_slot(SLOT_TROUBLESHOOTING_ATTEMPTS) or []),
            self._attempt(tracker, tree, step_number, cycle, resolved),
        ]

        if resolved:
            return {
                SLOT_STEP_ANSWER: "yes",
                SLOT_TROUBLESHOOTING_ATTEMPTS: attempts,
                SLOT_TROUBLESHOOTING_OUTCOME: TROUBLESHOOTING_RESOLVED,
            }
        if step_number < len(tree.steps):
            return {
                SLOT_STEP_ANSWER: None,
                SLOT_TROUBLESHOOTING_ATTEMPTS: attempts,
                SLOT_TROUBLESHOOTING_STEP: step_number + 1,
            }
        if cycle >= catalog.cycle_limit:
            dispatcher.utter_message(
                text=f"I'm sorry, we've been through every step {cycle} times and the problem "
                "is still there."
            )
            return {
                SLOT_STEP_ANSWER: "no",
                SLOT_TROUBLESHOOTING_ATTEMPTS: attempts,
                SLOT_TROUBLESHOOTING_OUTCOME: TROUBLESHOOTING_CYCLE_LIMIT,
                SLOT_HANDOFF_REASON: REASON_CYCLE_LIMIT,
            }
        dispatcher.utter_message(
            text="That was the last step. Some of these fixes need a second go, so let's run "
            "through them once more from the start."
        )
        return {
            SLOT_STEP_ANSWER: None,
            SLOT_TROUBLESHOOTING_ATTEMPTS: attempts,
            SLOT_TROUBLESHOOTING_STEP: 1,
            SLOT_TROUBLESHOOTING_CYCLE: cycle + 1,
        }

    @staticmethod
    def _attempt(
        tracker: Tracker,
        tree: TroubleshootingTree,
        step_number: int,
        cycle: int,
        resolved: bool,
    ) -> dict[str, Any]:
        step = tree.steps[step_number - 1]
        asked_at = latest_event_time(tracker, "bot") or utcnow()
        answered_at = latest_event_time(tracker, "user") or utcnow()
        return {
            "kind": "troubleshooting_step",
            "label": step.id,
            "description": step.text,
            "cycle": cycle,
            "step": step_number,
            "answer": _answer_text(latest_user_text(tracker), resolved),
            "outcome": "resolved" if resolved else "unresolved",
            "asked_at": asked_at.isoformat(),
            "answered_at": answered_at.isoformat(),
        }


# --- What the handoff gets from this journey ---------------------------------------------------

TROUBLESHOOTING_LABELS = (
    ("error_code", "Error code"),
    ("tree_title", "Problem"),
    ("tree", "Tree"),
    ("known_code", "Known code"),
    ("cycles_completed", "Cycles completed"),
    ("cycle_limit", "Cycle limit"),
)


async def troubleshooting_evidence(tracker: Tracker, flow: str) -> dict[str, Any]:
    """The tree walked for the customer's error code, and how far it got."""
    code = tracker.get_slot(SLOT_ERROR_CODE)
    tree_name = tracker.get_slot(SLOT_TROUBLESHOOTING_TREE)
    if not (code and tree_name):
        return {}
    catalog = troubleshooting_catalog()
    tree = tree_for(catalog, tree_name)
    cycle = int(tracker.get_slot(SLOT_TROUBLESHOOTING_CYCLE) or 1)
    outcome = tracker.get_slot(SLOT_TROUBLESHOOTING_OUTCOME)
    evidence = TroubleshootingEvidence(
        error_code=code,
        tree=tree_name,
        tree_title=tree.title,
        known_code=tree_name != GENERAL_TREE,
        cycles_completed=cycle if outcome == TROUBLESHOOTING_CYCLE_LIMIT else cycle - 1,
        cycle_limit=catalog.cycle_limit,
    )
    return {"troubleshooting": evidence}


def troubleshooting_sentences(context: HandoffContext) -> list[str]:
    """The error, the cycles done, and the last step tried."""
    evidence = context.evidence.troubleshooting
    if evidence is None:
        return []
    steps = [a for a in context.attempts if a.kind is AttemptKind.TROUBLESHOOTING_STEP]
    return [_troubleshooting_sentence(evidence, steps[-1] if steps else None)]


def _troubleshooting_sentence(evidence: TroubleshootingEvidence, last_step: Attempt | None) -> str:
    what = f"error {evidence.error_code}"
    if evidence.tree_title:
        what += f" ({clip(evidence.tree_title)})"
    elif not evidence.known_code:
        what += " (unknown code)"
    text = (
        f"Troubleshooting {what}: {evidence.cycles_completed} of {evidence.cycle_limit}"
        " cycles completed without a fix"
    )
    if last_step:
        text += f"; last step {last_step.label}: {clip(last_step.description)}"
        text += f" ({humanize(last_step.outcome)})"
    return text + "."


def troubleshooting_view(evidence: Evidence) -> list[EvidenceSection]:
    """The walk, labelled for the agent."""
    walk = evidence.troubleshooting
    if walk is None:
        return []
    record = json_record(walk)
    title = f"Troubleshooting {walk.error_code}"
    return [labelled_section("troubleshooting", title, record, TROUBLESHOOTING_LABELS)]


JOURNEY = Journey(
    flow=FLOW_TROUBLESHOOTING,
    phrase="was troubleshooting a device error",
    forms=frozenset({FORM_TROUBLESHOOTING}),
    actions=frozenset({ACTION_START_TROUBLESHOOTING}),
    reason_details={
        REASON_CYCLE_LIMIT: (
            "Troubleshooting steps did not resolve the error after the cycle limit."
        ),
    },
    collect_evidence=troubleshooting_evidence,
    attempts_slot=SLOT_TROUBLESHOOTING_ATTEMPTS,
    summarize=troubleshooting_sentences,
    evidence_view=troubleshooting_view,
    # What the customer typed in answer to the steps.
    personal_slots=(SLOT_STEP_ANSWER, SLOT_TROUBLESHOOTING_ATTEMPTS),
)
