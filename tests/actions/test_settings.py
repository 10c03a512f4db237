"""The action server's settings: defaults, and failing fast on a missing or malformed value."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.settings import PROJECT_ROOT, Settings
from settingsupport.environment import MissingSettingError

REQUIRED = {
    "HANDOFF_URL": "http://desk/api/handoffs",
    "HANDOFF_SECRET": "h",
    "ACTION_SERVER_TOKEN": "t",
}


def test_defaults() -> None:
    settings = Settings.from_env(REQUIRED)

    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'app.db'}"
    assert (settings.handoff_url, settings.handoff_secret) == ("http://desk/api/handoffs", "h")
    assert settings.action_server_token == "t"
    assert (settings.handoff_timeout_seconds, settings.handoff_attempts) == (2.0, 3)
    assert (settings.handoff_backoff_seconds, settings.outbox_interval_seconds) == (0.2, 10.0)
    assert settings.troubleshooting_trees_path == PROJECT_ROOT / "content/troubleshooting_trees.yml"
    assert settings.handoff_routing_path == PROJECT_ROOT / "content/handoff_routing.yml"


def test_everything_comes_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            **REQUIRED,
            "APP_DATABASE_URL": "postgresql://app@db/app",
            "HANDOFF_TIMEOUT_SECONDS": "1.5",
            "HANDOFF_ATTEMPTS": "4",
            "HANDOFF_BACKOFF_SECONDS": "0",
            "OUTBOX_INTERVAL_SECONDS": "7",
            "TROUBLESHOOTING_TREES": str(tmp_path / "trees.yml"),
            "HANDOFF_ROUTING": "elsewhere/routing.yml",
        }
    )

    assert settings.database_url == "postgresql://app@db/app"
    assert (settings.handoff_timeout_seconds, settings.handoff_attempts) == (1.5, 4)
    assert (settings.handoff_backoff_seconds, settings.outbox_interval_seconds) == (0.0, 7.0)
    assert settings.troubleshooting_trees_path == tmp_path / "trees.yml"
    # A relative path is the project's, wherever the process was started.
    assert settings.handoff_routing_path == PROJECT_ROOT / "elsewhere/routing.yml"


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_setting_fails_fast(missing: str) -> None:
    environ = {name: value for name, value in REQUIRED.items() if name != missing}

    with pytest.raises(MissingSettingError, match=f"{missing} is not set"):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HANDOFF_TIMEOUT_SECONDS", "soon"),
        ("HANDOFF_TIMEOUT_SECONDS", "0"),
        ("HANDOFF_ATTEMPTS", "many"),
        ("HANDOFF_ATTEMPTS", "0"),
        ("HANDOFF_BACKOFF_SECONDS", "-1"),
        ("OUTBOX_INTERVAL_SECONDS", "inf"),
    ],
)
def test_malformed_numbers_fail_fast(name: str, value: str) -> None:
    with pytest.raises(MissingSettingError, match=f"{name} is not valid .*, got '{value}'"):
        Settings.from_env({**REQUIRED, name: value})


def test_secrets_stay_out_of_the_repr() -> None:
    settings = Settings.from_env({**REQUIRED, "HANDOFF_SECRET": "desk-s3cret"})

    assert "desk-s3cret" not in repr(settings)
    assert "http://desk/api/handoffs" in repr(settings)
