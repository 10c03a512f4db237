"""The customer's answers while they wait for a person: Rasa intents the desk acts on.

While a conversation is paused, Rasa still records the customer's messages and forwards them to
the desk (`contract.conversation_events`); the desk reads these intents from them. They are
intents of `domain.yml` (a test keeps them in step) and the payloads of the wait choice's quick
replies.
"""

from __future__ import annotations

from typing import Final

#: "Never mind": the customer no longer wants a person.
INTENT_CANCEL: Final = "cancel"
#: The answer "Keep waiting" to the wait choice.
INTENT_KEEP_WAITING: Final = "keep_waiting"
#: The answer "Leave a message" to the wait choice.
INTENT_LEAVE_MESSAGE: Final = "leave_message"

WAIT_INTENTS: Final = frozenset({INTENT_CANCEL, INTENT_KEEP_WAITING, INTENT_LEAVE_MESSAGE})


def quick_reply_payload(intent: str) -> str:
    """The payload a quick reply sends to trigger `intent` (Rasa's `/intent` form)."""
    return f"/{intent}"
