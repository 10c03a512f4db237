"""Customer sentiment with VADER."""

from __future__ import annotations

import time

import pytest

import sentimentsupport
from actions.handoff.sentiment import label_for, recency_weights, score_customer_sentiment
from contract.handoff_context import SentimentLabel
from sentimentsupport import MAX_CHARS_SCORED

HAPPY = "Thanks so much, that's great, you've been really helpful!"
ANGRY = "This is terrible. I'm furious, worst service ever!"


def test_nothing_to_score_is_neutral() -> None:
    result = score_customer_sentiment([])

    assert (result.score, result.label, result.turns_scored) == (0.0, SentimentLabel.NEUTRAL, 0)
    assert result.model == "vader"


def test_button_payloads_and_blank_messages_are_not_scored() -> None:
    result = score_customer_sentiment(["/affirm", "   ", "", '/inform{"email": "x"}'])

    assert result.turns_scored == 0
    assert result.label is SentimentLabel.NEUTRAL


@pytest.mark.parametrize(
    ("texts", "label"),
    [
        ([HAPPY], SentimentLabel.POSITIVE),
        ([ANGRY], SentimentLabel.NEGATIVE),
        (["Where is my parcel?", "It was shipped on Tuesday"], SentimentLabel.NEUTRAL),
    ],
)
def test_labels(texts: list[str], label: SentimentLabel) -> None:
    assert score_customer_sentiment(texts).label is label


def test_labels_use_vaders_thresholds() -> None:
    assert label_for(0.05) is SentimentLabel.POSITIVE
    assert label_for(0.0499) is SentimentLabel.NEUTRAL
    assert label_for(-0.0499) is SentimentLabel.NEUTRAL
    assert label_for(-0.05) is SentimentLabel.NEGATIVE


def test_recent_messages_weigh_more() -> None:
    calmed_down = score_customer_sentiment([ANGRY, HAPPY])
    got_angry = score_customer_sentiment([HAPPY, ANGRY])

    assert calmed_down.score > 0 > got_angry.score
    assert calmed_down.turns_scored == got_angry.turns_scored == 2


def test_weights_halve_every_three_messages() -> None:
    weights = recency_weights(4)

    assert weights[-1] == 1.0
    assert weights[0] == pytest.approx(0.5)
    assert weights == sorted(weights)


def test_score_stays_within_bounds() -> None:
    result = score_customer_sentiment([ANGRY] * 20)

    assert -1.0 <= result.score <= -0.5


def test_a_very_long_message_is_capped_and_fast() -> None:
    long_text = ("The router keeps dropping the connection and I am annoyed. " * 200)[:10_000]

    started = time.perf_counter()
    result = score_customer_sentiment([long_text])
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert result == score_customer_sentiment([long_text[:MAX_CHARS_SCORED]])


def test_the_analyzer_is_created_once() -> None:
    score_customer_sentiment([HAPPY])
    first = sentimentsupport._shared_analyzer()
    score_customer_sentiment([ANGRY])

    assert sentimentsupport._shared_analyzer() is first
