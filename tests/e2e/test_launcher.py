"""`make run`'s launcher as a developer runs it: `python -m launcher run` in an isolated copy
of the system (its own ports, databases, secrets and log folder).

The tests share one launcher and run in order: no secret on any child's command line; a child
killed with SIGKILL is restarted and healthy again; a child that can no longer start (its port
taken) makes the launcher give up, stop everything and exit 1.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from actions.store.seed import prepare_demo_store
from desk.seed import prepare_demo_desk
from harness.isolated_system import Ports
from harness.loopback import sqlite_url
from launcher.envfile import PLACEHOLDER, parse_env
from launcher.stack import PROJECT_ROOT, Stack, is_healthy
from tests.e2e.environment import ENV_EXAMPLE, MODEL_PATH, E2EEnvironment

pytestmark = pytest.mark.e2e

#: Rasa loads its model in the launcher's start (TensorFlow, on a busy 2-core machine).
STARTUP_SECONDS = 420.0
WAIT_SECONDS = 120.0
RUNNING = "The support assistant is running."


def secret_variables() -> list[str]:
    """The settings that hold secrets: the ones `.env.example` makes random, and any other
    whose name says it is a secret, token or password."""
    documented = parse_env(ENV_EXAMPLE.read_text(encoding="utf-8"))
    generated = [name for name, value in documented.items() if value == PLACEHOLDER]
    named = [
        name for name in documented if any(word in name for word in ("SECRET", "TOKEN", "PASSWORD"))
    ]
    return sorted({*generated, *named})


def descendants(pid: int) -> list[int]:
    """Every live process started (directly or not) by `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name in parentheses may hold spaces: the parent follows the last ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> bytes:
    """The command line `ps` shows for `pid` (empty once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def secrets_on_command_lines(pids: list[int], env: Mapping[str, str]) -> list[str]:
    """`VARIABLE (pid: command)` for every secret value found on a command line."""
    leaks = []
    for pid in pids:
        line = command_line(pid)
        for name in secret_variables():
            value = env.get(name, "")
            if value and value.encode() in line:
                # The message names the variable, never shows its value.
                masked = line.replace(value.encode(), f"<{name}>".encode())
                shown = masked.replace(b"\0", b" ").decode(errors="replace")[:200]
                leaks.append(f"{name} ({pid}: {shown})")
    return leaks


def eventually(check: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Polls `check` until it holds, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)  # polling interval of a condition, bounded by the deadline


@dataclass
class Launcher:
    """`python -m launcher run` running in its own isolated copy of the system."""

    process: subprocess.Popen[bytes]
    output_path: Path
    env: dict[str, str]
    ports: Ports

    def output(self) -> str:
        """Everything it printed so far (stdout and stderr)."""
        return self.output_path.read_text(errors="replace")

    def child_pid(self, argv_part: bytes) -> int | None:
        """The pid of its child whose command line contains `argv_part`."""
        for pid in descendants(self.process.pid):
            if argv_part in command_line(pid):
                return pid
        return None

    @property
    def actions_health(self) -> str:
        """The action server's health URL."""
        return f"http://127.0.0.1:{self.ports.actions}/health"


def launcher_environment(root: Path) -> tuple[dict[str, str], Ports]:
    """The documented defaults, then fresh ports, databases, secrets and a log folder."""
    ports = Ports.pick()
    app_database_url = sqlite_url(root / "app.db")
    desk_database_url = sqlite_url(root / "desk.db")
    prepare_demo_store(app_database_url)
    password = secrets.token_urlsafe(16)
    prepare_demo_desk(desk_database_url, password)
    values = {
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_PORT": str(ports.rasa),
        "ACTION_SERVER_PORT": str(ports.actions),
        "DESK_PORT": str(ports.desk),
        "DESK_URL": f"http://127.0.0.1:{ports.desk}",
        "RASA_URL": f"http://127.0.0.1:{ports.rasa}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports.actions}/webhook",
        "HANDOFF_URL": f"http://127.0.0.1:{ports.desk}/api/handoffs",
        "TRACKER_STORE_URL": sqlite_url(root / "tracker.db"),
        "APP_DATABASE_URL": app_database_url,
        "DESK_DATABASE_URL": desk_database_url,
        "ANALYTICS_DATABASE_URL": sqlite_url(root / "analytics.db"),
        "DESK_DOCUMENTS_DIR": str(root / "documents"),
        "DESK_DEMO_CODES_FILE": str(root / "demo-codes.jsonl"),
        "DESK_DEMO_PASSWORD": password,
        "LAUNCHER_LOG_DIR": str(root / "logs"),
        # Two restarts, so the give-up path takes seconds.
        "LAUNCHER_MAX_RESTARTS": "2",
    }
    # Every secret new and random, never the developer's .env (`make e2e` exports it).
    defaults = parse_env(ENV_EXAMPLE.read_text(encoding="utf-8"))
    for name, value in defaults.items():
        if value == PLACEHOLDER:
            values.setdefault(name, secrets.token_urlsafe(24))
    return {**os.environ, **defaults, **values}, ports


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """The launcher, once the system it started is up; stopped (and every child with it)
    at the end unless a test already ended it."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    root = tmp_path_factory.mktemp("launcher")
    env, ports = launcher_environment(root)
    output_path = root / "launcher.out"
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "launcher", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = Launcher(process, output_path, env, ports)
    seen: set[int] = set()
    try:
        eventually(
            lambda: RUNNING in started.output() or process.poll() is not None,
            "the launcher's banner",
            STARTUP_SECONDS,
        )
        assert process.poll() is None, f"the launcher ended:\n{started.output()}"
        seen.update(descendants(process.pid))
        yield started
    finally:
        seen.update(descendants(process.pid))
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        for pid in seen:  # whatever a failed test may have left behind
            if command_line(pid):
                os.kill(pid, signal.SIGKILL)


def test_no_secret_is_on_the_command_line_of_any_process(launcher: Launcher) -> None:
    pids = [launcher.process.pid, *descendants(launcher.process.pid)]

    assert len(pids) >= 4  # the launcher, the desk, the action server, the Rasa server
    assert secrets_on_command_lines(pids, launcher.env) == []
    assert {"RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN", "HANDOFF_SECRET"} <= set(secret_variables())


def test_no_secret_is_on_the_command_line_of_the_e2e_services(
    stack: Stack, e2e_env: E2EEnvironment
) -> None:
    pids = [pid for running in stack.running.values() for pid in (running.process.pid,)]
    pids += [child for pid in list(pids) for child in descendants(pid)]

    assert len(stack.running) == 3  # handoff inbox, action server, Rasa server
    assert secrets_on_command_lines(pids, e2e_env.env) == []


def test_a_killed_child_is_restarted_and_healthy_again(launcher: Launcher) -> None:
    killed = launcher.child_pid(b"actions")
    assert killed is not None and is_healthy(launcher.actions_health)

    os.kill(killed, signal.SIGKILL)

    eventually(
        lambda: "actions is healthy again." in launcher.output(), "the restart", WAIT_SECONDS
    )
    output = launcher.output()
    assert "actions exited unexpectedly (exit code -9)" in output
    assert "Restarting actions in 1 s (restart 1 of 2 restarts within 5 min)" in output
    assert is_healthy(launcher.actions_health)
    restarted = launcher.child_pid(b"actions")
    assert restarted not in (None, killed)
    assert launcher.process.poll() is None
    assert secrets_on_command_lines([restarted or 0], launcher.env) == []


def test_a_child_that_cannot_start_again_stops_the_launcher_with_an_error(
    launcher: Launcher,
) -> None:
    killed = launcher.child_pid(b"actions")
    assert killed is not None
    others = [pid for pid in descendants(launcher.process.pid) if pid != killed]

    os.kill(killed, signal.SIGKILL)
    # Take its port as soon as it is free: every restart now fails to bind.
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        eventually(lambda: _bind(taken, launcher.ports.actions), "the action server's port")
        taken.listen()
        eventually(lambda: launcher.process.poll() is not None, "the launcher to give up")
    finally:
        taken.close()

    output = launcher.output()
    assert launcher.process.returncode == 1, output
    assert "Giving up on actions: it died again after 2 restarts within 5 min." in output
    assert "address already in use" in output  # the log tail says why
    assert [pid for pid in others if command_line(pid)] == []  # everything else stopped


def _bind(probe: socket.socket, port: int) -> bool:
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True
