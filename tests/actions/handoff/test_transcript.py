"""Transcripts from Rasa tracker events."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from actions.handoff.transcript import build_transcript, customer_texts
from contract.handoff_context import Speaker
from tests.support.handoff_examples import T0, action, bot, other, slot, user


def test_keeps_only_messages_in_order(order_delayed_events: list[dict[str, Any]]) -> None:
    turns = build_transcript(order_delayed_events)

    assert [turn.speaker for turn in turns] == [
        Speaker.CUSTOMER,
        Speaker.BOT,
        Speaker.CUSTOMER,
        Speaker.BOT,
        Speaker.BOT,
        Speaker.CUSTOMER,
    ]
    assert turns[0].text == "Hi, where is my order? It should have arrived by now"


def test_customer_turns_carry_intent_and_confidence(
    order_delayed_events: list[dict[str, Any]],
) -> None:
    first = build_transcript(order_delayed_events)[0]

    assert (first.intent, first.confidence) == ("check_order_status", 0.9731)
    assert first.action is None and first.buttons is None and first.agent_name is None


def test_bot_turn_action_prefers_the_recorded_response(
    order_delayed_events: list[dict[str, Any]],
) -> None:
    turns = build_transcript(order_delayed_events)

    # utter_ask_order_number was logged after the `order_form` action event: metadata wins.
    assert turns[1].action == "utter_ask_order_number"
    assert turns[4].action == "utter_offer_human"


def test_bot_turn_without_response_metadata_gets_the_preceding_action(
    order_delayed_events: list[dict[str, Any]],
) -> None:
    assert build_transcript(order_delayed_events)[3].action == "action_order_status"


def test_a_user_message_ends_the_previous_action() -> None:
    events = [
        action("action_greet", 0.0),
        user("hello", 1.0, "greet", 0.9),
        bot("stray message", 2.0),
    ]

    assert build_transcript(events)[1].action is None


def test_button_titles_are_kept(order_delayed_events: list[dict[str, Any]]) -> None:
    assert build_transcript(order_delayed_events)[4].buttons == ["Yes, please", "No, thanks"]


def test_agent_messages_become_agent_turns() -> None:
    events = [
        action("action_handoff", 0.0),
        bot("I'm passing you to our order support team.", 0.1),
        bot("Hi Jane, I'm Sam from order support.", 90.0, agent="Sam Patel"),
    ]

    turns = build_transcript(events)

    assert turns[1].speaker is Speaker.AGENT
    assert turns[1].agent_name == "Sam Patel"
    assert turns[1].action is None
    assert turns[0].speaker is Speaker.BOT


def test_timestamps_are_aware_utc(order_delayed_events: list[dict[str, Any]]) -> None:
    first = build_transcript(order_delayed_events)[0]

    assert first.timestamp == datetime(2025, 3, 14, 9, 30, 5, 200000, tzinfo=timezone.utc)
    assert first.timestamp.utcoffset() is not None


def test_missing_text_becomes_empty_and_missing_parse_data_no_intent() -> None:
    bare_user = {"event": "user", "timestamp": T0, "text": None}
    bare_bot = {"event": "bot", "timestamp": T0 + 1, "text": None}

    turns = build_transcript([bare_user, bare_bot])

    assert [turn.text for turn in turns] == ["", ""]
    assert turns[0].intent is None and turns[0].confidence is None
    assert turns[1].buttons is None


def test_an_event_without_timestamp_reuses_the_previous_one() -> None:
    events = [user("hi", 3.0, "greet", 0.9), {"event": "bot", "text": "hello"}]

    turns = build_transcript(events)

    assert turns[1].timestamp == turns[0].timestamp


def test_other_events_are_skipped() -> None:
    events = [
        other("session_started", 0.0),
        slot("email", "jane@example.com", 0.1),
        other("active_loop", 0.2, name="order_form"),
        other("user_featurization", 0.3, use_text_for_featurization=False),
        other("restart", 0.4),
    ]

    assert build_transcript(events) == []


def test_customer_texts(order_delayed_events: list[dict[str, Any]]) -> None:
    texts = customer_texts([*order_delayed_events, {"event": "user", "text": None}])

    assert texts == [
        "Hi, where is my order? It should have arrived by now",
        "ORD-204117",
        "Yes. This is really frustrating, I needed it for my daughter's birthday on Saturday!",
        "",
    ]
