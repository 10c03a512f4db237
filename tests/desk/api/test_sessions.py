"""Logging in and out, session cookies, and what needs a session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from desk.store.database import Database
from desk.store.models import AgentSession
from tests.desk.conftest import PASSWORD, Browser, at


async def test_login_sets_a_strict_http_only_cookie(anonymous: Browser) -> None:
    response = await anonymous.raw(
        "POST", "/api/login", json={"username": "olivia", "password": PASSWORD}
    )

    assert response.status == 200
    cookie = response.cookies["desk_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert int(cookie["max-age"]) == 12 * 3600
    assert len(cookie.value) >= 40

    status, me = await anonymous.get("/api/me")
    assert (status, me["username"], me["queues"]) == (200, "olivia", ["order_support"])


@pytest.mark.parametrize(("username", "password"), [("olivia", "wrong"), ("nobody", PASSWORD)])
async def test_bad_credentials_get_one_message(
    anonymous: Browser, username: str, password: str
) -> None:
    status, body = await anonymous.post(
        "/api/login", json={"username": username, "password": password}
    )

    assert (status, body) == (401, {"error": "unknown username or wrong password"})


@pytest.mark.parametrize(
    "body",
    [{"username": "olivia"}, {"username": 1, "password": PASSWORD}, {"user": "o", "password": "p"}],
)
async def test_a_malformed_login_is_422(anonymous: Browser, body: object) -> None:
    status, answer = await anonymous.post("/api/login", json=body)

    assert status == 422
    assert answer["errors"]


async def test_logout_ends_the_session(olivia: Browser) -> None:
    assert (await olivia.get("/api/me"))[0] == 200

    status, body = await olivia.post("/api/logout")

    assert (status, body) == (200, {"logged_out": True})
    assert (await olivia.get("/api/me"))[0] == 401


async def test_an_expired_session_is_refused(olivia: Browser, database: Database) -> None:
    with database.session(write=True) as session:
        session.execute(update(AgentSession).values(expires_at=at(0)))

    status, body = await olivia.get("/api/queues")

    assert (status, body) == (401, {"error": "log in first"})


async def test_a_stolen_cookie_value_must_match_a_session(
    browsers: Callable[..., Browser],
) -> None:
    forger = browsers()
    status, _ = await forger.get("/api/me", cookies={"desk_session": "guessed-token"})

    assert status == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/me"),
        ("GET", "/api/queues"),
        ("GET", "/api/handoffs/00000000-0000-4000-8000-000000000000"),
        ("POST", "/api/handoffs/00000000-0000-4000-8000-000000000000/claim"),
        ("POST", "/api/handoffs/00000000-0000-4000-8000-000000000000/notes"),
        ("POST", "/api/handoffs/00000000-0000-4000-8000-000000000000/transfer"),
        ("POST", "/api/handoffs/00000000-0000-4000-8000-000000000000/resolve"),
    ],
)
async def test_the_api_needs_a_session(anonymous: Browser, method: str, path: str) -> None:
    status, body = await anonymous.request(method, path, json={})

    assert (status, body) == (401, {"error": "log in first"})


async def test_pages_redirect_to_the_login_page(anonymous: Browser) -> None:
    response = await anonymous.raw("GET", "/console", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/login")

    status, page = await anonymous.get("/console")  # follows the redirect
    assert status == 200
    assert "log in" in page


async def test_the_console_page_is_served_to_the_agent(olivia: Browser) -> None:
    status, page = await olivia.get("/")  # redirected to /console

    assert status == 200
    assert 'src="/static/console.js"' in page


async def test_the_bot_secret_is_not_a_session(bot: Browser) -> None:
    assert (await bot.get("/api/queues"))[0] == 401


async def test_a_cross_site_post_is_refused(olivia: Browser) -> None:
    status, body = await olivia.post("/api/logout", headers={"Origin": "https://evil.example"})

    assert (status, body) == (403, {"error": "cross-site request refused"})
    assert (await olivia.get("/api/me"))[0] == 200


async def test_health_is_public(anonymous: Browser) -> None:
    assert await anonymous.get("/health") == (200, {"status": "ok"})


async def test_unknown_routes_and_methods_answer_json(anonymous: Browser) -> None:
    missing = await anonymous.get("/api/nothing-here")
    wrong_method = await anonymous.request("DELETE", "/api/login")

    assert missing == (404, {"error": "Not Found"})
    assert wrong_method[0] == 405
    assert wrong_method[1]["allowed_methods"] == ["POST"]
