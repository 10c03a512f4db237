"""`make demo-traffic` before it plays anything: its settings, the health check that tells what
to start, and the summary. Playing the scripts is tested end to end
(tests/e2e/test_analytics_numbers.py)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from harness.loopback import free_ports, sqlite_url
from harness.scripted_traffic import SCRIPTS, ConversationRun, TrafficError
from harness.stand_in import LoopbackStandIn
from launcher.demo_traffic import BUILD_PATH, DemoTrafficSettings, build_now, down, main, summary
from settingsupport.environment import MissingSettingError

SECRETS = {"RASA_AUTH_TOKEN": "rasa-token", "DESK_DEMO_PASSWORD": "desk-password"}


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def healthy_port() -> Iterator[int]:
    """A loopback server answering 200 to any GET."""
    server = HTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_secrets_are_required_and_named() -> None:
    with pytest.raises(MissingSettingError) as raised:
        DemoTrafficSettings.from_env({})
    assert "RASA_AUTH_TOKEN" in str(raised.value)
    assert "DESK_DEMO_PASSWORD" in str(raised.value)


def test_the_system_is_reached_on_the_ports_make_run_uses() -> None:
    settings = DemoTrafficSettings.from_env(
        {**SECRETS, "RASA_PORT": "5101", "ACTION_SERVER_PORT": "5102", "DESK_PORT": "5103"}
    )
    address = settings.address()
    assert (address.rasa_url, address.desk_url) == (
        "http://127.0.0.1:5101",
        "http://127.0.0.1:5103",
    )
    assert (address.rasa_token, address.desk_password) == ("rasa-token", "desk-password")
    assert settings.health_urls() == {
        "Rasa server": "http://127.0.0.1:5101/",
        "action server": "http://127.0.0.1:5102/health",
        "desk": "http://127.0.0.1:5103/health",
    }


def test_down_names_only_what_does_not_answer(healthy_port: int) -> None:
    (closed,) = free_ports(1)
    urls = {
        "desk": f"http://127.0.0.1:{healthy_port}/health",
        "Rasa server": f"http://127.0.0.1:{closed}/",
    }
    assert down(urls) == [f"Rasa server (http://127.0.0.1:{closed}/)"]


def test_with_the_system_stopped_it_says_to_start_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rasa, actions, desk = free_ports(3)
    for name, value in {
        **SECRETS,
        "RASA_PORT": str(rasa),
        "ACTION_SERVER_PORT": str(actions),
        "DESK_PORT": str(desk),
    }.items():
        monkeypatch.setenv(name, value)

    assert main() == 1
    said = capsys.readouterr().err
    assert "the system is not running" in said
    assert f"Rasa server (http://127.0.0.1:{rasa}/)" in said
    assert f"desk (http://127.0.0.1:{desk}/health)" in said
    assert "make run" in said


def test_the_summary_lists_each_conversation_and_where_to_look() -> None:
    runs = [
        ConversationRun(SCRIPTS[0], "demo-1-order-shipped-a", customer_messages=2),
        ConversationRun(SCRIPTS[2], "demo-1-order-delayed-b", ["4f1c2d3e-0000"], agent_rating=5),
    ]
    built = {"tracker_events": 120, "conversations": 2, "handoffs": 1}

    text = summary(runs, built, "http://127.0.0.1:8080")

    lines = text.splitlines()
    assert lines[0] == "Played 2 conversations (1 handed to the desk):"
    assert "demo-1-order-shipped-a" in lines[1] and "no handoff" in lines[1]
    assert "handoff 4f1c2d3e, agent rated 5" in lines[2]
    assert "120 tracker events (2 conversations), 1 handoffs." in text
    assert "http://127.0.0.1:8080/supervisor (log in as sam" in text


class BuildingDesk(LoopbackStandIn):
    """The desk's login, console socket and build route, answering the build as told."""

    name = "building desk"

    def __init__(self) -> None:
        super().__init__()
        self.build_status = 200
        self.builds = 0

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/login", self._login)
        app.router.add_get("/api/live", self._live)
        app.router.add_post(BUILD_PATH, self._build)

    def recorded(self) -> str:
        return f"{self.builds} builds"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body["username"], body["password"]) != ("sam", "desk-password"):
            return web.json_response({"error": "wrong username or password"}, status=401)
        return web.json_response({"username": "sam"})

    async def _live(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "connected"})
        async for _message in socket:
            pass
        return socket

    async def _build(self, _request: web.Request) -> web.Response:
        self.builds += 1
        if self.build_status != 200:
            return web.json_response({"error": "no"}, status=self.build_status)
        return web.json_response({"tracker_events": 7, "conversations": 1, "handoffs": 0})


@pytest.fixture
async def building_desk() -> AsyncIterator[BuildingDesk]:
    async with BuildingDesk() as desk:
        yield desk


async def test_the_desk_builds_the_analytics(building_desk: BuildingDesk) -> None:
    built = await build_now(building_desk.url, "desk-password")
    assert built == {"tracker_events": 7, "conversations": 1, "handoffs": 0}
    assert building_desk.builds == 1


async def test_a_desk_without_the_build_route_gets_the_build_make_analytics_does(
    building_desk: BuildingDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    building_desk.build_status = 404
    for name, file in (
        ("ANALYTICS_DATABASE_URL", "analytics.db"),
        ("TRACKER_STORE_URL", "tracker.db"),
        ("DESK_DATABASE_URL", "desk.db"),
    ):
        monkeypatch.setenv(name, sqlite_url(tmp_path / file))

    built: dict[str, Any] = await build_now(building_desk.url, "desk-password")

    # Empty sources: nothing to fold, but the facts database exists and the build ran.
    assert (built["tracker_events"], built["conversations"], built["handoffs"]) == (0, 0, 0)
    assert (tmp_path / "analytics.db").exists()


async def test_a_failed_build_stops_the_demo_with_the_desks_answer(
    building_desk: BuildingDesk,
) -> None:
    building_desk.build_status = 503
    with pytest.raises(TrafficError, match="answered 503"):
        await build_now(building_desk.url, "desk-password")
