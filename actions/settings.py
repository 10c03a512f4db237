"""Configuration of the action server, read once from the environment.

Every URL and secret comes from the environment (see `.env.example` for the documented
defaults). A missing secret fails fast at start-up instead of silently becoming "".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class MissingSettingError(RuntimeError):
    """Raised at start-up when a required environment variable is not set."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingSettingError(
            f"{name} is not set. Copy .env.example to .env (or run `make .env`) and set it."
        )
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise MissingSettingError(f"{name} must be a number, got {raw!r}") from error


def _int(name: str, default: int) -> int:
    return int(_float(name, float(default)))


def _path(name: str, default: str) -> Path:
    path = Path(os.environ.get(name) or default)
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    """Everything the action server reads from its environment."""

    database_url: str
    handoff_url: str
    handoff_secret: str
    handoff_timeout_seconds: float
    handoff_attempts: int
    handoff_backoff_seconds: float
    outbox_interval_seconds: float
    troubleshooting_trees_path: Path
    handoff_routing_path: Path
    action_server_token: str


def _default_sqlite_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'app.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once; raises `MissingSettingError` on a missing secret."""
    return Settings(
        database_url=os.environ.get("APP_DATABASE_URL") or _default_sqlite_url(),
        handoff_url=_required("HANDOFF_URL"),
        handoff_secret=_required("HANDOFF_SECRET"),
        handoff_timeout_seconds=_float("HANDOFF_TIMEOUT_SECONDS", 2.0),
        handoff_attempts=_int("HANDOFF_ATTEMPTS", 3),
        handoff_backoff_seconds=_float("HANDOFF_BACKOFF_SECONDS", 0.2),
        outbox_interval_seconds=_float("OUTBOX_INTERVAL_SECONDS", 10.0),
        troubleshooting_trees_path=_path(
            "TROUBLESHOOTING_TREES", "content/troubleshooting_trees.yml"
        ),
        handoff_routing_path=_path("HANDOFF_ROUTING", "content/handoff_routing.yml"),
        action_server_token=_required("ACTION_SERVER_TOKEN"),
    )
