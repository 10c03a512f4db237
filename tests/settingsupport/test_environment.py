"""Reading a deployable's settings: the rules every deployable shares, and `.env.example`
documenting every variable any of them reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from actions.settings import Settings
from assistant.settings import AssistantSettings
from desk.settings import DemoSeedSettings, DeskSettings
from launcher.envfile import parse_env
from launcher.settings import LauncherSettings
from settingsupport.environment import (
    SETUP_HINT,
    EnvironmentSettings,
    MissingSettingError,
    positive_field,
    secret_field,
    variable_of,
)

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


class ShopSettings(EnvironmentSettings):
    """A deployable's settings, as small as the rules need."""

    api_key: str = secret_field("SHOP_API_KEY")
    greeting: str = Field("hello", env="SHOP_GREETING")
    timeout_seconds: float = positive_field(2.0, "SHOP_TIMEOUT_SECONDS")


def test_values_come_from_their_variables_trimmed() -> None:
    settings = ShopSettings.from_env(
        {"SHOP_API_KEY": " k3y ", "SHOP_GREETING": "hi", "SHOP_TIMEOUT_SECONDS": " 0.5"}
    )

    assert settings == ShopSettings(api_key="k3y", greeting="hi", timeout_seconds=0.5)


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_variable_is_the_default(blank: str) -> None:
    settings = ShopSettings.from_env(
        {"SHOP_API_KEY": "k", "SHOP_GREETING": blank, "SHOP_TIMEOUT_SECONDS": blank}
    )

    assert (settings.greeting, settings.timeout_seconds) == ("hello", 2.0)


@pytest.mark.parametrize("environ", [{}, {"SHOP_API_KEY": ""}, {"SHOP_API_KEY": " \t"}])
def test_a_missing_secret_fails_fast_naming_it(environ: dict[str, str]) -> None:
    with pytest.raises(MissingSettingError) as raised:
        ShopSettings.from_env(environ)

    assert str(raised.value) == f"SHOP_API_KEY is not set. {SETUP_HINT}"


def test_a_malformed_number_is_refused_naming_the_variable_and_value() -> None:
    with pytest.raises(MissingSettingError) as raised:
        ShopSettings.from_env({"SHOP_API_KEY": "k", "SHOP_TIMEOUT_SECONDS": "soon"})

    assert str(raised.value) == (
        "SHOP_TIMEOUT_SECONDS is not valid (value is not a valid float), got 'soon'"
    )


def test_every_problem_is_told_at_once() -> None:
    with pytest.raises(MissingSettingError) as raised:
        ShopSettings.from_env({"SHOP_TIMEOUT_SECONDS": "-2"})

    assert str(raised.value).splitlines() == [
        f"SHOP_API_KEY is not set. {SETUP_HINT}",
        "SHOP_TIMEOUT_SECONDS is not valid (ensure this value is greater than 0), got '-2'",
    ]


def test_a_malformed_secret_is_not_repeated() -> None:
    class StrictShopSettings(ShopSettings):
        api_key: str = Field(..., env="SHOP_API_KEY", repr=False, min_length=8)

    with pytest.raises(MissingSettingError) as raised:
        StrictShopSettings.from_env({"SHOP_API_KEY": "short"})

    assert "SHOP_API_KEY is not valid" in str(raised.value)
    assert "short" not in str(raised.value)


def test_the_process_environment_is_read_without_a_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOP_API_KEY", "from-process")
    monkeypatch.setenv("SHOP_GREETING", "hey")

    assert ShopSettings.from_env() == ShopSettings(api_key="from-process", greeting="hey")


def test_a_mapping_is_read_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_API_KEY", "from-process")
    monkeypatch.setenv("SHOP_GREETING", "hey")

    assert ShopSettings.from_env({"SHOP_API_KEY": "k"}).greeting == "hello"
    with pytest.raises(MissingSettingError, match="SHOP_API_KEY"):
        ShopSettings.from_env({})


def test_settings_are_immutable_and_keep_secrets_out_of_their_repr() -> None:
    settings = ShopSettings.from_env({"SHOP_API_KEY": "k3y-value"})

    with pytest.raises(TypeError):
        settings.greeting = "changed"
    assert "k3y-value" not in repr(settings)
    assert "hello" in repr(settings)


@pytest.mark.parametrize(
    "settings_class",
    [Settings, DeskSettings, DemoSeedSettings, AssistantSettings, LauncherSettings],
)
def test_env_example_documents_every_variable(settings_class: type[EnvironmentSettings]) -> None:
    documented = parse_env(ENV_EXAMPLE.read_text(encoding="utf-8"))

    variables = {variable_of(field) for field in settings_class.__fields__.values()}

    assert variables - set(documented) == set()
