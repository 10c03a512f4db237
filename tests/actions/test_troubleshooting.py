"""Journey 2, troubleshooting: starting, choosing the tree, and walking it to the end."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.troubleshooting import (
    YES_NO_BUTTONS,
    ActionAskStepAnswer,
    ActionStartTroubleshooting,
    ValidateTroubleshootingForm,
)
from actions.troubleshooting_trees import TroubleshootingCatalog, load_troubleshooting_catalog
from contract.handoff_context import Attempt
from tests.actions.conftest import (
    TREES_PATH,
    ActionResult,
    Conversation,
    SetEnv,
    entity,
    run_action,
    slot_changes,
    texts,
)

pytestmark = pytest.mark.usefixtures("action_env")

FORM = "troubleshooting_form"


@pytest.fixture(scope="module")
def catalog() -> TroubleshootingCatalog:
    return load_troubleshooting_catalog(TREES_PATH)


def reported(code_text: str, code: str | None) -> Conversation:
    """The customer reports an error; Rasa extracted the code as an entity."""
    message = f"my hub keeps showing {code_text}"
    entities = [entity("error_code", code, message)] if code else []
    return Conversation().user(message, "report_error_code", entities=entities)


async def start(code_text: str = "E-1042", code: str = "E-1042") -> Conversation:
    """Started, code validated, first step asked: waiting for the first answer."""
    conversation = reported(code_text, code)
    conversation.record(
        "action_start_troubleshooting",
        await run_action(ActionStartTroubleshooting(), conversation.tracker()),
    )
    validated = await run_action(
        ValidateTroubleshootingForm(), conversation.form_tracker(FORM, error_code=code)
    )
    # The form is activated, keeps the validated code and asks for the first step.
    activation = [
        {"event": "active_loop", "name": FORM},
        *validated.events,
        {"event": "slot", "name": "requested_slot", "value": "step_answer"},
    ]
    conversation.ran(FORM, activation, validated.messages)
    await ask(conversation)
    return conversation


async def ask(conversation: Conversation) -> ActionResult:
    """Rasa asks for step_answer with action_ask_step_answer."""
    result = await run_action(ActionAskStepAnswer(), conversation.tracker())
    conversation.record("action_ask_step_answer", result)
    return result


def timestamp_of_latest(conversation: Conversation, kind: str) -> str:
    event = next(e for e in reversed(conversation.tracker().events) if e["event"] == kind)
    return datetime.fromtimestamp(event["timestamp"], tz=timezone.utc).isoformat()


class Answered:
    """One answer: the validation's result and, if the form goes on, the next question."""

    def __init__(self, validation: ActionResult, question: ActionResult | None) -> None:
        self.validation = validation
        self.question = question
        self.slots = slot_changes(validation.events)

    @property
    def latest_attempt(self) -> dict[str, Any]:
        attempt: dict[str, Any] = self.slots["troubleshooting_attempts"][-1]
        return attempt


async def reply(
    conversation: Conversation, text: str = "/deny", intent: str | None = None
) -> Answered:
    """The customer answers the step (a button, or typed words with their intent)."""
    if intent is None:
        conversation.press(text)
        intent = text.removeprefix("/")
    else:
        conversation.user(text, intent)
    value = "yes" if intent == "affirm" else "no"
    asked_at = timestamp_of_latest(conversation, "bot")
    answered_at = timestamp_of_latest(conversation, "user")

    validation = await run_action(
        ValidateTroubleshootingForm(), conversation.form_tracker(FORM, step_answer=value)
    )
    conversation.record(FORM, validation)
    answered = Answered(validation, None)
    assert (answered.latest_attempt["asked_at"], answered.latest_attempt["answered_at"]) == (
        asked_at,
        answered_at,
    )
    if answered.slots["step_answer"] is None:  # the form asks again
        answered.question = await ask(conversation)
    return answered


def question(step: int, steps: int, round_: int, limit: int, text: str) -> str:
    return f"Step {step} of {steps} (round {round_} of {limit}): {text}\n\nDid that fix it?"


