"""The desk's own messages in a conversation: how they are marked (desk → Rasa → any widget).

Besides the agent's turns, the desk speaks to a waiting customer in plain bot messages, so
that every Rasa web widget shows them and they are in the one transcript: the wait choice, the
place in the queue with the estimated wait, an agent joining and leaving. Each is appended to
the tracker as a `bot` event whose `metadata[DESK_NOTICE_KEY]` names the kind (a `DeskNotice`
value). Rasa hands that metadata to the output channel; a rich client (the project's /chat page)
that also receives the `handoff_status` event shows those states as status instead, and skips
the bot messages of the kinds in `STATUS_NOTICES` (recognising them by the marking).

The notices the desk owes a customer until Rasa has them (an agent joined, an agent left) also
carry `metadata[DESK_NOTICE_ID_KEY]`, one id per notice and claim: the desk may send such a
notice again after a failure or a restart, and first looks in the tracker for that id, so the
conversation has it once.
"""

from __future__ import annotations

import enum
from typing import Final

#: The key of a bot event's metadata that marks a message the desk sent.
DESK_NOTICE_KEY: Final = "desk_notice"
#: The key of a bot event's metadata that names one delivery of a notice the desk may re-send.
DESK_NOTICE_ID_KEY: Final = "desk_notice_id"


class DeskNotice(str, enum.Enum):
    """Which desk message a bot event is (the value of `metadata.desk_notice`)."""

    #: "Keep waiting / leave a message", with two quick replies.
    WAIT_CHOICE = "wait_choice"
    #: The customer's place in the queue and the estimated wait.
    QUEUE_POSITION = "queue_position"
    #: A person took the chat.
    AGENT_JOINED = "agent_joined"
    #: The person left the chat (it goes back to the bot).
    AGENT_LEFT = "agent_left"


#: Notices that repeat a `handoff_status` a rich client already shows; it may skip them. The
#: wait choice is not among them: its message carries the quick replies.
STATUS_NOTICES: Final = frozenset(
    {DeskNotice.QUEUE_POSITION, DeskNotice.AGENT_JOINED, DeskNotice.AGENT_LEFT}
)
