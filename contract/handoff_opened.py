"""The desk tells the Rasa server that it holds an open handoff for a conversation.

Why: the desk can hold a handoff the bot's tracker never heard of. The action server may die
after delivering the context but before its events (the `handoff_id` slot, the pause) reach
the tracker, and the outbox relay may deliver a stored context minutes after the turn that
made it. Then the bot would answer over a person, and the customer's next request would open
a second handoff. So after storing a new handoff the desk sends this notice; the Rasa server,
under the conversation's lock, pauses the conversation, records the handoff and tells the
customer, unless the tracker already knows (then it does nothing).

`POST {rasa}/webhooks/socketio/handoff-opened` with `Authorization: Bearer $RASA_AUTH_TOKEN`
(the route lives beside the web chat's `/notify`), body `HandoffOpenedNotice`; answers 200
`{"changed": bool}`.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, Extra, Field, StrictStr

from contract.handoff_context import UUID_PATTERN

HANDOFF_OPENED_PATH: Final = "/webhooks/socketio/handoff-opened"
#: The tracker slot holding the conversation's (latest) handoff id. The action server sets it
#: when it hands over; the Rasa server sets it when the desk reports a handoff it missed.
HANDOFF_ID_SLOT: Final = "handoff_id"


class HandoffOpenedNotice(BaseModel):
    """A handoff the desk holds open, and what the customer is told if they were not yet."""

    sender_id: StrictStr = Field(..., min_length=1, max_length=255)
    handoff_id: StrictStr = Field(..., regex=UUID_PATTERN)
    text: StrictStr = Field(..., min_length=1, max_length=1000)

    class Config:
        extra = Extra.forbid
