"""The desk benchmark's isolated system: the real desk, its database and its settings."""

from __future__ import annotations

from pathlib import Path

from desk.seed import DEMO_AGENTS
from desk.services.agents import authenticate
from desk.store.database import Database
from harness.isolated_system import create_desk_environment


def test_the_desk_system_runs_the_real_desk_with_its_own_database(tmp_path: Path) -> None:
    model = tmp_path / "model.tar.gz"
    environment = create_desk_environment(tmp_path, model)
    system = environment.system

    assert [service.name for service in environment.services()] == ["desk", "actions", "rasa"]
    desk = environment.services()[0]
    assert desk.health_url == f"http://127.0.0.1:{system.ports.desk}/health"
    assert str(model) in environment.services()[2].argv

    variables = environment.variables({"PATH": "/bin"})
    assert variables["PATH"] == "/bin"
    assert variables["DESK_URL"] == environment.desk_url
    assert variables["DESK_PORT"] == str(system.ports.desk)
    assert variables["HANDOFF_URL"] == environment.desk_url + "/api/handoffs"
    assert variables["RASA_URL"] == environment.rasa_url == system.rasa_url
    assert variables["DESK_DATABASE_URL"] == f"sqlite:///{tmp_path / 'desk.db'}"
    assert variables["DESK_DEMO_PASSWORD"] == environment.demo_password
    assert variables["HANDOFF_SECRET"] == system.secrets.handoff_secret
    assert variables["RASA_AUTH_TOKEN"] == system.secrets.rasa_auth_token


def test_the_demo_agents_log_in_with_the_run_s_password(tmp_path: Path) -> None:
    environment = create_desk_environment(tmp_path, tmp_path / "model.tar.gz")
    other = create_desk_environment(tmp_path / "other", tmp_path / "model.tar.gz")
    assert environment.demo_password != other.demo_password

    database = Database(environment.desk_database_url)
    try:
        with database.session() as session:
            for demo in DEMO_AGENTS:
                agent = authenticate(session, demo.username, environment.demo_password)
                assert agent.username == demo.username
    finally:
        database.dispose()
