"""The questions forms ask, one `action_ask_<slot>` per slot, worded in content/prompts.yml."""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    SLOT_ANNUAL_INCOME,
    SLOT_APPLICANT_NAME,
    SLOT_CALLBACK_MESSAGE,
    SLOT_CSAT_COMMENT,
    SLOT_CSAT_RATING,
    SLOT_EMAIL,
    SLOT_EMPLOYMENT_TYPE,
    SLOT_ERROR_CODE,
    SLOT_LOAN_AMOUNT,
    SLOT_ORDER_NUMBER,
    SLOT_PROPERTY_VALUE,
    SLOT_TERM_YEARS,
)
from actions.failsafe import apologise_on_failure
from actions.settings import PROJECT_ROOT

PROMPTS_PATH = PROJECT_ROOT / "content" / "prompts.yml"


class PromptFileError(ValueError):
    """The prompts file is missing a prompt or is malformed."""


@lru_cache(maxsize=2)
def _prompts_at(path: Path, modified: float) -> dict[str, dict[str, Any]]:
    try:
        prompts = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise PromptFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(prompts, dict):
        raise PromptFileError(f"{path}: expected a mapping of slot name to prompt")
    for slot, prompt in prompts.items():
        if not isinstance(prompt, dict) or not isinstance(prompt.get("text"), str):
            raise PromptFileError(f"{path}: prompt '{slot}' needs a 'text'")
    return prompts


def load_prompts(path: Path = PROMPTS_PATH) -> dict[str, dict[str, Any]]:
    """The prompts, re-read whenever the file changes."""
    try:
        modified = path.stat().st_mtime
    except OSError as error:
        raise PromptFileError(f"{path}: cannot read the file: {error.strerror}") from error
    return _prompts_at(path, modified)


def ask(dispatcher: CollectingDispatcher, slot: str) -> None:
    """Sends the designers' question for a slot."""
    prompt = load_prompts().get(slot)
    if prompt is None:
        raise PromptFileError(f"{PROMPTS_PATH}: no prompt for '{slot}'")
    dispatcher.utter_message(text=prompt["text"], buttons=prompt.get("buttons") or [])


class SlotPrompt(Action, ABC):
    """Asks for one slot with the designers' wording."""

    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot this action asks for."""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ask(dispatcher, self.slot)
        return []


class ActionAskOrderNumber(SlotPrompt):
    slot = SLOT_ORDER_NUMBER


class ActionAskErrorCode(SlotPrompt):
    slot = SLOT_ERROR_CODE


class ActionAskApplicantName(SlotPrompt):
    slot = SLOT_APPLICANT_NAME


class ActionAskEmail(SlotPrompt):
    slot = SLOT_EMAIL


class ActionAskPropertyValue(SlotPrompt):
    slot = SLOT_PROPERTY_VALUE


class ActionAskLoanAmount(SlotPrompt):
    slot = SLOT_LOAN_AMOUNT


class ActionAskTermYears(SlotPrompt):
    slot = SLOT_TERM_YEARS


class ActionAskAnnualIncome(SlotPrompt):
    slot = SLOT_ANNUAL_INCOME


class ActionAskEmploymentType(SlotPrompt):
    slot = SLOT_EMPLOYMENT_TYPE


class ActionAskCsatRating(SlotPrompt):
    slot = SLOT_CSAT_RATING


class ActionAskCsatComment(SlotPrompt):
    slot = SLOT_CSAT_COMMENT


class ActionAskCallbackMessage(SlotPrompt):
    slot = SLOT_CALLBACK_MESSAGE
