"""An NLU component that catches messages no classifier should guess at.

Empty, symbol-only (e.g. emoji) and over-long messages are turned into `nlu_fallback` with a
machine-readable reason, so the fallback action can tell the customer exactly what went wrong
instead of DIET confidently guessing an intent from noise.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

#: Key under which the reason lands in the message's parse data (and so in the tracker).
INPUT_GUARD_KEY = "input_guard"
FALLBACK_INTENT = "nlu_fallback"

REASON_EMPTY = "empty"
REASON_TOO_LONG = "too_long"
REASON_NO_WORDS = "no_words"


def classify_input(text: str | None, max_characters: int) -> str | None:
    """Returns why a message cannot be classified, or None when it can.

    Args:
        text: The customer's raw message.
        max_characters: Longest message the assistant reads.
    """
    if text is None or not text.strip():
        return REASON_EMPTY
    if len(text) > max_characters:
        return REASON_TOO_LONG
    # Emoji, punctuation and symbols carry no letters or digits at all.
    if not any(character.isalnum() for character in text):
        return REASON_NO_WORDS
    return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputGuard(GraphComponent):
    """Overrides the intent of messages that carry nothing to classify."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The longest message (in characters) that is classified normally."""
        return {"max_characters": 1000}

    def __init__(self, config: dict[str, Any]) -> None:
        self._max_characters = int(config["max_characters"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        """Creates the component (it has nothing to train)."""
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Marks unclassifiable messages as `nlu_fallback` with a reason."""
        for message in messages:
            reason = classify_input(message.get(TEXT), self._max_characters)
            if reason is None:
                continue
            intent = {"name": FALLBACK_INTENT, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
            message.set(INPUT_GUARD_KEY, {"reason": reason}, add_to_output=True)
        return messages
