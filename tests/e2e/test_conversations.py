"""Conversations that wander: a topic switch mid-intake, and input the bot cannot use."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.client import BotClient, joined, new_sender, texts
from tests.e2e.environment import E2EEnvironment
from tests.e2e.scripts import APPLICATION_REFERENCE, MORTGAGE_ANSWERS

pytestmark = pytest.mark.e2e

EMAIL_QUESTION = "what email address"


def test_order_question_mid_intake_then_back_to_the_intake(bot: BotClient) -> None:
    sender = new_sender("topic-switch")
    bot.say(sender, "I want to apply for a mortgage")
    name, *rest = MORTGAGE_ANSWERS
    assert EMAIL_QUESTION in joined(bot.say(sender, name))

    replies = texts(bot.say(sender, "where is my order ORD-100002?"))
    said = "\n".join(replies).lower()
    assert "ord-100002" in said and "shipped" in said and "dhl" in said
    assert "back to your mortgage application" in said
    assert EMAIL_QUESTION in replies[-1].lower(), "the intake resumes at the open question"

    answers = [bot.say(sender, answer) for answer in rest]
    confirmation = "\n".join(texts(answers[-1]))
    assert APPLICATION_REFERENCE.search(confirmation), f"no reference in {confirmation!r}"
    assert "Jane Smith" in confirmation
    assert bot.handoffs_for(sender) == []


# Each message on its own, in a fresh conversation, and a key phrase of the specific reply.
UNUSABLE_MESSAGES = [
    pytest.param("x" * 10_000, "long message", id="10000-characters"),
    pytest.param("😀🙏", "only read words", id="emoji"),
    pytest.param("¿Dónde está mi pedido?", "only chat in english", id="spanish"),
    pytest.param("<script>alert(1)</script>", "code or markup", id="markup"),
    pytest.param("'; DROP TABLE orders; --", "code or markup", id="sql"),
]


@pytest.mark.parametrize(("message", "key_phrase"), UNUSABLE_MESSAGES)
def test_unusable_message_gets_a_specific_reply(
    bot: BotClient, message: str, key_phrase: str
) -> None:
    replies = bot.say(new_sender("bad-input"), message)
    assert replies, "silence"
    assert key_phrase in joined(replies)


@pytest.mark.parametrize("message", ["", "   ", "\n\t"], ids=["empty", "blank", "whitespace"])
def test_an_empty_message_is_ignored_silently(bot: BotClient, message: str) -> None:
    # What a widget sends when it opens without an `initPayload`: nobody said anything.
    sender = new_sender("empty")

    assert bot.say(sender, message) == []
    assert bot.say(sender, "hi"), "silence after an empty message"


def test_malformed_order_numbers_are_explained_in_the_lookup(bot: BotClient) -> None:
    sender = new_sender("bad-order-number")
    assert "order number" in joined(bot.say(sender, "where is my order"))
    for typed in ("ORD-12A", "12"):
        said = joined(bot.say(sender, typed))
        assert f'"{typed.lower()}" doesn\'t look like one of our order numbers' in said
        assert "ord- followed by 6 digits" in said
    assert "shipped" in joined(bot.say(sender, "ORD-100002"))


def test_impossible_amounts_are_explained_in_the_mortgage_form(bot: BotClient) -> None:
    sender = new_sender("bad-amount")
    bot.say(sender, "I want to apply for a mortgage")
    bot.say(sender, "Jane Smith")
    assert "property worth" in joined(bot.say(sender, "jane@example.com"))

    negative = joined(bot.say(sender, "-5000"))
    assert "more than zero" in negative and "property worth" in negative
    absurd = joined(bot.say(sender, "999999999999"))
    assert "£20,000,000" in absurd and "property worth" in absurd

    assert "how much would you like to borrow" in joined(bot.say(sender, "250k"))
    assert "more than zero" in joined(bot.say(sender, "-5000"))
    assert "less than the property value" in joined(bot.say(sender, "999999999999"))
    assert "loan-to-value of 80.0%" in joined(bot.say(sender, "200k"))


def test_answers_made_of_words_the_bot_never_saw_still_fill_the_intake(bot: BotClient) -> None:
    # Outside a form such words are screened as not understood; inside it they are answers.
    sender = new_sender("unseen-words")
    bot.say(sender, "I want to apply for a mortgage")
    assert EMAIL_QUESTION in joined(bot.say(sender, "Okonkwo Adebayo"))
    for answer in ("okonkwo@example.com", "£300,000", "240k", "30 years", "70k"):
        bot.say(sender, answer)
    reply = " ".join(texts(bot.say(sender, "freelancer")))
    assert APPLICATION_REFERENCE.search(reply), reply
    assert "Okonkwo Adebayo" in reply


def test_servers_answer_normally_after_unusable_input(
    bot: BotClient, e2e_env: E2EEnvironment
) -> None:
    sender = new_sender("after-bad-input")
    assert bot.say(sender, "") == []  # ignored
    for message in ("x" * 10_000, "'; DROP TABLE orders; --", "😀🙏"):
        assert bot.say(sender, message)
    assert "carry on" in joined(bot.say(sender, "no thanks"))  # declines the offered person

    said = joined(bot.say(new_sender("healthy"), "where is my order ORD-100003?"))
    assert "out for delivery" in said
    health = requests.get(f"{e2e_env.action_server_url}/health", timeout=10)
    assert health.status_code == 200
