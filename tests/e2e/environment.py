"""An isolated environment for the end-to-end tests: its own ports, databases and secrets.

Nothing here touches `var/`, the developer's `.env` or the ports a running copy of the system
(`make run`) may hold: every port is a free ephemeral one, every file lives in a temporary
directory, and every secret is random.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from actions.store.database import Database
from actions.store.models import HandoffOutboxEntry
from actions.store.seed import prepare_demo_store
from harness.loopback import free_ports, sqlite_url
from launcher.envfile import PLACEHOLDER, parse_env
from launcher.stack import (
    PROJECT_ROOT,
    Service,
    action_server,
    handoff_inbox,
    rasa_server,
)

MODEL_PATH = PROJECT_ROOT / "models" / "support-assistant.tar.gz"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"

# Handoff delivery tuned so the outbox path takes seconds, not minutes: a refused connection
# fails at once, two tries per delivery, and the relay looks at the outbox twice a second.
OUTBOX_INTERVAL_SECONDS = 0.5
HANDOFF_TIMEOUT_SECONDS = 2.0
HANDOFF_ATTEMPTS = 2
HANDOFF_BACKOFF_SECONDS = 0.1


@dataclass(frozen=True)
class OutboxRow:
    """One row of the action server's handoff outbox, as stored."""

    handoff_id: str
    sender_id: str
    status: str
    attempts: int
    payload: str


def outbox_rows(database_url: str, sender_id: str) -> list[OutboxRow]:
    """The handoff outbox rows of one conversation, oldest first."""
    database = Database(database_url)
    try:
        with database.session() as session:
            entries = session.scalars(
                select(HandoffOutboxEntry)
                .where(HandoffOutboxEntry.sender_id == sender_id)
                .order_by(HandoffOutboxEntry.created_at)
            )
            return [
                OutboxRow(e.handoff_id, e.sender_id, e.status, e.attempts, e.payload)
                for e in entries
            ]
    finally:
        database.dispose()


@dataclass(frozen=True)
class E2EEnvironment:
    """Where everything of one end-to-end run lives and how to reach it."""

    root: Path
    log_dir: Path
    rasa_port: int
    action_server_port: int
    handoff_port: int
    #: Where the Rasa server sends conversation events (DESK_URL). Nothing listens there unless
    #: a test starts a recording desk on it; the Rasa server copes with a desk that is down.
    desk_port: int
    rasa_auth_token: str
    action_server_token: str
    handoff_secret: str
    #: Prometheus' bearer token for the desk's GET /metrics (DESK_METRICS_TOKEN).
    metrics_token: str
    app_database_url: str
    tracker_store_url: str
    handoff_record_file: Path
    env: Mapping[str, str]

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_server_url(self) -> str:
        """Base URL of the action server."""
        return f"http://127.0.0.1:{self.action_server_port}"

    @property
    def handoff_url(self) -> str:
        """The recording endpoint's handoff URL (POST handoffs, GET the accepted ones)."""
        return f"http://127.0.0.1:{self.handoff_port}/api/handoffs"

    @property
    def desk_url(self) -> str:
        """The desk's base URL as the Rasa server is configured with it (DESK_URL)."""
        return f"http://127.0.0.1:{self.desk_port}"

    def outbox(self, sender_id: str) -> list[OutboxRow]:
        """The conversation's rows in the handoff outbox of the app database."""
        return outbox_rows(self.app_database_url, sender_id)

    def handoff_inbox(self) -> Service:
        """The recording endpoint standing in for the desk."""
        return handoff_inbox(self.handoff_port, self.handoff_secret, self.handoff_record_file)

    def action_server(
        self, app_database_url: str | None = None, port: int | None = None
    ) -> Service:
        """The action server; `app_database_url` points it at another app database, `port`
        puts it on another port than the one Rasa calls."""
        service = action_server(port or self.action_server_port)
        if app_database_url is None:
            return service
        env = {**service.env, "APP_DATABASE_URL": app_database_url}
        return Service(service.name, service.argv, service.health_url, env, service.startup_timeout)

    def rasa_server(self) -> Service:
        """The Rasa server with the trained model."""
        return rasa_server(self.rasa_port, self.rasa_auth_token, MODEL_PATH)

    def services(self) -> list[Service]:
        """Every process of the system, in start order."""
        return [self.handoff_inbox(), self.action_server(), self.rasa_server()]


def build_environment(root: Path) -> E2EEnvironment:
    """Databases, secrets, ports and the process environment for one run, under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    rasa_port, action_server_port, handoff_port, desk_port = free_ports(4)
    app_database_url = sqlite_url(root / "app.db")
    tracker_store_url = sqlite_url(root / "tracker.db")
    prepare_demo_store(app_database_url)
    record_file = root / "handoffs.jsonl"
    record_file.touch()
    secret = {
        name: secrets.token_urlsafe(24)
        for name in ("rasa", "actions", "handoff", "desk_demo", "metrics")
    }

    overrides = {
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_PORT": str(rasa_port),
        "ACTION_SERVER_PORT": str(action_server_port),
        "HANDOFF_PORT": str(handoff_port),
        "RASA_AUTH_TOKEN": secret["rasa"],
        "TRACKER_STORE_URL": tracker_store_url,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_server_port}/webhook",
        "ACTION_SERVER_TOKEN": secret["actions"],
        "APP_DATABASE_URL": app_database_url,
        "HANDOFF_URL": f"http://127.0.0.1:{handoff_port}/api/handoffs",
        "HANDOFF_SECRET": secret["handoff"],
        "HANDOFF_TIMEOUT_SECONDS": str(HANDOFF_TIMEOUT_SECONDS),
        "HANDOFF_ATTEMPTS": str(HANDOFF_ATTEMPTS),
        "HANDOFF_BACKOFF_SECONDS": str(HANDOFF_BACKOFF_SECONDS),
        "OUTBOX_INTERVAL_SECONDS": str(OUTBOX_INTERVAL_SECONDS),
        "DESK_PORT": str(desk_port),
        "DESK_URL": f"http://127.0.0.1:{desk_port}",
        "DESK_DEMO_PASSWORD": secret["desk_demo"],
        "DESK_METRICS_TOKEN": secret["metrics"],
        # The analytics' facts of this system's own history, never the developer's var/.
        "ANALYTICS_DATABASE_URL": sqlite_url(root / "analytics.db"),
    }
    # The documented defaults for anything not set above, then ours; never the developer's
    # .env values (`make e2e` exports them), which point at the ports of `make run`.
    defaults = parse_env(ENV_EXAMPLE.read_text(encoding="utf-8"))
    env = {**os.environ, **defaults, **overrides}
    unset = sorted(key for key in defaults if env[key] == PLACEHOLDER)
    if unset:
        raise RuntimeError(f"the e2e environment does not set the secrets {unset}")

    return E2EEnvironment(
        root=root,
        log_dir=root / "logs",
        rasa_port=rasa_port,
        action_server_port=action_server_port,
        handoff_port=handoff_port,
        desk_port=desk_port,
        rasa_auth_token=secret["rasa"],
        action_server_token=secret["actions"],
        handoff_secret=secret["handoff"],
        metrics_token=secret["metrics"],
        app_database_url=app_database_url,
        tracker_store_url=tracker_store_url,
        handoff_record_file=record_file,
        env=env,
    )
