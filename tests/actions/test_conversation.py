"""Conversation-wide actions: misunderstood messages, declining a human, cancelling, restarting."""

from __future__ import annotations

from typing import Any

import pytest

from actions.conversation import (
    HELP_HINT,
    ActionCancelFlow,
    ActionDeclineHuman,
    ActionNluFallback,
    ActionStartOver,
)
from tests.actions.conftest import Conversation, plain, run_action, slot_event, texts

pytestmark = pytest.mark.usefixtures("action_env")

NOT_OFFERED = [slot_event("human_offered", False)]
OFFERED = [slot_event("human_offered", True), slot_event("handoff_reason", "nlu_fallback")]


async def misunderstood(
    conversation: Conversation, text: str = "flurble wibble"
) -> list[dict[str, Any]]:
    """The customer sends a message NLU cannot place; action_nlu_fallback answers it."""
    conversation.user(text, "nlu_fallback", confidence=0.31)
    result = await run_action(ActionNluFallback(), conversation.tracker())
    conversation.record("action_nlu_fallback", result)
    return plain(result.events)


# --- ActionNluFallback ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "text", "reply"),
    [
        ("empty", "   ", "Your message came through empty. What can I help you with?"),
        (
            "too_long",
            "my router " * 200,
            "That's a long message, more than I can read in one go. Could you tell me in a "
            "sentence or two what you need?",
        ),
        (
            "no_words",
            "😡😡😡 !!!",
            "I can only read words, not emoji or symbols on their own. What do you need help with?",
        ),
        (
            "other_language",
            "¿Dónde está mi pedido?",
            f"Sorry, I can only chat in English at the moment. {HELP_HINT}",
        ),
        (
            "markup",
            "<script>alert('hi')</script>",
            f"That looks like code or markup, which I can't process. {HELP_HINT}",
        ),
    ],
)
async def test_a_screened_message_is_explained_precisely(
    reason: str, text: str, reply: str
) -> None:
    conversation = Conversation().user(text, "nlu_fallback", confidence=1.0, input_guard=reason)

    events, messages = await run_action(ActionNluFallback(), conversation.tracker())

    assert texts(messages) == [reply]
    assert plain(events) == NOT_OFFERED


async def test_a_plain_misunderstanding_gets_the_general_explanation() -> None:
    conversation = Conversation().user("flurble wibble", "nlu_fallback", confidence=0.31)

    events, messages = await run_action(ActionNluFallback(), conversation.tracker())

    assert texts(messages) == [f"Sorry, I didn't understand that. {HELP_HINT}"]
    assert plain(events) == NOT_OFFERED


async def test_the_second_misunderstanding_in_a_row_offers_a_human() -> None:
    conversation = Conversation().user("hi", "greet").bot("Hi! What can I do for you?")

    first = await misunderstood(conversation)
    second = await misunderstood(conversation, "zxcv qwer")

    assert first == NOT_OFFERED
    assert second == OFFERED


async def test_every_further_misunderstanding_offers_again() -> None:
    conversation = Conversation()
    await misunderstood(conversation)
    await misunderstood(conversation)

    assert await misunderstood(conversation, "???? hm") == OFFERED


async def test_an_understood_message_in_between_starts_the_count_again() -> None:
    conversation = Conversation()
    await misunderstood(conversation)
    conversation.user("hello", "greet").bot("Hi! What can I do for you?")

    assert await misunderstood(conversation) == NOT_OFFERED


@pytest.mark.parametrize("form", ["order_form", "troubleshooting_form", "mortgage_form"])
async def test_inside_a_form_a_human_is_never_offered(form: str) -> None:
    conversation = Conversation().form(form, "order_number")

    results = [await misunderstood(conversation) for _ in range(3)]

    assert results == [NOT_OFFERED] * 3


# --- Declining, cancelling, starting over --------------------------------------------------------


async def test_declining_a_human_carries_on_with_the_bot() -> None:
    conversation = (
        Conversation()
        .slots(human_offered=True, handoff_reason="order_not_found")
        .bot("Would you like me to connect you with a person?")
        .press("/deny")
    )

    events, messages = await run_action(ActionDeclineHuman(), conversation.tracker())

    assert texts(messages) == [
        f"No problem, let's carry on. {HELP_HINT} You can ask for a person at any time."
    ]
    assert plain(events) == [
        slot_event("human_offered", False),
        slot_event("handoff_reason", None),
    ]


async def test_cancelling_stops_the_form() -> None:
    conversation = (
        Conversation()
        .user("I want a mortgage", "start_mortgage")
        .form("mortgage_form", "email")
        .slots(applicant_name="Jane Smith", mortgage_interrupted=True)
        .user("never mind", "cancel")
    )

    events, messages = await run_action(ActionCancelFlow(), conversation.tracker())

    assert texts(messages) == [f"OK, I've stopped that. {HELP_HINT}"]
    assert plain(events) == [
        {"event": "active_loop", "name": None},
        slot_event("requested_slot", None),
        slot_event("mortgage_interrupted", False),
    ]
    after = conversation.ran("action_cancel_flow", events, messages).tracker()
    assert after.active_loop_name is None


async def test_starting_over_restarts_the_conversation() -> None:
    conversation = (
        Conversation()
        .slots(order_number="ORD-100002", human_offered=True)
        .form("order_form", "order_number")
        .user("start over", "start_over")
    )

    events, messages = await run_action(ActionStartOver(), conversation.tracker())

    assert texts(messages) == [f"OK, let's start over. {HELP_HINT}"]
    assert plain(events) == [{"event": "restart"}]
    # What Rasa makes of it: every slot back to its initial value, no form.
    after = conversation.ran("action_start_over", events, messages).tracker()
    assert after.get_slot("order_number") is None
    assert after.get_slot("human_offered") is None
    assert after.active_loop_name is None
