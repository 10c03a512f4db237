"""Reading one row of Rasa's tracker store."""

from __future__ import annotations

import json

import pytest

from analytics.tracker import Unparseable, parse_row


def test_a_fallback_turn_names_the_intent_ranked_first_below_the_threshold() -> None:
    data = {
        "input_channel": "socketio",
        "parse_data": {
            "intent": {"name": "nlu_fallback"},
            "intent_ranking": [{"name": "nlu_fallback"}, {"name": "check_order_status"}],
        },
    }
    event = parse_row(1, "s", "user", 1.7e9, "nlu_fallback", None, json.dumps(data))
    assert event is not None
    assert (event.name, event.channel, event.below_threshold) == (
        "nlu_fallback",
        "socketio",
        "check_order_status",
    )


def test_types_the_fold_does_not_read_are_skipped_unparsed() -> None:
    assert parse_row(1, "s", "user_featurization", 1.7e9, None, None, "{broken") is None


@pytest.mark.parametrize(
    ("sender", "kind", "timestamp", "action", "data", "reason"),
    [
        ("s", "user", 1.7e9, None, "{broken", "not JSON"),
        ("s", "user", 1.7e9, None, "[1]", "not a JSON object"),
        ("s", "user", 1.7e9, None, None, "no event data"),
        ("s", "slot", 1.7e9, "x", '{"value": 1}', "without a slot name"),
        ("s", "active_loop", 1.7e9, None, '{"name": 5}', "not text"),
        ("s", "action", 1.7e9, None, "{}", "without a name"),
        ("", "user", 1.7e9, None, "{}", "no sender_id"),
        ("s", "user", float("nan"), None, "{}", "no valid timestamp"),
        ("s", "user", 1e20, None, "{}", "out of range"),
        ("s", "user", 1.7e9, None, "[" * 100000, "not JSON"),
    ],
)
def test_a_row_that_cannot_be_read_says_why(
    sender: str, kind: str, timestamp: float, action: str | None, data: str | None, reason: str
) -> None:
    with pytest.raises(Unparseable, match=reason):
        parse_row(1, sender, kind, timestamp, None, action, data)
