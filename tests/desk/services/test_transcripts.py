"""Reading a conversation from a Rasa tracker: where a handoff begins, and its turns."""

from __future__ import annotations

from typing import Any

from contract.webchat import AGENT_METADATA_KEY, HandoffAgent, agent_metadata
from desk.services.transcripts import MAX_TURNS, handoff_start, handoff_turns, visible_turns

HANDOFF_ID = "0b6f3a5e-3c1d-4a8e-9f1e-2d7c5b4a3e21"


def slot(value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": "handoff_id", "value": value}


def test_the_handoff_begins_with_the_action_that_set_its_id() -> None:
    events = [
        {"event": "user", "text": "a person please"},
        {"event": "action", "name": "action_handoff"},
        {"event": "bot", "text": "Passing you on."},
        slot(None),
        slot(HANDOFF_ID.upper()),  # ids compare without regard to case
        {"event": "pause"},
    ]

    assert handoff_start(events, HANDOFF_ID) == 1


def test_without_its_action_the_handoff_begins_at_the_slot() -> None:
    events = [{"event": "user", "text": "a person please"}, "junk", slot(HANDOFF_ID)]

    assert handoff_start(events, HANDOFF_ID) == 2
    assert handoff_start([{"event": "action", "name": "x"}, slot("other")], HANDOFF_ID) is None
    assert handoff_start([], HANDOFF_ID) is None


def test_handoff_turns_start_at_the_handover_or_are_everything() -> None:
    before = [
        {"event": "user", "text": "hi", "timestamp": 1.0},
        {"event": "bot", "text": "Hello", "timestamp": 2.0},
    ]
    handover = [
        {"event": "action", "name": "action_handoff", "timestamp": 3.0},
        {"event": "bot", "text": "Passing you on.", "timestamp": 3.1},
        {**slot(HANDOFF_ID), "timestamp": 3.2},
        {
            "event": "bot",
            "text": "Hi, I'm Olivia.",
            "timestamp": 4.0,
            "metadata": {"handoff_agent": {"id": 7, "name": "Olivia"}},
        },
    ]

    assert handoff_turns({"events": before + handover}, HANDOFF_ID) == (
        [
            {"role": "bot", "text": "Passing you on.", "timestamp": 3.1},
            {"role": "agent", "text": "Hi, I'm Olivia.", "agent_name": "Olivia", "timestamp": 4.0},
        ],
        True,
    )
    assert handoff_turns({"events": before}, HANDOFF_ID) == (
        visible_turns({"events": before}),
        False,
    )
    assert handoff_turns({"events": "not a list"}, HANDOFF_ID) == ([], False)


def test_an_agents_turn_is_one_turn_of_their_words_with_their_name_apart() -> None:
    marking = agent_metadata(HandoffAgent(id=7, name="Olivia (Orders)"))
    events = [
        {
            "event": "bot",
            "text": "Hi, I'm Olivia.\n\nLet me check.",
            "timestamp": 4.0,
            "metadata": marking,
        },
        # Not the contract's marking: the bot's, split into parts like any bot text.
        {
            "event": "bot",
            "text": "A\n\nB",
            "timestamp": 5.0,
            "metadata": {AGENT_METADATA_KEY: {"id": 7}},
        },
    ]

    assert visible_turns({"events": events}) == [
        {
            "role": "agent",
            "text": "Hi, I'm Olivia.\n\nLet me check.",
            "agent_name": "Olivia (Orders)",
            "timestamp": 4.0,
        },
        {"role": "bot", "text": "A", "timestamp": 5.0},
        {"role": "bot", "text": "B", "timestamp": 5.0},
    ]


def test_only_the_newest_turns_are_kept() -> None:
    events = [{"event": "user", "text": f"message {n}"} for n in range(MAX_TURNS + 5)]

    turns = visible_turns({"events": events})

    assert len(turns) == MAX_TURNS
    assert turns[0]["text"] == "message 5"
