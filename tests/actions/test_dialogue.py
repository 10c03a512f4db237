"""Questions about the conversation so far, answered from trackers as Rasa sends them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from actions.dialogue import (
    current_flow,
    event_time,
    last_executed_action,
    latest_event_time,
    latest_intent,
    latest_user_text,
    user_intents,
)
from actions.journeys import JOURNEYS
from tests.actions.conftest import T0, Conversation

# --- current_flow ---------------------------------------------------------------------------


def test_a_new_conversation_is_in_no_flow() -> None:
    assert current_flow(Conversation().user("hi", "greet").tracker(), JOURNEYS) == "none"


@pytest.mark.parametrize(
    ("form", "flow"),
    [
        ("order_form", "order_status"),
        ("troubleshooting_form", "troubleshooting"),
        ("mortgage_form", "mortgage"),
    ],
)
def test_the_active_form_is_the_flow(form: str, flow: str) -> None:
    conversation = (
        Conversation().ran("action_order_status").form(form, "x").user("agent", "request_human")
    )

    assert current_flow(conversation.tracker(), JOURNEYS) == flow


@pytest.mark.parametrize(
    ("action", "flow"),
    [
        ("action_order_status", "order_status"),
        ("action_start_troubleshooting", "troubleshooting"),
        ("action_submit_mortgage_application", "mortgage"),
    ],
)
def test_without_a_form_the_latest_journey_action_is_the_flow(action: str, flow: str) -> None:
    conversation = (
        Conversation()
        .user("where is ORD-100002?", "check_order_status")
        .form("order_form", "order_number")
        .ran("order_form", [{"event": "active_loop", "name": None}])
        .ran(action)
        .user("thanks", "thank")
        .ran("utter_you_are_welcome")
        .user("agent please", "request_human")
    )

    assert current_flow(conversation.tracker(), JOURNEYS) == flow


def test_asking_for_mortgage_advice_is_the_mortgage_flow_from_anywhere() -> None:
    conversation = (
        Conversation()
        .form("troubleshooting_form", "step_answer")
        .user("should I fix my mortgage rate for 5 years?", "ask_mortgage_advice")
    )

    assert current_flow(conversation.tracker(), JOURNEYS) == "mortgage"


def test_a_journey_before_starting_over_is_forgotten() -> None:
    conversation = (
        Conversation()
        .user("where is ORD-100002?", "check_order_status")
        .form("order_form", "order_number")
        .ran("action_order_status")
        .user("start over", "start_over")
        .ran("action_start_over", [{"event": "restart"}])
        .user("I want to talk to a person", "request_human")
    )

    assert current_flow(conversation.tracker(), JOURNEYS) == "none"


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
