"""What the launcher reads: the processes' ports and the Rasa token, failing fast."""

from __future__ import annotations

import pytest

from launcher.__main__ import main
from launcher.settings import LauncherSettings, SupervisionSettings
from launcher.stack import PROJECT_ROOT
from settingsupport.environment import MissingSettingError

TOKEN = {"RASA_AUTH_TOKEN": "r"}


def test_defaults_are_the_documented_ports() -> None:
    settings = LauncherSettings.from_env(TOKEN)

    assert (settings.rasa_port, settings.action_server_port, settings.desk_port) == (
        5005,
        5055,
        8080,
    )
    assert settings.rasa_auth_token == "r"


def test_a_missing_token_fails_fast() -> None:
    with pytest.raises(MissingSettingError, match="RASA_AUTH_TOKEN is not set"):
        LauncherSettings.from_env({})


@pytest.mark.parametrize("port", ["http", "0", "65536"])
def test_a_malformed_port_fails_fast(port: str) -> None:
    with pytest.raises(MissingSettingError, match=f"DESK_PORT is not valid .*, got '{port}'"):
        LauncherSettings.from_env({**TOKEN, "DESK_PORT": port})


def test_the_launcher_starts_nothing_without_its_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RASA_AUTH_TOKEN", raising=False)
    monkeypatch.setattr("launcher.__main__.Stack", lambda *_: pytest.fail("nothing starts"))

    assert main("run") == 1
    assert "RASA_AUTH_TOKEN is not set" in capsys.readouterr().err


def test_supervision_defaults_restart_five_times_in_five_minutes_and_log_to_var() -> None:
    settings = SupervisionSettings.from_env({})

    assert (settings.max_restarts, settings.restart_window_seconds) == (5, 300.0)
    assert settings.log_dir == PROJECT_ROOT / "var" / "logs"


def test_a_malformed_restart_limit_fails_fast() -> None:
    with pytest.raises(MissingSettingError, match="LAUNCHER_MAX_RESTARTS is not valid"):
        SupervisionSettings.from_env({"LAUNCHER_MAX_RESTARTS": "many"})
