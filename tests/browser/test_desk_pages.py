"""The desk's pages (their native ES modules) in headless chromium against a stand-in desk.

Playwright answers every request of the page itself: the files of desk/web with the desk's
content types and Content-Security-Policy (`desk.api.pages`), the JSON API from the fixtures
below, and the console's websocket. So the pages are checked alone, in seconds, with contexts
the real system may not send yet:
(a) the console shows a made-up journey's evidence from the labels and values sent with it
    (`evidence_view`, handoff context v1.1), a key the JavaScript knows nothing of;
(b) a v1.0 context (no `evidence_view`) has its raw evidence shown section by section;
(c) the login page reports wrong credentials and goes to the console;
(d) the chat page shows a returning customer's history, asked for with the chat's token in a
    header and nothing in the URL; a token the desk refuses starts a new chat;
(e) the chat page's wait-choice banner offers both choices, each sending its payload. The
    socket.io client is stood in too (`STAND_IN_SOCKET`): the test delivers the Rasa server's
    socket events itself and reads what the page emitted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from contract.customer_status import STATUS_EVENT, CustomerStatus
from desk.api.pages import CONTENT_TYPES, WEB_DIR, security_headers
from desk.services.waiting import CHOICES
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

DESK = "http://desk.test"
HANDOFF_ID = "0f3c2a4e-9d1b-4c57-8e0a-2b6f4d8c1a90"
SESSION_ID = "0123456789abcdef0123456789abcdef"
#: The chat the stand-in desk starts (`POST /chat/sessions`) when the page has none.
NEW_CHAT = {"session_id": "fedcba9876543210fedcba9876543210", "token": "v1.new.1.sig"}
PAGES = {"/console": "console.html", "/login": "login.html", "/chat": "chat.html"}
JsonAnswer = Callable[[str, str], tuple[int, Any] | None]


# --- Fixtures: what the stand-in desk answers ---------------------------------------------------


def console_config() -> dict[str, Any]:
    return {
        "agent": {"id": 1, "username": "olivia", "display_name": "Olivia", "role": "agent"},
        "queues": [{"name": "claims", "team_name": "Claims"}],
        "dispositions": ["resolved"],
    }


def handoff() -> dict[str, Any]:
    return {
        "handoff_id": HANDOFF_ID,
        "status": "queued",
        "queue": "claims",
        "priority": "normal",
        "reason_code": "customer_request",
        "customer_label": "Ada L.",
        "requested_at": "2026-11-20T10:05:00Z",
        "position": 1,
        "agent": None,
        "waiting_seconds": 30,
        "sentiment": {"label": "neutral", "score": 0.1},
        "transfer_count": 0,
        "summary": "Ada reported a car accident and asked for a person.",
    }


def context(**fields: Any) -> dict[str, Any]:
    """A handoff context as the console reads it: only what it shows."""
    return {
        "summary": "Ada reported a car accident and asked for a person.",
        "flow": "car_claim",
        "trigger": {"type": "customer_request", "reason_code": "customer_request"},
        "attempts": [],
        "slots": {},
        "transcript": [],
        **fields,
    }


def car_claim_view() -> list[dict[str, Any]]:
    """A journey the console has never heard of, labelled by its descriptor."""
    return [
        {
            "key": "car_claim",
            "title": "Car claim CLM-42",
            "fields": [
                {"label": "Claim", "value": "CLM-42", "personal": False},
                {"label": "Policy holder", "value": "Ada Lovelace", "personal": True},
                {"label": "Reported", "value": "2026-11-20T10:00:00Z", "personal": False},
                {"label": "Photos", "value": 3, "personal": False},
                {"label": "Towed", "value": None, "personal": False},
            ],
            "tables": [
                {
                    "caption": "Damage",
                    "columns": ["Part", "Severity", "Seen"],
                    "rows": [
                        ["Bumper", "minor", "2026-11-20T10:01:00Z"],
                        ["Door", None, None],
                    ],
                },
                {
                    "caption": "Other driver",
                    "columns": ["Name", "Insurer"],
                    "rows": [["Bob Stone", "Acme Mutual"]],
                    "personal_columns": [0],
                },
                {"caption": "Witnesses", "columns": ["Name"], "rows": []},
            ],
        }
    ]


def order_evidence() -> dict[str, Any]:
    """Raw v1.0 evidence: an order with its items and tracking."""
    return {
        "order": {
            "order_number": "ORD-100005",
            "status": "delayed",
            "carrier": "DHL",
            "placed_at": "2026-11-18T09:00:00Z",
            "items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 1}],
            "tracking_events": [
                {
                    "occurred_at": "2026-11-20T10:00:00Z",
                    "location": "Leeds",
                    "description": "Arrived at hub",
                    "status": "in_transit",
                }
            ],
            "notes": ["fragile", "gift"],
        },
        "troubleshooting": None,
    }


def console_api(handoff_context: dict[str, Any]) -> JsonAnswer:
    """The desk's console API with one waiting chat whose context is `handoff_context`; Olivia
    (the agent logged in) may claim it."""
    waiting = handoff()

    def answer(method: str, path: str) -> tuple[int, Any] | None:
        if (method, path) == ("POST", f"/api/handoffs/{HANDOFF_ID}/claim"):
            waiting.update(status="claimed", agent={"id": 1, "name": "Olivia"}, position=None)
            return 200, waiting
        routes: dict[tuple[str, str], Any] = {
            ("GET", "/api/console-config"): console_config(),
            ("GET", "/api/queues"): {
                "queues": [{"name": "claims", "team_name": "Claims", "waiting": [waiting]}]
            },
            ("GET", "/api/my-handoffs"): {"handoffs": []},
            ("GET", "/api/me"): console_config()["agent"],
            ("GET", f"/api/handoffs/{HANDOFF_ID}"): {
                "handoff": waiting,
                "context": handoff_context,
                "notes": [],
                "events": [],
            },
            ("GET", f"/api/handoffs/{HANDOFF_ID}/conversation"): {"turns": []},
        }
        body = routes.get((method, path))
        return None if body is None else (200, body)

    return answer


#: Served as /static/socket.io.min.js: an `io()` whose socket keeps the page's handlers for the
#: test to call (`standInSocket.receive`) and records what the page emits.
STAND_IN_SOCKET = """
window.io = function () {
  var handlers = {};
  window.standInSocket = {
    emitted: [],
    receive: function (event, data) { handlers[event](data); }
  };
  // Something a locator can wait for (waiting on a script would need eval, which the CSP bars).
  document.documentElement.setAttribute("data-stand-in-socket", "open");
  return {
    on: function (event, handler) { handlers[event] = handler; },
    emit: function (event, data) { window.standInSocket.emitted.push([event, data]); }
  };
};
"""


# --- The stand-in desk ---------------------------------------------------------------------------


class StandInDesk:
    """A chromium page whose every request the test answers (see the module's docstring)."""

    def __init__(self, playwright: Any, profile: Path) -> None:
        self.context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        self.context.set_default_timeout(10_000)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.json: JsonAnswer = lambda method, path: None
        self.requests: list[tuple[str, str, Any]] = []
        #: The full URL and the headers of each request, in order.
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.context.route(f"{DESK}/**", self._answer)
        self.context.route_web_socket(f"ws://{DESK[7:]}/api/live", self._live)

    def _answer(self, route: Any) -> None:
        request = route.request
        path = re.sub(r"\?.*$", "", request.url[len(DESK) :])
        self.requests.append((request.method, path, request.post_data_json))
        self.sent.append((request.url, request.headers))
        if path in PAGES:
            route.fulfill(
                path=str(WEB_DIR / PAGES[path]),
                content_type="text/html",
                headers=security_headers(),
            )
        elif path.startswith("/static/"):
            file = WEB_DIR / path[len("/static/") :]
            if file.is_file():
                route.fulfill(path=str(file), content_type=CONTENT_TYPES[file.suffix])
            else:
                route.fulfill(status=404)
        else:
            answered = self.json(request.method, path)
            if answered is None and (request.method, path) == ("POST", "/chat/sessions"):
                answered = (201, NEW_CHAT)
            status, body = answered if answered is not None else (404, {"error": "no such"})
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    @staticmethod
    def _live(socket: Any) -> None:
        socket.send(json.dumps({"type": "connected"}))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desk(playwright: Any, tmp_path: Path) -> Iterator[StandInDesk]:
    stand_in = StandInDesk(playwright, tmp_path / "profile")
    yield stand_in
    stand_in.close()


def open_the_waiting_chat(desk: StandInDesk) -> Any:
    page = desk.page
    page.goto(f"{DESK}/console")
    expect(page.locator("#live-status")).to_have_text("Live")
    page.locator(f"li[data-handoff-id='{HANDOFF_ID}'] button", has_text="View").click()
    expect(page.locator("#handoff")).to_have_attribute("data-handoff-id", HANDOFF_ID)
    return page


# --- The tests -----------------------------------------------------------------------------------


def test_a_new_journeys_evidence_is_shown_from_its_labels(desk: StandInDesk) -> None:
    desk.json = console_api(context(evidence={"car_claim": {}}, evidence_view=car_claim_view()))

    page = open_the_waiting_chat(desk)

    section = page.locator("table[data-evidence=car_claim]")
    expect(section.locator("caption")).to_have_text("Car claim CLM-42")
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_have_text("ClaimCLM-42")
    expect(rows.nth(1)).to_have_text("Policy holderAda Lovelace")
    expect(rows.nth(1)).to_have_attribute("data-personal", "")
    expect(rows.nth(0)).not_to_have_attribute("data-personal", "")
    expect(rows.nth(2)).to_contain_text("Nov")  # an ISO time is shown as a time
    expect(rows.nth(2)).not_to_contain_text("2026-11-20T")
    expect(rows.nth(3)).to_have_text("Photos3")
    expect(rows.nth(4)).to_have_text("Towed—")
    damage = page.locator("#h-evidence table", has=page.locator("caption", has_text="Damage"))
    expect(damage.locator("thead th")).to_have_text(["Part", "Severity", "Seen"])
    expect(damage.locator("tbody tr").nth(0)).to_contain_text("Bumperminor")
    expect(damage.locator("tbody tr").nth(0)).not_to_contain_text("2026-11-20T")
    expect(damage.locator("tbody tr").nth(1)).to_have_text("Door——")
    driver = page.locator("#h-evidence table", has=page.locator("caption", has_text="Other driver"))
    expect(driver.locator("td[data-personal]")).to_have_text(["Bob Stone"])
    expect(page.locator("#h-evidence caption", has_text="Witnesses")).to_have_count(0)
    expect(page.locator("#h-trigger")).to_contain_text("car_claim")

    page.locator("#claim-open").click()
    expect(page.locator("#mine button")).to_have_text("Ada L. — Asked for a person")
    assert ("POST", f"/api/handoffs/{HANDOFF_ID}/claim", None) in desk.requests
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "p1-new-journey-evidence.png"), full_page=True)
    assert desk.errors == []


