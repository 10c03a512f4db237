"""The bot-only rating through the real Rasa server and action server: the form's rules,
rejection and return that the unit tests cannot run, and what the analytics read back."""

from __future__ import annotations

from typing import Any

import pytest

from contract.conversation_marks import FORM_BOT_CSAT, SLOT_BOT_CSAT_RATING
from tests.e2e.client import BotClient, joined, new_sender
from tests.e2e.test_handback import hand_back

pytestmark = pytest.mark.e2e

QUESTION = "how did i do, from 1 (poor) to 5 (excellent)?"
THANKS = "thank you!"


def rating_marks(bot: BotClient, sender: str) -> tuple[int, list[Any]]:
    """How often the tracker shows the rating asked (the form's activation), and the ratings
    set, as the analytics read them (`contract.conversation_marks`)."""
    events = bot.tracker(sender)["events"]
    asked = sum(1 for e in events if e["event"] == "active_loop" and e.get("name") == FORM_BOT_CSAT)
    rated = [
        e["value"]
        for e in events
        if e["event"] == "slot" and e["name"] == SLOT_BOT_CSAT_RATING and e["value"] is not None
    ]
    return asked, rated


def test_a_resolved_order_is_rated_once_per_session(bot: BotClient) -> None:
    sender = new_sender("bot-csat-rated")
    said = joined(bot.say(sender, "where is my order ORD-100002?"))
    assert "shipped" in said and QUESTION in said

    assert THANKS in joined(bot.say(sender, "4"))
    # A second resolved journey in the same session is not asked again.
    assert QUESTION not in joined(bot.say(sender, "where is my order ORD-100003?"))
    assert rating_marks(bot, sender) == (1, [4.0])


def test_a_fixed_problem_is_asked_and_a_bad_answer_gets_one_re_ask(bot: BotClient) -> None:
    sender = new_sender("bot-csat-fixed")
    bot.say(sender, "I keep getting E-1042")
    said = joined(bot.say(sender, "yes that fixed it"))
    assert "glad that fixed it" in said and QUESTION in said

    assert "i need a number from 1 (poor) to 5" in joined(bot.say(sender, "11"))
    ended = joined(bot.say(sender, "banana"))
    assert "no problem" in ended and "i need a number" not in ended
    assert rating_marks(bot, sender) == (1, [])


def test_skip_ends_the_question_without_fuss(bot: BotClient) -> None:
    sender = new_sender("bot-csat-skip")
    assert QUESTION in joined(bot.say(sender, "where is my order ORD-100002?"))

    said = joined(bot.say(sender, "skip"))

    assert "no problem" in said and QUESTION not in said
    assert rating_marks(bot, sender) == (1, [])


def test_a_new_request_instead_of_a_rating_is_served(bot: BotClient) -> None:
    sender = new_sender("bot-csat-moved-on")
    assert QUESTION in joined(bot.say(sender, "where is my order ORD-100002?"))

    said = joined(bot.say(sender, "I keep getting E-1042"))

    assert "step 1 of" in said and QUESTION not in said
    assert rating_marks(bot, sender) == (1, [])


def test_thanks_instead_of_a_rating_is_answered_and_the_question_dropped(bot: BotClient) -> None:
    sender = new_sender("bot-csat-thanks")
    assert QUESTION in joined(bot.say(sender, "where is my order ORD-100002?"))

    said = joined(bot.say(sender, "thanks"))

    assert "you're welcome" in said and QUESTION not in said and "no problem" not in said
    assert "hi! i'm the support assistant" in joined(bot.say(sender, "hello"))
    assert rating_marks(bot, sender) == (1, [])


def test_not_asked_after_a_handoff(bot: BotClient) -> None:
    sender = new_sender("bot-csat-after-handoff")
    assert "order support team" in joined(bot.say(sender, "where is my order ORD-100005?"))
    bot.only_handoff_for(sender)
    hand_back(bot, sender, "action_welcome_back", {})
    assert "thank you for your feedback" in joined(bot.say(sender, "5") + bot.say(sender, "no"))

    said = joined(bot.say(sender, "where is my order ORD-100002?"))

    assert "shipped" in said and QUESTION not in said
    assert rating_marks(bot, sender) == (0, [])
