"""The customer's mood over a conversation, from VADER compound scores."""

from __future__ import annotations

from collections.abc import Sequence

from contract.handoff_context import Sentiment, SentimentLabel
from sentimentsupport import compound

# VADER's documented thresholds for its compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
# Recency weighting: a message's weight halves for every HALF_LIFE_TURNS newer customer
# messages, so how the customer feels now counts more than how they started.
HALF_LIFE_TURNS = 3.0


def score_customer_sentiment(texts: Sequence[str]) -> Sentiment:
    """Weighted VADER compound score over the customer's messages, oldest first.

    Messages without words (empty, or a button payload such as `/affirm`) are not scored.
    With nothing to score the result is neutral 0.0 with `turns_scored` 0.
    """
    compounds = [score for score in map(compound, texts) if score is not None]
    if not compounds:
        return Sentiment(score=0.0, label=SentimentLabel.NEUTRAL, model="vader", turns_scored=0)
    score = round(_recency_weighted_mean(compounds), 4)
    return Sentiment(
        score=score, label=label_for(score), model="vader", turns_scored=len(compounds)
    )


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
