"""The desk's pages (desk/api/pages.py): who may load them, the web chat's config and history,
the static files."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from contract.webchat import (
    TRANSCRIPT_TOKEN_HEADER,
    TRANSCRIPT_TOKEN_TTL_SECONDS,
    transcript_key,
    transcript_session,
    transcript_token,
)
from desk.api.pages import WEB_DIR
from desk.services.transcripts import visible_turns
from tests.desk.conftest import HANDOFF_SECRET, Browser, post_handoff
from tests.desk.rasa_stand_in import RasaStandIn


async def test_the_chat_page_and_its_files_are_public(
    anonymous: Browser, rasa: RasaStandIn
) -> None:
    page = await anonymous.raw("GET", "/chat")
    assert page.status == 200
    assert page.content_type == "text/html"
    policy = page.headers["Content-Security-Policy"]
    websocket = rasa.url.replace("http://", "ws://", 1)
    assert f"connect-src 'self' {rasa.url} {websocket};" in policy
    assert "script-src 'self';" in policy

    for name, content_type in [
        ("chat.js", "text/javascript"),
        ("chat.css", "text/css"),
        ("socket.io.min.js", "text/javascript"),
        ("console.js", "text/javascript"),
    ]:
        response = await anonymous.raw("GET", f"/static/{name}")
        assert (response.status, response.content_type) == (200, content_type), name

    status, config = await anonymous.get("/chat/config")
    assert (status, config) == (200, {"rasa_url": rasa.url})


async def test_every_module_of_the_pages_is_served_as_javascript(anonymous: Browser) -> None:
    modules = sorted(WEB_DIR.glob("*.js"))
    imported = {
        name
        for module in modules
        for name in re.findall(r'^import [^;]*? from "\./([^"]+)";', module.read_text(), re.M)
    }

    assert {"page.js", "console-evidence.js", "console-conversation.js"} <= imported
    assert imported <= {module.name for module in modules}  # flat: /static/<name>
    for module in modules:
        response = await anonymous.raw("GET", f"/static/{module.name}")
        assert (response.status, response.content_type) == (200, "text/javascript"), module.name
    for path, entry in [("/chat", "chat.js"), ("/login", "login.js")]:
        page = (await anonymous.get(path))[1]
        assert f'<script type="module" src="/static/{entry}">' in page, path


async def test_only_the_web_files_are_served(anonymous: Browser) -> None:
    for path in [
        "/static/pages.py",
        "/static/..%2Fapi%2Fpages.py",
        "/static/nothing.js",
        "/static/.hidden.js",
        "/static/chat.html",
    ]:
        assert (await anonymous.raw("GET", path)).status == 404, path


async def test_the_console_needs_a_session(anonymous: Browser, olivia: Browser) -> None:
    response = await anonymous.raw("GET", "/console", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/login")
    status, page = await anonymous.get("/login")
    assert status == 200
    assert 'id="login-form"' in page

    status, page = await olivia.get("/console")
    assert status == 200
    assert 'src="/static/console.js"' in page

    assert (await anonymous.get("/api/console-config"))[0] == 401
    status, config = await olivia.get("/api/console-config")
    assert status == 200
    assert config["agent"]["username"] == "olivia"
    assert {"name": "tech_support_l2", "team_name": "Technical Support (2nd line)"} in config[
        "queues"
    ]
    assert "resolved" in config["dispositions"]


async def new_chat(anonymous: Browser) -> tuple[str, dict[str, str]]:
    """A chat started as the page starts one: its id, and the header that opens its history."""
    status, made = await anonymous.post("/chat/sessions")
    assert status == 201, made
    return made["session_id"], {TRANSCRIPT_TOKEN_HEADER: made["token"]}


async def test_a_new_chat_gets_a_fresh_id_and_a_day_long_token(anonymous: Browser) -> None:
    before = time.time()
    status, first = await anonymous.post("/chat/sessions")
    _, second = await anonymous.post("/chat/sessions")

    assert status == 201
    assert re.fullmatch(r"[0-9a-f]{32}", first["session_id"])
    assert first["session_id"] != second["session_id"]
    assert int(before) + TRANSCRIPT_TOKEN_TTL_SECONDS <= first["expires_at"]
    assert first["expires_at"] <= time.time() + TRANSCRIPT_TOKEN_TTL_SECONDS
    key = transcript_key(HANDOFF_SECRET)
    assert transcript_session(key, first["token"], time.time()) == first["session_id"]


async def test_history_needs_the_chat_token_not_just_the_id(
    anonymous: Browser, rasa: RasaStandIn
) -> None:
    session_id, opens = await new_chat(anonymous)
    _, other_chat = await new_chat(anonymous)
    key = transcript_key(HANDOFF_SECRET)
    expired = transcript_token(key, session_id, int(time.time()) - 1)
    forged = transcript_token(b"another key", session_id, int(time.time()) + 60)
    refusals = [
        ({}, {"session_id": session_id}, "missing"),
        ({TRANSCRIPT_TOKEN_HEADER: ""}, {}, "missing"),
        ({TRANSCRIPT_TOKEN_HEADER: expired}, {}, "expired"),
        ({TRANSCRIPT_TOKEN_HEADER: forged}, {}, "not valid"),
        ({TRANSCRIPT_TOKEN_HEADER: session_id}, {}, "malformed"),
        # The token in the URL is not read: URLs are logged.
        ({}, {"session_id": session_id, "token": opens[TRANSCRIPT_TOKEN_HEADER]}, "missing"),
    ]
    for headers, params, why in refusals:
        status, body = await anonymous.get("/chat/history", headers=headers, params=params)
        assert status == 401, (headers, params)
        assert why in body["error"] and "start a new chat" in body["error"]
    assert rasa.of_kind("tracker") == []

    # Another chat's token opens that chat, never this one.
    status, history = await anonymous.get(
        "/chat/history", headers=other_chat, params={"session_id": session_id}
    )
    assert status == 200
    assert history["session_id"] != session_id


async def test_history_shows_what_the_customer_saw_and_the_open_handoff(
    anonymous: Browser,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    session_id, opens = await new_chat(anonymous)
    rasa.conversation(session_id).events = [
        {"event": "action", "name": "action_session_start", "timestamp": 1.0},
        {
            "event": "user",
            "text": "hi",
            "timestamp": 2.0,
            "parse_data": {"intent": {"name": "greet"}},
        },
        {
            "event": "bot",
            "text": "Hello!\n\nWhat can I do?",
            "timestamp": 3.0,
            "data": {"buttons": [{"title": "Where is my order?", "payload": "/check_order"}]},
            "metadata": {"utter_action": "utter_greet"},
        },
        {"event": "user", "text": "/check_order", "timestamp": 4.0},
        {"event": "slot", "name": "order_number", "value": "ORD-100005", "timestamp": 4.1},
        {
            "event": "bot",
            "text": "Hi, I'm Olivia.",
            "timestamp": 5.0,
            "metadata": {"handoff_agent": {"id": 1, "name": "Olivia"}},
        },
    ]

    status, history = await anonymous.get("/chat/history", headers=opens)

    assert status == 200
    assert history == {
        "session_id": session_id,
        "turns": [
            {"role": "customer", "text": "hi", "timestamp": 2.0},
            {"role": "bot", "text": "Hello!", "timestamp": 3.0},
            {
                "role": "bot",
                "text": "What can I do?",
                "timestamp": 3.0,
                "buttons": [{"title": "Where is my order?", "payload": "/check_order"}],
            },
            {"role": "customer", "text": "Where is my order?", "timestamp": 4.0},
            {"role": "agent", "text": "Hi, I'm Olivia.", "agent_name": "Olivia", "timestamp": 5.0},
        ],
        "handoff": None,
    }

    handoff_id = await post_handoff(bot, context_factory(sender_id=session_id))
    status, history = await anonymous.get("/chat/history", headers=opens)
    assert history["handoff"] == {
        "status": "waiting",
        "queue": "order_support",
        "team_name": "Order Support",
        "position": 1,
        "estimated_wait_seconds": 240.0,
    }

    assert (await olivia.post(f"/api/handoffs/{handoff_id}/claim"))[0] == 200
    status, history = await anonymous.get("/chat/history", headers=opens)
    assert history["handoff"] == {
        "status": "agent_joined",
        "queue": "order_support",
        "team_name": "Order Support",
        "agent_name": "Olivia",
    }


async def test_history_is_a_503_when_rasa_is_down(anonymous: Browser, rasa: RasaStandIn) -> None:
    rasa.fail["tracker"] = 500
    _, opens = await new_chat(anonymous)
    status, body = await anonymous.get("/chat/history", headers=opens)
    assert status == 503
    assert "reading the tracker" in body["error"]


def test_visible_turns_leave_out_everything_internal() -> None:
    tracker = {
        "events": [
            {"event": "user", "text": "", "timestamp": 1},
            {"event": "bot", "text": "", "timestamp": 2, "data": {}},
            {"event": "action", "name": "action_handoff"},
            {"event": "pause"},
            "not an event",
            {"event": "bot", "text": "Pick one", "data": {"buttons": [{"title": "A"}]}},
        ]
    }
    assert visible_turns(tracker) == [{"role": "bot", "text": "Pick one", "timestamp": None}]
    assert visible_turns({}) == []
