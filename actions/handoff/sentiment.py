"""The customer's mood over a conversation, from VADER compound scores."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from contract.handoff_context import Sentiment, SentimentLabel

# VADER's documented thresholds for its compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
# VADER's cost grows with text length; the opening of a message carries its tone well enough,
# and a pasted 10,000-character log must not stall the action server.
MAX_CHARS_SCORED = 1_000
# Recency weighting: a message's weight halves for every HALF_LIFE_TURNS newer customer
# messages, so how the customer feels now counts more than how they started.
HALF_LIFE_TURNS = 3.0

_analyzer: SentimentIntensityAnalyzer | None = None
_analyzer_lock = threading.Lock()


def score_customer_sentiment(texts: Sequence[str]) -> Sentiment:
    """Weighted VADER compound score over the customer's messages, oldest first.

    Messages without words (empty, or a button payload such as `/affirm`) are not scored.
    With nothing to score the result is neutral 0.0 with `turns_scored` 0.
    """
    scorable = [text[:MAX_CHARS_SCORED] for text in texts if _has_words(text)]
    if not scorable:
        return Sentiment(score=0.0, label=SentimentLabel.NEUTRAL, model="vader", turns_scored=0)
    analyzer = _shared_analyzer()
    compounds = [float(analyzer.polarity_scores(text)["compound"]) for text in scorable]
    score = round(_recency_weighted_mean(compounds), 4)
    return Sentiment(score=score, label=label_for(score), model="vader", turns_scored=len(scorable))


def label_for(score: float) -> SentimentLabel:
    """VADER's standard label for a compound score."""
    if score >= POSITIVE_THRESHOLD:
        return SentimentLabel.POSITIVE
    if score <= NEGATIVE_THRESHOLD:
        return SentimentLabel.NEGATIVE
    return SentimentLabel.NEUTRAL


def recency_weights(count: int) -> list[float]:
    """Weights for `count` messages, oldest first; the newest weighs 1.0."""
    return [0.5 ** ((count - 1 - index) / HALF_LIFE_TURNS) for index in range(count)]


def _recency_weighted_mean(scores: Sequence[float]) -> float:
    weights = recency_weights(len(scores))
    mean = sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)
    return max(-1.0, min(1.0, mean))


def _has_words(text: str) -> bool:
    stripped = text.strip()
    # Button clicks reach Rasa as "/intent{...}" payloads, which say nothing about mood.
    return bool(stripped) and not stripped.startswith("/")


def _shared_analyzer() -> SentimentIntensityAnalyzer:
    # Building the analyzer reads VADER's lexicon from disk, so do it once, on first use, and
    # only once even if two worker threads get here together.
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer
