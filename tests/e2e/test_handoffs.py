"""Every kind of handoff, over Rasa's REST channel, as the desk (the recording endpoint) gets it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from actions.troubleshooting_trees import load_troubleshooting_catalog
from contract.schema import validate_payload
from tests.e2e.client import BotClient, joined, new_sender, texts
from tests.e2e.environment import E2EEnvironment
from tests.e2e.scripts import (
    APPLICATION_REFERENCE,
    MORTGAGE_ANSWERS,
    OFFER_OF_A_PERSON,
    PRIORITIES,
    TREES_PATH,
)

pytestmark = pytest.mark.e2e


def converse(bot: BotClient, sender: str, *messages: str) -> list[list[dict[str, Any]]]:
    """Send the messages in order; the replies to each."""
    return [bot.say(sender, message) for message in messages]


def handoff_of(bot: BotClient, sender: str) -> dict[str, Any]:
    """The one handoff the desk has for this conversation, checked against the contract."""
    context = bot.only_handoff_for(sender)
    assert validate_payload(context) == []
    assert context["conversation"]["sender_id"] == sender
    assert context["conversation"]["channel"] == "rest"
    return context


def assert_trigger(context: dict[str, Any], trigger_type: str, reason: str, queue: str) -> None:
    """The trigger and the queue the desk routes it to."""
    assert (context["trigger"]["type"], context["trigger"]["reason_code"]) == (trigger_type, reason)
    assert context["routing"]["queue"] == queue


def when(value: str) -> datetime:
    """A contract timestamp."""
    return datetime.fromisoformat(value)


def test_delayed_order_goes_to_order_support(bot: BotClient) -> None:
    sender = new_sender("delayed")
    replies = bot.say(sender, "where is my order ORD-100005?")

    said = joined(replies)
    assert "sorry" in said and "delayed" in said and "ord-100005" in said
    assert "order support team" in texts(replies)[-1].lower()

    context = handoff_of(bot, sender)
    assert_trigger(context, "business_rule", "order_delayed", "order_support")
    assert context["flow"] == "order_status"
    order = context["evidence"]["order"]
    assert order["order_number"] == "ORD-100005"
    assert order["status"] == "delayed"
    assert order["tracking_events"], "the desk needs the carrier's scans"
    assert order["tracking_events"][-1]["status"] == "delayed"
    assert [a["outcome"] for a in context["attempts"]] == ["found"]


def test_lost_order_goes_to_order_support_with_a_higher_priority(bot: BotClient) -> None:
    delayed, lost = new_sender("delayed"), new_sender("lost")
    bot.say(delayed, "where is my order ORD-100005?")
    assert bot.say(lost, "where is my package")  # the bot asks for the number
    replies = bot.say(lost, "ORD-100006")

    said = joined(replies)
    assert "sorry" in said and "lost" in said and "order support team" in said

    context = handoff_of(bot, lost)
    assert_trigger(context, "business_rule", "order_lost", "order_support")
    assert context["evidence"]["order"]["status"] == "lost"
    delayed_priority = handoff_of(bot, delayed)["routing"]["priority"]
    assert PRIORITIES.index(context["routing"]["priority"]) > PRIORITIES.index(delayed_priority)


def test_order_not_found_twice_then_yes(bot: BotClient) -> None:
    sender = new_sender("not-found")
    _, first, second = converse(bot, sender, "where is my order", "ORD-999998", "ORD-999999")
    assert "couldn't find an order ord-999998" in joined(first)
    assert OFFER_OF_A_PERSON in joined(second)
    assert bot.handoffs_for(sender) == [], "only an offer so far"

    replies = bot.say(sender, "yes")
    assert "order support team" in joined(replies)

    context = handoff_of(bot, sender)
    assert_trigger(context, "user_request", "order_not_found", "order_support")
    lookups = [(a["kind"], a["label"], a["outcome"]) for a in context["attempts"]]
    assert lookups == [
        ("order_lookup", "ORD-999998", "not_found"),
        ("order_lookup", "ORD-999999", "not_found"),
    ]
    assert context["evidence"]["order"] is None


def test_troubleshooting_cycle_limit_goes_to_level_2(bot: BotClient) -> None:
    catalog = load_troubleshooting_catalog(TREES_PATH)
    tree = catalog.trees["E-1042"]
    answers = len(tree.steps) * catalog.cycle_limit
    sender = new_sender("cycle-limit")

    first = bot.say(sender, "I keep getting E-1042")
    assert "step 1 of" in joined(first)
    for number in range(1, answers):
        replies = bot.say(sender, "no")
        assert replies, f"no reply to answer {number}"
        assert bot.handoffs_for(sender) == [], f"handed off after only {number} answers"
    last = bot.say(sender, "no")

    said = joined(last)
    assert f"every step {catalog.cycle_limit} times" in said
    assert "technical support" in said

    context = handoff_of(bot, sender)
    assert_trigger(context, "cycle_limit", "cycle_limit", "tech_support_l2")
    attempts = context["attempts"]
    assert len(attempts) == answers
    expected = [
        (cycle, position, step.id)
        for cycle in range(1, catalog.cycle_limit + 1)
        for position, step in enumerate(tree.steps, start=1)
    ]
    assert [(a["cycle"], a["step"], a["label"]) for a in attempts] == expected
    assert {(a["kind"], a["outcome"], a["answer"]) for a in attempts} == {
        ("troubleshooting_step", "unresolved", "no")
    }
    for attempt in attempts:
        assert when(attempt["asked_at"]) <= when(attempt["answered_at"])
    asked = [when(a["asked_at"]) for a in attempts]
    assert asked == sorted(asked)
    evidence = context["evidence"]["troubleshooting"]
    assert evidence["error_code"] == "E-1042"
    assert evidence["cycles_completed"] == catalog.cycle_limit == evidence["cycle_limit"]


def test_mortgage_advice_goes_to_an_advisor_with_the_application(bot: BotClient) -> None:
    sender = new_sender("mortgage")
    assert "full name" in joined(bot.say(sender, "I want to apply for a mortgage"))
    replies = converse(bot, sender, *MORTGAGE_ANSWERS)
    confirmation = "\n".join(texts(replies[-1]))
    match = APPLICATION_REFERENCE.search(confirmation)
    assert match, f"no application reference in {confirmation!r}"
    reference = match.group(0)

    answer = bot.say(sender, "should I go fixed or variable?")
    assert "mortgage advisors" in joined(answer)

    context = handoff_of(bot, sender)
    assert_trigger(context, "needs_advice", "needs_advice", "mortgage_advisors")
    application = context["evidence"]["mortgage_application"]
    assert application["reference"] == reference
    assert application["loan_to_value"] == pytest.approx(0.8)
    assert application["loan_amount"] == pytest.approx(200_000)
    assert application["employment_type"] == "self_employed"


def test_customer_asks_for_a_person_at_the_start(bot: BotClient) -> None:
    sender = new_sender("ask-human")
    replies = bot.say(sender, "I want to talk to a human")
    assert "customer service team" in joined(replies)

    context = handoff_of(bot, sender)
    assert_trigger(context, "user_request", "customer_request", "general_support")
    assert context["flow"] == "none"
    assert context["attempts"] == []


def test_customer_asks_for_a_person_mid_troubleshooting(bot: BotClient) -> None:
    sender = new_sender("ask-human-troubleshooting")
    converse(bot, sender, "I keep getting E-1042", "no")
    replies = bot.say(sender, "I want to talk to a human")
    assert "technical support" in joined(replies)

    context = handoff_of(bot, sender)
    assert_trigger(context, "user_request", "customer_request", "tech_support_l2")
    assert context["flow"] == "troubleshooting"
    assert [(a["cycle"], a["step"]) for a in context["attempts"]] == [(1, 1)]
    assert context["evidence"]["troubleshooting"]["cycles_completed"] == 0


def assert_nlu_fallback_handoff(bot: BotClient, sender: str, first: str, second: str) -> None:
    """Two misunderstood messages in a row, the offer of a person, "yes": a handoff."""
    misunderstood = bot.say(sender, first)
    assert misunderstood and "connect you with a person" not in joined(misunderstood)
    offered = bot.say(sender, second)
    assert OFFER_OF_A_PERSON in joined(offered)
    assert "customer service team" in joined(bot.say(sender, "yes"))

    context = handoff_of(bot, sender)
    assert_trigger(context, "nlu_fallback", "nlu_fallback", "general_support")
    customer_intents = [t["intent"] for t in context["transcript"] if t["speaker"] == "customer"]
    assert customer_intents == ["nlu_fallback", "nlu_fallback", "affirm"]


def test_two_misunderstood_messages_then_yes(bot: BotClient) -> None:
    assert_nlu_fallback_handoff(
        bot, new_sender("nlu-fallback"), "blorp fizzle wug", "zzkq vlop qrx"
    )


def test_two_unreadable_messages_then_yes(bot: BotClient) -> None:
    # Messages the input guard screens out are nlu_fallback whatever the classifier guesses,
    # so this exercises the fallback handoff independently of the model's calibration.
    assert_nlu_fallback_handoff(bot, new_sender("screened"), "😀🙏", "<script>alert(1)</script>")


def test_transcript_has_every_turn_in_order(bot: BotClient) -> None:
    sender = new_sender("transcript")
    messages = ["where is my package", "ORD-999998", "ORD-999999", "yes"]
    replies = converse(bot, sender, *messages)

    expected: list[tuple[str, str]] = []
    for message, answer in zip(messages, replies, strict=True):
        expected.append(("customer", message))
        expected += [("bot", text) for text in texts(answer)]
    # The handoff message itself is sent by the action that builds the context.
    assert expected[-1][0] == "bot" and "order support team" in expected[-1][1]
    expected.pop()

    transcript = handoff_of(bot, sender)["transcript"]
    assert [(turn["speaker"], turn["text"]) for turn in transcript] == expected
    for turn in transcript:
        if turn["speaker"] == "customer":
            assert turn["intent"], f"customer turn without an intent: {turn}"
        else:
            assert turn["intent"] is None
    customer_intents = [t["intent"] for t in transcript if t["speaker"] == "customer"]
    assert (customer_intents[0], customer_intents[-1]) == ("check_order_status", "affirm")
    stamps = [when(turn["timestamp"]) for turn in transcript]
    assert stamps == sorted(stamps)


def test_after_a_handoff_the_bot_is_silent_and_opens_no_second_one(
    bot: BotClient, e2e_env: E2EEnvironment
) -> None:
    sender = new_sender("silent")
    assert "customer service team" in joined(bot.say(sender, "agent"))
    first = handoff_of(bot, sender)

    assert bot.say(sender, "hello? is anyone there?") == []
    assert bot.say(sender, "agent") == []

    assert [h["handoff_id"] for h in bot.handoffs_for(sender)] == [first["handoff_id"]]
    assert [row.handoff_id for row in e2e_env.outbox(sender)] == [first["handoff_id"]]
    assert bot.tracker(sender)["paused"] is True
