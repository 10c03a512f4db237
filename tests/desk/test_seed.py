"""`python -m desk.seed`: demo users, idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk import seed
from desk.services import agents
from desk.services.branches import branches
from desk.services.errors import AuthenticationFailed
from desk.store.database import Database
from desk.store.models import Agent
from settingsupport.environment import MissingSettingError


def test_seed_creates_one_agent_per_queue_a_supervisor_and_branch_staff(
    database: Database,
) -> None:
    seed.seed_demo_agents(database, "demo-password-1")

    with database.session() as session:
        found = {a.username: (a.role, a.queues, a.branch) for a in session.query(Agent).all()}
        agents.authenticate(session, "maya", "demo-password-1")
        agents.authenticate(session, "bea", "demo-password-1")
    assert found == {
        "olivia": ("agent", ["order_support"], None),
        "leo": ("agent", ["tech_support_l2"], None),
        "maya": ("agent", ["mortgage_advisors"], None),
        "gus": ("agent", ["general_support"], None),
        "sam": (
            "supervisor",
            ["general_support", "mortgage_advisors", "order_support", "tech_support_l2"],
            None,
        ),
        "bea": ("branch_staff", [], "leeds_park_row"),
        "ravi": ("branch_staff", [], "manchester_king_street"),
    }


def test_every_demo_branch_is_a_branch_of_the_content_file() -> None:
    staffed = {demo.branch for demo in seed.DEMO_AGENTS if demo.branch is not None}

    assert staffed == {"leeds_park_row", "manchester_king_street"}
    assert staffed <= set(branches())


def test_seeding_again_puts_back_the_demo_role_and_branch(database: Database) -> None:
    seed.seed_demo_agents(database, "demo-password-1")
    with database.session(write=True) as session:
        bea = session.query(Agent).filter_by(username="bea").one()
        bea.role, bea.branch = "agent", None

    seed.seed_demo_agents(database, "demo-password-1")

    with database.session() as session:
        bea = session.query(Agent).filter_by(username="bea").one()
        assert (bea.role, bea.branch, bea.queues) == ("branch_staff", "leeds_park_row", [])


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
    for username in ("olivia", "leo", "maya", "gus", "sam", "bea", "ravi"):
        assert username in out
    assert "branch leeds_park_row" in out
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
            assert session.query(Agent).count() == len(seeded) == len(again) == 7
            agents.authenticate(session, "olivia", "demo-password-3")
    finally:
        database.dispose()
