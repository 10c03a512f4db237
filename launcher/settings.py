"""What `make run` and `make shell` read from the environment to start the system.

Read like each deployable's settings (`settingsupport.environment`), so a missing token or a
malformed port stops the launcher at once with the variable's name, before any process starts.
Each process then reads its own settings from the same environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from launcher.stack import PROJECT_ROOT
from settingsupport.environment import EnvironmentSettings, port_field, positive_field, secret_field


class LauncherSettings(EnvironmentSettings):
    """The loopback ports of the three processes, and the Rasa HTTP API's token."""

    rasa_port: int = port_field(5005, "RASA_PORT")
    action_server_port: int = port_field(5055, "ACTION_SERVER_PORT")
    desk_port: int = port_field(8080, "DESK_PORT")
    rasa_auth_token: str = secret_field("RASA_AUTH_TOKEN")


class SupervisionSettings(EnvironmentSettings):
    """Where `make run` and `make run-scaled` write the processes' logs, and how often they
    restart a process that dies before giving up (`launcher.supervision.RestartPolicy`)."""

    log_dir: Path = Field(PROJECT_ROOT / "var" / "logs", env="LAUNCHER_LOG_DIR")
    max_restarts: int = Field(5, env="LAUNCHER_MAX_RESTARTS", ge=0)
    restart_window_seconds: float = positive_field(300.0, "LAUNCHER_RESTART_WINDOW_SECONDS")
