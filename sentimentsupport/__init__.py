"""How a customer's message reads, as one VADER compound score in [-1, 1].

One scorer for everyone who scores customer text: the handoff context's sentiment (the action
server, `actions.handoff.sentiment`) and the journey map's emotion curve (the analytics fold).
Messages without words (empty, or a button payload such as `/affirm`) are not scored.
"""

from __future__ import annotations

import threading
from typing import Final

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

#: VADER's cost grows with text length; the opening of a message carries its tone well enough,
#: and a pasted 10,000-character log must not stall the caller.
MAX_CHARS_SCORED: Final = 1_000

_analyzer: SentimentIntensityAnalyzer | None = None
_analyzer_lock = threading.Lock()


def has_words(text: str) -> bool:
    """Whether `text` says something to score (a button click's "/intent{...}" does not)."""
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("/")


def compound(text: str) -> float | None:
    """VADER's compound score of `text` (its first MAX_CHARS_SCORED characters); None when
    it has no words."""
    if not has_words(text):
        return None
    return float(_shared_analyzer().polarity_scores(text[:MAX_CHARS_SCORED])["compound"])


def _shared_analyzer() -> SentimentIntensityAnalyzer:
    # Building the analyzer reads VADER's lexicon from disk, so do it once, on first use, and
    # only once even if two worker threads get here together.
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer
