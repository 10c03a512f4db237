"""Every answer of the desk carries the security headers, errors and redirects too; a page's
own policy is kept as it is. (`test_roles_and_routes` checks them on every route as well.)"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from desk.api.middleware import FRAME_POLICY, NOTHING_POLICY
from desk.api.pages import security_headers
from tests.desk.conftest import Browser

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def assert_protected(headers: Mapping[str, str]) -> None:
    """The headers every answer has; framing forbidden by the CSP as well."""
    assert {name: headers.get(name) for name in EVERYWHERE} == EVERYWHERE
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/me", 401),
        ("GET", "/api/nothing-here", 404),
        ("DELETE", "/api/login", 405),
        ("POST", "/api/login", 422),
    ],
)
async def test_json_answers_are_not_cached_sniffed_or_framed(
    anonymous: Browser, method: str, path: str, status: int
) -> None:
    response = await anonymous.raw(method, path, json={})

    assert response.status == status
    assert response.content_type == "application/json"
    assert_protected(response.headers)
    assert response.headers["Content-Security-Policy"] == NOTHING_POLICY
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_logged_in_agents_data_is_not_cached(olivia: Browser) -> None:
    response = await olivia.raw("GET", "/api/queues")

    assert response.status == 200
    assert_protected(response.headers)
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_redirect_is_protected(anonymous: Browser) -> None:
    response = await anonymous.raw("GET", "/console", allow_redirects=False)

    assert (response.status, response.headers["Location"]) == (302, "/login")
    assert_protected(response.headers)
    assert response.headers["Content-Security-Policy"] == FRAME_POLICY


async def test_pages_keep_their_own_policy(anonymous: Browser, olivia: Browser) -> None:
    for browser, path in [(anonymous, "/login"), (anonymous, "/chat"), (olivia, "/console")]:
        response = await browser.raw("GET", path)

        assert response.status == 200, path
        assert_protected(response.headers)
        own = security_headers()
        assert response.headers["Cache-Control"] == own["Cache-Control"], path
        policy = response.headers["Content-Security-Policy"]
        assert policy.startswith("default-src 'self'; script-src 'self'"), path


async def test_static_files_are_not_sniffed_or_framed(anonymous: Browser) -> None:
    response = await anonymous.raw("GET", "/static/console.js")

    assert response.status == 200
    assert_protected(response.headers)
    assert response.headers["Content-Security-Policy"] == FRAME_POLICY
