"""The whole system on loopback, driven through its pages in headless Debian chromium.

`desk_stack` starts the real processes as the end-to-end tests do (`tests/e2e/desk_system.py`):
the desk (`python -m desk`) with its own migrated and seeded SQLite database, the action server
(HANDOFF_URL at the desk) and the Rasa server with the trained model (its web chat and event
broker pointing at the desk), on free ports with fresh secrets. Nothing touches `var/`, `.env`
or the ports of `make run`.

Browsers: Playwright (sync API) drives the system's chromium (`/usr/bin/chromium`, never a
downloaded one); every actor (a customer, an agent) gets a persistent context with a fresh
user-data directory of its own. Screenshots go to `test-artifacts/browser/`.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from launcher.stack import PROJECT_ROOT
from tests.e2e.desk_system import DeskStack, running_desk_stack
from tests.e2e.environment import MODEL_PATH

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="package")
def desk_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskStack]:
    """Desk, action server and Rasa with fresh databases, ports and secrets."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    with running_desk_stack(tmp_path_factory.mktemp("browser")) as system:
        _require_pages(system.desk_url)
        yield system


def _require_pages(desk_url: str) -> None:
    """Fail clearly when the desk does not serve its pages (desk.api.pages not registered)."""
    try:
        with urllib.request.urlopen(f"{desk_url}/chat", timeout=5) as response:
            if response.status == 200:
                return
    except urllib.error.URLError as error:
        pytest.fail(f"the desk does not serve /chat ({error}): is desk.api.pages registered?")
    pytest.fail("the desk does not serve /chat: is desk.api.pages registered in desk/app.py?")


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    """Playwright's sync API driving Debian's chromium (a clear failure if it is missing)."""
    # Package scope: Playwright's sync API keeps an event loop running in this thread while
    # it lives, which would break the async end-to-end tests that run after these.
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


class Actor:
    """One person's browser: a persistent chromium context with its own fresh profile."""

    def __init__(self, playwright: Any, profile: Path, name: str) -> None:
        self.name = name
        self.context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        self.context.set_default_timeout(20_000)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )

    def shot(self, step: str) -> Path:
        """A full-page screenshot in test-artifacts/browser/<step>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def actors(playwright: Any, tmp_path: Path) -> Iterator[Any]:
    """Make actors (`actors("customer")`); all closed afterwards."""
    made: list[Actor] = []

    def make(name: str) -> Actor:
        actor = Actor(playwright, tmp_path / f"profile-{name}", name)
        made.append(actor)
        return actor

    yield make
    for actor in made:
        actor.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """A failed browser test shows the tail of every running service's log."""
    outcome = yield
    report = outcome.get_result()
    system = getattr(item, "funcargs", {}).get("desk_stack")
    if report.failed and isinstance(system, DeskStack):
        for name, running in system.stack.running.items():
            report.sections.append((f"{name} log (tail)", running.log_tail(40)))
