"""The stock rasa-webchat widget (1.0.1, vendored from the npm registry) through a whole handoff.

The widget nobody here wrote, embedded in a page this test serves (no internet), talks to the
real system in headless chromium: greeting → a delayed order goes to a person → Olivia (on
the desk's API) claims it and writes → the widget shows her message → she resolves → the bot
welcomes the customer back → CSAT. The waiting states (place and estimated wait, the agent
joining and leaving) and the agent's name must be visible in the widget as plain messages.
Screenshots: test-artifacts/browser/stock-widget-*.png.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from harness.loopback import free_ports
from tests.browser.conftest import Actor, DeskStack

pytestmark = pytest.mark.e2e

VENDOR = Path(__file__).resolve().parent / "vendor" / "rasa-webchat"
TIMEOUT = 30
GOOGLE_FONTS = "https://fonts.googleapis.com/"


def embedding_page(rasa_url: str) -> str:
    """A page embedding the widget with the configuration the README documents."""
    settings = {
        "socketUrl": rasa_url,
        "socketPath": "/socket.io/",
        "initPayload": "/greet",
        "embedded": True,
        "customData": {"language": "en"},
        "params": {"storage": "session"},
        "title": "Support",
    }
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body style="margin:0"><div id="webchat" style="height:100vh"></div>
<script src="/rasa-webchat.js"></script>
<script>WebChat.default({json.dumps(settings)}, document.getElementById("webchat"));</script>
</body></html>"""


class WidgetSite(http.server.SimpleHTTPRequestHandler):
    """Serves the page and the vendored widget, nothing else."""

    page = ""

    def do_GET(self) -> None:
        if self.path == "/":
            body, kind = self.page.encode(), "text/html; charset=utf-8"
        elif self.path == "/rasa-webchat.js":
            body, kind = (VENDOR / "index.js").read_bytes(), "text/javascript"
        elif self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def widget_site(desk_stack: DeskStack) -> Iterator[str]:
    """The embedding page on a free loopback port."""
    handler = type("Site", (WidgetSite,), {"page": embedding_page(desk_stack.rasa_url)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_ports(1)[0]), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def say(page: Any, text: str) -> None:
    box = page.locator(".rw-new-message")
    box.fill(text)
    box.press("Enter")


def shows(page: Any, text: str) -> None:
    expect(page.locator(".rw-messages-container").get_by_text(text).last).to_be_visible(
        timeout=TIMEOUT * 1000
    )


def test_the_stock_widget_goes_through_a_whole_handoff(
    desk_stack: DeskStack, actors: Any, widget_site: str
) -> None:
    customer: Actor = actors("widget-customer")
    page = customer.page
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(widget_site)
    shows(page, "I'm the support assistant")
    customer.shot("stock-widget-1-greeting")

    say(page, "where is my order ORD-100005?")
    shows(page, "passing you to our order support team")
    shows(page, "in the queue for Order Support. Estimated wait: about")
    customer.shot("stock-widget-2-handoff")
    sender = page.evaluate("JSON.parse(sessionStorage.getItem('chat_session')).session_id")

    olivia = requests.Session()
    login = olivia.post(
        f"{desk_stack.desk_url}/api/login",
        json={"username": "olivia", "password": desk_stack.password},
        timeout=TIMEOUT,
    )
    assert login.status_code == 200, login.text
    [handoff] = desk_stack.handoffs_of(sender)
    claimed = olivia.post(
        f"{desk_stack.desk_url}/api/handoffs/{handoff.handoff_id}/claim", timeout=TIMEOUT
    )
    assert claimed.status_code == 200, claimed.text
    text = "Hi, this is Olivia. Your parcel is at the Coventry depot and leaves tomorrow."
    sent = olivia.post(
        f"{desk_stack.desk_url}/api/handoffs/{handoff.handoff_id}/messages",
        json={"text": text},
        timeout=TIMEOUT,
    )
    assert sent.status_code == 201, sent.text
    shows(page, "from Order Support has joined the chat.")
    shows(page, f"Olivia (Orders): {text}")
    customer.shot("stock-widget-3-agent-message")

    resolved = olivia.post(
        f"{desk_stack.desk_url}/api/handoffs/{handoff.handoff_id}/resolve",
        json={"disposition": "resolved"},
        timeout=TIMEOUT,
    )
    assert resolved.status_code == 200, resolved.text
    shows(page, "has left the chat.")
    shows(page, "from 1 (poor) to 5 (excellent)")
    say(page, "5")
    shows(page, "anything you'd like to add")
    say(page, "Quick and kind")
    shows(page, "Thank you for your feedback")
    customer.shot("stock-widget-4-csat")

    rated = olivia.get(f"{desk_stack.desk_url}/api/handoffs/{handoff.handoff_id}", timeout=30)
    assert (rated.json()["handoff"]["csat_rating"], rated.json()["handoff"]["csat_comment"]) == (
        5,
        "Quick and kind",
    )
    # The widget asks Google Fonts for its typeface (unreachable here, and it falls back to a
    # local font); nothing else may fail.
    assert [url for url in failed if not url.startswith(GOOGLE_FONTS)] == []
    assert [error for error in customer.errors if "ERR_NAME_NOT_RESOLVED" not in error] == []
