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


# --- The latest unanswered request for a document carries its upload prompt ---------------------

PROMPT = {
    "reference": "MTG-7K3Q9",
    "item": "payslips",
    "title": "Last 3 payslips",
    "max_bytes": 10 * 1024 * 1024,
    "accept": ["application/pdf", "image/jpeg", "image/png"],
}


def asks_for(item: str, text: str, at: float) -> dict[str, Any]:
    """A bot event asking for a document, as Rasa stores the action's message."""
    prompt = {**PROMPT, "item": item}
    return {"event": "bot", "text": text, "timestamp": at, "metadata": {"document_upload": prompt}}


def uploaded(at: float) -> list[dict[str, Any]]:
    """The desk's `action_document_received` after a stored upload."""
    return [
        {"event": "action", "name": "action_document_received", "timestamp": at},
        {"event": "bot", "text": "Thanks, I've got your document.", "timestamp": at + 0.1},
    ]


def prompts_of(turns: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(turn["text"], (turn.get("document_upload") or {}).get("item")) for turn in turns]


def test_the_latest_request_for_a_document_carries_its_prompt() -> None:
    events = [
        {"event": "user", "text": "which documents do you need?", "timestamp": 1.0},
        asks_for("payslips", "Still needed: payslips.\n\nPlease upload your payslips.", 2.0),
    ]

    turns = visible_turns({"events": events})

    assert prompts_of(turns) == [
        ("which documents do you need?", None),
        ("Still needed: payslips.", None),
        ("Please upload your payslips.", "payslips"),  # the last part, under which it is shown
    ]
    assert turns[-1]["document_upload"] == PROMPT


def test_only_the_latest_request_is_offered_again() -> None:
    events = [
        asks_for("payslips", "Please upload your payslips.", 1.0),
        {"event": "user", "text": "what's still missing?", "timestamp": 2.0},
        asks_for("bank_statements", "Please upload your bank statements.", 3.0),
    ]

    assert prompts_of(visible_turns({"events": events})) == [
        ("Please upload your payslips.", None),
        ("what's still missing?", None),
        ("Please upload your bank statements.", "bank_statements"),
    ]


def test_a_request_answered_by_an_upload_is_not_offered_again() -> None:
    events = [asks_for("payslips", "Please upload your payslips.", 1.0), *uploaded(2.0)]

    assert all("document_upload" not in turn for turn in visible_turns({"events": events}))


def test_the_next_request_after_an_upload_is_offered() -> None:
    events = [
        asks_for("payslips", "Please upload your payslips.", 1.0),
        *uploaded(2.0),
        asks_for("bank_statements", "Please upload your bank statements.", 2.2),
    ]

    assert prompts_of(visible_turns({"events": events}))[-1] == (
        "Please upload your bank statements.",
        "bank_statements",
    )


def test_a_malformed_prompt_is_left_out() -> None:
    hostile = {**PROMPT, "item": "../../etc/passwd", "title": "<img src=x onerror=alert(1)>"}
    events = [
        {"event": "bot", "text": "Please upload it.", "metadata": {"document_upload": hostile}},
        {"event": "bot", "text": "And this.", "metadata": {"document_upload": "payslips"}},
    ]

    assert all("document_upload" not in turn for turn in visible_turns({"events": events}))
