"""The console's callbacks in headless chromium: an agent sees a message a customer left
instead of waiting, and marks it done.

Only the desk runs (`python -m desk` on a free port, its own migrated and seeded SQLite
database): callbacks need neither Rasa nor the action server. A handoff is delivered and its
customer leaves a message as the bot would (with the HANDOFF_SECRET); Olivia (Order Support)
logs in and sees it under "Callbacks", the customer's words shown as text (markup included),
while Sam (a supervisor) has his console open too. Olivia marks it done: it leaves her list,
and Sam's without a reload (the websocket's `callbacks_changed`), and the desk records her as
the one who did it. Screenshots: test-artifacts/browser/callbacks-*.png.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Page, expect

from desk.seed import prepare_demo_desk
from desk.store.database import Database
from desk.store.models import Agent, Handoff
from harness.loopback import free_ports, sqlite_url
from launcher.stack import desk_server, running_stack
from tests.browser.conftest import ARTIFACTS
from tests.desk.conftest import make_context

pytestmark = [pytest.mark.e2e]

MESSAGE: Final = "Please call me after 5pm <b>not</b> before: 020 7946 0000"


@dataclass(frozen=True)
class CallbackDesk:
    """The running desk and how to reach it."""

    url: str
    database_url: str
    password: str
    handoff_secret: str

    def bot_post(self, path: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        """POST as the bot (the bearer secret); the JSON answer."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.handoff_secret}",
                "Content-Type": "application/json",
                **headers,
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer


@pytest.fixture(scope="module")
def callback_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CallbackDesk]:
    """The desk alone, with fresh secrets, port and database (seeded with the demo users)."""
    root = tmp_path_factory.mktemp("callbacks")
    port, unused_rasa_port = free_ports(2)
    database_url = sqlite_url(root / "desk.db")
    password = secrets.token_urlsafe(16)
    handoff_secret = secrets.token_urlsafe(24)
    prepare_demo_desk(database_url, password)
    env = {
        **os.environ,
        "DESK_PORT": str(port),
        "DESK_URL": f"http://127.0.0.1:{port}",
        "DESK_DATABASE_URL": database_url,
        "DESK_DEMO_PASSWORD": password,
        "HANDOFF_SECRET": handoff_secret,
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(24),
        # Nothing listens there: the desk's notices to the bot fail and are only logged.
        "RASA_URL": f"http://127.0.0.1:{unused_rasa_port}",
    }
    with running_stack([desk_server(port)], root / "logs", env):
        yield CallbackDesk(f"http://127.0.0.1:{port}", database_url, password, handoff_secret)


def left_message(desk: CallbackDesk) -> str:
    """A handoff to Order Support whose customer left MESSAGE instead of waiting; its id."""
    context = make_context(queue="order_support")
    handoff_id = str(context["handoff_id"])
    desk.bot_post("/api/handoffs", context, **{"Idempotency-Key": handoff_id})
    answer = desk.bot_post(f"/api/handoffs/{handoff_id}/callback", {"message": MESSAGE})
    assert answer["status"] == "expired"
    return handoff_id


def log_in(page: Page, desk: CallbackDesk, username: str) -> None:
    page.goto(f"{desk.url}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(desk.password)
    page.locator("#login-button").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    expect(page.locator("#live-status")).to_have_text("Live")


def shot(page: Page, step: str) -> Path:
    """A full-page screenshot in test-artifacts/browser/callbacks-<step>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"callbacks-{step}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def done_by(desk: CallbackDesk, handoff_id: str) -> str | None:
    """The username of who marked the callback done, read from the desk's database."""
    database = Database(desk.database_url)
    try:
        with database.session() as session:
            handoff = session.get(Handoff, handoff_id)
            assert handoff is not None
            if handoff.callback_done_by is None:
                return None
            agent = session.get(Agent, handoff.callback_done_by)
            return None if agent is None else agent.username
    finally:
        database.dispose()


def test_an_agent_sees_an_open_callback_and_marks_it_done(
    callback_desk: CallbackDesk, actors: Any
) -> None:
    handoff_id = left_message(callback_desk)
    olivia = actors("callbacks-olivia")
    sam = actors("callbacks-sam")
    log_in(olivia.page, callback_desk, "olivia")
    log_in(sam.page, callback_desk, "sam")

    page = olivia.page
    item = page.locator(f"#callbacks li[data-handoff-id='{handoff_id}']")
    expect(item).to_be_visible()
    expect(page.locator("#callbacks-count")).to_have_text("(1)")
    expect(item.locator(".callback-message")).to_have_text(MESSAGE)  # the markup as text
    expect(item.locator(".callback-message b")).to_have_count(0)
    expect(item).to_contain_text("Order Support")
    expect(page.locator("#callbacks-empty")).to_be_hidden()
    expect(sam.page.locator(f"#callbacks li[data-handoff-id='{handoff_id}']")).to_be_visible()
    shot(page, "1-open")

    item.locator("button[data-action=callback-done]").click()

    expect(item).to_have_count(0)
    expect(page.locator("#callbacks-empty")).to_be_visible()
    expect(page.locator("#callbacks-count")).to_have_text("(0)")
    expect(page.locator("#flash")).to_have_text("Callback marked done.")
    # Sam's console follows without a reload.
    expect(sam.page.locator(f"#callbacks li[data-handoff-id='{handoff_id}']")).to_have_count(0)
    shot(page, "2-done")
    assert done_by(callback_desk, handoff_id) == "olivia"
    assert olivia.errors == [] and sam.errors == []
