"""The desk alone on loopback for the supervisors' pages: fresh databases, a facts database
seeded by the test, no bot (RASA_URL where nothing listens), and a browser that may reach the
desk only."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from desk.seed import prepare_demo_desk
from harness.loopback import free_ports, sqlite_url
from launcher.stack import desk_server, running_stack
from tests.browser.conftest import Actor


@dataclass(frozen=True)
class Desk:
    """The running desk and the demo users' password."""

    url: str
    password: str


@contextmanager
def running_desk(root: Path, seed: Callable[[str], None]) -> Iterator[Desk]:
    """The desk alone, on fresh databases under `root`, its facts written by `seed(url)`."""
    (port,) = free_ports(1)
    (nobody,) = free_ports(1)  # Rasa: nothing listens there, these pages need no bot
    password = secrets.token_urlsafe(16)
    desk_database_url = sqlite_url(root / "desk.db")
    prepare_demo_desk(desk_database_url, password)
    facts_url = sqlite_url(root / "analytics.db")
    seed(facts_url)
    env = {
        **os.environ,
        "DESK_PORT": str(port),
        "DESK_DATABASE_URL": desk_database_url,
        "DESK_DEMO_PASSWORD": password,
        "DESK_DOCUMENTS_DIR": str(root / "documents"),
        "HANDOFF_SECRET": secrets.token_urlsafe(24),
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(24),
        "RASA_URL": f"http://127.0.0.1:{nobody}",
        "ANALYTICS_DATABASE_URL": facts_url,
        "TRACKER_STORE_URL": sqlite_url(root / "tracker.db"),
        "ANALYTICS_TIMEZONE": "Europe/London",
        # Builds only when a test presses Refresh.
        "ANALYTICS_INTERVAL_SECONDS": "86400",
    }
    with running_stack([desk_server(port)], root / "logs", env):
        yield Desk(f"http://127.0.0.1:{port}", password)


def offline(actor: Actor, desk: Desk) -> list[str]:
    """Let the actor's browser reach the desk only; the other requests, aborted, are listed."""
    elsewhere: list[str] = []

    def only_the_desk(route: Any) -> None:
        url = route.request.url
        if url.startswith(desk.url + "/") or url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    actor.context.route("**/*", only_the_desk)
    return elsewhere


def log_in(actor: Actor, desk: Desk, username: str, page_path: str) -> Any:
    """Open `page_path`, land on the login form, and log in."""
    page = actor.page
    page.goto(f"{desk.url}{page_path}")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.locator("#username").fill(username)
    page.locator("#password").fill(desk.password)
    page.locator("#login-button").click()
    return page
