"""Logging in over HTTP: the guessing limits, a new session at every login (the one the browser
came with ends), and a logged-out cookie that opens nothing anymore."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestServer

from analytics.settings import AnalyticsSettings
from desk.api.middleware import SESSION_COOKIE
from desk.app import create_app
from desk.console_hub import LOGGED_OUT, SESSION_ENDED_CODE
from desk.services.agents import Actor
from desk.services.login_throttle import TOO_MANY_ATTEMPTS
from desk.settings import DeskSettings
from tests.desk.api.test_live_handoff import connect
from tests.desk.api.test_live_sessions import closed_with
from tests.desk.conftest import PASSWORD, Browser, make_context, post_handoff

#: Starts a desk with some settings changed (the `desk_with` fixture).
StartDesk = Callable[..., Awaitable["Desk"]]
WRONG = {"error": "unknown username or wrong password"}
WRONG_PASSWORD = "not the password"


def cookie_of(browser: Browser) -> str:
    """The session token in the browser's cookie jar."""
    (cookie,) = [c for c in browser.session.cookie_jar if c.key == SESSION_COOKIE]
    return cookie.value


async def log_in(
    browser: Browser, username: str, password: str, **headers: str
) -> tuple[int, Any, dict[str, str]]:
    response = await browser.raw(
        "POST",
        "/api/login",
        json={"username": username, "password": password},
        headers=headers,
    )
    return response.status, await response.json(), dict(response.headers)


@pytest.fixture
async def desk_with(
    settings: DeskSettings,
    analytics_settings: AnalyticsSettings,
    actors: dict[str, Actor],
) -> AsyncIterator[StartDesk]:
    """Start a desk on the test database with some settings changed (all closed afterwards)."""
    started: list[Desk] = []

    async def start(**changes: Any) -> Desk:
        server = TestServer(create_app(settings.copy(update=changes), analytics=analytics_settings))
        await server.start_server()
        started.append(Desk(server))
        return started[-1]

    yield start
    for desk in started:
        for browser in desk.browsers:
            await browser.close()
        await desk.server.close()


@dataclass
class Desk:
    """One desk started by `desk_with`, and the browsers made for it."""

    server: TestServer
    browsers: list[Browser] = field(default_factory=list)

    def browser(self, headers: dict[str, str] | None = None) -> Browser:
        """A new browser for this desk (closed with it)."""
        self.browsers.append(Browser(self.server, headers))
        return self.browsers[-1]


# --- Guessing passwords ------------------------------------------------------------------------


async def test_a_locked_account_is_answered_as_a_wrong_password(anonymous: Browser) -> None:
    answers = [await log_in(anonymous, "olivia", WRONG_PASSWORD) for _ in range(5)]

    locked = await log_in(anonymous, "olivia", PASSWORD)  # the right password

    assert {(status, str(body)) for status, body, _ in answers} == {(401, str(WRONG))}
    assert locked[:2] == (401, WRONG)
    assert set(locked[2]) - {"Date"} == set(answers[-1][2]) - {"Date"}  # not a header more
    assert (await anonymous.get("/api/me"))[0] == 401
    # Another user from the same address is not affected.
    assert (await log_in(anonymous, "leo", PASSWORD))[0] == 200


async def test_an_address_over_its_limit_gets_429_with_retry_after(
    desk_with: StartDesk,
) -> None:
    browser = (await desk_with(login_address_failures=3)).browser()
    for n in range(3):
        assert (await log_in(browser, f"guess{n}", WRONG_PASSWORD))[0] == 401

    status, body, headers = await log_in(browser, "olivia", PASSWORD)

    assert (status, body) == (429, {"error": TOO_MANY_ATTEMPTS})
    assert 14 * 60 < int(headers["Retry-After"]) <= 15 * 60
    assert (await browser.get("/api/me"))[0] == 401


async def test_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy(
    desk_with: StartDesk,
) -> None:
    browser = (await desk_with(login_address_failures=3)).browser()
    for n in range(3):
        await log_in(browser, f"guess{n}", WRONG_PASSWORD, **{"X-Forwarded-For": f"192.0.2.{n}"})

    status, _, _ = await log_in(browser, "olivia", PASSWORD, **{"X-Forwarded-For": "192.0.2.99"})

    assert status == 429  # all three came from this peer, whatever they claimed


