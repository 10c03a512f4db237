"""While a person owns a conversation, the customer cannot wake the bot.

A handoff pauses the conversation (`ConversationPaused`): Rasa logs what the customer says but
predicts nothing, so only the agent answers. Rasa 3.6 lets these things end that pause behind
the desk's back; this module closes each of them inside the Rasa server:

- **A restart.** Rasa predicts actions in a paused conversation when the message's intent is
  `restart` (`MessageProcessor._should_handle_message`), so a "/restart" could run
  `action_restart`, whose `Restarted` event drops the pause, or whatever else the policies
  predicted next (the generic fallback, spoken over the agent). In a paused conversation a
  restart request (`restart`, or the assistant's own `start_over`) now predicts nothing: the
  customer is told, once, that they are with a person and how to leave the queue
  (`WITH_A_PERSON`).
- **Session expiry.** A message after `session_expiration_time` starts a new session, and
  `SessionStarted` resets the tracker, pause included. `action_session_start` now carries the
  pause over into the new session when the old one was paused.
- **A handoff the tracker missed.** The desk may hold a handoff whose events never reached the
  tracker (the action server died after delivering; the outbox relay delivered later). The
  desk then reports it (`contract.handoff_opened`) and `confirm_open_handoff` pauses the
  conversation, records the handoff and tells the customer, under the conversation's lock.
- **A hand-back that arrives late.** The desk resumes the conversation, then executes the
  give-back action (welcome back, wait cancelled, ask for the callback message) in a second
  call; a new handoff opened and claimed between the two would hear the bot over its agent.
  `guard_give_back` does not run such an action in a paused conversation.

The guards wrap Rasa's prediction loop, its default `action_session_start` and
`MessageProcessor.execute_action` (the supported way to override that action, a custom action
of the same name, would cost every new conversation a call to the action server). Installed by
the server's entry point (`python -m assistant`), only for the Rasa version they were written
against, like `assistant.performance`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

import rasa
from rasa.core.actions.action import ActionSessionStart
from rasa.core.channels.channel import OutputChannel
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME, USER_INTENT_RESTART
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
)
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from assistant.desk_events import mask_sender
from contract.bot_actions import ACTION_ASK_CALLBACK, ACTION_HANDOFF_CANCELLED, ACTION_WELCOME_BACK
from contract.handoff_opened import HANDOFF_ID_SLOT, HandoffOpenedNotice

if TYPE_CHECKING:
    from rasa.core.agent import Agent
    from rasa.core.nlg import NaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

#: The Rasa release whose default actions this wraps.
GUARDED_RASA_VERSION: Final = "3.6.21"

#: The answer to a restart request while a person has the conversation.
WITH_A_PERSON: Final = (
    "You're with our support team right now, so I can't start over. If you don't need them "
    'any more, just tell them, or say "never mind" while you are still waiting in the queue.'
)

#: Intents that ask to start over: Rasa's built-in `restart` ("/restart") and the assistant's
#: own `start_over` ("restart", "start again"; domain.yml).
RESTART_INTENTS: Final = frozenset({USER_INTENT_RESTART, "start_over"})

#: The actions the desk runs right after resuming a conversation it gives back to the bot.
GIVE_BACK_ACTIONS: Final = frozenset(
    {ACTION_WELCOME_BACK, ACTION_HANDOFF_CANCELLED, ACTION_ASK_CALLBACK}
)

PredictionLoop = Callable[[Any, OutputChannel, "DialogueStateTracker"], Awaitable[None]]
ActionRun = Callable[
    [Any, OutputChannel, "NaturalLanguageGenerator", "DialogueStateTracker", "Domain"],
    Awaitable[list[Event]],
]

ExecuteAction = Callable[
    [Any, str, str, OutputChannel, "NaturalLanguageGenerator", Any],
    Awaitable["DialogueStateTracker | None"],
]


def guard_prediction_loop(run_loop: PredictionLoop) -> PredictionLoop:
    """`MessageProcessor._run_prediction_loop`, except for a restart request while paused."""

    async def guarded_loop(
        self: MessageProcessor, output_channel: OutputChannel, tracker: DialogueStateTracker
    ) -> None:
        if not (tracker.is_paused() and asks_to_restart(tracker)):
            await run_loop(self, output_channel, tracker)
            return
        logger.info("restart refused: %s is with a person", mask_sender(tracker.sender_id))
        refusal = BotUttered(text=WITH_A_PERSON)
        tracker.update(refusal)
        await self.execute_side_effects([refusal], tracker, output_channel)

    return guarded_loop


def guard_give_back(execute: ExecuteAction) -> ExecuteAction:
    """`MessageProcessor.execute_action`, except for a give-back action in a paused conversation.

    The desk gives a conversation back in two calls: it appends `resume`, then executes the
    give-back action (`GIVE_BACK_ACTIONS`). The customer's next turn can come in between and
    open a new handoff, which pauses the conversation again, and an agent can claim it before
    the second call arrives; running the action then would speak over that agent ("Welcome
    back!") and close the new handoff's slots. A paused conversation at that call belongs to a
    newer handoff, so the action is not run (the old handoff is over either way).
    """

    async def guarded_execute(
        self: MessageProcessor,
        sender_id: str,
        action_name: str,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        prediction: Any,
    ) -> DialogueStateTracker | None:
        if action_name in GIVE_BACK_ACTIONS:
            tracker = await self.fetch_tracker_and_update_session(sender_id, output_channel)
            if tracker.is_paused():
                logger.warning(
                    "%s: %s not run: a newer handoff paused the conversation since its resume",
                    mask_sender(sender_id),
                    action_name,
                )
                return tracker
        return await execute(self, sender_id, action_name, output_channel, nlg, prediction)

    return guarded_execute


def asks_to_restart(tracker: DialogueStateTracker) -> bool:
    """Whether the customer's latest message asks to start the conversation over."""
    message = tracker.latest_message
    intent = message.intent.get(INTENT_NAME_KEY) if message is not None else None
    return intent in RESTART_INTENTS


def carry_pause_over(run: ActionRun) -> ActionRun:
    """`ActionSessionStart.run`, keeping a paused conversation paused in the new session."""

    async def guarded_run(
        self: Any,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> list[Event]:
        events = await run(self, output_channel, nlg, tracker, domain)
        if not tracker.is_paused():
            return events
        logger.info("new session of %s starts paused", mask_sender(tracker.sender_id))
        return paused_session(events)

    return guarded_run


def paused_session(events: list[Event]) -> list[Event]:
    """A session start's events with `ConversationPaused` right after `SessionStarted`.

    Anything before `SessionStarted` is wiped by it, so the pause must come after it (and
    before the closing `action_listen`, which is where a new session waits).
    """
    starts = [i for i, event in enumerate(events) if isinstance(event, SessionStarted)]
    if not starts:
        return [*events, ConversationPaused()]
    at = starts[-1] + 1
    while at < len(events) and not (
        isinstance(events[at], ActionExecuted) and events[at].action_name == ACTION_LISTEN_NAME
    ):
        at += 1
    return [*events[:at], ConversationPaused(), *events[at:]]


def install_pause_guards() -> bool:
    """Wrap Rasa's prediction loop, `action_session_start` and the execution of an action the
    desk asks for; whether it did."""
    if rasa.__version__ != GUARDED_RASA_VERSION:
        return False
    if not getattr(MessageProcessor._run_prediction_loop, "_pause_guard", False):
        MessageProcessor._run_prediction_loop = _marked(
            guard_prediction_loop(MessageProcessor._run_prediction_loop)
        )
    if not getattr(ActionSessionStart.run, "_pause_guard", False):
        ActionSessionStart.run = _marked(carry_pause_over(ActionSessionStart.run))
    if not getattr(MessageProcessor.execute_action, "_pause_guard", False):
        MessageProcessor.execute_action = _marked(guard_give_back(MessageProcessor.execute_action))
    return True


W = TypeVar("W", bound=Callable[..., Any])


def _marked(wrapper: W) -> W:
    wrapper._pause_guard = True  # type: ignore[attr-defined]  # installing twice wraps once
    return wrapper


def given_back_since(tracker: DialogueStateTracker, handoff_id: str) -> bool:
    """Whether the tracker recorded `handoff_id` and was resumed after it.

    Only the desk resumes a conversation, and only once the handoff left the queue (resolved
    and handed back, abandoned, expired), so a report of that handoff arriving afterwards is
    late (it was held up, or retried, while an agent resolved it): pausing on it would leave the
    customer paused with nobody, told they are in a queue that no longer holds them.
    """
    recorded = False
    for event in tracker.events:
        if isinstance(event, SlotSet) and event.key == HANDOFF_ID_SLOT:
            recorded = recorded or event.value == handoff_id
        elif recorded and isinstance(event, ConversationResumed):
            return True
    return False


async def confirm_open_handoff(
    agent: Agent, output: OutputChannel | None, notice: HandoffOpenedNotice
) -> bool:
    """Make the conversation's tracker agree that the desk holds `notice.handoff_id` open.

    Under the conversation's lock (so never in the middle of a turn): when the tracker already
    records this handoff and is paused, or was given back after it (`given_back_since`: a late
    report), nothing changes. Otherwise the handoff id is recorded,
    and a conversation that was not paused is paused and the customer is told `notice.text`
    (also sent to `output`, the web chat room, when given). Returns whether anything changed.
    """
    processor = agent.processor
    if processor is None:
        raise RuntimeError("no model is loaded")
    async with agent.lock_store.lock(notice.sender_id):
        tracker = await processor.get_tracker(notice.sender_id)
        known = tracker.get_slot(HANDOFF_ID_SLOT) == notice.handoff_id
        if known and tracker.is_paused():
            return False
        if given_back_since(tracker, notice.handoff_id):
            logger.info(
                "%s: handoff %s was already given back; its late report changes nothing",
                mask_sender(notice.sender_id),
                notice.handoff_id,
            )
            return False
        tell = not tracker.is_paused()
        events: list[Event] = [SlotSet(HANDOFF_ID_SLOT, notice.handoff_id)]
        if tell:
            events += [ConversationPaused(), BotUttered(text=notice.text)]
        for event in events:
            tracker.update(event)
        await processor.save_tracker(tracker)
    logger.warning(
        "%s: the desk holds handoff %s the tracker had missed; %s",
        mask_sender(notice.sender_id),
        notice.handoff_id,
        "paused and told the customer" if tell else "recorded it",
    )
    if tell and output is not None:
        await output.send_text_message(notice.sender_id, notice.text)
    return True
