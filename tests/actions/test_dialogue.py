"""Questions about the conversation so far, answered from trackers as Rasa sends them."""

from __future__ import annotations

from datetime import datetime, timezone

from actions.dialogue import (
    event_time,
    last_executed_action,
    latest_event_time,
    latest_intent,
    latest_user_text,
    user_intents,
)
from tests.actions.conftest import T0, Conversation

# --- last_executed_action, the latest message ----------------------------------------------------


def test_after_a_message_the_last_action_is_listening() -> None:
    tracker = Conversation().ran("action_order_status").user("yes", "affirm").tracker()

    assert last_executed_action(tracker) == "action_listen"


def test_between_actions_the_last_action_is_the_previous_one() -> None:
    tracker = Conversation().user("yes", "affirm").ran("action_order_status").tracker()

    assert last_executed_action(tracker) == "action_order_status"


def test_with_no_action_there_is_no_last_action() -> None:
    tracker = Conversation().tracker()
    tracker.events = [event for event in tracker.events if event["event"] != "action"]

    assert last_executed_action(tracker) is None


def test_the_latest_message_text_and_intent() -> None:
    tracker = (
        Conversation()
        .user("hi", "greet")
        .user("where is my order?", "check_order_status")
        .tracker()
    )

    assert latest_user_text(tracker) == "where is my order?"
    assert latest_intent(tracker) == "check_order_status"


def test_before_any_message_there_is_no_text_or_intent() -> None:
    tracker = Conversation().tracker()

    assert latest_user_text(tracker) == ""
    assert latest_intent(tracker) is None


# --- user_intents --------------------------------------------------------------------------


def test_user_intents_lists_every_message_oldest_first() -> None:
    conversation = (
        Conversation()
        .user("hi", "greet")
        .bot("Hi! What can I do for you?")
        .user("asdfgh", "nlu_fallback")
        .ran("action_nlu_fallback")
        .press("/affirm")
    )

    assert user_intents(conversation.tracker()) == ["greet", "nlu_fallback", "affirm"]


def test_user_intents_of_a_silent_conversation_is_empty() -> None:
    assert user_intents(Conversation().tracker()) == []


# --- Times ----------------------------------------------------------------------------------


def test_latest_event_time_is_an_aware_utc_datetime_of_that_kind() -> None:
    conversation = (
        Conversation().user("hi", "greet").bot("Hello!").user("my order?", "check_order_status")
    )
    tracker = conversation.tracker()
    users = [event["timestamp"] for event in tracker.events if event["event"] == "user"]
    bots = [event["timestamp"] for event in tracker.events if event["event"] == "bot"]

    user_time = latest_event_time(tracker, "user")
    bot_time = latest_event_time(tracker, "bot")

    assert user_time == datetime.fromtimestamp(users[-1], tz=timezone.utc)
    assert bot_time == datetime.fromtimestamp(bots[-1], tz=timezone.utc)
    assert user_time is not None and user_time.tzinfo == timezone.utc
    assert bot_time is not None and bot_time < user_time


def test_latest_event_time_is_none_when_there_is_no_such_event() -> None:
    assert latest_event_time(Conversation().user("hi", "greet").tracker(), "bot") is None


def test_event_time_reads_the_timestamp() -> None:
    assert event_time({"event": "user", "timestamp": T0}) == datetime(
        2025, 11, 24, 9, 0, tzinfo=timezone.utc
    )