def test_a_context_without_an_evidence_view_shows_its_raw_evidence(desk: StandInDesk) -> None:
    desk.json = console_api(context(evidence=order_evidence()))

    page = open_the_waiting_chat(desk)

    order = page.locator("table[data-evidence=order]")
    expect(order.locator("caption")).to_have_text("Order")
    expect(order).to_contain_text("Order numberORD-100005")
    expect(order).to_contain_text("Statusdelayed")
    expect(order).to_contain_text("Notesfragile, gift")
    expect(order).not_to_contain_text("2026-11-18T")
    expect(page.locator("#h-evidence table[data-evidence]")).to_have_count(1)  # null: no section
    items = page.locator("#h-evidence table", has=page.locator("caption", has_text="Items"))
    expect(items.locator("thead th")).to_have_text(["Sku", "Name", "Quantity"])
    expect(items.locator("tbody")).to_have_text("SKU-1Kettle1")
    tracking = page.locator(
        "#h-evidence table", has=page.locator("caption", has_text="Tracking events")
    )
    expect(tracking).to_contain_text("LeedsArrived at hubin_transit")
    expect(tracking).not_to_contain_text("2026-11-20T")
    assert desk.errors == []


def test_no_evidence_says_so(desk: StandInDesk) -> None:
    desk.json = console_api(context(evidence={}, evidence_view=[]))

    page = open_the_waiting_chat(desk)

    expect(page.locator("#h-evidence")).to_have_text("No records.")
    assert desk.errors == []


