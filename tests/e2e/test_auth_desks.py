"""The desk's logins across real desk processes (`python -m desk`) sharing one PostgreSQL and
one Redis, as the scaled stack runs them: a lockout begun through either holds on both, and a
session ended on one (a logout, a new login) is over on the other, its consoles closed."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from desk.api.middleware import SESSION_COOKIE
from desk.services.login_throttle import mask_username
from tests.e2e.test_desk_processes import WAIT, Browser, TwoDesks, redis_space, two_desks

__all__ = ["redis_space", "two_desks"]  # the fixtures

pytestmark = pytest.mark.e2e

WRONG = {"error": "unknown username or wrong password"}


async def log_in(browser: Browser, desk: int, username: str, password: str) -> tuple[int, Any]:
    return await browser.call(
        desk, "POST", "/api/login", json={"username": username, "password": password}
    )


def token_of(browser: Browser) -> str:
    (cookie,) = [c for c in browser.http.cookie_jar if c.key == SESSION_COOKIE]
    return cookie.value


async def test_a_lockout_begun_across_both_desks_holds_on_both(two_desks: TwoDesks) -> None:
    guesser, colleague = Browser(two_desks), Browser(two_desks)
    try:
        answers = [
            await log_in(guesser, desk, "olivia", "not her password") for desk in (1, 2, 1, 2, 1)
        ]

        on_1 = await log_in(guesser, 1, "olivia", two_desks.password)
        on_2 = await log_in(guesser, 2, "olivia", two_desks.password)
        other_user = await log_in(colleague, 2, "leo", two_desks.password)
    finally:
        await guesser.close()
        await colleague.close()

    assert answers == [(401, WRONG)] * 5
    assert on_1 == on_2 == (401, WRONG)  # the right password, answered like a wrong one
    assert other_user[0] == 200
    logs = "".join(
        (two_desks.stack.log_dir / f"desk-{n}.log").read_text(encoding="utf-8") for n in (1, 2)
    )
    assert mask_username("olivia") in logs
    assert "login locked for 15 min" in logs
    assert "olivia" not in logs


async def test_a_logout_on_one_desk_ends_the_session_on_the_other(two_desks: TwoDesks) -> None:
    olivia = await Browser(two_desks).login(1, "olivia")
    replay = Browser(two_desks)
    try:
        token = token_of(olivia)
        console = await olivia.live(2)

        assert (await olivia.call(1, "POST", "/api/logout"))[0] == 200

        closing = await console.receive(timeout=WAIT)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1008)
        for desk in (1, 2):
            status, _ = await replay.call(
                desk, "GET", "/api/me", headers={"Cookie": f"{SESSION_COOKIE}={token}"}
            )
            assert status == 401, desk
    finally:
        await olivia.close()
        await replay.close()


async def test_a_new_login_on_one_desk_ends_the_old_session_on_both(two_desks: TwoDesks) -> None:
    olivia = await Browser(two_desks).login(1, "olivia")
    replay = Browser(two_desks)
    try:
        before = token_of(olivia)
        console = await olivia.live(1)

        await olivia.login(2, "olivia")

        closing = await console.receive(timeout=WAIT)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1008)
        assert token_of(olivia) != before
        for desk in (1, 2):
            old = await replay.call(
                desk, "GET", "/api/me", headers={"Cookie": f"{SESSION_COOKIE}={before}"}
            )
            assert old[0] == 401, desk
            assert (await olivia.call(desk, "GET", "/api/me"))[0] == 200, desk
    finally:
        await olivia.close()
        await replay.close()
