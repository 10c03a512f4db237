"""An isolated copy of the system for one benchmark or evaluation run, built as a test
builds one.

Free loopback ports, a fresh migrated and seeded SQLite app database, a fresh SQLite tracker
store, the recording endpoint standing in for the desk, and random secrets: nothing is shared
with a copy of the system (or another benchmark or test) running on the same machine.

The desk benchmark's copy (`DeskEnvironment`) runs the real desk instead of the recording
endpoint, with a fresh migrated SQLite desk database seeded with the demo agents, built like
the `desk_stack` fixture of tests/e2e/test_desk_flow.py builds it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from actions.store.seed import prepare_demo_store
from desk.seed import prepare_demo_desk
from harness.loopback import free_ports, sqlite_url
from launcher.stack import Service, action_server, desk_server, handoff_inbox, rasa_server


@dataclass(frozen=True)
class Ports:
    """Where each process of the isolated system listens."""

    rasa: int
    actions: int
    desk: int

    @classmethod
    def pick(cls) -> Ports:
        """Three free loopback ports."""
        rasa, actions, desk = free_ports(3)
        return cls(rasa=rasa, actions=actions, desk=desk)


@dataclass(frozen=True)
class Secrets:
    """Random secrets, new for every run."""

    rasa_auth_token: str
    action_server_token: str
    handoff_secret: str

    @classmethod
    def generate(cls) -> Secrets:
        """Fresh random values."""
        # Hex: a value starting with "-" would be read as an option on the command line.
        return cls(*(secrets.token_hex(32) for _ in range(3)))


@dataclass(frozen=True)
class BenchEnvironment:
    """The isolated system's ports, secrets, files and environment variables."""

    workdir: Path
    ports: Ports
    secrets: Secrets
    model: Path

    @property
    def app_database_url(self) -> str:
        """The action server's database (orders, handoff outbox)."""
        return sqlite_url(self.workdir / "app.db")

    @property
    def tracker_store_url(self) -> str:
        """Rasa's tracker store."""
        return sqlite_url(self.workdir / "tracker.db")

    @property
    def log_dir(self) -> Path:
        """Where each process's output goes."""
        return self.workdir / "logs"

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://127.0.0.1:{self.ports.rasa}"

    def variables(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The processes' environment: `base` (default: ours) with this run's settings."""
        return {
            **(os.environ if base is None else base),
            "RASA_TELEMETRY_ENABLED": "false",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_PORT": str(self.ports.rasa),
            "ACTION_SERVER_PORT": str(self.ports.actions),
            "DESK_PORT": str(self.ports.desk),
            "DESK_URL": f"http://127.0.0.1:{self.ports.desk}",
            "RASA_AUTH_TOKEN": self.secrets.rasa_auth_token,
            "TRACKER_STORE_URL": self.tracker_store_url,
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.ports.actions}/webhook",
            "ACTION_SERVER_TOKEN": self.secrets.action_server_token,
            "APP_DATABASE_URL": self.app_database_url,
            "HANDOFF_URL": f"http://127.0.0.1:{self.ports.desk}/api/handoffs",
            "HANDOFF_SECRET": self.secrets.handoff_secret,
        }

    def services(self) -> list[Service]:
        """The desk stand-in, the action server and the Rasa server serving `model`."""
        return [
            handoff_inbox(
                self.ports.desk, self.secrets.handoff_secret, self.workdir / "handoffs.jsonl"
            ),
            action_server(self.ports.actions),
            rasa_server(self.ports.rasa, self.secrets.rasa_auth_token, self.model),
        ]


def create_environment(workdir: Path, model: Path) -> BenchEnvironment:
    """Picks ports and secrets and prepares a fresh app database in `workdir`."""
    environment = BenchEnvironment(workdir, Ports.pick(), Secrets.generate(), model)
    prepare_demo_store(environment.app_database_url)
    return environment


@dataclass(frozen=True)
class DeskEnvironment:
    """An isolated system with the real desk where `BenchEnvironment` has the stand-in."""

    system: BenchEnvironment
    #: The password of the seeded demo agents (DESK_DEMO_PASSWORD).
    demo_password: str

    @property
    def desk_database_url(self) -> str:
        """The desk's database (agents, sessions, handoffs)."""
        return sqlite_url(self.system.workdir / "desk.db")

    @property
    def codes_file(self) -> Path:
        """Where the desk writes the one-time codes it "e-mails" (the demo's outbox)."""
        return self.system.workdir / "demo-codes.jsonl"

    @property
    def desk_url(self) -> str:
        """Base URL of the desk (the agent console's API and websocket)."""
        return f"http://127.0.0.1:{self.system.ports.desk}"

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server (the customer's socket.io endpoint)."""
        return self.system.rasa_url

    @property
    def log_dir(self) -> Path:
        """Where each process's output goes."""
        return self.system.log_dir

    def variables(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The turn benchmarks' environment plus the desk's database, password and Rasa URL.

        HANDOFF_URL and DESK_URL already point at the desk's port, where the desk listens now.
        """
        return {
            **self.system.variables(base),
            "DESK_DATABASE_URL": self.desk_database_url,
            "DESK_DEMO_PASSWORD": self.demo_password,
            "RASA_URL": self.system.rasa_url,
            "DESK_DOCUMENTS_DIR": str(self.system.workdir / "documents"),
            "DESK_DEMO_CODES_FILE": str(self.codes_file),
        }

    def services(self) -> list[Service]:
        """The desk, the action server and the Rasa server serving the model."""
        ports = self.system.ports
        return [
            desk_server(ports.desk),
            action_server(ports.actions),
            rasa_server(ports.rasa, self.system.secrets.rasa_auth_token, self.system.model),
        ]


def create_desk_environment(workdir: Path, model: Path) -> DeskEnvironment:
    """Like `create_environment`, plus a fresh desk database with the demo agents."""
    environment = DeskEnvironment(create_environment(workdir, model), secrets.token_hex(16))
    prepare_demo_desk(environment.desk_database_url, environment.demo_password)
    return environment
