"""The Rasa server extensions' settings: the action timeout, and failing fast on a bad one."""

from __future__ import annotations

import pytest

from assistant.settings import DEFAULT_TIMEOUT_SECONDS, TIMEOUT_VARIABLE, AssistantSettings
from launcher.envfile import parse_env
from settingsupport.environment import MissingSettingError
from tests.settingsupport.test_environment import ENV_EXAMPLE


@pytest.mark.parametrize(
    ("environ", "seconds"),
    [
        ({}, DEFAULT_TIMEOUT_SECONDS),
        ({TIMEOUT_VARIABLE: ""}, DEFAULT_TIMEOUT_SECONDS),
        ({TIMEOUT_VARIABLE: "2.5"}, 2.5),
        ({TIMEOUT_VARIABLE: " 30 "}, 30.0),
    ],
)
def test_the_timeout_comes_from_the_environment(environ: dict[str, str], seconds: float) -> None:
    assert AssistantSettings.from_env(environ).action_server_timeout_seconds == seconds


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf"])
def test_a_wrong_timeout_fails_at_start_up(raw: str) -> None:
    with pytest.raises(ValueError, match=TIMEOUT_VARIABLE):
        AssistantSettings.from_env({TIMEOUT_VARIABLE: raw})


def test_a_malformed_timeout_is_refused_with_its_value() -> None:
    with pytest.raises(MissingSettingError, match=rf"^{TIMEOUT_VARIABLE} .*, got 'ten'$"):
        AssistantSettings.from_env({TIMEOUT_VARIABLE: "ten"})


def test_the_documented_default_is_the_one_in_env_example() -> None:
    example = parse_env(ENV_EXAMPLE.read_text(encoding="utf-8"))
    assert float(example[TIMEOUT_VARIABLE]) == DEFAULT_TIMEOUT_SECONDS
