"""Configuration of the desk, read from the environment.

Every URL and secret comes from the environment (`.env.example` documents the defaults). A
missing secret fails fast at start-up instead of silently becoming "".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class MissingSettingError(RuntimeError):
    """Raised at start-up when a required environment variable is not set or is malformed."""


def default_database_url() -> str:
    """The demo database: a SQLite file under `var/`."""
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'desk.db'}"


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """DESK_DATABASE_URL, or the demo SQLite file (all the seed command needs)."""
    env = os.environ if environ is None else environ
    return env.get("DESK_DATABASE_URL", "").strip() or default_database_url()


@dataclass(frozen=True)
class DeskSettings:
    """Everything the desk reads from its environment."""

    database_url: str
    handoff_secret: str
    rasa_auth_token: str
    rasa_url: str = "http://127.0.0.1:5005"
    host: str = "127.0.0.1"
    port: int = 8080
    session_hours: float = 12.0
    claim_timeout_seconds: float = 120.0
    # Per request to Rasa (HTTP API and the web chat's notify route).
    rasa_timeout_seconds: float = 5.0
    # The estimated wait told to a waiting customer is position * this (see
    # desk/live.py); a rough figure a support lead tunes to the team's real average.
    average_handle_seconds: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeskSettings:
        """Read the settings; raises `MissingSettingError` on a missing or malformed value."""
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        return cls(
            database_url=database_url_from_env(env),
            handoff_secret=reader.required("HANDOFF_SECRET"),
            rasa_auth_token=reader.required("RASA_AUTH_TOKEN"),
            rasa_url=reader.text("RASA_URL", cls.rasa_url).rstrip("/"),
            host=reader.text("DESK_HOST", cls.host),
            port=reader.port("DESK_PORT", cls.port),
            session_hours=reader.positive("DESK_SESSION_HOURS", cls.session_hours),
            claim_timeout_seconds=reader.positive(
                "CLAIM_TIMEOUT_SECONDS", cls.claim_timeout_seconds
            ),
            rasa_timeout_seconds=reader.positive("RASA_TIMEOUT_SECONDS", cls.rasa_timeout_seconds),
            average_handle_seconds=reader.positive(
                "DESK_AVERAGE_HANDLE_SECONDS", cls.average_handle_seconds
            ),
        )


@dataclass(frozen=True)
class _Reader:
    env: Mapping[str, str]

    def text(self, name: str, default: str) -> str:
        return self.env.get(name, "").strip() or default

    def required(self, name: str) -> str:
        value = self.env.get(name, "").strip()
        if not value:
            raise MissingSettingError(
                f"{name} is not set. Copy .env.example to .env (or run `make .env`) and set it."
            )
        return value

    def positive(self, name: str, default: float) -> float:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError as error:
            raise MissingSettingError(f"{name} must be a number, got {raw!r}") from error
        if value <= 0:
            raise MissingSettingError(f"{name} must be greater than 0, got {raw!r}")
        return value

    def port(self, name: str, default: int) -> int:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise MissingSettingError(f"{name} must be a TCP port (1-65535), got {raw!r}")
        return int(raw)
