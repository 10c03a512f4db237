"""The Rasa actions the desk executes in a conversation (`POST {rasa}/conversations/{id}/execute`).

Each is implemented by the action server (`actions/`) and run by the desk when a person's part of
the conversation ends; the names are defined here once and imported on both sides.
"""

from __future__ import annotations

from typing import Final

#: After an agent hands the conversation back: welcome the customer back and ask for a rating.
ACTION_WELCOME_BACK: Final = "action_welcome_back"
#: After the customer gave up waiting ("never mind"): the bot carries on.
ACTION_HANDOFF_CANCELLED: Final = "action_handoff_cancelled"
#: After the customer chose to leave a message instead of waiting: ask for it.
ACTION_ASK_CALLBACK: Final = "action_ask_callback"

#: After a document was stored from the customer's chat: thank them, ask for the next one.
ACTION_DOCUMENT_RECEIVED: Final = "action_document_received"
#: After an advisor reviewed a document: a rejection is asked for again, with the reason.
ACTION_DOCUMENT_REVIEWED: Final = "action_document_reviewed"

#: Every action the desk may execute.
DESK_EXECUTED_ACTIONS: Final = frozenset(
    {
        ACTION_WELCOME_BACK,
        ACTION_HANDOFF_CANCELLED,
        ACTION_ASK_CALLBACK,
        ACTION_DOCUMENT_RECEIVED,
        ACTION_DOCUMENT_REVIEWED,
    }
)
