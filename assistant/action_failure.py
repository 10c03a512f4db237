"""No silence when the action server fails: the customer gets an apology instead.

Rasa 3.6 runs a custom action with `RemoteAction.run`, one HTTP call to the action server. When
that call fails (the server is down, answers with an error or with something that is not an
action response, or does not answer), Rasa's `MessageProcessor._run_action` logs the error and
drops the action's events: the customer's turn ends with no reply at all. The wrapper installed
here catches the failure where it happens and returns the apology
(`assistant.apology.APOLOGY`) as a `BotUttered` event, which Rasa sends to the customer's
channel like any other bot message. `ActionExecutionRejection` (an action server's "not me",
which forms rely on) still propagates.

- The action call is bounded by `ACTION_SERVER_TIMEOUT_SECONDS` (`assistant.settings`).
  Rasa's own limit (`DEFAULT_REQUEST_TIMEOUT`) is 5 minutes, during which a hung action server
  holds the customer and the conversation's lock.
- A failed form validation (`validate_<form>`) also clears the values it did not check (the
  slots set since the form ran), as the action server's own guard does
  (`actions.failsafe.GuardedFormValidationAction`): Rasa keeps every candidate the validation
  does not answer for, and an order number never looked up would complete the form.
- One apology per turn: a form whose validation and question both fail says it once.
- The failure ends the turn: the failed action's events include `FollowupAction(action_listen)`.
  Otherwise Rasa predicts the next action from a conversation the failed action never updated
  (the rules expect its slots): after a failed `action_order_status` the policies picked
  `action_nlu_fallback`, a custom action too, eight times over, each failing, until Rasa's
  circuit breaker stopped the turn (10 actions).
- A turn the circuit breaker stops still ends like any other, whatever the cause: with the
  apology (if not said already) and `action_listen` (`closing_tripped_turns`). Rasa ends it
  with neither, and its breaker counts the actions since the last `action_listen`, so every
  later turn of that conversation tripped at once: the customer never heard from the bot again
  (the chaos suite's action server kill, docs/chaos.md).
- The failure is logged with the sender masked and without the action server's token (it is
  sent as the `?token=` query parameter, which some client errors repeat with the URL).

Installed by the Rasa server's entry point (`python -m assistant`), only for the Rasa version it
was written against.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import rasa
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import OutputChannel
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    FollowupAction,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.apology import APOLOGY, describe_failure
from assistant.desk_events import mask_sender
from assistant.settings import TIMEOUT_VARIABLE

logger = logging.getLogger(__name__)

#: The Rasa release whose `RemoteAction.run` this wraps.
PATCHED_RASA_VERSION: Final = "3.6.21"
#: Rasa's name prefix of a form's validation action (`validate_<form name>`).
VALIDATION_PREFIX: Final = "validate_"

RunMethod = Callable[
    [RemoteAction, OutputChannel, NaturalLanguageGenerator, DialogueStateTracker, Domain],
    Awaitable[list[Event]],
]
PredictionLoop = Callable[[MessageProcessor, OutputChannel, DialogueStateTracker], Awaitable[None]]

#: Marks Rasa's prediction loop as wrapped by `closing_tripped_turns` (installing twice wraps
#: once).
_CLOSES_TRIPPED_TURNS: Final = "_closes_tripped_turns"


def failure_events(action: RemoteAction, tracker: DialogueStateTracker) -> list[Event]:
    """What a failed action returns: the apology (once per turn), for a form's validation the
    unchecked slot values cleared, and the end of the turn."""
    events = _apology_unless_said(tracker)
    if action.name().startswith(VALIDATION_PREFIX):
        events += [SlotSet(slot, None) for slot in _slots_to_validate(tracker)]
    events.append(FollowupAction(ACTION_LISTEN_NAME))
    return events


def _apology_unless_said(tracker: DialogueStateTracker) -> list[Event]:
    return [] if _apologised_this_turn(tracker) else [BotUttered(text=APOLOGY)]


def _apologised_this_turn(tracker: DialogueStateTracker) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and event.text == APOLOGY:
            return True
    return False


def _slots_to_validate(tracker: DialogueStateTracker) -> list[str]:
    """The slots set since the last action ran (rasa-sdk's `Tracker.slots_to_validate`): the
    candidates Rasa hands a validation action."""
    slots: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted):
            break
        if isinstance(event, SlotSet) and event.key not in slots:
            slots.append(event.key)
    return slots


def apologising(run: RunMethod, timeout: float) -> RunMethod:
    """`RemoteAction.run` bounded by `timeout` seconds, whose failures become the apology."""

    @functools.wraps(run)
    async def run_or_apologise(
        self: RemoteAction,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> list[Event]:
        try:
            return await asyncio.wait_for(run(self, output_channel, nlg, tracker, domain), timeout)
        except ActionExecutionRejection:
            raise
        except Exception as failure:
            _log_failure(self, tracker, failure, timeout)
            return failure_events(self, tracker)

    return run_or_apologise


def _log_failure(
    action: RemoteAction, tracker: DialogueStateTracker, failure: Exception, timeout: float
) -> None:
    if isinstance(failure, asyncio.TimeoutError):
        reason = f"no answer within {timeout:g} s ({TIMEOUT_VARIABLE})"
    else:
        token = action.action_endpoint.token if action.action_endpoint else None
        reason = describe_failure(failure, secrets=(token,))
    logger.error(
        "action %s failed for %s, the turn ends with the apology: %s",
        action.name(),
        mask_sender(tracker.sender_id),
        reason,
    )


def tripped(processor: MessageProcessor, tracker: DialogueStateTracker) -> bool:
    """Whether Rasa's circuit breaker stopped the turn: the conversation is not paused, the
    last action was not `action_listen`, and Rasa's limit of actions in a turn is reached
    (Rasa's own test, `MessageProcessor.is_action_limit_reached`)."""
    # Cheap tests first: most turns end listening or paused, and Rasa's count copies and
    # walks the conversation's events.
    more = processor.should_predict_another_action(tracker.latest_action_name)
    return (
        more
        and processor._should_handle_message(tracker)
        and processor.is_action_limit_reached(tracker, more)
    )


def closing_tripped_turns(run_loop: PredictionLoop) -> PredictionLoop:
    """`MessageProcessor._run_prediction_loop`, ending a turn its circuit breaker stopped with
    the apology (once per turn) and `action_listen`."""

    async def run_loop_and_close(
        self: MessageProcessor, output_channel: OutputChannel, tracker: DialogueStateTracker
    ) -> None:
        await run_loop(self, output_channel, tracker)
        if not tripped(self, tracker):
            return
        logger.error(
            "Rasa's circuit breaker stopped the turn of %s (%d actions in a row); it ends "
            "with the apology and action_listen",
            mask_sender(tracker.sender_id),
            self.max_number_of_predictions,
        )
        apology = _apology_unless_said(tracker)
        tracker.update_with_events(apology, self.domain)
        await self.execute_side_effects(apology, tracker, output_channel)
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))

    setattr(run_loop_and_close, _CLOSES_TRIPPED_TURNS, True)
    return run_loop_and_close


def install_action_failure_apology(timeout: float) -> bool:
    """Wraps `RemoteAction.run`, bounded by `timeout` seconds, and Rasa's prediction loop (see
    the module doc), if Rasa is the version this was written for; returns whether it did."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    original: Any = getattr(RemoteAction.run, "__wrapped__", RemoteAction.run)
    RemoteAction.run = apologising(original, timeout)
    loop = MessageProcessor._run_prediction_loop
    if not getattr(loop, _CLOSES_TRIPPED_TURNS, False):
        MessageProcessor._run_prediction_loop = closing_tripped_turns(loop)
    return True
