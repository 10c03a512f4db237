"""`make demo-traffic`: real conversations through the running system, for the dashboard.

Needs the system running (`make run` in another terminal): checks that Rasa, the action server
and the desk answer first, and says what to start if one does not. Then plays the scripted
conversations of `harness.scripted_traffic` (customers on Rasa's REST channel, the demo agents
at the desk), asks the desk to fold them into the analytics now, and prints what it did and
where to look. Each run adds new conversations (fresh sender ids); nothing is written to any
database except through the system's own doors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import aiohttp

from analytics.build import Builder
from analytics.settings import AnalyticsSettings
from analytics.store.database import FactsDatabase
from harness.scripted_traffic import (
    SCRIPTS,
    ConversationRun,
    DeskAgent,
    SystemAddress,
    TrafficDriver,
    TrafficError,
)
from settingsupport.environment import (
    EnvironmentSettings,
    MissingSettingError,
    port_field,
    secret_field,
)

#: The desk user who asks for the build and reads the dashboard.
SUPERVISOR = "sam"
BUILD_PATH = "/api/analytics/build"


class DemoTrafficSettings(EnvironmentSettings):
    """Where `make run` serves (the same variables it reads) and the demo secrets."""

    rasa_port: int = port_field(5005, "RASA_PORT")
    action_server_port: int = port_field(5055, "ACTION_SERVER_PORT")
    desk_port: int = port_field(8080, "DESK_PORT")
    rasa_auth_token: str = secret_field("RASA_AUTH_TOKEN")
    desk_demo_password: str = secret_field("DESK_DEMO_PASSWORD")

    def address(self) -> SystemAddress:
        """The running system, as the driver reaches it."""
        return SystemAddress(
            rasa_url=f"http://127.0.0.1:{self.rasa_port}",
            rasa_token=self.rasa_auth_token,
            desk_url=self.desk_url,
            desk_password=self.desk_demo_password,
        )

    @property
    def desk_url(self) -> str:
        """The desk's base URL."""
        return f"http://127.0.0.1:{self.desk_port}"

    def health_urls(self) -> dict[str, str]:
        """Each process and the URL that answers 200 when it is up."""
        return {
            "Rasa server": f"http://127.0.0.1:{self.rasa_port}/",
            "action server": f"http://127.0.0.1:{self.action_server_port}/health",
            "desk": f"{self.desk_url}/health",
        }


def down(health_urls: dict[str, str]) -> list[str]:
    """The processes whose health URL does not answer 200 (in the order given)."""
    stopped = []
    for name, url in health_urls.items():
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                healthy = response.status == 200
        except (urllib.error.URLError, OSError):
            healthy = False
        if not healthy:
            stopped.append(f"{name} ({url})")
    return stopped


async def build_now(desk_url: str, password: str) -> dict[str, Any]:
    """Ask the desk to fold the new conversations into the analytics (as the supervisor); a
    desk without that route yet gets the build `make analytics` does, on the same databases."""
    supervisor = DeskAgent(desk_url, SUPERVISOR)
    try:
        await supervisor.start(password)
        status, built = await supervisor.call("POST", BUILD_PATH)
    finally:
        await supervisor.close()
    if status == 404:
        return await asyncio.to_thread(build_here)
    if status != 200 or not isinstance(built, dict):
        raise TrafficError(f"POST {BUILD_PATH} answered {status}: {built}")
    return built


def build_here() -> dict[str, Any]:
    """One analytics build in this process, on the databases the environment names."""
    settings = AnalyticsSettings.from_env()
    facts = FactsDatabase(settings.database_url)
    try:
        facts.migrate()
        builder = Builder.from_settings(settings, facts)
        try:
            return dataclasses.asdict(builder.run())
        finally:
            builder.dispose()
    finally:
        facts.dispose()


def summary(runs: Sequence[ConversationRun], built: dict[str, Any], desk_url: str) -> str:
    """What the run did and where to look."""
    handed_off = sum(1 for run in runs if run.handoff_ids)
    lines = [
        f"Played {len(runs)} conversations ({handed_off} handed to the desk):",
        *(f"  {run.describe()}" for run in runs),
        "",
        f"Analytics build: {built.get('tracker_events', 0)} tracker events "
        f"({built.get('conversations', 0)} conversations), {built.get('handoffs', 0)} handoffs.",
        "",
        f"See the numbers: {desk_url}/supervisor (log in as {SUPERVISOR}; the password is",
        "DESK_DEMO_PASSWORD in .env). Each run adds its conversations to today's.",
    ]
    return "\n".join(lines)


async def demo(settings: DemoTrafficSettings) -> str:
    """Play the scripts, build, and return the summary."""
    address = settings.address()
    runs = await TrafficDriver(address).play(SCRIPTS)
    built = await build_now(address.desk_url, address.desk_password)
    return summary(runs, built, address.desk_url)


def main() -> int:
    """0 when the traffic ran and the build is done; 1 when the system is not running or did
    not do what a script needs; 2 on a configuration error."""
    try:
        settings = DemoTrafficSettings.from_env()
    except MissingSettingError as error:
        print(f"demo-traffic: {error}", file=sys.stderr)
        return 2
    stopped = down(settings.health_urls())
    if stopped:
        print(
            "demo-traffic: the system is not running: no answer from "
            f"{', '.join(stopped)}.\nStart it with `make run` in another terminal, wait for "
            "'The support assistant is running', then run `make demo-traffic` again.",
            file=sys.stderr,
        )
        return 1
    print(f"Playing {len(SCRIPTS)} scripted conversations...", flush=True)
    try:
        print(asyncio.run(demo(settings)))
    except (TrafficError, aiohttp.ClientError) as error:
        print(f"demo-traffic: stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
