"""`StrongSignals`: a message that carries an order number, an error code or an application
reference goes to that journey, whatever the classifier guessed.

DIET reads words; a customer's "hi, any update on #482910" or "app says E 3305" has few of the
words it learnt, and so got the generic fallback, or another journey. The number itself is
the strongest evidence there is. Each signal (config.yml) is an intent, the patterns that
show it, and the intents that may carry the same token and are kept when DIET chose them
confidently: "refund for ORD-104233" stays a refund, "cancel order 104233" a cancellation.
Otherwise the signal's intent is put first in the ranking, with confidence 1.0.

It runs after DIET, the regex entity extractor and the FallbackClassifier, so a message the
fallback gave up on is classified by its signal too. A message the input screen refused only
because its words are unknown (`unknown_words`, e.g. "ordr#482910 ??") is classified by its
signal; markup, SQL and other refusals stand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.components.configured import ConfiguredComponent
from assistant.components.input_guard import INPUT_GUARD_KEY, REASON_UNKNOWN_WORDS

#: Key under which the signal that decided the intent lands in the parse data.
SIGNAL_KEY = "signal"


@dataclass(frozen=True)
class Signal:
    """One signal: the intent it shows, its patterns, and the intents it leaves alone."""

    intent: str
    patterns: tuple[re.Pattern[str], ...]
    keeps: frozenset[str]

    def found_in(self, text: str) -> str | None:
        """The first token of `text` that shows this signal."""
        for pattern in self.patterns:
            match = pattern.search(text)
            if match:
                return match.group(0)
        return None


class SignalConfigError(ValueError):
    """The component's configuration in config.yml is not valid."""


def parse_signals(raw: Any) -> tuple[Signal, ...]:
    """The `signals` setting, checked: every entry an intent, at least one pattern that
    compiles, and a list of intents to keep."""
    if not isinstance(raw, list) or not raw:
        raise SignalConfigError("StrongSignals: `signals` must be a non-empty list")
    signals = []
    for number, entry in enumerate(raw, start=1):
        where = f"StrongSignals: signal {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("intent"), str):
            raise SignalConfigError(f"{where}: needs `intent`, `patterns` and `keeps`")
        patterns = entry.get("patterns")
        if not isinstance(patterns, list) or not patterns:
            raise SignalConfigError(f"{where} ({entry['intent']}): `patterns` must be a list")
        try:
            compiled = tuple(re.compile(str(p), re.IGNORECASE) for p in patterns)
        except re.error as error:
            raise SignalConfigError(f"{where} ({entry['intent']}): {error}") from error
        keeps = entry.get("keeps", [])
        if not isinstance(keeps, list):
            raise SignalConfigError(f"{where} ({entry['intent']}): `keeps` must be a list")
        signals.append(Signal(entry["intent"], compiled, frozenset(map(str, keeps))))
    return tuple(signals)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class StrongSignals(ConfiguredComponent):
    """Puts the intent of an order number, error code or reference in the message first."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`threshold`: a kept intent needs at least this confidence (the FallbackClassifier's
        threshold); `signals`: see the module's documentation."""
        return {"threshold": 0.55, "signals": []}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._threshold = float(config["threshold"])
        self.signals = parse_signals(config["signals"])

    def process(self, messages: list[Message]) -> list[Message]:
        """Classifies each message that carries a signal by it."""
        for message in messages:
            self._classify(message)
        return messages

    def _classify(self, message: Message) -> None:
        guard = message.get(INPUT_GUARD_KEY) or {}
        if guard and guard.get("reason") != REASON_UNKNOWN_WORDS:
            return
        text = str(message.get(TEXT) or "")
        intent = message.get(INTENT) or {}
        for signal in self.signals:
            token = signal.found_in(text)
            if token is None:
                continue
            if intent.get("name") == signal.intent or (
                intent.get("name") in signal.keeps
                and float(intent.get("confidence") or 0) >= self._threshold
                and not guard
            ):
                return
            chosen = {"name": signal.intent, "confidence": 1.0}
            ranking = [
                entry
                for entry in message.get(INTENT_RANKING_KEY) or []
                if entry.get("name") != signal.intent
            ]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
            message.set(SIGNAL_KEY, {"intent": signal.intent, "token": token}, add_to_output=True)
            if guard:
                message.set(INPUT_GUARD_KEY, None, add_to_output=True)
            return
