"""The balancer against processes that are alive but fail their health checks (a Rasa process
whose event loop is blocked for seconds on a loaded machine): customers are still served, a
web chat stays on its own process, and only a process that refuses connections is skipped.

HAProxy runs with the scaled system's generated configuration; the processes behind it are
small HTTP servers on loopback whose health answer the test switches from 200 to 500.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.loopback import free_ports
from launcher.balancer import WEBCHAT_COOKIE, BalancerPlan, balancer_service
from launcher.scaled import balancer_plan
from launcher.stack import Stack, running_stack

pytestmark = pytest.mark.e2e

CHECK_PATHS = {"/", "/health"}


class Process(ThreadingHTTPServer):
    """One upstream process: answers every request with its name; its health answer fails
    while `checks_fail` is set (alive, but the balancer's checks see it down)."""

    daemon_threads = True

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.checks_fail = False
        #: The headers of every request that was not a health check, in order.
        self.seen_headers: list[list[tuple[str, str]]] = []
        super().__init__(("127.0.0.1", port), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    server: Process

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        checked = self.path.split("?")[0] in CHECK_PATHS
        if not checked:
            self.server.seen_headers.append(list(self.headers.items()))
        failing = checked and self.server.checks_fail
        body = self.server.name.encode()
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Balanced:
    plan: BalancerPlan
    processes: dict[str, Process]
    stack: Stack

    def get(
        self, url: str, cookie: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        request = urllib.request.Request(url, method="GET", headers=headers or {})
        if cookie:
            request.add_header("Cookie", cookie)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post_rest(self) -> tuple[int, str]:
        request = urllib.request.Request(
            f"{self.plan.rasa_url}/webhooks/rest/webhook", data=b"{}", method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def wait_until_the_balancer_sees(self, down: set[str]) -> None:
        """Polls the stats CSV until exactly the checked servers in `down` are DOWN."""
        deadline = time.monotonic() + 30
        seen: set[str] = set()
        while time.monotonic() < deadline:
            _, csv = self.get(f"{self.plan.stats_url};csv")
            seen = {
                f"{row.split(',')[0]}/{row.split(',')[1]}"
                for row in csv.splitlines()
                if ",DOWN" in row and "_unchecked" not in row
            }
            if seen == down:
                return
            time.sleep(0.2)  # readiness poll of HAProxy's own state, bounded by the deadline
        raise AssertionError(f"the balancer saw {sorted(seen)} down, not {sorted(down)}")


@pytest.fixture
def balanced(tmp_path: Path) -> Iterator[Balanced]:
    ports = free_ports(10)
    plan = balancer_plan(
        site_port=ports[0],
        rasa_port=ports[1],
        actions_port=ports[2],
        stats_port=ports[3],
        rasa_ports=ports[4:6],
        action_ports=ports[6:8],
        desk_ports=ports[8:10],
    )
    upstreams = [*plan.rasa, *plan.actions, *plan.desks]
    processes = {upstream.name: Process(upstream.name, upstream.port) for upstream in upstreams}
    try:
        with running_stack([balancer_service(plan, tmp_path)], tmp_path / "logs") as stack:
            yield Balanced(plan, processes, stack)
    finally:
        for process in processes.values():
            process.shutdown()
            process.server_close()


def test_busy_processes_that_fail_every_check_still_serve_customers(balanced: Balanced) -> None:
    for name in ("rasa1", "rasa2", "desk1", "desk2"):
        balanced.processes[name].checks_fail = True
    balanced.wait_until_the_balancer_sees(
        {
            "rasa_webchat/rasa1",
            "rasa_webchat/rasa2",
            "rasa/rasa1",
            "rasa/rasa2",
            "desk/desk1",
            "desk/desk2",
        }
    )
    assert balanced.get(f"{balanced.plan.stats_url[:-1]}/health")[0] == 503

    answers = [balanced.post_rest() for _ in range(4)]
    assert {status for status, _ in answers} == {200}, answers
    assert {body for _, body in answers} == {"rasa1", "rasa2"}, "both processes take turns"
    status, body = balanced.get(f"{balanced.plan.site_url}/agent")
    assert (status, body[:4]) == (200, "desk")


def test_a_web_chat_stays_on_its_process_while_that_process_fails_its_checks(
    balanced: Balanced,
) -> None:
    balanced.processes["rasa2"].checks_fail = True
    balanced.wait_until_the_balancer_sees({"rasa_webchat/rasa2", "rasa/rasa2"})
    session = f"{WEBCHAT_COOKIE}=rasa2"
    for _ in range(3):
        assert balanced.get(f"{balanced.plan.site_url}/socket.io/?EIO=4", session) == (
            200,
            "rasa2",
        )
    # Without a session, new chats go to the process that passes its checks.
    assert balanced.get(f"{balanced.plan.site_url}/socket.io/?EIO=4") == (200, "rasa1")


def test_a_process_that_refuses_connections_is_skipped_even_when_the_other_is_busy(
    balanced: Balanced,
) -> None:
    dead = balanced.processes.pop("rasa1")
    dead.shutdown()
    dead.server_close()
    balanced.processes["rasa2"].checks_fail = True
    balanced.wait_until_the_balancer_sees(
        {"rasa_webchat/rasa1", "rasa_webchat/rasa2", "rasa/rasa1", "rasa/rasa2"}
    )
    assert [balanced.post_rest() for _ in range(4)] == [(200, "rasa2")] * 4
    # A web chat whose process died is sent to the living one.
    assert balanced.get(
        f"{balanced.plan.site_url}/socket.io/?EIO=4", f"{WEBCHAT_COOKIE}=rasa1"
    ) == (
        200,
        "rasa2",
    )


def test_a_desk_hears_the_clients_address_and_scheme_from_the_balancer_not_the_client(
    balanced: Balanced,
) -> None:
    """The desks trust the balancer (DESK_TRUSTED_PROXIES) for the address the login limits
    count and the scheme the Origin check compares: what a client claims is overwritten (the
    scheme) or stays left of the address the balancer appends, where the desk ignores it."""
    claims = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    for _ in range(2):  # one request to each desk
        status, _ = balanced.get(f"{balanced.plan.site_url}/api/login", headers=claims)
        assert status == 200

    seen = [*balanced.processes["desk1"].seen_headers, *balanced.processes["desk2"].seen_headers]
    assert len(seen) == 2
    for headers in seen:
        forwarded_for = [value for name, value in headers if name.lower() == "x-forwarded-for"]
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        assert hops[-1] == "127.0.0.1", headers  # appended by the balancer: the real peer
        proto = [value for name, value in headers if name.lower() == "x-forwarded-proto"]
        assert proto == ["http"], headers  # the site is served over http: the claim is gone
