"""Demo desk users: one agent per queue, a supervisor serving every queue, and branch staff.

Run ``python -m desk.seed`` to migrate the desk database and create them. Their password is
DESK_DEMO_PASSWORD (`make` generates one into `.env`). Seeding is idempotent: existing users
keep their ids; their queues, role, branch and active flag are set to the demo values, and their
password is reset only if it no longer matches DESK_DEMO_PASSWORD (so the printed logins
always work).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.engine import make_url

from desk.security import hash_password, verify_password
from desk.services.agents import create_agent
from desk.services.queues import QUEUES
from desk.settings import DemoSeedSettings
from desk.store.database import Database
from desk.store.models import AgentRole
from desk.store.repositories import AgentRepository


@dataclass(frozen=True)
class DemoAgent:
    """One demo login."""

    username: str
    display_name: str
    role: AgentRole
    queues: tuple[str, ...]
    #: Where branch staff work (a key of content/branches.yml); None for everyone else.
    branch: str | None = None


DEMO_AGENTS: Final[tuple[DemoAgent, ...]] = (
    DemoAgent("olivia", "Olivia (Orders)", AgentRole.AGENT, ("order_support",)),
    DemoAgent("leo", "Leo (Tech support)", AgentRole.AGENT, ("tech_support_l2",)),
    DemoAgent("maya", "Maya (Mortgages)", AgentRole.AGENT, ("mortgage_advisors",)),
    DemoAgent("gus", "Gus (Customer service)", AgentRole.AGENT, ("general_support",)),
    DemoAgent("sam", "Sam (Supervisor)", AgentRole.SUPERVISOR, tuple(QUEUES)),
    # Branch staff serve no queue: they sign the customers booked at their own branch.
    DemoAgent("bea", "Bea (Leeds branch)", AgentRole.BRANCH_STAFF, (), "leeds_park_row"),
    DemoAgent(
        "ravi", "Ravi (Manchester branch)", AgentRole.BRANCH_STAFF, (), "manchester_king_street"
    ),
)


def seed_demo_agents(database: Database, password: str) -> list[DemoAgent]:
    """Create or update the demo users; they are returned in order."""
    with database.session(write=True) as session:
        agents = AgentRepository(session)
        for demo in DEMO_AGENTS:
            agent = agents.by_username(demo.username)
            if agent is None:
                create_agent(
                    session,
                    username=demo.username,
                    display_name=demo.display_name,
                    password=password,
                    role=demo.role,
                    queues=demo.queues,
                    branch=demo.branch,
                )
                continue
            agent.role = demo.role.value
            agent.branch = demo.branch
            agent.active = True
            if not verify_password(password, agent.password_hash):
                agent.password_hash = hash_password(password)
            agents.set_queues(agent, demo.queues)
    return list(DEMO_AGENTS)


def prepare_demo_desk(url: str, password: str) -> list[DemoAgent]:
    """Create or upgrade the desk database at `url` and seed the demo users with `password`."""
    database = Database(url)
    try:
        database.migrate()
        return seed_demo_agents(database, password)
    finally:
        database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Migrate the desk database and seed the demo users; print the logins."""
    parser = argparse.ArgumentParser(prog="python -m desk.seed", description=__doc__)
    parser.parse_args(argv)
    settings = DemoSeedSettings.from_env()  # fails fast without DESK_DEMO_PASSWORD
    url = settings.database_url
    seeded = prepare_demo_desk(url, settings.demo_password)
    shown_url = make_url(url).render_as_string(hide_password=True)
    print(f"Desk users (password: DESK_DEMO_PASSWORD in .env), database {shown_url}:")
    for demo in seeded:
        works_at = f"branch {demo.branch}" if demo.branch else ", ".join(demo.queues)
        print(f"  {demo.username:<8} {demo.role.value:<12} {works_at}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
