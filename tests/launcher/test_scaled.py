"""How the scaled system is wired: its processes, their shared settings, its databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.scaled import (
    ENDPOINTS,
    ScaledSettings,
    plan_from_settings,
    scaled_services,
    shared_environment,
)
from launcher.scaled_databases import database_urls
from settingsupport.environment import MissingSettingError

ENV = {
    "RASA_AUTH_TOKEN": "token",
    "DESK_DEMO_PASSWORD": "password",
    "SCALED_RABBITMQ_URL": "amqp://rabbit:p%40ss@mq.internal:5673/%2F",
    "SCALED_REDIS_URL": "redis://:r3dis@cache.internal:6380/2",
    "SCALED_POSTGRES_URL": "postgresql://rasa:pg@db.internal:5432/postgres",
}


def test_two_of_each_process_on_their_own_ports_then_the_balancer(tmp_path: Path) -> None:
    plan = plan_from_settings(ScaledSettings.from_env(ENV))
    services = scaled_services(plan, config_dir=tmp_path)

    assert [service.name for service in services] == [
        "rasa1", "rasa2", "actions1", "actions2", "desk1", "desk2", "balancer",
    ]  # fmt: skip
    rasa1 = services[0]
    assert rasa1.argv[rasa1.argv.index("--port") + 1] == "7001"
    assert rasa1.argv[-2:] == ["--endpoints", str(ENDPOINTS)]
    assert services[3].argv[services[3].argv.index("--port") + 1] == "7012"
    assert services[5].env["DESK_PORT"] == "7022"
    assert (tmp_path / "haproxy.cfg").exists()


def test_every_process_reaches_the_others_through_the_balancer() -> None:
    plan = plan_from_settings(ScaledSettings.from_env(ENV))
    env = shared_environment(plan)

    assert env["ACTION_SERVER_URL"] == "http://127.0.0.1:5055/webhook"
    assert env["DESK_URL"] == env["RASA_URL"] == "http://127.0.0.1:8080"
    assert env["HANDOFF_URL"] == "http://127.0.0.1:8080/api/handoffs"


def test_the_shared_services_are_passed_in_the_shapes_each_part_reads() -> None:
    env = shared_environment(plan_from_settings(ScaledSettings.from_env(ENV)))

    # Rasa's pika broker and Redis lock store take the URL apart (endpoints.scaled.yml).
    assert (env["EVENT_BROKER_HOST"], env["EVENT_BROKER_PORT"]) == ("mq.internal", "5673")
    assert (env["EVENT_BROKER_USERNAME"], env["EVENT_BROKER_PASSWORD"]) == ("rabbit", "p@ss")
    assert (env["LOCK_STORE_HOST"], env["LOCK_STORE_PORT"]) == ("cache.internal", "6380")
    assert (env["LOCK_STORE_DB"], env["LOCK_STORE_PASSWORD"]) == ("2", "r3dis")
    # The desks and the web chat take whole URLs.
    assert env["DESK_EVENT_QUEUE_URL"] == ENV["SCALED_RABBITMQ_URL"]
    assert env["DESK_BUS_URL"] == env["WEBCHAT_SOCKETIO_MANAGER_URL"] == ENV["SCALED_REDIS_URL"]
    assert env["DESK_BUS_PREFIX"] == "desk"
    assert (env["DESK_EVENT_EXCHANGE"], env["DESK_EVENT_QUEUE"]) == (
        "rasa-exchange",
        "desk-conversation-events",
    )
    assert (
        env["TRACKER_STORE_URL"]
        == "postgresql://rasa:pg@db.internal:5432/support_assistant_tracker"
    )
    assert env["DESK_DATABASE_URL"].endswith("/support_assistant_desk")


def test_database_names_are_checked() -> None:
    urls = database_urls("postgresql://postgres@127.0.0.1:5432/postgres", "demo_2")
    assert urls.app == "postgresql://postgres@127.0.0.1:5432/demo_2_app"
    for prefix in ["Demo", "2demo", "demo;drop", ""]:
        with pytest.raises(ValueError, match="must be lower-case letters"):
            database_urls("postgresql://postgres@127.0.0.1:5432/postgres", prefix)


def test_the_secrets_and_the_process_count_are_checked() -> None:
    with pytest.raises(MissingSettingError, match="RASA_AUTH_TOKEN is not set"):
        ScaledSettings.from_env({"DESK_DEMO_PASSWORD": "x"})
    with pytest.raises(MissingSettingError, match="SCALED_PROCESSES is not valid"):
        ScaledSettings.from_env({**ENV, "SCALED_PROCESSES": "0"})
