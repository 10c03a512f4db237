"""The form questions: every slot a form asks for can be asked, in the designers' words."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.prompts import PROMPTS_PATH, PromptFileError, SlotPrompt, load_prompts
from tests.actions.conftest import (
    Conversation,
    domain_dict,
    registered_actions,
    run_action,
    texts,
)

pytestmark = pytest.mark.usefixtures("action_env")


def form_slots() -> list[tuple[str, str]]:
    """(form, slot) for every required slot of every form in domain.yml."""
    forms = domain_dict()["forms"]
    return [(form, slot) for form, spec in forms.items() for slot in spec["required_slots"]]


def prompt_actions() -> list[SlotPrompt]:
    return [action for action in registered_actions().values() if isinstance(action, SlotPrompt)]


@pytest.mark.parametrize(("form", "slot"), form_slots())
def test_every_form_slot_has_a_question(form: str, slot: str) -> None:
    name = f"action_ask_{slot}"
    action = registered_actions().get(name)

    # Rasa asks with action_ask_<slot> when the domain lists it; there are no utter_ask_*.
    assert action is not None, f"{form} needs {name} (no action registers it)"
    assert name in domain_dict()["actions"], f"{name} must be listed in domain.yml"
    assert f"utter_ask_{slot}" not in domain_dict()["responses"]
    if isinstance(action, SlotPrompt):
        assert slot in load_prompts(), f"content/prompts.yml has no prompt for {slot!r}"


def test_only_the_step_question_is_custom() -> None:
    custom = {
        slot
        for _, slot in form_slots()
        if not isinstance(registered_actions()[f"action_ask_{slot}"], SlotPrompt)
    }

    # The step depends on the tree being walked; the code, whether a code was sent or tried;
    # the branch and the slot, the desk's branches and free slots.
    assert custom == {"step_answer", "resume_code", "appointment_branch", "appointment_slot"}


def test_every_prompt_belongs_to_a_form_slot() -> None:
    asked = {slot for _, slot in form_slots()}

    assert set(load_prompts()) <= asked


@pytest.mark.parametrize("action", prompt_actions(), ids=lambda action: action.name())
async def test_each_question_is_sent_as_written(action: SlotPrompt) -> None:
    prompt = load_prompts()[action.slot]

    events, messages = await run_action(action, Conversation().tracker())

    assert events == []
    assert texts(messages) == [prompt["text"]]
    assert messages[0]["buttons"] == prompt.get("buttons", [])


async def test_the_employment_question_offers_buttons() -> None:
    action = registered_actions()["action_ask_employment_type"]

    _, messages = await run_action(action, Conversation().tracker())

    assert [button["payload"] for button in messages[0]["buttons"]] == [
        "employed",
        "self-employed",
        "contractor",
        "retired",
        "other",
    ]


def test_the_real_prompts_file_loads() -> None:
    prompts = load_prompts(PROMPTS_PATH)

    assert all(isinstance(prompt["text"], str) and prompt["text"] for prompt in prompts.values())


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("- order_number\n- email\n", "expected a mapping of slot name to prompt"),
        ("", "expected a mapping of slot name to prompt"),
        ("order_number: What's your order number?\n", "prompt 'order_number' needs a 'text'"),
        ("email:\n  buttons: []\n", "prompt 'email' needs a 'text'"),
        ("email:\n  text: 42\n", "prompt 'email' needs a 'text'"),
        ("email:\n  text: 'unclosed\n", "not valid YAML"),
        ("email: {text: a\n", "not valid YAML"),
    ],
)
def test_a_broken_prompts_file_is_reported(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "prompts.yml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(PromptFileError, match=problem) as raised:
        load_prompts(path)

    assert str(path) in str(raised.value)


def test_a_missing_prompts_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "prompts.yml"

    with pytest.raises(PromptFileError, match="cannot read"):
        load_prompts(path)