def test_the_login_page_reports_wrong_credentials_then_opens_the_console(
    desk: StandInDesk,
) -> None:
    accepted = {"olivia": "right"}

    def login(method: str, path: str) -> tuple[int, Any] | None:
        if (method, path) == ("POST", "/api/login"):
            sent = desk.requests[-1][2]
            if accepted.get(sent["username"]) == sent["password"]:
                return 200, console_config()["agent"]
            return 401, {"error": "wrong username or password"}
        return console_api(context(evidence={}))(method, path)

    desk.json = login
    page = desk.page
    page.goto(f"{DESK}/login")
    page.locator("#login-button").click()
    expect(page.locator("#login-error")).to_have_text("Enter your username and password.")
    page.locator("#username").fill("olivia")
    page.locator("#password").fill("wrong")
    page.locator("#login-button").click()
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    expect(page.locator("#password")).to_have_value("")

    page.locator("#password").fill("right")
    page.locator("#login-button").click()
    expect(page).to_have_url(f"{DESK}/console")
    expect(page.locator("#me")).to_have_text("Olivia")
    assert desk.errors == []


def returning_customer_history() -> dict[str, Any]:
    return {
        "session_id": SESSION_ID,
        "turns": [
            {"role": "customer", "text": "hi", "timestamp": 2.0},
            {"role": "agent", "text": "Hi, I'm Olivia.", "agent_name": "Olivia", "timestamp": 5.0},
            {
                "role": "bot",
                "text": "Anything else?",
                "timestamp": 6.0,
                "buttons": [{"title": "No, thanks", "payload": "/deny"}],
            },
        ],
        "handoff": {"status": "waiting", "team_name": "Claims", "position": 2},
    }


