"""The Rasa server's log masking: personal data and the secrets it holds, in every record.

Rasa logs a customer's text in places (a message starting with "/" that fails to parse is
quoted in a warning), aiohttp errors repeat the URLs they failed on, and Sanic, Rasa, structlog
and the project's loggers each write through their own handlers. `install` masks every record
the process makes (`logsupport.masking`), including the values of the secrets below, wherever
they appear; it runs before Rasa's command line, so before anything is logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from logsupport.masking import install_log_masking

#: The environment variables of the Rasa process that hold secrets (endpoints.yml,
#: credentials.yml and the launcher's `RASA_AUTH_TOKEN`).
SECRET_VARIABLES: Final = (
    "RASA_AUTH_TOKEN",
    "ACTION_SERVER_TOKEN",
    "HANDOFF_SECRET",
    "LOCK_STORE_PASSWORD",
    "EVENT_BROKER_PASSWORD",
)


def install(environ: Mapping[str, str]) -> None:
    """Mask personal data and this process's secrets in every log record from now on."""
    install_log_masking(environ.get(name) for name in SECRET_VARIABLES)
