"""The invariants themselves, on made-up trackers: each catches what it is meant to catch and
passes what is allowed (these run in `make unit`; the faults run in `make chaos`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast

from assistant.apology import APOLOGY
from contract.desk_notices import DESK_NOTICE_KEY, DeskNotice
from contract.webchat import AGENT_METADATA_KEY
from tests.chaos.invariants import (
    check_handoffs,
    check_messages,
    check_no_silence,
    check_ownership,
)
from tests.chaos.load import Customer, Turn
from tests.e2e.desk_system import DeskStack

ASK = "I want to talk to a person"
TOLD = "I'm passing you to Customer Service now."


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text}


def bot(text: str, **metadata: Any) -> dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": metadata}


PAUSE = {"event": "pause"}
RESUME = {"event": "resume"}


def customer(*turns: Turn) -> Customer:
    return Customer("http://127.0.0.1:1", "token", "person", sender="c1", turns=list(turns))


def tracker(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events)}


@dataclass
class FakeHandoff:
    claimed_at: datetime | None = None


class Desk:
    def __init__(self, *handoffs: FakeHandoff) -> None:
        self.handoffs = list(handoffs)

    def handoffs_of(self, sender: str) -> list[FakeHandoff]:
        return self.handoffs


def desk(*handoffs: FakeHandoff) -> DeskStack:
    return cast(DeskStack, Desk(*handoffs))


def test_a_message_twice_in_the_tracker_is_a_duplicate() -> None:
    found = check_messages(customer(Turn("hi", ["Hello!"])), tracker(user("hi"), user("hi")))
    assert (found.messages_duplicated, found.messages_lost) == (1, 0)


def test_an_answered_message_missing_from_the_tracker_is_lost() -> None:
    found = check_messages(customer(Turn("hi", ["Hello!"])), tracker())
    assert (found.messages_duplicated, found.messages_lost) == (0, 1)


def test_a_failed_try_may_be_missing_and_its_retry_counts_as_sent() -> None:
    turns = (Turn("hi", error="ServerDisconnectedError"), Turn("hi", ["Hello!"]))
    assert not check_messages(customer(*turns), tracker(user("hi"))).violations
    assert not check_messages(customer(*turns), tracker(user("hi"), user("hi"))).violations
    assert check_messages(customer(*turns), tracker(user("hi"), user("hi"), user("hi"))).violations
    assert check_messages(customer(*turns), tracker(user("hi"), user("hi"))).turns_struck == 1


def test_an_apologised_message_missing_from_the_tracker_is_not_lost() -> None:
    apologised = customer(Turn("hi", [APOLOGY]))
    assert not check_messages(apologised, tracker()).violations


def test_the_bot_speaking_while_paused_breaks_ownership() -> None:
    events = [user(ASK), bot(TOLD), PAUSE, user("hello?"), bot("How can I help?")]
    assert check_ownership(customer(), tracker(*events)).violations


def test_the_desk_may_speak_while_paused_and_the_bot_after_the_resume() -> None:
    events = [
        user(ASK),
        PAUSE,
        bot("You're in the queue for Customer Service. Please stay in this chat."),
        bot("Sam has joined the chat.", **{DESK_NOTICE_KEY: DeskNotice.AGENT_JOINED.value}),
        bot("Sam: hello", **{AGENT_METADATA_KEY: {"id": 1, "name": "Sam"}}),
        RESUME,
        bot("How did we do?"),
    ]
    assert not check_ownership(customer(), tracker(*events)).violations


def test_no_reply_is_silence_unless_the_chat_was_paused() -> None:
    turns = (Turn("hi", []), Turn("hello?", []))
    assert len(check_no_silence(customer(*turns), tracker(user("hi"))).violations) == 2
    paused = tracker(user("hi"), bot("Hello!"), PAUSE, user("hello?"))
    assert len(check_no_silence(customer(*turns), paused).violations) == 1
    assert check_messages(customer(Turn("x", [APOLOGY])), tracker(user("x"))).turns_struck == 1


def test_a_silent_retry_of_a_struck_message_while_paused_is_not_silence() -> None:
    """What a Redis restart does: the first "hello?" is struck (the apology; never logged),
    the customer sends it again while the chat waits for a person, and the bot rightly says
    nothing. (The check once paired the n-th turn of a text with its n-th occurrence, and
    called this silence: the "empty reply" the chaos suite reported after Redis restarts.)"""
    waiting = tracker(user(ASK), bot(TOLD), PAUSE, user("hello?"))
    retried = customer(Turn(ASK, [TOLD]), Turn("hello?", [APOLOGY]), Turn("hello?", []))
    assert not check_no_silence(retried, waiting).violations
    # Two silent turns need two occurrences logged while paused.
    twice = customer(Turn(ASK, [TOLD]), Turn("hello?", []), Turn("hello?", []))
    assert len(check_no_silence(twice, waiting).violations) == 1
    both = tracker(user(ASK), bot(TOLD), PAUSE, user("hello?"), user("hello?"))
    assert not check_no_silence(twice, both).violations
    # The occurrence logged before the pause does not count.
    before = tracker(user("hello?"), bot("Hi"), user(ASK), PAUSE)
    assert check_no_silence(customer(Turn("hello?", [])), before).violations


def test_told_of_a_person_needs_exactly_one_handoff() -> None:
    told = customer(Turn(ASK, [TOLD]))
    lost, _ = check_handoffs(told, tracker(user(ASK)), desk())
    assert lost.handoffs_lost == 1
    twice, _ = check_handoffs(told, tracker(user(ASK)), desk(FakeHandoff(), FakeHandoff()))
    assert twice.handoffs_duplicated == 1
    fine, settled = check_handoffs(told, tracker(user(ASK)), desk(FakeHandoff()))
    assert settled and not fine.violations


def test_a_handoff_the_customer_was_not_told_of_is_a_lie() -> None:
    untold = customer(Turn(ASK, [APOLOGY]))
    found, settled = check_handoffs(untold, tracker(user(ASK)), desk(FakeHandoff()))
    assert not settled and found.violations


def test_a_claim_the_customer_was_not_told_of_is_a_lie() -> None:
    claimed = FakeHandoff(claimed_at=datetime.now(timezone.utc))
    told = customer(Turn(ASK, [TOLD]))
    found, _ = check_handoffs(told, tracker(user(ASK)), desk(claimed))
    assert found.violations
    joined = bot("Sam has joined the chat.", **{DESK_NOTICE_KEY: DeskNotice.AGENT_JOINED.value})
    found, _ = check_handoffs(told, tracker(user(ASK), joined), desk(claimed))
    assert not found.violations
