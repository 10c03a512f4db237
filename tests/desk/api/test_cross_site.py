"""Cross-site writes with an agent's cookie are refused: the whole origin (scheme, host and
port) must be the desk's, as the browser sees it (DESK_PUBLIC_URL, or a trusted proxy's
X-Forwarded-Proto)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestServer

from desk.api.middleware import SESSION_COOKIE
from desk.settings import DeskSettings
from tests.desk.api.test_login_security import StartDesk, desk_with
from tests.desk.conftest import PASSWORD, Browser, make_context, post_handoff

__all__ = ["desk_with"]  # the fixture, imported to be used here

#: Starts a desk with some settings changed: its server, Olivia logged in, a handoff of hers.
StartAsOlivia = Callable[..., Awaitable[tuple[TestServer, Browser, str]]]
REFUSED = (403, {"error": "cross-site request refused"})


def own_origin(server: TestServer) -> str:
    return f"http://{server.host}:{server.port}"


async def note(browser: Browser, handoff_id: str, **headers: str) -> tuple[int, Any]:
    """A write with the agent's cookie: a private note on the handoff."""
    return await browser.post(
        f"/api/handoffs/{handoff_id}/notes", json={"text": "checked"}, headers=headers
    )


@pytest.fixture
async def handoff_id(bot: Browser) -> str:
    return await post_handoff(bot, make_context(queue="order_support"))


@pytest.mark.parametrize(
    "origin",
    [
        "https://{host}:{port}",  # another scheme, same host and port
        "http://{host}:1",  # another port
        "http://{host}",  # port 80
        "http://evil.example:{port}",  # another host
        "https://evil.example",
        "null",  # a sandboxed page, a file, a redirect across sites
        "ftp://{host}:{port}",
        "http://user@{host}:{port}",
        "http://[",
        "",
    ],
)
async def test_a_write_from_another_origin_is_refused(
    server: TestServer, olivia: Browser, handoff_id: str, origin: str
) -> None:
    claimed = origin.format(host=server.host, port=server.port)

    assert await note(olivia, handoff_id, Origin=claimed) == REFUSED
    status, pop = await olivia.get(f"/api/handoffs/{handoff_id}")
    assert (status, pop["notes"]) == (200, [])


async def test_a_write_from_the_desks_own_origin_passes(
    server: TestServer, olivia: Browser, handoff_id: str
) -> None:
    origin = own_origin(server)

    assert (await note(olivia, handoff_id, Origin=origin))[0] == 201
    assert (await note(olivia, handoff_id, Origin=origin.upper()))[0] == 201
    assert (await note(olivia, handoff_id))[0] == 201  # no Origin: not a browser (curl)


async def test_without_origin_the_referer_must_be_the_desks(
    server: TestServer, olivia: Browser, handoff_id: str
) -> None:
    assert await note(olivia, handoff_id, Referer="https://evil.example/page") == REFUSED
    assert await note(olivia, handoff_id, Referer="null") == REFUSED
    own_page = f"{own_origin(server)}/console"
    assert (await note(olivia, handoff_id, Referer=own_page))[0] == 201


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_a_browser_saying_another_site_made_the_request_is_refused(
    server: TestServer, olivia: Browser, handoff_id: str, site: str
) -> None:
    headers = {"Origin": own_origin(server), "Sec-Fetch-Site": site}

    assert await note(olivia, handoff_id, **headers) == REFUSED
    assert (await note(olivia, handoff_id, **{**headers, "Sec-Fetch-Site": "same-origin"}))[
        0
    ] == 201


async def test_public_routes_are_guarded_too(server: TestServer, anonymous: Browser) -> None:
    login = {"username": "olivia", "password": "whatever it is"}

    assert await anonymous.post("/api/login", json=login, headers={"Origin": "null"}) == REFUSED


async def test_the_console_socket_needs_the_whole_origin(
    server: TestServer, olivia: Browser
) -> None:
    other_scheme = f"https://{server.host}:{server.port}"

    with pytest.raises(WSServerHandshakeError) as refused:
        await olivia.live(headers={"Origin": other_scheme})
    socket = await olivia.live(headers={"Origin": own_origin(server)})

    assert refused.value.status == 403
    await socket.close()


# --- Behind a proxy or TLS termination -----------------------------------------------------------


@pytest.fixture
def desk_as_olivia(desk_with: StartDesk, settings: DeskSettings) -> StartAsOlivia:
    """Start the desk with some settings changed; its server, Olivia logged in, and a handoff
    of her queue."""

    async def start(**changes: Any) -> tuple[TestServer, Browser, str]:
        desk = await desk_with(**changes)
        login = await desk.browser().login("olivia")
        # A Secure cookie (DESK_PUBLIC_URL is https) is not sent back over the test's http.
        (token,) = [c.value for c in login.session.cookie_jar if c.key == SESSION_COOKIE]
        olivia = desk.browser({"Cookie": f"{SESSION_COOKIE}={token}"})
        bot = desk.browser({"Authorization": f"Bearer {settings.handoff_secret}"})
        handoff_id = await post_handoff(bot, make_context(queue="order_support"))
        return desk.server, olivia, handoff_id

    return start


async def test_a_trusted_proxy_says_the_browser_used_https(
    desk_as_olivia: StartAsOlivia,
) -> None:
    server, olivia, handoff_id = await desk_as_olivia(trusted_proxies="127.0.0.1")
    https = f"https://{server.host}:{server.port}"

    over_tls = await note(olivia, handoff_id, Origin=https, **{"X-Forwarded-Proto": "https"})
    downgraded = await note(
        olivia, handoff_id, Origin=own_origin(server), **{"X-Forwarded-Proto": "https"}
    )

    assert over_tls[0] == 201
    assert downgraded == REFUSED


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(
    desk_as_olivia: StartAsOlivia,
) -> None:
    server, olivia, handoff_id = await desk_as_olivia()
    https = f"https://{server.host}:{server.port}"

    assert await note(olivia, handoff_id, Origin=https, **{"X-Forwarded-Proto": "https"}) == REFUSED


async def test_with_a_public_url_only_its_origin_may_write(
    desk_as_olivia: StartAsOlivia,
) -> None:
    server, olivia, handoff_id = await desk_as_olivia(public_url="https://desk.example.com")

    assert (await note(olivia, handoff_id, Origin="https://desk.example.com"))[0] == 201
    assert (await note(olivia, handoff_id, Origin="https://desk.example.com:443"))[0] == 201
    assert await note(olivia, handoff_id, Origin="http://desk.example.com") == REFUSED
    assert await note(olivia, handoff_id, Origin=own_origin(server)) == REFUSED


async def test_the_cookie_is_secure_when_the_browser_uses_https(
    desk_with: StartDesk,
) -> None:
    desk = await desk_with(public_url="https://desk.example.com")

    response = await desk.browser().raw(
        "POST", "/api/login", json={"username": "leo", "password": PASSWORD}
    )

    assert response.cookies["desk_session"]["secure"] is True
