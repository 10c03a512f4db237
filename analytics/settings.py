"""Configuration of the analytics build and report, read from the environment."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, validator
from sqlalchemy.engine import make_url

from settingsupport.environment import EnvironmentSettings, positive_field

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _var(name: str) -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / name}"


def anchored(url: str) -> str:
    """A relative SQLite path (`sqlite:///var/x.db`) made absolute from the project root, so
    the build reads the same files whichever directory it was started in."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute():
            return str(parsed.set(database=str(PROJECT_ROOT / path)))
    return url


class AnalyticsSettings(EnvironmentSettings):
    """What the analytics reads from its environment (.env.example documents each)."""

    database_url: str = Field(
        default_factory=lambda: _var("analytics.db"), env="ANALYTICS_DATABASE_URL"
    )
    tracker_store_url: str = Field(
        default_factory=lambda: _var("tracker.db"), env="TRACKER_STORE_URL"
    )
    desk_database_url: str = Field(default_factory=lambda: _var("desk.db"), env="DESK_DATABASE_URL")
    #: A contained conversation is durable when the customer did not come back about the same
    #: journey within this many days.
    durable_days: float = positive_field(7.0, "ANALYTICS_DURABLE_DAYS")
    #: The zone whose calendar cuts days and weeks.
    timezone: str = Field("Europe/London", env="ANALYTICS_TIMEZONE")
    #: How often the desk folds new events into the facts.
    interval_seconds: float = positive_field(60.0, "ANALYTICS_INTERVAL_SECONDS")
    #: Tracker events read per batch (one transaction each).
    batch_events: int = Field(20000, env="ANALYTICS_BATCH_EVENTS", gt=0)

    @validator("database_url", "tracker_store_url", "desk_database_url")
    def _anchor(cls, url: str) -> str:
        return anchored(url)

    @validator("timezone")
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {name!r} (an IANA name, e.g. Europe/London)"
            raise ValueError(message) from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        """The reporting time zone."""
        return ZoneInfo(self.timezone)