async def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(
    desk_with: StartDesk,
) -> None:
    browser = (await desk_with(login_address_failures=3, trusted_proxies="127.0.0.1")).browser()
    guesser = {"X-Forwarded-For": "198.51.100.7"}
    for n in range(3):
        # The guesser varies what it writes itself; the proxy appends the address it saw.
        spoofed = {"X-Forwarded-For": f"10.0.0.{n}, 198.51.100.7"}
        await log_in(browser, f"guess{n}", WRONG_PASSWORD, **spoofed)

    guessing = await log_in(browser, "olivia", PASSWORD, **guesser)
    colleague = await log_in(browser, "olivia", PASSWORD, **{"X-Forwarded-For": "198.51.100.8"})

    assert guessing[0] == 429
    assert colleague[0] == 200


async def test_two_desks_on_one_database_lock_together(
    desk_with: StartDesk,
) -> None:
    first, second = (await desk_with()).browser(), (await desk_with()).browser()
    for browser in (first, second, first, second, first):
        assert (await log_in(browser, "olivia", WRONG_PASSWORD))[0] == 401

    assert (await log_in(second, "olivia", PASSWORD))[:2] == (401, WRONG)


# --- A new session at every login ----------------------------------------------------------


async def test_logging_in_again_ends_the_session_the_browser_came_with(
    olivia: Browser, browsers: Callable[..., Browser]
) -> None:
    before = cookie_of(olivia)
    console = await connect(olivia)

    assert (await log_in(olivia, "olivia", PASSWORD))[0] == 200

    after = cookie_of(olivia)
    assert after != before
    assert await closed_with(console) == (SESSION_ENDED_CODE, LOGGED_OUT)
    replay = browsers()
    assert (await replay.get("/api/me", cookies={SESSION_COOKIE: before}))[0] == 401
    assert (await replay.get("/api/me", cookies={SESSION_COOKIE: after}))[0] == 200


async def test_a_cookie_planted_before_the_login_is_not_logged_in(
    browsers: Callable[..., Browser], leo: Browser
) -> None:
    """Session fixation: whatever token the browser carried, the login issues its own (here the
    planted token is another user's live session, which ends)."""
    planted = cookie_of(leo)
    victim = browsers()

    status, body, _ = await log_in(victim, "olivia", PASSWORD, Cookie=f"{SESSION_COOKIE}={planted}")

    assert (status, body["username"]) == (200, "olivia")
    assert cookie_of(victim) != planted
    assert (await leo.get("/api/me"))[0] == 401  # the planted session is over
    assert (await victim.get("/api/me"))[1]["username"] == "olivia"


async def test_a_failed_login_leaves_the_session_alone(olivia: Browser) -> None:
    assert (await log_in(olivia, "olivia", WRONG_PASSWORD))[0] == 401

    assert (await olivia.get("/api/me"))[0] == 200


# --- Logging out ---------------------------------------------------------------------------------


async def test_a_logged_out_cookie_opens_nothing(
    server: TestServer, olivia: Browser, bot: Browser, browsers: Callable[..., Browser]
) -> None:
    token = cookie_of(olivia)
    handoff_id = await post_handoff(bot, make_context(queue="order_support"))
    console = await connect(olivia)

    assert (await olivia.post("/api/logout"))[0] == 200

    assert await closed_with(console) == (SESSION_ENDED_CODE, LOGGED_OUT)
    replay = browsers()
    cookies = {SESSION_COOKIE: token}
    assert (await replay.get("/api/me", cookies=cookies))[0] == 401
    assert (await replay.get("/api/queues", cookies=cookies))[0] == 401
    assert (await replay.post(f"/api/handoffs/{handoff_id}/claim", cookies=cookies))[0] == 401
    page = await replay.raw("GET", "/console", cookies=cookies, allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (302, "/login")
    with pytest.raises(WSServerHandshakeError) as refused:
        await replay.session.ws_connect(
            server.make_url("/api/live"), headers={"Cookie": f"{SESSION_COOKIE}={token}"}
        )
    assert refused.value.status == 401
