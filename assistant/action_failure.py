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
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
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


def failure_events(action: RemoteAction, tracker: DialogueStateTracker) -> list[Event]:
    """What a failed action returns: the apology (once per turn), and for a form's validation
    the unchecked slot values cleared."""
    events: list[Event] = []
    if not _apologised_this_turn(tracker):
        events.append(BotUttered(text=APOLOGY))
    if action.name().startswith(VALIDATION_PREFIX):
        events += [SlotSet(slot, None) for slot in _slots_to_validate(tracker)]
    return events


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
        "action %s failed for %s, the customer is sent an apology: %s",
        action.name(),
        mask_sender(tracker.sender_id),
        reason,
    )


def install_action_failure_apology(timeout: float) -> bool:
    """Wraps `RemoteAction.run` (see the module doc), bounded by `timeout` seconds, if Rasa is
    the version this was written for; returns whether it did."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    original: Any = getattr(RemoteAction.run, "__wrapped__", RemoteAction.run)
    RemoteAction.run = apologising(original, timeout)
    return True