def stored_chat(page: Any, token: str) -> None:
    """The page's storage as a visit that started a chat left it."""
    page.evaluate(
        "([id, token]) => { window.localStorage.setItem('support-chat.session-id', id);"
        " window.localStorage.setItem('support-chat.token', token); }",
        [SESSION_ID, token],
    )


def test_the_chat_page_shows_a_returning_customers_history(desk: StandInDesk) -> None:
    token = "v1.stored.9999999999.sig"

    def answer(method: str, path: str) -> tuple[int, Any] | None:
        if path == "/chat/config":
            return 200, {"rasa_url": "http://rasa.test"}
        if path == "/chat/history":
            sent = desk.sent[-1][1]
            ok = sent.get("x-chat-token") == token
            return (200, returning_customer_history()) if ok else (401, {"error": "no token"})
        return None

    desk.json = answer
    desk.context.route("http://rasa.test/**", lambda route: route.abort())
    page = desk.page
    page.goto(f"{DESK}/chat")
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    stored_chat(page, token)
    first_visit = len(desk.sent)

    page.reload()

    expect(page.locator("#messages li")).to_have_count(3)
    expect(page.locator("li.msg-customer")).to_have_text("You: hi")
    expect(page.locator("li.msg-agent.msg-history .msg-sender")).to_have_text("Olivia")
    expect(page.locator("li.msg-bot .quick-replies button")).to_have_text(["No, thanks"])
    expect(page.locator("#handoff")).to_have_text("You're number 2 in the queue for Claims.")
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    [url] = [url for url, _ in desk.sent[first_visit:] if "/chat/history" in url]
    assert url == f"{DESK}/chat/history", "neither the id nor the token is in the URL"
    assert SESSION_ID not in " ".join(url for url, _ in desk.sent[first_visit:])
    assert desk.errors == []


def test_a_chat_whose_token_is_refused_starts_afresh(desk: StandInDesk) -> None:
    answers = {
        "/chat/config": (200, {"rasa_url": "http://rasa.test"}),
        "/chat/history": (401, {"error": "the chat token has expired: start a new chat"}),
    }
    desk.json = lambda method, path: answers.get(path)
    desk.context.route("http://rasa.test/**", lambda route: route.abort())
    page = desk.page
    page.goto(f"{DESK}/chat")
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    stored_chat(page, "v1.expired.1.sig")

    page.reload()

    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    assert (
        page.evaluate("window.localStorage.getItem('support-chat.session-id')")
        == (NEW_CHAT["session_id"])
    )
    assert page.evaluate("window.localStorage.getItem('support-chat.token')") == NEW_CHAT["token"]
    asked = [(method, path) for method, path, _ in desk.requests if path.startswith("/chat/")]
    assert asked[-3:] == [
        ("GET", "/chat/config"),
        ("GET", "/chat/history"),
        ("POST", "/chat/sessions"),
    ]
    expect(page.locator("#messages li")).to_have_count(0)
    assert desk.errors == []


