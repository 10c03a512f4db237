"""The scaled system for the end-to-end tests: `make run-scaled`'s processes, isolated.

`harness.scaled_copy` starts the same processes as `make run-scaled` (two Rasa servers, two
action servers, two desks, HAProxy in front) on free loopback ports, with their own PostgreSQL
databases, Redis keys and RabbitMQ names, all removed afterwards. PostgreSQL, Redis and
RabbitMQ must be running (the project's machines start them): a missing one fails the tests
by name.

`wiring` points a few processes straight at another, so the tests know which path a message
takes: the action servers deliver handoffs to desk #1, and both desks talk to Rasa #2. A
customer whose web chat is held by Rasa #1 then hears the desk only if Rasa #2's emits cross
over (the socket.io pub/sub), and an agent on desk #2 sees a handoff desk #1 received only
through the shared database and bus.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from harness.chat_client import ChatClient
from harness.scaled_copy import (
    SHARED_SERVICES,
    ScaledCopy,
    ServicesMissing,
    ServiceUrls,
    check_services,
    isolated_plan,
    running_scaled_copy,
)
from launcher.balancer import WEBCHAT_COOKIE
from launcher.scaled import ScaledPlan
from tests.e2e.desk_system import DeskStack
from tests.e2e.environment import MODEL_PATH, E2EEnvironment, build_environment


@dataclass(frozen=True)
class ScaledSystem:
    """The running scaled system and how to reach each part."""

    copy: ScaledCopy
    env: E2EEnvironment
    password: str

    @property
    def plan(self) -> ScaledPlan:
        return self.copy.plan

    @property
    def root(self) -> Path:
        return self.copy.root

    @property
    def site_url(self) -> str:
        return self.plan.balancer.site_url

    @property
    def balanced_rasa_url(self) -> str:
        return self.plan.balancer.rasa_url

    def rasa_url(self, number: int) -> str:
        """Rasa process #number's own URL (1 or 2)."""
        return self.plan.rasa_process_url(number - 1)

    def desk(self, number: int) -> DeskStack:
        """Desk process #number as the desk tests' helpers (`Agent`) see a desk; its
        `rasa_url` is the balancer's (the customer's way in)."""
        return DeskStack(
            env=dataclasses.replace(self.env, rasa_port=self.plan.balancer.rasa_port),
            stack=self.copy.stack,
            desk_url=self.plan.desk_process_url(number - 1),
            desk_database_url=self.plan.shared.databases.desk,
            password=self.password,
            codes_file=self.root / "demo-codes.jsonl",
        )

    def stop(self, name: str) -> None:
        self.copy.stack.stop(name)

    def restart(self, name: str) -> None:
        self.copy.restart(name)


def wiring(plan: ScaledPlan) -> Mapping[str, Mapping[str, str]]:
    """Handoffs go to desk #1; both desks call Rasa #2 (module doc)."""
    desk1 = plan.desk_process_url(0)
    rasa2 = plan.rasa_process_url(1)
    return {
        "actions1": {"HANDOFF_URL": f"{desk1}/api/handoffs"},
        "actions2": {"HANDOFF_URL": f"{desk1}/api/handoffs"},
        "desk1": {"RASA_URL": rasa2},
        "desk2": {"RASA_URL": rasa2},
    }


@contextmanager
def running_scaled_system(
    root: Path, services: ServiceUrls = SHARED_SERVICES, **settings: str
) -> Iterator[ScaledSystem]:
    """The scaled system under `root` on `services` (the machine's shared servers unless a
    test brings its own); `settings` are extra environment variables."""
    try:
        check_services(services)
    except ServicesMissing as missing:
        pytest.fail(f"the scaled system needs:\n{missing}", pytrace=False)
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first", pytrace=False)
    env = build_environment(root)
    password = secrets.token_urlsafe(16)
    plan = isolated_plan(env.rasa_auth_token, MODEL_PATH, services=services)
    process_env = {
        **env.env,
        "DESK_DOCUMENTS_DIR": str(root / "documents"),
        "DESK_DEMO_CODES_FILE": str(root / "demo-codes.jsonl"),
        **settings,
    }
    with running_scaled_copy(
        plan, root, process_env, password, wiring(plan), services.postgres
    ) as copy:
        yield ScaledSystem(copy, env, password)


async def pinned_chat_client(system: ScaledSystem, process: str) -> ChatClient:
    """A customer's page whose web chat the balancer keeps on Rasa process `process` (rasa1,
    rasa2): its cookie jar holds the balancer's stickiness cookie naming it, as a browser's
    would after its first request (aiohttp's default jar refuses cookies of an IP address)."""
    page = ChatClient()
    await page.http.close()
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({WEBCHAT_COOKIE: process}, URL(system.balanced_rasa_url))
    page.http = aiohttp.ClientSession(cookie_jar=jar)
    page.sio.eio.http = page.http
    return page
