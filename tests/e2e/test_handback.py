"""Hand-back: the desk (played here through Rasa's HTTP API) returns the conversation to the bot,
which welcomes the customer back, asks for a rating, stores it with the handoff, and carries on.

These are the calls the desk makes (docs/desk-design.md): append the agent's slot updates and
`resume` to the tracker, then execute `action_welcome_back` (or `action_ask_callback`).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.client import BotClient, joined, new_sender

pytestmark = pytest.mark.e2e


def hand_back(bot: BotClient, sender: str, action: str, slots: dict[str, Any]) -> list[str]:
    """What the desk does at hand-back; returns the bot's messages to the customer."""
    events = [{"event": "slot", "name": name, "value": value} for name, value in slots.items()]
    events.append({"event": "resume"})
    appended = bot.http.post(
        f"{bot.rasa_url}/conversations/{sender}/tracker/events",
        params={"token": bot.rasa_auth_token},
        json=events,
        timeout=30,
    )
    assert appended.status_code == 200, appended.text
    executed = bot.http.post(
        f"{bot.rasa_url}/conversations/{sender}/execute",
        params={"token": bot.rasa_auth_token, "output_channel": "latest"},
        json={"name": action},
        timeout=30,
    )
    assert executed.status_code == 200, executed.text
    return [message.get("text", "") for message in executed.json()["messages"]]


def feedback(bot: BotClient, handoff_id: str) -> dict[str, Any]:
    response = bot.http.get(
        f"{bot.handoff_url}/{handoff_id}/feedback",
        headers={"Authorization": f"Bearer {bot.handoff_secret}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def slot(bot: BotClient, sender: str, name: str) -> Any:
    return bot.tracker(sender)["slots"].get(name)


def test_hand_back_asks_for_a_rating_stores_it_and_carries_on(bot: BotClient) -> None:
    sender = new_sender("handback")
    assert "order support team" in joined(bot.say(sender, "where is my order ORD-100005?"))
    handoff_id = bot.only_handoff_for(sender)["handoff_id"]
    assert bot.say(sender, "hello?") == []  # paused: the agent has the conversation

    welcome = hand_back(bot, sender, "action_welcome_back", {"order_lookup_failures": 0.0})

    assert any("welcome back" in text.lower() for text in welcome)
    assert any("from 1 (poor) to 5 (excellent)" in text for text in welcome)
    assert bot.tracker(sender)["paused"] is False
    assert "anything you'd like to add" in joined(bot.say(sender, "5"))
    assert "thank you for your feedback" in joined(bot.say(sender, "The agent was quick"))
    assert feedback(bot, handoff_id) == {"csat": {"rating": 5, "comment": "The agent was quick"}}
    assert slot(bot, sender, "handoff_id") is None

    # The bot carries on as usual, and a new handoff is possible again.
    assert "ORD-100002 has shipped" in " ".join(
        message.get("text", "") for message in bot.say(sender, "where is my order ORD-100002?")
    )
    assert "passing you to" in joined(bot.say(sender, "agent"))
    assert len(bot.handoffs_for(sender)) == 2


def test_a_rating_out_of_range_is_asked_again_and_no_comment_is_fine(bot: BotClient) -> None:
    sender = new_sender("handback-bad-rating")
    bot.say(sender, "I want to talk to a human")
    handoff_id = bot.only_handoff_for(sender)["handoff_id"]
    hand_back(bot, sender, "action_welcome_back", {})

    assert "choose a number from 1 (poor) to 5" in joined(bot.say(sender, "11"))
    assert "anything you'd like to add" in joined(bot.say(sender, "four"))
    assert "thank you for your feedback" in joined(bot.say(sender, "no thanks"))
    assert feedback(bot, handoff_id) == {"csat": {"rating": 4, "comment": None}}


def test_leaving_a_message_for_a_callback_stores_it_and_returns_to_the_bot(
    bot: BotClient,
) -> None:
    sender = new_sender("callback")
    bot.say(sender, "I want to talk to a human")
    handoff_id = bot.only_handoff_for(sender)["handoff_id"]

    question = hand_back(bot, sender, "action_ask_callback", {})

    assert any("leave your message" in text for text in question)
    reply = joined(bot.say(sender, "Please call me on Thursday after 5pm about my router"))
    assert "call you back" in reply
    assert feedback(bot, handoff_id) == {
        "callback": {"message": "Please call me on Thursday after 5pm about my router"}
    }
    assert "hi! i'm the support assistant" in joined(bot.say(sender, "hello"))


def test_cancelling_the_wait_tells_the_customer_and_returns_to_the_bot(bot: BotClient) -> None:
    sender = new_sender("cancel-wait")
    bot.say(sender, "I want to talk to a human")

    told = hand_back(bot, sender, "action_handoff_cancelled", {})

    assert any("cancelled your request for a person" in text for text in told)
    assert slot(bot, sender, "handoff_id") is None
    assert "passing you to" in joined(bot.say(sender, "agent"))
