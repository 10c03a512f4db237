"""NLU components that catch messages no classifier should guess at.

Two components bracket the pipeline (see config.yml):

- `InputScreen` runs first. It decides whether a message can be classified at all: empty,
  symbol-only (e.g. emoji), over-long, written in another language, looking like markup or
  SQL, or made only of words the assistant was never trained on (gibberish such as "blorp
  fizzle wug", which DIET would otherwise classify with false confidence). An over-long message
  is cut to the limit for the rest of the pipeline, so a 10,000 character message costs no more
  than a 1,000 character one (the tracker keeps the original). It learns the vocabulary from
  the NLU training examples.
- `InputVerdict` runs last. For a screened message it overrides whatever the classifiers
  guessed with `nlu_fallback`, and records the reason in the parse data (`input_guard`), where
  the fallback action reads it to tell the customer exactly what went wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.components.configured import ConfiguredComponent

#: Key under which the reason lands in the message's parse data (and so in the tracker).
INPUT_GUARD_KEY = "input_guard"
FALLBACK_INTENT = "nlu_fallback"

REASON_EMPTY = "empty"
REASON_TOO_LONG = "too_long"
REASON_NO_WORDS = "no_words"
REASON_OTHER_LANGUAGE = "other_language"
REASON_MARKUP = "markup"
REASON_UNKNOWN_WORDS = "unknown_words"

VOCABULARY_FILE = "vocabulary.json"

_MARKUP_OR_CODE = re.compile(
    r"<\s*/?\s*[a-z][a-z0-9]*(\s[^<>]*)?/?>"  # an HTML/XML tag
    # SQL: statement shapes, not single words ("update my address from..." is English). A
    # statement ends in WHERE or ";": "select a slot from tomorrow" is English too.
    r"|\bselect\s+(\*|[\w,\s]{1,80}?\s+from\s+\w+\s*(where|;))|\bdrop\s+table\b"
    r"|\binsert\s+into\b|\bunion\s+(all\s+)?select\b|\bdelete\s+from\s+\w+\s*(where|;)"
    r"|\bupdate\s+\w+\s+set\s+\w+\s*=|'\s*or\s+'?\d+'?\s*=\s*'?\d+|;\s*--"
    r"|\{\{|\$\{|javascript:",
    re.IGNORECASE,
)
# Function words that tell English apart from the languages customers most often write in.
_ENGLISH_WORDS = frozenset(
    "a an the i you my me is are was it this that to for of and or not no yes can do what "
    "where when how why please help order error code mortgage with on in have has hi hello "
    "thanks thank ok okay".split()
)
_FOREIGN_WORDS = frozenset(
    "el la los las es está esta donde dónde mi pedido por favor hola gracias quiero "
    "und der die das ist nicht ich wo meine bestellung bitte hallo danke "
    "je suis le les une des pas pour où ou est ma commande bonjour merci "
    "il della sono non mio dove ciao grazie ordine "
    "het een niet mijn waar bestelling bedankt "
    "onde meu obrigado olá".split()
)
_WORD = re.compile(r"[^\W\d_]+")
# Digits (order numbers, amounts, codes) and e-mail addresses are answers, not gibberish.
_DATA_LIKE = re.compile(r"[\d@]")


def words_of(text: str) -> set[str]:
    """The lower-case words of a text (letters only)."""
    return set(_WORD.findall(text.lower()))


def only_unknown_words(text: str, vocabulary: frozenset[str]) -> bool:
    """True when the text has words and none of them was ever seen in training."""
    if not vocabulary or _DATA_LIKE.search(text):
        return False
    words = words_of(text)
    return bool(words) and not (words & vocabulary)


def looks_like_another_language(text: str) -> bool:
    """Mostly non-Latin letters, or foreign function words and no English ones.

    A single foreign word among other words is more likely part of a name ("Pieter van der
    Berg", "Maria della Rosa"), so it takes two, or a message of foreign words only ("hola").
    """
    letters = [character for character in text if character.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for character in letters if ord(character) > 0x24F)
    if non_latin / len(letters) > 0.3:
        return True
    words = set(_WORD.findall(text.lower()))
    foreign = words & _FOREIGN_WORDS
    if not foreign or words & _ENGLISH_WORDS:
        return False
    return len(foreign) >= 2 or foreign == words


def screen_input(
    text: str | None, max_characters: int, vocabulary: frozenset[str] = frozenset()
) -> str | None:
    """Why a message cannot be classified, or None when it can.

    Args:
        text: The customer's raw message.
        max_characters: Longest message the assistant reads.
        vocabulary: Words of the training examples (empty: the check is off).
    """
    if text is None or not text.strip():
        return REASON_EMPTY
    if len(text) > max_characters:
        return REASON_TOO_LONG
    # Emoji, punctuation and symbols carry no letters or digits at all.
    if not any(character.isalnum() for character in text):
        return REASON_NO_WORDS
    if text.startswith("/"):
        return None  # an intent payload from a button, e.g. "/affirm"
    if _MARKUP_OR_CODE.search(text):
        return REASON_MARKUP
    if looks_like_another_language(text):
        return REASON_OTHER_LANGUAGE
    if only_unknown_words(text, vocabulary):
        return REASON_UNKNOWN_WORDS
    return None


class _GuardComponent(ConfiguredComponent):
    """Shared construction: both components take the same `max_characters` setting."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The longest message (in characters) that is classified normally."""
        return {"max_characters": 1000}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._max_characters = int(config["max_characters"])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class InputScreen(_GuardComponent):
    """First in the pipeline: screens the message and cuts an over-long one to the limit."""

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage | None = None,
        resource: Resource | None = None,
        vocabulary: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(config)
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        """Creates an untrained screen (no vocabulary yet)."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Learns the words of the NLU training examples."""
        vocabulary: set[str] = set()
        for example in training_data.training_examples:
            vocabulary |= words_of(example.get(TEXT) or "")
        self.vocabulary = frozenset(vocabulary)
        if self._model_storage is None or self._resource is None:
            raise RuntimeError("InputScreen was created without model storage")
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(sorted(vocabulary)))
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> GraphComponent:
        """Loads the vocabulary learnt in training."""
        with model_storage.read_from(resource) as directory:
            words = json.loads((directory / VOCABULARY_FILE).read_text())
        return cls(config, model_storage, resource, frozenset(words))

    def process(self, messages: list[Message]) -> list[Message]:
        """Records why a message cannot be classified (if it cannot)."""
        for message in messages:
            text = message.get(TEXT)
            reason = screen_input(text, self._max_characters, self.vocabulary)
            if reason is None:
                continue
            message.set(INPUT_GUARD_KEY, {"reason": reason}, add_to_output=True)
            if reason == REASON_TOO_LONG:
                message.set(TEXT, text[: self._max_characters])
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputVerdict(_GuardComponent):
    """Last in the pipeline: screened messages become `nlu_fallback`, whatever was guessed."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Overrides the intent of screened messages."""
        for message in messages:
            if not message.get(INPUT_GUARD_KEY):
                continue
            intent = {"name": FALLBACK_INTENT, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