# --- Starting ------------------------------------------------------------------------------


async def test_start_keeps_only_the_new_code_and_resets_the_walk() -> None:
    earlier = {"label": "check_wifi_button", "cycle": 1, "step": 1, "outcome": "unresolved"}
    conversation = Conversation().slots(
        error_code="E-2210",
        troubleshooting_tree="E-2210",
        step_answer="yes",
        troubleshooting_step=3,
        troubleshooting_cycle=2,
        troubleshooting_attempts=[earlier],
        troubleshooting_outcome="resolved",
    )
    message = "now it says E-1042"
    conversation.user(
        message, "report_error_code", entities=[entity("error_code", "E-1042", message)]
    )

    events, messages = await run_action(ActionStartTroubleshooting(), conversation.tracker())

    assert messages == []
    assert [(event["name"], event["value"]) for event in events] == [
        ("error_code", "E-1042"),
        ("troubleshooting_tree", None),
        ("step_answer", None),
        ("troubleshooting_step", 1),
        ("troubleshooting_cycle", 1),
        ("troubleshooting_attempts", []),
        ("troubleshooting_outcome", None),
    ]


async def test_start_without_a_code_leaves_the_form_to_ask_for_it() -> None:
    conversation = Conversation().user("my hub has an error", "report_error_code")

    events, _ = await run_action(ActionStartTroubleshooting(), conversation.tracker())

    assert slot_changes(events)["error_code"] is None


# --- validate_error_code -------------------------------------------------------------------


async def test_a_request_without_a_code_leads_to_the_question_not_to_a_none_code() -> None:
    """The bug seen with "an e-mail to send feedback" read as report_error_code: the reset
    code (None) was validated and the customer read '"None" doesn't look like an error code'."""
    conversation = Conversation().user("my router shows an error", "report_error_code")
    conversation.record(
        "action_start_troubleshooting",
        await run_action(ActionStartTroubleshooting(), conversation.tracker()),
    )

    events, messages = await run_action(
        ValidateTroubleshootingForm(), conversation.form_tracker(FORM, error_code=None)
    )

    assert texts(messages) == []
    assert slot_changes(events) == {"error_code": None}


@pytest.mark.parametrize("typed", ["E-1042", "e1042", "E 1042", "error code 1042", "E\u20101042"])
async def test_a_known_code_chooses_its_tree(typed: str) -> None:
    conversation = reported(typed, None)

    events, messages = await run_action(
        ValidateTroubleshootingForm(), conversation.form_tracker(FORM, error_code=typed)
    )

    assert texts(messages) == [
        "E-1042 means: No internet connection. Let's work through it step by step."
    ]
    assert slot_changes(events) == {"error_code": "E-1042", "troubleshooting_tree": "E-1042"}


async def test_an_unknown_code_gets_the_general_tree() -> None:
    conversation = reported("E-9999", "E-9999")

    events, messages = await run_action(
        ValidateTroubleshootingForm(), conversation.form_tracker(FORM, error_code="E-9999")
    )

    assert texts(messages) == [
        "I don't have a guide for E-9999, so let's try the general steps that fix most "
        "problems. You can ask for a person at any time."
    ]
    assert slot_changes(events) == {"error_code": "E-9999", "troubleshooting_tree": "general"}


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("the light is blinking", "the light is blinking"),
        ("it flashes orange then red then goes off", "it flashes orange then …"),
        ("E-12", "E-12"),
    ],
)
async def test_something_that_is_not_a_code_is_asked_again(typed: str, shown: str) -> None:
    conversation = Conversation().form(FORM, "error_code").user(typed, "inform")

    events, messages = await run_action(
        ValidateTroubleshootingForm(), conversation.form_tracker(FORM, error_code=typed)
    )

    assert texts(messages) == [
        f'"{shown}" doesn\'t look like an error code. Codes look like E-1042 and are shown on '
        "the device's screen or in its app."
    ]
    assert slot_changes(events) == {"error_code": None}


