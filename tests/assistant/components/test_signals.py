"""`StrongSignals`: an order number, an error code or a reference decides the journey."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.components.input_guard import INPUT_GUARD_KEY
from assistant.components.signals import (
    SIGNAL_KEY,
    SignalConfigError,
    StrongSignals,
    parse_signals,
)

CONFIG = Path(__file__).resolve().parents[3] / "config.yml"


@pytest.fixture(scope="module")
def signals() -> StrongSignals:
    """The component as config.yml configures it."""
    pipeline = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["pipeline"]
    [settings] = [c for c in pipeline if c["name"].endswith("signals.StrongSignals")]
    return StrongSignals({**StrongSignals.get_default_config(), **settings})


def classified(
    component: StrongSignals, text: str, intent: str, confidence: float, **data: Any
) -> Message:
    message = Message(data={TEXT: text, **data})
    message.set(INTENT, {"name": intent, "confidence": confidence})
    message.set(
        INTENT_RANKING_KEY,
        [{"name": intent, "confidence": confidence}, {"name": "greet", "confidence": 0.3}],
    )
    [out] = component.process([message])
    return out


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hi, any update on #482910", "check_order_status"),
        ("wheres ORD-104233", "check_order_status"),
        ("ord 104233 still not here", "check_order_status"),
        ("locate order 00123842", "check_order_status"),
        ("purchase no. 0000123 hasn't come", "check_order_status"),
        ("app says E 3305", "report_error_code"),
        ("e-1042 again!!", "report_error_code"),
        ("error code 4150 on the hub", "report_error_code"),
        ("mtg-4p8x2 any update", "resume_application"),
    ],
)
@pytest.mark.parametrize("guessed", [("nlu_fallback", 0.55), ("greet", 0.9), ("out_of_scope", 0.8)])
def test_a_signal_decides_the_intent_over_a_fallback_or_an_unrelated_guess(
    signals: StrongSignals, text: str, intent: str, guessed: tuple[str, float]
) -> None:
    message = classified(signals, text, *guessed)
    assert message.get(INTENT) == {"name": intent, "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY)[0] == {"name": intent, "confidence": 1.0}
    assert message.get(SIGNAL_KEY)["intent"] == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want a refund for ORD-104233", "ask_refund"),
        ("please cancel order 104233", "ask_cancellation"),
        ("get me a person about ORD-104233", "request_human"),
        ("the invoice for #482910 is wrong", "ask_invoice_payment"),
        ("no, still E-1042", "deny"),
    ],
)
def test_an_intent_that_may_carry_the_token_stays_when_it_is_confident(
    signals: StrongSignals, text: str, intent: str
) -> None:
    message = classified(signals, text, intent, 0.9)
    assert message.get(INTENT)["name"] == intent
    assert message.get(SIGNAL_KEY) is None


def test_an_unsure_kept_intent_gives_way_to_the_signal(signals: StrongSignals) -> None:
    message = classified(signals, "refund ORD-104233?", "ask_refund", 0.4)
    assert message.get(INTENT)["name"] == "check_order_status"


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to borrow 250000 over 25 years",
        "my deposit is £40,000",
        "book me in for 10:30",
        "Everything is fine, thanks",
        "order a pizza",
        "call me on 07700 900123",
    ],
)
def test_numbers_that_are_no_signal_change_nothing(signals: StrongSignals, text: str) -> None:
    message = classified(signals, text, "inform", 0.3)
    assert message.get(INTENT)["name"] == "inform"


def test_unknown_words_give_way_to_a_signal_but_markup_does_not(signals: StrongSignals) -> None:
    unknown = classified(
        signals,
        "wherz ORD-104233 ??",
        "nlu_fallback",
        1.0,
        **{INPUT_GUARD_KEY: {"reason": "unknown_words"}},
    )
    assert unknown.get(INTENT)["name"] == "check_order_status"
    assert unknown.get(INPUT_GUARD_KEY) is None
    markup = classified(
        signals, "<b>ORD-104233</b>", "nlu_fallback", 1.0, **{INPUT_GUARD_KEY: {"reason": "markup"}}
    )
    assert markup.get(INTENT)["name"] == "nlu_fallback"
    assert markup.get(INPUT_GUARD_KEY) == {"reason": "markup"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "non-empty list"),
        ([{"patterns": ["x"]}], "needs `intent`"),
        ([{"intent": "a", "patterns": []}], "`patterns` must be a list"),
        ([{"intent": "a", "patterns": ["(unclosed"]}], "missing \\)"),
        ([{"intent": "a", "patterns": ["x"], "keeps": "b"}], "`keeps` must be a list"),
    ],
)
def test_a_broken_configuration_is_refused_with_a_message(raw: Any, message: str) -> None:
    with pytest.raises(SignalConfigError, match=message):
        parse_signals(raw)
