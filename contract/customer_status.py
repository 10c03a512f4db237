"""What the customer's page is told about their handoff: the `handoff_status` notice.

The desk sends it (`POST {rasa}/webhooks/socketio/notify`, `Authorization: Bearer
$RASA_AUTH_TOKEN`, body `HandoffStatusNotice`); the web chat channel checks it and emits it as is
to the customer's socket.io room as the event `STATUS_EVENT`; the project's /chat page shows it
as the chat's status. Widgets that do not listen for the event get the same news as plain bot
messages (`contract.desk_notices`).
"""

from __future__ import annotations

import enum
from typing import Any, Final

from pydantic import BaseModel, Extra, Field, StrictBool, StrictStr, validator

NOTIFY_PATH: Final = "/webhooks/socketio/notify"
#: The socket.io event the page receives, and the notice's `type`.
STATUS_EVENT: Final = "handoff_status"


class CustomerStatus(str, enum.Enum):
    """Where the customer's handoff is, as their page shows it."""

    WAITING = "waiting"
    AGENT_JOINED = "agent_joined"
    AGENT_TYPING = "agent_typing"
    AGENT_LEFT = "agent_left"
    BACK_WITH_BOT = "back_with_bot"
    TIMEOUT_CHOICE = "timeout_choice"


class Choice(BaseModel):
    """One option offered to the customer (a quick reply: shown `title`, sent `payload`)."""

    title: StrictStr = Field(..., min_length=1, max_length=200)
    payload: StrictStr = Field(..., min_length=1, max_length=200)

    class Config:
        extra = Extra.forbid


class HandoffStatusNotice(BaseModel):
    """Body of `POST /webhooks/socketio/notify`, emitted as is to the customer's room.

    The known details are type-checked; other keys are passed through to the page unchanged.
    """

    sender_id: StrictStr = Field(..., min_length=1, max_length=512)
    type: str = Field(STATUS_EVENT, regex=f"^{STATUS_EVENT}$")
    status: CustomerStatus
    position: int | None = None
    estimated_wait_seconds: float | None = None
    agent_name: StrictStr | None = Field(None, max_length=200)
    typing: StrictBool | None = None
    choices: list[Choice] | None = None

    class Config:
        extra = Extra.allow
        use_enum_values = True

    @validator("position", pre=True)
    def _whole_number(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("must be a whole number")
        if value is not None and value < 0:
            raise ValueError("must not be negative")
        return value

    @validator("estimated_wait_seconds", pre=True)
    def _seconds(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError("must be a number of seconds")
        if value is not None and value < 0:
            raise ValueError("must not be negative")
        return value