# --- Asking a step ---------------------------------------------------------------------------


async def test_the_question_gives_the_step_the_round_and_yes_no_buttons(
    catalog: TroubleshootingCatalog,
) -> None:
    conversation = Conversation().slots(
        troubleshooting_tree="E-2210", troubleshooting_step=3, troubleshooting_cycle=2
    )

    events, messages = await run_action(ActionAskStepAnswer(), conversation.tracker())

    tree = catalog.trees["E-2210"]
    assert events == []
    assert messages[0]["text"] == question(3, 4, 2, 3, tree.steps[2].text)
    assert messages[0]["buttons"] == YES_NO_BUTTONS
    assert YES_NO_BUTTONS == [
        {"title": "Yes, that fixed it", "payload": "/affirm"},
        {"title": "No, still broken", "payload": "/deny"},
    ]


@pytest.mark.parametrize("tree_name", ["general", "E-0000", None])
async def test_the_general_tree_is_asked_for_unknown_or_missing_trees(
    tree_name: str | None, catalog: TroubleshootingCatalog
) -> None:
    conversation = Conversation().slots(troubleshooting_tree=tree_name)

    _, messages = await run_action(ActionAskStepAnswer(), conversation.tracker())

    assert texts(messages) == [question(1, 4, 1, 3, catalog.general.steps[0].text)]


# --- validate_step_answer: the walk ----------------------------------------------------------


async def test_yes_resolves_at_once() -> None:
    conversation = await start()

    answered = await reply(conversation, "/affirm")

    assert answered.validation.messages == []
    assert answered.question is None
    assert [event["name"] for event in answered.validation.events] == [
        "step_answer",
        "troubleshooting_attempts",
        "troubleshooting_outcome",
    ]
    assert answered.slots["step_answer"] == "yes"
    assert answered.slots["troubleshooting_outcome"] == "resolved"
    [attempt] = answered.slots["troubleshooting_attempts"]
    assert (attempt["label"], attempt["answer"], attempt["outcome"]) == (
        "check_dsl_cable",
        "yes",
        "resolved",
    )


async def test_no_moves_to_the_next_step_and_asks_it(catalog: TroubleshootingCatalog) -> None:
    conversation = await start()

    answered = await reply(conversation, "/deny")

    assert answered.validation.messages == []
    assert answered.slots == {
        "step_answer": None,
        "troubleshooting_attempts": answered.slots["troubleshooting_attempts"],
        "troubleshooting_step": 2,
    }
    assert answered.question is not None
    assert texts(answered.question.messages) == [
        question(2, 4, 1, 3, catalog.trees["E-1042"].steps[1].text)
    ]


async def test_a_whole_walk_ends_at_the_cycle_limit(catalog: TroubleshootingCatalog) -> None:
    tree = catalog.trees["E-1042"]
    conversation = await start()
    questions: list[str] = []
    cycle_messages: list[str] = []
    answers = ["/deny", "no, still broken", *["/deny"] * 9]

    for text in answers:
        answered = await (
            reply(conversation, text, "deny") if not text.startswith("/") else reply(conversation)
        )
        cycle_messages += texts(answered.validation.messages)
        assert answered.question is not None
        questions += texts(answered.question.messages)
    last = await reply(conversation)

    # Every step of every round was asked, in order.
    assert (
        questions
        == [
            question(step, 4, round_, 3, tree.steps[step - 1].text)
            for round_ in (1, 2, 3)
            for step in (1, 2, 3, 4)
        ][1:]
    )
    # A new round is announced twice; the limit is reached in the third.
    assert (
        cycle_messages
        == [
            "That was the last step. Some of these fixes need a second go, so let's run through "
            "them once more from the start."
        ]
        * 2
    )
    assert texts(last.validation.messages) == [
        "I'm sorry, we've been through every step 3 times and the problem is still there."
    ]
    assert last.question is None
    assert {k: v for k, v in last.slots.items() if k != "troubleshooting_attempts"} == {
        "step_answer": "no",
        "troubleshooting_outcome": "cycle_limit",
        "handoff_reason": "cycle_limit",
    }

    attempts = last.slots["troubleshooting_attempts"]
    assert [(a["cycle"], a["step"], a["label"]) for a in attempts] == [
        (round_, step, tree.steps[step - 1].id) for round_ in (1, 2, 3) for step in (1, 2, 3, 4)
    ]
    assert [a["answer"] for a in attempts] == ["no", "no, still broken", *["no"] * 10]
    assert {a["outcome"] for a in attempts} == {"unresolved"}
    assert {a["kind"] for a in attempts} == {"troubleshooting_step"}
    assert [a["description"] for a in attempts[:4]] == [step.text for step in tree.steps]
    for attempt in attempts:
        Attempt.parse_obj(attempt)
        assert attempt["asked_at"] < attempt["answered_at"]


