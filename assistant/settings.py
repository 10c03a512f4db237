"""Configuration of the Rasa server's own extensions, read from the environment.

Read by `settingsupport.environment`, like the action server's and the desk's settings, by
`python -m assistant` before Rasa starts. The channels' and the event broker's settings
(DESK_URL, HANDOFF_SECRET, RASA_AUTH_TOKEN, ...) are Rasa's: `credentials.yml` and
`endpoints.yml` name the variables, and Rasa refuses to start when one of them is unset.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field, validator

from assistant.channels.rate_limit import (
    DEFAULT_BURST,
    DEFAULT_DROPPED_BEFORE_DISCONNECT,
    DEFAULT_EVENTS_PER_SECOND,
    ConnectionLimits,
)
from assistant.channels.socketio_manager import (
    CHANNEL_VARIABLE,
    DEFAULT_CHANNEL,
    MANAGER_URL_VARIABLE,
    check_manager_url,
)
from settingsupport.environment import EnvironmentSettings, positive_field

TIMEOUT_VARIABLE: Final = "ACTION_SERVER_TIMEOUT_SECONDS"
#: The slowest healthy action is a handoff whose delivery to the desk times out on every try:
#: with the action server's defaults 3 x 2 s plus 0.6 s of back-off, so this leaves it room.
DEFAULT_TIMEOUT_SECONDS: Final = 10.0


class AssistantSettings(EnvironmentSettings):
    """Everything the Rasa server's extensions read from the environment."""

    #: How long the Rasa server waits for one custom action (`assistant.action_failure`).
    action_server_timeout_seconds: float = positive_field(DEFAULT_TIMEOUT_SECONDS, TIMEOUT_VARIABLE)
    #: The web chat's cross-process socket.io pub/sub (`assistant.channels.socketio_manager`):
    #: empty for a single Rasa process. May carry a password: kept out of the repr.
    webchat_socketio_manager_url: str = Field("", env=MANAGER_URL_VARIABLE, repr=False)
    webchat_socketio_channel: str = Field(DEFAULT_CHANNEL, env=CHANNEL_VARIABLE, min_length=1)
    #: The web chat's limit per socket.io connection (`assistant.channels.rate_limit`).
    webchat_events_per_second: float = positive_field(
        DEFAULT_EVENTS_PER_SECOND, "WEBCHAT_EVENTS_PER_SECOND"
    )
    webchat_event_burst: int = Field(DEFAULT_BURST, env="WEBCHAT_EVENT_BURST", gt=0)
    webchat_dropped_before_disconnect: int = Field(
        DEFAULT_DROPPED_BEFORE_DISCONNECT, env="WEBCHAT_DROPPED_BEFORE_DISCONNECT", gt=0
    )

    @validator("webchat_socketio_manager_url")
    def _supported_pub_sub(cls, url: str) -> str:
        return check_manager_url(url)

    def connection_limits(self) -> ConnectionLimits:
        """The web chat's per-connection limit these settings describe."""
        return ConnectionLimits(
            events_per_second=self.webchat_events_per_second,
            burst=self.webchat_event_burst,
            dropped_before_disconnect=self.webchat_dropped_before_disconnect,
        )
