"""Start, health-check and stop the system's processes on loopback.

`make run` and the end-to-end tests use the same code, so what the tests exercise is what a
developer runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from logsupport.private_files import open_private, private_directory

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: Where the handoff inbox (`harness.recording_endpoint`) takes its Bearer secret from: the
#: variable the action server sends it from.
HANDOFF_SECRET_VARIABLE = "HANDOFF_SECRET"


class ServiceFailedToStart(RuntimeError):
    """A process exited or did not become healthy in time; the message shows its log tail."""


@dataclass(frozen=True)
class Service:
    """One process of the system and how to tell it is ready."""

    name: str
    argv: list[str]
    health_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout: float = 180.0


def rasa_server(port: int, auth_token: str, model: Path | None = None) -> Service:
    """The Rasa server with the REST and socket.io channels and the token-protected HTTP API.

    Started through `python -m assistant` (Rasa's command line plus the project's changes),
    which takes the API token from `RASA_AUTH_TOKEN` in its environment: on the command line
    `ps` would show it to every user of the machine.
    """
    argv = [
        sys.executable,
        "-m",
        "assistant",
        "run",
        "--enable-api",
        "--port",
        str(port),
        "--interface",
        "127.0.0.1",
        "--cors",
        "*",
    ]
    if model is not None:
        argv += ["--model", str(model)]
    return Service("rasa", argv, f"http://127.0.0.1:{port}/", env={"RASA_AUTH_TOKEN": auth_token})


def action_server(port: int) -> Service:
    """The rasa-sdk action server, bound to loopback."""
    argv = [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)]
    return Service(
        "actions",
        argv,
        f"http://127.0.0.1:{port}/health",
        env={"SANIC_HOST": "127.0.0.1"},
        startup_timeout=60.0,
    )


def desk_server(port: int) -> Service:
    """The support desk (`python -m desk`): receives handoffs, serves the agents."""
    argv = [sys.executable, "-m", "desk"]
    return Service(
        "desk",
        argv,
        f"http://127.0.0.1:{port}/health",
        env={"DESK_PORT": str(port)},
        startup_timeout=60.0,
    )


def handoff_inbox(port: int, secret: str, record_file: Path) -> Service:
    """A recording HTTP endpoint standing in for the desk's handoff intake.

    The secret travels in its environment (HANDOFF_SECRET_VARIABLE): on the command line `ps`
    would show it to every user of the machine.
    """
    argv = [
        sys.executable,
        "-m",
        "harness.recording_endpoint",
        "--port",
        str(port),
        "--record-file",
        str(record_file),
    ]
    return Service(
        "handoff-inbox",
        argv,
        f"http://127.0.0.1:{port}/health",
        env={HANDOFF_SECRET_VARIABLE: secret},
        startup_timeout=30.0,
    )


@dataclass
class RunningService:
    """A started process, with the file its output goes to."""

    service: Service
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the process printed."""
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def is_healthy(url: str) -> bool:
    """Whether `url` answers 2xx within two seconds."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


class Stack:
    """A set of running services, stopped together."""

    def __init__(self, log_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.env = dict(os.environ if env is None else env)
        self.running: dict[str, RunningService] = {}

    def start(self, service: Service, *, append_log: bool = False) -> RunningService:
        """Starts a process in its own process group, logging to `<log_dir>/<name>.log`
        (owner-only, like the directory); `append_log` keeps what an earlier run printed."""
        private_directory(self.log_dir)
        log_path = self.log_dir / f"{service.name}.log"
        log_file = open_private(log_path, append=append_log)
        env = {**self.env, **service.env, "PYTHONPATH": str(PROJECT_ROOT)}
        process = subprocess.Popen(
            service.argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        running = RunningService(service, process, log_path, log_file)
        self.running[service.name] = running
        return running

    def wait_healthy(self, name: str) -> None:
        """Polls the health URL until it answers, the process dies or the timeout passes."""
        running = self.running[name]
        deadline = time.monotonic() + running.service.startup_timeout
        while time.monotonic() < deadline:
            if running.process.poll() is not None:
                raise ServiceFailedToStart(
                    f"{name} exited with {running.process.returncode}:\n{running.log_tail()}"
                )
            if is_healthy(running.service.health_url):
                return
            time.sleep(0.25)  # readiness poll of another process, bounded by the deadline
        raise ServiceFailedToStart(f"{name} was not healthy in time:\n{running.log_tail()}")

    def restart(self, name: str) -> RunningService:
        """Stops what is left of a service and starts it again, its log continued."""
        service = self.running[name].service
        self.stop(name)
        return self.start(service, append_log=True)

    def start_all(self, services: list[Service]) -> None:
        """Starts every service, then waits until all are healthy."""
        for service in services:
            self.start(service)
        for service in services:
            self.wait_healthy(service.name)

    def stop(self, name: str, timeout: float = 15.0) -> None:
        """Stops a service's whole process group: SIGTERM, then SIGKILL."""
        running = self.running.pop(name, None)
        if running is None:
            return
        if running.process.poll() is None:
            os.killpg(running.process.pid, signal.SIGTERM)
            try:
                running.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(running.process.pid, signal.SIGKILL)
                running.process.wait()
        running.log_file.close()

    def stop_all(self) -> None:
        """Stops every service, the last started first."""
        for name in reversed(list(self.running)):
            self.stop(name)


@contextmanager
def running_stack(
    services: list[Service], log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """Starts the services and always stops them afterwards."""
    stack = Stack(log_dir, env)
    try:
        stack.start_all(services)
        yield stack
    finally:
        stack.stop_all()
