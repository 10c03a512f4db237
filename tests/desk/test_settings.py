"""Desk settings: defaults, and failing fast on missing secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.settings import PROJECT_ROOT, DemoSeedSettings, DeskSettings
from settingsupport.environment import MissingSettingError

SECRETS = {"HANDOFF_SECRET": "h", "RASA_AUTH_TOKEN": "r"}


def test_defaults() -> None:
    settings = DeskSettings.from_env(SECRETS)

    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'desk.db'}"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert (settings.session_hours, settings.claim_timeout_seconds) == (12.0, 120.0)
    assert (settings.rasa_timeout_seconds, settings.average_handle_seconds) == (5.0, 300.0)


def test_everything_comes_from_the_environment() -> None:
    settings = DeskSettings.from_env(
        {
            **SECRETS,
            "DESK_DATABASE_URL": "postgresql://desk@db/desk",
            "RASA_URL": "http://rasa:5005/",
            "DESK_HOST": "0.0.0.0",
            "DESK_PORT": "9090",
            "DESK_SESSION_HOURS": "8",
            "CLAIM_TIMEOUT_SECONDS": "45",
            "RASA_TIMEOUT_SECONDS": "2.5",
            "DESK_AVERAGE_HANDLE_SECONDS": "180",
        }
    )

    assert settings == DeskSettings(
        database_url="postgresql://desk@db/desk",
        handoff_secret="h",
        rasa_auth_token="r",
        rasa_url="http://rasa:5005",
        host="0.0.0.0",
        port=9090,
        session_hours=8.0,
        claim_timeout_seconds=45.0,
        rasa_timeout_seconds=2.5,
        average_handle_seconds=180.0,
        # Unset in the mapping; built directly, the expected settings would read the
        # process environment (`make` exports .env, which has a metrics token).
        metrics_token=None,
    )


@pytest.mark.parametrize("missing", ["HANDOFF_SECRET", "RASA_AUTH_TOKEN"])
def test_a_missing_secret_fails_fast(missing: str) -> None:
    environ = {**SECRETS, missing: "  "}

    with pytest.raises(MissingSettingError, match=missing):
        DeskSettings.from_env(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DESK_PORT", "http"),
        ("DESK_PORT", "70000"),
        ("DESK_SESSION_HOURS", "-1"),
        ("CLAIM_TIMEOUT_SECONDS", "soon"),
        ("RASA_TIMEOUT_SECONDS", "0"),
        ("DESK_AVERAGE_HANDLE_SECONDS", "a while"),
    ],
)
def test_malformed_numbers_fail_fast(name: str, value: str) -> None:
    with pytest.raises(MissingSettingError, match=name):
        DeskSettings.from_env({**SECRETS, name: value})


def test_secrets_stay_out_of_the_repr() -> None:
    settings = DeskSettings.from_env({"HANDOFF_SECRET": "h-s3cret", "RASA_AUTH_TOKEN": "r-t0ken"})

    assert "h-s3cret" not in repr(settings)
    assert "r-t0ken" not in repr(settings)


def test_the_seed_command_needs_only_the_database_and_the_demo_password() -> None:
    settings = DemoSeedSettings.from_env({"DESK_DEMO_PASSWORD": "demo"})

    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'desk.db'}"
    assert settings.demo_password == "demo"
    with pytest.raises(MissingSettingError, match="DESK_DEMO_PASSWORD is not set"):
        DemoSeedSettings.from_env({"DESK_DATABASE_URL": "sqlite://"})


def test_the_demo_codes_file_is_off_unless_set() -> None:
    unset = DeskSettings.from_env(SECRETS)
    blank = DeskSettings.from_env({**SECRETS, "DESK_DEMO_CODES_FILE": "  "})
    given = DeskSettings.from_env({**SECRETS, "DESK_DEMO_CODES_FILE": "var/codes.jsonl"})

    assert (unset.demo_codes_file, blank.demo_codes_file) == (None, None)
    assert given.demo_codes_file == Path("var/codes.jsonl")


def test_one_desk_process_unless_a_redis_is_named() -> None:
    alone = DeskSettings.from_env(SECRETS)
    shared = DeskSettings.from_env(
        {
            **SECRETS,
            "DESK_BUS_URL": " redis://:s3cret@127.0.0.1:6379/0 ",
            "DESK_BUS_PREFIX": "desk-blue",
        }
    )

    assert (alone.bus_url, alone.bus_prefix) == ("", "desk")
    assert (shared.bus_url, shared.bus_prefix) == ("redis://:s3cret@127.0.0.1:6379/0", "desk-blue")
    assert "s3cret" not in repr(shared)


@pytest.mark.parametrize("url", ["127.0.0.1:6379", "amqp://guest:guest@127.0.0.1:5672/"])
def test_a_bus_url_that_is_no_redis_fails_fast(url: str) -> None:
    with pytest.raises(MissingSettingError, match=r"DESK_BUS_URL must be empty .* or a Redis URL"):
        DeskSettings.from_env({**SECRETS, "DESK_BUS_URL": url})


def test_the_event_queue_is_off_unless_set() -> None:
    settings = DeskSettings.from_env(SECRETS)

    assert settings.event_queue_url is None
    assert (settings.event_exchange, settings.event_queue) == (
        "rasa-exchange",
        "desk-conversation-events",
    )


def test_the_event_queue_comes_from_the_environment_and_its_password_stays_out() -> None:
    settings = DeskSettings.from_env(
        {
            **SECRETS,
            "DESK_EVENT_QUEUE_URL": "amqp://desk:pw-s3cret@mq:5672/%2F",
            "DESK_EVENT_EXCHANGE": "events",
            "DESK_EVENT_QUEUE": "desk-events",
        }
    )

    assert settings.event_queue_url == "amqp://desk:pw-s3cret@mq:5672/%2F"
    assert (settings.event_exchange, settings.event_queue) == ("events", "desk-events")
    assert "pw-s3cret" not in repr(settings)


def test_an_event_queue_url_that_is_not_amqp_fails_fast_without_showing_it() -> None:
    with pytest.raises(MissingSettingError, match="DESK_EVENT_QUEUE_URL is not valid") as raised:
        DeskSettings.from_env({**SECRETS, "DESK_EVENT_QUEUE_URL": "redis://u:pw-s3cret@mq"})
    assert "pw-s3cret" not in str(raised.value)
