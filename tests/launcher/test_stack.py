"""Starting, health-checking and stopping real processes on loopback."""

from __future__ import annotations

import os
import select
import shlex
import stat
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.loopback import free_ports
from launcher.stack import (
    PROJECT_ROOT,
    Service,
    ServiceFailedToStart,
    Stack,
    action_server,
    handoff_inbox,
    rasa_server,
    running_stack,
)


def web_server(directory: Path, name: str = "web") -> Service:
    """A tiny real HTTP server, healthy once it answers on its port."""
    port = free_ports(1)[0]
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return Service(
        name,
        [*argv, "--directory", str(directory)],
        f"http://127.0.0.1:{port}/",
        startup_timeout=30,
    )


def python(name: str, code: str, startup_timeout: float = 30) -> Service:
    """A Python one-liner as a service whose health URL never answers."""
    return Service(
        name,
        [sys.executable, "-c", code],
        f"http://127.0.0.1:{free_ports(1)[0]}/health",
        startup_timeout=startup_timeout,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack logging to tmp_path; whatever a test leaves running is stopped."""
    started = Stack(tmp_path / "logs")
    yield started
    started.stop_all()


def test_a_process_that_answers_becomes_healthy(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hello from the test")
    service = web_server(tmp_path)

    stack.start_all([service])

    with urllib.request.urlopen(service.health_url, timeout=5) as response:
        assert response.read() == b"hello from the test"
    running = stack.running["web"]
    assert running.process.poll() is None
    assert running.log_path == tmp_path / "logs" / "web.log"


def test_stop_all_stops_every_service(stack: Stack, tmp_path: Path) -> None:
    stack.start_all([web_server(tmp_path, "first"), web_server(tmp_path, "second")])
    processes = [running.process for running in stack.running.values()]

    stack.stop_all()

    assert stack.running == {}
    assert [process.returncode for process in processes] == [-15, -15]  # SIGTERM


def test_a_process_that_exits_reports_its_log(stack: Stack) -> None:
    service = python(
        "broken",
        "import sys; print('config.yml: no such file', flush=True); sys.exit(3)",
    )

    with pytest.raises(ServiceFailedToStart) as failed:
        stack.start_all([service])

    assert str(failed.value) == "broken exited with 3:\nconfig.yml: no such file"


def test_a_process_that_never_answers_times_out(stack: Stack) -> None:
    service = python("silent", "import signal; signal.pause()", startup_timeout=0.5)

    with pytest.raises(ServiceFailedToStart, match="silent was not healthy in time"):
        stack.start_all([service])

    assert stack.running["silent"].process.poll() is None  # left for stop_all


def test_services_get_the_stack_environment_and_the_project_on_the_path(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path / "logs", env={"PATH": os.environ["PATH"], "GREETING": "from stack"})
    code = "import os, sys; print(os.environ['GREETING'], os.environ['EXTRA'], sys.path[1])"
    service = Service(
        "env",
        [sys.executable, "-c", code],
        f"http://127.0.0.1:{free_ports(1)[0]}/",
        env={"EXTRA": "from service"},
    )
    try:
        with pytest.raises(ServiceFailedToStart) as failed:
            stack.start_all([service])
    finally:
        stack.stop_all()

    assert str(failed.value).endswith(f"from stack from service {PROJECT_ROOT}")


def test_stop_kills_the_whole_process_group(stack: Stack, tmp_path: Path) -> None:
    # The service starts a child of its own that holds a FIFO open for writing; the FIFO
    # reports end-of-file only once every writer has gone, i.e. once that child is dead.
    fifo = tmp_path / "child-alive"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    server = web_server(tmp_path, "parent")
    script = (
        f"(echo started; exec sleep 600) > {shlex.quote(str(fifo))} & "
        f"exec {shlex.join(server.argv)}"
    )
    service = Service("parent", ["/bin/sh", "-c", script], server.health_url, startup_timeout=30)
    try:
        stack.start_all([service])
        assert select.select([reader], [], [], 10)[0], "the child never started"
        assert os.read(reader, 64) == b"started\n"

        stack.stop_all()

        assert select.select([reader], [], [], 10)[0], "the child outlived stop_all"
        assert os.read(reader, 64) == b""
    finally:
        os.close(reader)


def test_running_stack_stops_the_services_when_the_block_fails(tmp_path: Path) -> None:
    service = web_server(tmp_path)

    with (
        pytest.raises(RuntimeError, match="test failed"),
        running_stack([service], tmp_path / "logs") as stack,
    ):
        process = stack.running["web"].process
        raise RuntimeError("test failed")

    assert process.poll() is not None


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_logs_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    # As an older launcher left them: world-readable directory and log.
    log_dir = tmp_path / "logs"
    log_dir.mkdir(mode=0o755)
    (log_dir / "greeter.log").write_text("an older run\n")
    (log_dir / "greeter.log").chmod(0o644)
    stack = Stack(log_dir)
    service = python("greeter", "print('hello', flush=True)")

    with pytest.raises(ServiceFailedToStart):
        stack.start_all([service])
    stack.stop_all()

    assert (_mode(log_dir), _mode(log_dir / "greeter.log")) == (0o700, 0o600)
    assert (log_dir / "greeter.log").read_text() == "hello\n"


def test_a_new_log_is_never_readable_by_others(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "var" / "logs")
    previous = os.umask(0o022)
    try:
        stack.start(python("fresh", "pass"))
    finally:
        os.umask(previous)
        stack.stop_all()

    assert _mode(tmp_path / "var" / "logs") == 0o700
    assert _mode(tmp_path / "var" / "logs" / "fresh.log") == 0o600


def test_a_restarted_service_continues_its_log(stack: Stack, tmp_path: Path) -> None:
    service = python("crashy", "print('run', flush=True)")
    stack.start(service).process.wait(30)

    stack.restart("crashy").process.wait(30)

    assert stack.running["crashy"].log_tail() == "run\nrun"


def test_the_system_services_bind_to_loopback() -> None:
    rasa = rasa_server(5005, "token", PROJECT_ROOT / "models" / "m.tar.gz")
    actions = action_server(5055)
    inbox = handoff_inbox(8080, "secret", PROJECT_ROOT / "var" / "handoffs.jsonl")

    assert rasa.argv[rasa.argv.index("--interface") + 1] == "127.0.0.1"
    # The API token goes in the environment, never on the command line `ps` shows.
    assert not any("token" in arg for arg in rasa.argv)
    assert rasa.env == {"RASA_AUTH_TOKEN": "token"}
    assert rasa.argv[1:3] == ["-m", "assistant"]
    assert rasa.argv[-2:] == ["--model", str(PROJECT_ROOT / "models" / "m.tar.gz")]
    assert actions.env == {"SANIC_HOST": "127.0.0.1"}
    assert actions.argv[actions.argv.index("--actions") + 1] == "actions"
    assert [s.health_url for s in (rasa, actions, inbox)] == [
        "http://127.0.0.1:5005/",
        "http://127.0.0.1:5055/health",
        "http://127.0.0.1:8080/health",
    ]
    assert inbox.argv[1:3] == ["-m", "harness.recording_endpoint"]
    # Neither secret is on a command line `ps` shows: both go in the environment.
    assert not any("secret" in arg for arg in inbox.argv)
    assert inbox.env == {"HANDOFF_SECRET": "secret"}
