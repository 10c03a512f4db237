"""The desk stand-in's resuming and appointment routes refuse what the desk would refuse."""

from __future__ import annotations

import aiohttp
import pytest

from harness.recording_endpoint import RecordingEndpoint

SECRET = "stand-in-secret"

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

ROUTES = [
    ("POST", "/api/applications/MTG-7K3Q9/verification"),
    ("POST", "/api/applications/MTG-7K3Q9/verification/confirm"),
    ("GET", "/api/branches"),
    ("GET", "/api/branches/leeds_park_row/slots"),
    ("POST", "/api/applications/MTG-7K3Q9/appointment"),
    ("PUT", "/api/applications/MTG-7K3Q9/appointment"),
    ("DELETE", "/api/applications/MTG-7K3Q9/appointment"),
]


def _base(endpoint: RecordingEndpoint) -> str:
    return endpoint.url.removesuffix("/api/handoffs")


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_needs_the_bearer_secret(method: str, path: str) -> None:
    async with RecordingEndpoint(secret=SECRET) as endpoint, aiohttp.ClientSession() as http:
        headers = {"Authorization": "Bearer wrong"}
        async with http.request(method, _base(endpoint) + path, headers=headers) as answer:
            assert answer.status == 401
            assert "bearer" in (await answer.json())["error"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/applications/MTG-7K3Q9/verification", '{"email": "<b>", "sender_id": ""}'),
        ("/api/applications/MTG-7K3Q9/verification/confirm", '{"code": 123456}'),
        ("/api/applications/MTG-7K3Q9/appointment", '{"branch": "x", "starts_at": "2026-12-03"}'),
        ("/api/applications/MTG-7K3Q9/appointment", "not json"),
    ],
)
async def test_a_broken_body_is_a_422_naming_the_problem(path: str, body: str) -> None:
    async with RecordingEndpoint(secret=SECRET) as endpoint, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
        async with http.post(_base(endpoint) + path, data=body, headers=headers) as answer:
            assert answer.status == 422
            assert (await answer.json())["error"]
