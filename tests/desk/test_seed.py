"""`python -m desk.seed`: demo users, idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk import seed
from desk.services import agents
from desk.services.errors import AuthenticationFailed
from desk.store.database import Database
from desk.store.models import Agent
from settingsupport.environment import MissingSettingError


def test_seed_creates_one_agent_per_queue_and_a_supervisor(database: Database) -> None:
    seed.seed_demo_agents(database, "demo-password-1")

    with database.session() as session:
        found = {a.username: (a.role, a.queues) for a in session.query(Agent).all()}
        agents.authenticate(session, "maya", "demo-password-1")
    assert found == {
        "olivia": ("agent", ["order_support"]),
        "leo": ("agent", ["tech_support_l2"]),
        "maya": ("agent", ["mortgage_advisors"]),
        "gus": ("agent", ["general_support"]),
        "sam": (
            "supervisor",
            ["general_support", "mortgage_advisors", "order_support", "tech_support_l2"],
        ),
    }


def test_seeding_again_keeps_users_and_follows_the_password(database: Database) -> None:
    seed.seed_demo_agents(database, "demo-password-1")
    with database.session() as session:
        ids = {a.username: a.id for a in session.query(Agent).all()}

    seed.seed_demo_agents(database, "demo-password-2")

    with database.session() as session:
        assert {a.username: a.id for a in session.query(Agent).all()} == ids
        agents.authenticate(session, "sam", "demo-password-2")
        with pytest.raises(AuthenticationFailed):
            agents.authenticate(session, "sam", "demo-password-1")


def test_the_command_migrates_seeds_and_prints_the_logins(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESK_DATABASE_URL", database_url)
    monkeypatch.setenv("DESK_DEMO_PASSWORD", "demo-password-1")

    assert seed.main([]) == 0

    out = capsys.readouterr().out
    for username in ("olivia", "leo", "maya", "gus", "sam"):
        assert username in out
    assert "demo-password-1" not in out


def test_the_command_needs_a_demo_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESK_DEMO_PASSWORD", raising=False)

    with pytest.raises(MissingSettingError, match="DESK_DEMO_PASSWORD"):
        seed.main([])


def test_a_fresh_demo_desk_is_migrated_and_seeded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh/desk.db"

    seeded = seed.prepare_demo_desk(url, "demo-password-3")
    again = seed.prepare_demo_desk(url, "demo-password-3")  # idempotent

    database = Database(url)
    try:
        with database.session() as session:
            assert session.query(Agent).count() == len(seeded) == len(again) == 5
            agents.authenticate(session, "olivia", "demo-password-3")
    finally:
        database.dispose()
