"""Private PostgreSQL, Redis and RabbitMQ servers a test owns, to restart them at will.

The machine's shared servers are used by everyone else on it (other test runs, `make
run-scaled`, CI), so a fault that restarts one must never touch them. Each server here runs from
a fresh directory under /tmp on a free loopback port, logs to that directory, keeps nothing of
the machine's configuration (RabbitMQ's /etc/rabbitmq/rabbitmq.conf names the shared port, so
its own config file replaces it) and is removed afterwards. `restart` is the fault: the whole
process group is killed with SIGKILL, as a crash would, and started again on the same port
and data directory (Redis keeps no data: it runs with persistence off, as a cache does).

PostgreSQL refuses to run as root, so when the test runs as root its server runs as the
`postgres` user (`runuser`), in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Final

from harness.loopback import free_ports
from launcher.preflight import check_postgres, check_rabbitmq, check_redis
from logsupport.private_files import open_private

POSTGRES_BIN: Final = Path(os.environ.get("CHAOS_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER: Final = "redis-server"
#: The broker itself, not the Debian wrapper that switches to the rabbitmq user and drops the
#: environment that makes this one private.
RABBITMQ_SERVER: Final = os.environ.get(
    "CHAOS_RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server"
)
#: The only user is `postgres`, trusted on loopback: the server lives as long as one test.
INITDB_OPTIONS: Final = ("-U", "postgres", "--auth=trust", "--no-sync")
#: RabbitMQ boots Erlang first: about 35 s on a busy 2-core machine.
START_SECONDS: Final = 120.0


class PrivateServer:
    """One server process in its own directory; `start`, `restart`, `stop`."""

    def __init__(self, name: str, root: Path, ready: Callable[[], str | None]) -> None:
        self.name = name
        self.root = root
        self.port = free_ports(1)[0]
        self._ready = ready
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> None:
        self._log = open_private(self.root / f"{self.name}.log", append=True)
        self._process = subprocess.Popen(
            self.argv(),
            cwd=self.root,
            env=self.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_SECONDS
        while (problem := self._ready()) is not None:
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private {self.name} did not start: {problem}")
            time.sleep(0.5)  # readiness poll of another process, bounded by the deadline

    def kill(self) -> None:
        """SIGKILL the whole process group (the server and every child)."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
            _wait_until_gone(self._process.pid)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """The fault: killed as by a crash, then started again on the same port and data."""
        self.kill()
        self.start()


class PrivateRedis(PrivateServer):
    def __init__(self, root: Path) -> None:
        super().__init__("redis", root, lambda: check_redis(self.url))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        return [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.root),
        ]


class PrivatePostgres(PrivateServer):
    def __init__(self, root: Path) -> None:
        super().__init__("postgres", root, lambda: check_postgres(self.url))
        self.data = root / "data"
        as_user = _as_postgres_user()
        if as_user:
            shutil.chown(root, "postgres", "postgres")
        subprocess.run(
            [*as_user, str(POSTGRES_BIN / "initdb"), "-D", str(self.data), *INITDB_OPTIONS],
            check=True,
            cwd=root,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def argv(self) -> list[str]:
        return [
            *_as_postgres_user(),
            str(POSTGRES_BIN / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.root),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ]


class PrivateRabbitMQ(PrivateServer):
    def __init__(self, root: Path) -> None:
        super().__init__("rabbitmq", root, lambda: check_rabbitmq(self.url))
        self.dist_port = free_ports(1)[0]
        (root / "enabled_plugins").write_text("[].\n", encoding="utf-8")
        (root / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n", encoding="utf-8"
        )

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def argv(self) -> list[str]:
        return [RABBITMQ_SERVER]

    def env(self) -> dict[str, str]:
        root = str(self.root)
        return {
            **os.environ,
            "HOME": root,  # the Erlang cookie
            "RABBITMQ_NODENAME": f"chaos{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": f"{root}/rabbitmq.conf",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{root}/enabled_plugins",
            "RABBITMQ_MNESIA_BASE": f"{root}/mnesia",
            "RABBITMQ_LOG_BASE": f"{root}/log",
            "RABBITMQ_PID_FILE": f"{root}/rabbitmq.pid",
        }


def _wait_until_gone(group: int) -> None:
    """Until every process of the group has exited (PostgreSQL will not start while one of the
    killed server's children still holds its shared memory)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)  # the kernel reaps them in a moment; bounded by the deadline
    raise RuntimeError(f"process group {group} outlived SIGKILL")


def _as_postgres_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivateServices:
    """PostgreSQL, Redis and RabbitMQ of one test run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = PrivatePostgres(_subdir(root, "postgres"))
        self.redis = PrivateRedis(_subdir(root, "redis"))
        self.rabbitmq = PrivateRabbitMQ(_subdir(root, "rabbitmq"))

    def all(self) -> tuple[PrivateServer, ...]:
        return (self.postgres, self.redis, self.rabbitmq)


def _subdir(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir()
    return path


@contextlib.contextmanager
def private_services() -> Iterator[PrivateServices]:
    """Started private servers, killed and removed afterwards (whatever happened)."""
    root = Path(tempfile.mkdtemp(prefix="chaos-services-"))
    root.chmod(0o755)  # the postgres user must reach its directory
    services = PrivateServices(root)
    try:
        for server in services.all():
            server.start()
        yield services
    finally:
        for server in services.all():
            server.kill()
        shutil.rmtree(root, ignore_errors=True)
