"""Configuration of the action server, read once from the environment.

Every URL and secret comes from the environment (see `.env.example` for the documented
defaults), read by `settingsupport.environment`. A missing secret fails fast at start-up
instead of silently becoming "".
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, validator

from settingsupport.environment import EnvironmentSettings, positive_field, secret_field

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_sqlite_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'app.db'}"


class Settings(EnvironmentSettings):
    """Everything the action server reads from its environment."""

    database_url: str = Field(default_factory=_default_sqlite_url, env="APP_DATABASE_URL")
    handoff_url: str = Field(..., env="HANDOFF_URL")
    handoff_secret: str = secret_field("HANDOFF_SECRET")
    handoff_timeout_seconds: float = positive_field(2.0, "HANDOFF_TIMEOUT_SECONDS")
    handoff_attempts: int = Field(3, env="HANDOFF_ATTEMPTS", gt=0)
    handoff_backoff_seconds: float = Field(
        0.2, env="HANDOFF_BACKOFF_SECONDS", ge=0, allow_inf_nan=False
    )
    outbox_interval_seconds: float = positive_field(10.0, "OUTBOX_INTERVAL_SECONDS")
    troubleshooting_trees_path: Path = Field(
        Path("content/troubleshooting_trees.yml"), env="TROUBLESHOOTING_TREES"
    )
    handoff_routing_path: Path = Field(Path("content/handoff_routing.yml"), env="HANDOFF_ROUTING")
    action_server_token: str = secret_field("ACTION_SERVER_TOKEN")

    @validator("troubleshooting_trees_path", "handoff_routing_path")
    def _under_project_root(cls, path: Path) -> Path:
        return path if path.is_absolute() else PROJECT_ROOT / path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once; raises `MissingSettingError` on a missing or malformed value."""
    return Settings.from_env()
