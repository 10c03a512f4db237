"""The scripted traffic's pure parts: script checks, sender ids, reading the bot's rating
question and answering it. Playing the scripts is tested end to end
(tests/e2e/test_analytics_numbers.py)."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.channels.edge import check_conversation_id
from contract.conversation_marks import FORM_BOT_CSAT
from harness.scripted_traffic import (
    SCRIPTS,
    Claim,
    ConversationRun,
    GiveUp,
    RateAgent,
    RateBot,
    Reply,
    Resolve,
    Say,
    Script,
    ScriptError,
    Transfer,
    asks_bot_rating,
    check_script,
    last_buttons,
    new_sender,
    rating_answer,
)

#: The bot's own rating question's buttons, as the bot sends them.
RATING_BUTTONS: list[dict[str, Any]] = [
    *({"title": str(n), "payload": str(n)} for n in range(1, 6)),
    {"title": "Skip", "payload": "/deny"},
]


def test_every_shipped_script_can_be_played() -> None:
    for script in SCRIPTS:
        check_script(script)
    assert len({script.name for script in SCRIPTS}) == len(SCRIPTS)


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ((), "starts with the customer"),
        ((Claim("olivia"), Say("hi")), "starts with the customer"),
        ((Say("agent"), Reply("gus", "hello")), "replies once they have claimed"),
        ((Say("agent"), Resolve("gus")), "resolving needs a claim"),
        ((Say("agent"), Claim("gus"), RateAgent(5)), "rating comes after a resolve"),
        (
            (Say("agent"), Claim("gus"), Transfer("gus", "order_support"), Resolve("gus")),
            "resolving needs a claim",
        ),
    ],
)
def test_a_script_whose_steps_cannot_happen_is_refused(
    steps: tuple[Any, ...], refused: str
) -> None:
    with pytest.raises(ScriptError, match=refused):
        check_script(Script("broken", steps))


def test_a_transfer_then_a_claim_by_the_new_team_is_fine() -> None:
    check_script(
        Script(
            "moved",
            (
                Say("agent"),
                Transfer("gus", "order_support"),
                Claim("olivia"),
                Resolve("olivia"),
                RateAgent(None),
                GiveUp(),
            ),
        )
    )


def test_the_agents_a_script_needs_in_order_of_appearance() -> None:
    script = Script(
        "moved",
        (Say("agent"), Transfer("gus", "order_support"), Claim("olivia"), Resolve("olivia")),
    )
    assert script.agents() == ["gus", "olivia"]
    assert Script("bot", (Say("hi"), RateBot(5))).agents() == []


def test_sender_ids_are_new_each_time_and_pass_the_channel_edge() -> None:
    script = SCRIPTS[0]
    first, second = new_sender("demo-abc123", script), new_sender("demo-abc123", script)
    assert first != second
    assert first.startswith(f"demo-abc123-{script.name}-")
    for script in SCRIPTS:
        sender = new_sender("demo-abc123", script)
        assert check_conversation_id(sender) == sender


@pytest.mark.parametrize(
    ("rating", "buttons", "sent"),
    [
        (5, RATING_BUTTONS, "5"),
        (1, RATING_BUTTONS, "1"),
        (None, RATING_BUTTONS, "/deny"),  # the Skip button's payload
        (4, [], "4"),  # no buttons: the words
        (None, [], "skip"),
        (3, [{"title": "3"}], "3"),  # a button without a payload: its title
    ],
)
def test_the_rating_is_answered_with_the_buttons_payload(
    rating: int | None, buttons: list[dict[str, Any]], sent: str
) -> None:
    assert rating_answer(rating, buttons) == sent


def test_the_buttons_are_those_of_the_bots_last_message() -> None:
    tracker = {
        "events": [
            {"event": "bot", "text": "Which one?", "data": {"buttons": [{"title": "A"}]}},
            {"event": "bot", "text": "How did I do?", "data": {"buttons": RATING_BUTTONS}},
            {"event": "action", "name": "action_listen"},
        ]
    }
    assert last_buttons(tracker) == RATING_BUTTONS
    assert last_buttons({"events": [{"event": "bot", "text": "Hi", "data": {}}]}) == []
    assert last_buttons({"events": []}) == []


@pytest.mark.parametrize(
    ("active_loop", "asked"),
    [
        ({"name": FORM_BOT_CSAT}, True),
        ({"name": "csat_form"}, False),  # the rating after a person is not the bot's own
        ({}, False),
        (None, False),
    ],
)
def test_the_bot_asks_its_rating_while_its_rating_form_is_active(
    active_loop: dict[str, str] | None, asked: bool
) -> None:
    assert asks_bot_rating({"active_loop": active_loop}) is asked


def test_a_run_describes_what_happened_in_one_line() -> None:
    run = ConversationRun(SCRIPTS[0], "demo-x-order-shipped-1", customer_messages=2)
    run.bot_rating_asked, run.bot_rating = True, 5
    assert run.describe().split() == [
        "order-shipped",
        "2",
        "messages,",
        "no",
        "handoff,",
        "bot",
        "rated",
        "5",
        "demo-x-order-shipped-1",
    ]
    handed = ConversationRun(SCRIPTS[2], "s", ["0123456789"], customer_messages=1)
    handed.bot_rating_asked, handed.agent_rating = True, 4
    assert "1 message, handoff 01234567, bot rating skipped, agent rated 4" in handed.describe()