async def test_after_the_last_step_a_new_round_starts() -> None:
    conversation = await start()
    for _ in range(3):
        await reply(conversation)

    answered = await reply(conversation)

    assert answered.slots["troubleshooting_step"] == 1
    assert answered.slots["troubleshooting_cycle"] == 2
    assert answered.slots["step_answer"] is None
    assert len(answered.slots["troubleshooting_attempts"]) == 4
    assert answered.question is not None
    assert "(round 2 of 3)" in texts(answered.question.messages)[0]


async def test_a_typed_yes_is_recorded_in_the_customers_words() -> None:
    conversation = await start()
    await reply(conversation)

    answered = await reply(conversation, "Yes! That did it, thanks", "affirm")

    assert answered.latest_attempt["answer"] == "Yes! That did it, thanks"
    assert answered.latest_attempt["outcome"] == "resolved"
    assert answered.latest_attempt["step"] == 2


# --- The cycle limit is configuration --------------------------------------------------------


def write_trees(path: Path, cycle_limit: int, mtime: float) -> Path:
    steps = [{"id": f"step_{n}", "text": f"Do thing {n}."} for n in (1, 2, 3)]
    document = {
        "version": 1,
        "cycle_limit": cycle_limit,
        "general": {"title": "General", "description": "Anything.", "steps": steps},
        "error_codes": {
            "E-1042": {"title": "Offline", "description": "No internet.", "steps": steps}
        },
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


async def test_the_cycle_limit_comes_from_the_tree_file(tmp_path: Path, set_env: SetEnv) -> None:
    trees = write_trees(tmp_path / "trees.yml", cycle_limit=2, mtime=1_000_000)
    set_env(TROUBLESHOOTING_TREES=str(trees))
    conversation = await start()
    assert "(round 1 of 2)" in conversation.tracker().events[-1]["text"]

    for _ in range(5):
        answered = await reply(conversation)
        assert answered.slots.get("troubleshooting_outcome") is None
    last = await reply(conversation)

    assert texts(last.validation.messages) == [
        "I'm sorry, we've been through every step 2 times and the problem is still there."
    ]
    assert last.slots["troubleshooting_outcome"] == "cycle_limit"
    assert last.slots["handoff_reason"] == "cycle_limit"
    assert len(last.slots["troubleshooting_attempts"]) == 6


async def test_an_edited_tree_file_is_read_again(tmp_path: Path, set_env: SetEnv) -> None:
    trees = write_trees(tmp_path / "trees.yml", cycle_limit=2, mtime=1_000_000)
    set_env(TROUBLESHOOTING_TREES=str(trees))
    conversation = Conversation().slots(troubleshooting_tree="E-1042")
    _, before = await run_action(ActionAskStepAnswer(), conversation.tracker())

    write_trees(trees, cycle_limit=5, mtime=2_000_000)
    _, after = await run_action(ActionAskStepAnswer(), conversation.tracker())

    assert "(round 1 of 2)" in texts(before)[0]
    assert "(round 1 of 5)" in texts(after)[0]
