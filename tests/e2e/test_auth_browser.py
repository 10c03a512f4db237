"""A real chromium and the desk's cross-site checks (`desk.api.middleware.same_origin`).

The desk's own pages write with the Origin and Sec-Fetch-Site chromium really sends (logging in
and out work), while a page of another origin on the same host (another port: the same *site*,
so the SameSite=Strict cookie goes along) cannot make the agent's browser write to the desk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from desk.seed import prepare_demo_desk
from harness.loopback import free_ports, sqlite_url
from launcher.stack import desk_server, running_stack
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.environment import build_environment

pytestmark = pytest.mark.e2e


@pytest.fixture
def desk_url(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """One real desk process on its own SQLite database; its URL, the demo password and its
    log."""
    env = build_environment(tmp_path)
    database_url = sqlite_url(tmp_path / "desk.db")
    password = "demo-" + env.handoff_secret[:12]
    prepare_demo_desk(database_url, password)
    (port,) = free_ports(1)
    process_env = {
        **env.env,
        "DESK_DATABASE_URL": database_url,
        "DESK_DEMO_PASSWORD": password,
        "DESK_DOCUMENTS_DIR": str(tmp_path / "documents"),
        "ANALYTICS_DATABASE_URL": sqlite_url(tmp_path / "analytics.db"),
    }
    with running_stack([], tmp_path / "logs", process_env) as stack:
        stack.start(desk_server(port))
        stack.wait_healthy("desk")
        yield f"http://127.0.0.1:{port}", password, stack.log_dir / "desk.log"


@pytest.fixture
def other_origin(desk_url: tuple[str, str, Path]) -> Iterator[str]:
    """A page on another port of the same host that makes the browser POST a logout to the
    desk, with its credentials, as soon as it loads."""
    page = (
        "<!doctype html><title>other</title><script>"
        f"fetch('{desk_url[0]}/api/logout', {{method: 'POST', credentials: 'include', "
        "mode: 'no-cors'}).then(() => { document.title = 'sent'; });"
        "</script>"
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_the_desks_pages_write_and_another_origins_page_cannot(
    desk_url: tuple[str, str, Path], other_origin: str, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)")
    from playwright.sync_api import expect, sync_playwright

    url, password, log = desk_url
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        try:
            context.set_default_timeout(20_000)
            page = context.new_page()
            page.goto(f"{url}/login")
            page.locator("#username").fill("olivia")
            page.locator("#password").fill(password)
            page.locator("#login-button").click()  # a POST from the desk's own page
            expect(page).to_have_url(f"{url}/console")

            other = context.new_page()
            other.goto(other_origin)
            expect(other).to_have_title("sent")  # the POST went out, with the cookie

            assert context.request.get(f"{url}/api/me").status == 200  # still logged in
            # It reached the desk, which refused it (the browser did not just drop it).
            refused = '"POST /api/logout HTTP/1.1" 403 '
            assert any(
                refused in line and other_origin in line
                for line in log.read_text(encoding="utf-8").splitlines()
            )
            page.locator("#logout").click()  # the desk's own page may
            expect(page).to_have_url(f"{url}/login")
            assert context.request.get(f"{url}/api/me").status == 401
        finally:
            context.close()