def test_the_wait_choice_banner_offers_both_choices(desk: StandInDesk) -> None:
    choices = [choice.dict() for choice in CHOICES]
    answers = {"/chat/config": {"rasa_url": "http://rasa.test"}}
    desk.json = lambda method, path: (200, answers[path]) if path in answers else None
    desk.context.route(
        f"{DESK}/static/socket.io.min.js",
        lambda route: route.fulfill(body=STAND_IN_SOCKET, content_type=CONTENT_TYPES[".js"]),
    )
    page = desk.page
    page.goto(f"{DESK}/chat")
    expect(page.locator("html[data-stand-in-socket=open]")).to_have_count(1)
    page.evaluate("standInSocket.receive('connect')")
    page.evaluate("standInSocket.receive('session_confirm', {})")
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    status = {"status": CustomerStatus.TIMEOUT_CHOICE.value, "choices": choices}

    def offer_the_choice() -> None:
        page.evaluate(
            "([event, status]) => standInSocket.receive(event, status)", [STATUS_EVENT, status]
        )
        expect(page.locator("#handoff-choices button")).to_have_text(
            ["Keep waiting", "Leave a message"]
        )

    offer_the_choice()
    page.locator("#handoff-choices button", has_text="Keep waiting").click()
    offer_the_choice()  # the first answer retires the choice: it comes again
    page.locator("#handoff-choices button", has_text="Leave a message").click()

    session_id = page.evaluate("window.localStorage.getItem('support-chat.session-id')")
    token = page.evaluate("window.localStorage.getItem('support-chat.token')")
    assert page.evaluate("standInSocket.emitted") == [
        ["session_request", {"session_id": session_id, "token": token}],
        *(
            ["user_uttered", {"message": choice["payload"], "session_id": session_id}]
            for choice in choices
        ),
    ]
    expect(page.locator("li.msg-customer")).to_have_text(
        ["You: Keep waiting", "You: Leave a message"]
    )
    assert desk.errors == []


def test_a_new_chat_from_the_rasa_server_is_kept_and_spoken_in(desk: StandInDesk) -> None:
    """The Rasa server refused the page's token (it expired while the page was open) and
    started a new chat: the page keeps the new id and token, and speaks in that chat."""
    answers = {"/chat/config": {"rasa_url": "http://rasa.test"}}
    desk.json = lambda method, path: (200, answers[path]) if path in answers else None
    desk.context.route(
        f"{DESK}/static/socket.io.min.js",
        lambda route: route.fulfill(body=STAND_IN_SOCKET, content_type=CONTENT_TYPES[".js"]),
    )
    grant = {"session_id": "a" * 32, "token": "v1." + "a" * 32 + ".9999999999.sig", "expires_at": 1}
    page = desk.page
    page.goto(f"{DESK}/chat")
    expect(page.locator("html[data-stand-in-socket=open]")).to_have_count(1)
    page.evaluate("standInSocket.receive('connect')")
    page.evaluate("grant => standInSocket.receive('chat_token', grant)", grant)
    page.evaluate(f"standInSocket.receive('session_confirm', '{grant['session_id']}')")
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")

    page.locator("#message").fill("hello again")
    page.locator("#send").click()

    stored = page.evaluate(
        "['session-id', 'token'].map(name => localStorage.getItem('support-chat.' + name))"
    )
    assert stored == [grant["session_id"], grant["token"]]
    emitted = page.evaluate("standInSocket.emitted")
    assert emitted[0] == ["session_request", NEW_CHAT]
    assert [
        "user_uttered",
        {"message": "hello again", "session_id": grant["session_id"]},
    ] in emitted
    assert desk.errors == []
