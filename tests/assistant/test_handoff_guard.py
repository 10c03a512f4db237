"""The pause guards: a restart or a new session cannot wake the bot while a person has the chat.

Rasa's own default actions run on real trackers and the project's domain; only their `run` is
wrapped (`assistant.handoff_guard`).
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.actions.action import ActionSessionStart
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.handoff_guard import (
    RESTART_INTENTS,
    WITH_A_PERSON,
    carry_pause_over,
    guard_prediction_loop,
    install_pause_guards,
    paused_session,
)
from contract.handoff_opened import HANDOFF_ID_SLOT
from launcher.stack import PROJECT_ROOT

HANDOFF = "0b0c9a57-5a43-4a4e-9d38-7f0bd1f0c0de"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def tracker_with(domain: Domain, *, paused: bool) -> DialogueStateTracker:
    """A conversation that handed off (the handoff id set), paused or not."""
    events = [
        ActionExecuted("action_listen"),
        UserUttered("agent please", {"name": "request_human", "confidence": 1.0}),
        SlotSet(HANDOFF_ID_SLOT, HANDOFF),
    ]
    if paused:
        events.append(ConversationPaused())
    return DialogueStateTracker.from_events("web-guard", events, domain.slots)


async def run(action_run, action, tracker: DialogueStateTracker, domain: Domain):  # type: ignore[no-untyped-def]
    output = CollectingOutputChannel()
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    return await action_run(action, output, nlg, tracker, domain)


class Processor:
    """What the guarded loop uses of Rasa's `MessageProcessor`: the side effects, recorded."""

    def __init__(self) -> None:
        self.loops = 0

    async def execute_side_effects(
        self, events: list[Any], tracker: DialogueStateTracker, output: CollectingOutputChannel
    ) -> None:
        await MessageProcessor._send_bot_messages(events, tracker, output)


async def predict(tracker: DialogueStateTracker) -> tuple[int, list[str]]:
    """Run the guarded loop (the real loop replaced by a counter); loops run and texts sent."""
    processor = Processor()

    async def real_loop(self: Processor, output: Any, tracker: Any) -> None:
        self.loops += 1

    output = CollectingOutputChannel()
    await guard_prediction_loop(real_loop)(processor, output, tracker)
    return processor.loops, [message["text"] for message in output.messages]


@pytest.mark.parametrize("intent", ["restart", "start_over"])
async def test_a_restart_request_while_paused_is_answered_and_predicts_nothing(
    domain: Domain, intent: str
) -> None:
    tracker = tracker_with(domain, paused=True)
    tracker.update(UserUttered("/restart", {"name": intent, "confidence": 1.0}))

    loops, sent = await predict(tracker)

    assert (loops, sent) == (0, [WITH_A_PERSON])
    assert tracker.is_paused() and tracker.get_slot(HANDOFF_ID_SLOT) == HANDOFF
    assert isinstance(tracker.events[-1], BotUttered)


@pytest.mark.parametrize(("paused", "intent"), [(False, "restart"), (True, "greet")])
async def test_other_messages_go_to_rasas_loop(domain: Domain, paused: bool, intent: str) -> None:
    tracker = tracker_with(domain, paused=paused)
    tracker.update(UserUttered("hi", {"name": intent, "confidence": 1.0}))

    assert await predict(tracker) == (1, [])


def test_the_restart_intents_are_the_domains(domain: Domain) -> None:
    assert {*domain.intents, "restart"} >= RESTART_INTENTS


async def test_a_new_session_of_a_paused_conversation_starts_paused(domain: Domain) -> None:
    tracker = tracker_with(domain, paused=True)

    events = await run(
        carry_pause_over(ActionSessionStart.run), ActionSessionStart(), tracker, domain
    )
    tracker.update_with_events(events, domain)

    assert isinstance(events[0], SessionStarted)
    assert isinstance(events[-1], ActionExecuted) and events[-1].action_name == "action_listen"
    assert tracker.is_paused(), "the pause survives the session start"
    assert tracker.get_slot(HANDOFF_ID_SLOT) == HANDOFF


async def test_a_new_session_of_an_unpaused_conversation_is_not_paused(domain: Domain) -> None:
    tracker = tracker_with(domain, paused=False)

    events = await run(
        carry_pause_over(ActionSessionStart.run), ActionSessionStart(), tracker, domain
    )

    assert not any(isinstance(event, ConversationPaused) for event in events)


def test_the_pause_goes_after_the_session_start_and_before_listening() -> None:
    slot = SlotSet("order_number", "ORD-100001")
    listen = ActionExecuted("action_listen")

    events = paused_session([SessionStarted(), slot, listen])

    assert [type(event) for event in events] == [
        SessionStarted,
        SlotSet,
        ConversationPaused,
        ActionExecuted,
    ]


def test_installing_twice_wraps_once() -> None:
    loop, session_start = MessageProcessor._run_prediction_loop, ActionSessionStart.run
    try:
        assert install_pause_guards() is True
        once = (MessageProcessor._run_prediction_loop, ActionSessionStart.run)
        assert install_pause_guards() is True
        assert (MessageProcessor._run_prediction_loop, ActionSessionStart.run) == once
        assert once[0] is not loop and once[1] is not session_start
    finally:
        MessageProcessor._run_prediction_loop = loop  # type: ignore[method-assign]
        ActionSessionStart.run = session_start  # type: ignore[method-assign]
