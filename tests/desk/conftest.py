"""Fixtures for the desk tests: real databases and the real aiohttp app, never fakes.

SQLite tests use a migrated database file in `tmp_path`. PostgreSQL tests get a fresh database
from `tests.support.postgres` (skipped without a server, failing instead with REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, ClientWebSocketResponse, CookieJar
from aiohttp.test_utils import TestServer

from analytics.settings import AnalyticsSettings
from analytics.store.database import FactsDatabase
from desk.app import create_app
from desk.services.agents import Actor, create_agent
from desk.services.queues import QUEUES
from desk.settings import DeskSettings
from desk.store.database import Database
from desk.store.models import AgentRole
from desk.store.repositories import AgentRepository
from tests.desk.rasa_stand_in import RASA_TOKEN, RasaStandIn
from tests.support.applications import new_application_body
from tests.support.handoff_examples import GOLDEN_PATH
from tests.support.postgres import postgres_url_fixture
from tests.support.sqlite_copies import make_fresh, migrated

HANDOFF_SECRET = "test-handoff-secret"
PASSWORD = "correct horse battery"
T0 = datetime.fromisoformat("2025-03-14T10:00:00+00:00")

# username -> (role, queues)
AGENTS: dict[str, tuple[AgentRole, tuple[str, ...]]] = {
    "olivia": (AgentRole.AGENT, ("order_support",)),
    "leo": (AgentRole.AGENT, ("tech_support_l2",)),
    "sam": (AgentRole.SUPERVISOR, tuple(QUEUES)),
}


# --- Handoff contexts ------------------------------------------------------------------------


def make_context(
    *,
    queue: str = "order_support",
    priority: str = "normal",
    sender_id: str | None = None,
    handoff_id: str | None = None,
) -> dict[str, Any]:
    """The golden context with a fresh id and the given routing."""
    payload: dict[str, Any] = copy.deepcopy(_golden())
    payload["handoff_id"] = handoff_id or str(uuid.uuid4())
    payload["routing"]["queue"] = queue
    payload["routing"]["priority"] = priority
    # A conversation has at most one open handoff, so each context is its own conversation
    # unless a test says otherwise.
    payload["conversation"]["sender_id"] = sender_id or f"web-{uuid.uuid4().hex[:12]}"
    return payload


_GOLDEN: dict[str, Any] = {}


def _golden() -> dict[str, Any]:
    if not _GOLDEN:
        _GOLDEN.update(json.loads(GOLDEN_PATH.read_text(encoding="utf-8")))
    return _GOLDEN


@pytest.fixture
def context_factory() -> Callable[..., dict[str, Any]]:
    """Build valid handoff contexts (see `make_context`)."""
    return make_context


# --- Databases -------------------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """URL of a SQLite file (in a directory that does not exist yet)."""
    return f"sqlite:///{tmp_path / 'var' / 'desk.db'}"


def _migrated_with_agents(db: Database) -> None:
    db.migrate()
    add_agents(db)


@pytest.fixture
def database(database_url: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty SQLite database; with the test agents in it when the test also wants
    `actors` (each a copy of one made once per process: `tests.support.sqlite_copies`)."""
    if "actors" in request.node.fixturenames:
        db = Database(database_url)
        make_fresh(db, "with the test agents", _migrated_with_agents)
    else:
        db = migrated(Database, database_url)
    yield db
    db.dispose()


# URL of a fresh, empty PostgreSQL database, dropped after the test.
postgres_url = postgres_url_fixture("desk_test_")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, database_url: str) -> Iterator[Database]:
    """A migrated, empty database on each supported backend."""
    url = database_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db = migrated(Database, url)
    yield db
    db.dispose()


def add_agents(db: Database) -> dict[str, Actor]:
    """Create the test agents (see AGENTS); their actors by username."""
    actors = {}
    with db.session(write=True) as session:
        for username, (role, queues) in AGENTS.items():
            agent = create_agent(
                session,
                username=username,
                display_name=username.title(),
                password=PASSWORD,
                role=role,
                queues=queues,
            )
            actors[username] = Actor.of(agent)
    return actors


@pytest.fixture
def actors(database: Database) -> dict[str, Actor]:
    """The test agents in the SQLite database (`database` made them, unless a test's own
    `database` did not)."""
    return actors_in(database) or add_agents(database)


def actors_in(db: Database) -> dict[str, Actor]:
    """The actors of the agents already in `db`."""
    with db.session() as session:
        repository = AgentRepository(session)
        found = {name: repository.by_username(name) for name in AGENTS}
        return {name: Actor.of(agent) for name, agent in found.items() if agent is not None}


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


# --- The app over HTTP -----------------------------------------------------------------------


@pytest.fixture
async def rasa() -> AsyncIterator[RasaStandIn]:
    """A recording HTTP server standing in for the Rasa server (see `rasa_stand_in`)."""
    stand_in = RasaStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.close()


@pytest.fixture
def settings(database_url: str, rasa: RasaStandIn) -> DeskSettings:
    """Settings pointing at the test database and the Rasa stand-in."""
    return DeskSettings(
        database_url=database_url,
        handoff_secret=HANDOFF_SECRET,
        rasa_auth_token=RASA_TOKEN,
        rasa_url=rasa.url,
        rasa_timeout_seconds=1.0,
        average_handle_seconds=240.0,
    )


@pytest.fixture(scope="session")
def empty_facts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated facts database, made once (each test gets a copy: migrating takes
    half a second)."""
    path = tmp_path_factory.mktemp("facts") / "analytics.db"
    facts = FactsDatabase(f"sqlite:///{path}")
    facts.migrate()
    facts.dispose()
    return path


@pytest.fixture
def analytics_settings(
    tmp_path: Path, database_url: str, empty_facts_file: Path
) -> AnalyticsSettings:
    """The analytics beside the test database: an empty, migrated facts database of its own
    (never the one under var/) and no tracker store."""
    shutil.copyfile(empty_facts_file, tmp_path / "analytics.db")
    return AnalyticsSettings(
        database_url=f"sqlite:///{tmp_path / 'analytics.db'}",
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        desk_database_url=database_url,
        timezone="Europe/London",
    )


@pytest.fixture
async def server(
    settings: DeskSettings,
    database: Database,
    actors: dict[str, Actor],
    analytics_settings: AnalyticsSettings,
) -> AsyncIterator[TestServer]:
    """The desk app on a loopback port, its database migrated and holding the test agents."""
    test_server = TestServer(create_app(settings, analytics=analytics_settings))
    await test_server.start_server()
    yield test_server
    await test_server.close()


class Browser:
    """One HTTP client with its own cookie jar (one agent's browser, or the bot)."""

    def __init__(self, server: TestServer, headers: dict[str, str] | None = None) -> None:
        """Talk to `server`."""
        self._server = server
        self.session = ClientSession(cookie_jar=CookieJar(unsafe=True), headers=headers)

    @property
    def server(self) -> TestServer:
        """The desk this browser talks to."""
        return self._server

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """Send a request; the status and the decoded JSON body (or text)."""
        async with self.session.request(method, self._server.make_url(path), **kwargs) as resp:
            return resp.status, await _body(resp)

    async def raw(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        """Send a request; the response, already read."""
        async with self.session.request(method, self._server.make_url(path), **kwargs) as resp:
            await resp.read()
            return resp

    async def live(self, path: str = "/api/live", **kwargs: Any) -> ClientWebSocketResponse:
        """Open a websocket with this browser's cookies."""
        return await self.session.ws_connect(self._server.make_url(path), **kwargs)

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        """GET."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        """POST."""
        return await self.request("POST", path, **kwargs)

    async def login(self, username: str, password: str = PASSWORD) -> Browser:
        """Log in (asserting success)."""
        status, body = await self.post(
            "/api/login", json={"username": username, "password": password}
        )
        assert status == 200, body
        return self

    async def close(self) -> None:
        """Close the client."""
        await self.session.close()


async def _body(response: ClientResponse) -> Any:
    text_body = await response.text()
    if response.content_type == "application/json":
        return json.loads(text_body)
    return text_body


@pytest.fixture
async def browsers(server: TestServer) -> AsyncIterator[Callable[..., Browser]]:
    """Make browsers for the server; all closed afterwards."""
    made: list[Browser] = []

    def make(headers: dict[str, str] | None = None) -> Browser:
        browser = Browser(server, headers)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()


@pytest.fixture
def bot(browsers: Callable[..., Browser]) -> Browser:
    """The bot: sends the HANDOFF_SECRET bearer token."""
    return browsers({"Authorization": f"Bearer {HANDOFF_SECRET}"})


@pytest.fixture
def anonymous(browsers: Callable[..., Browser]) -> Browser:
    """A browser nobody logged in with."""
    return browsers()


@pytest.fixture
async def olivia(browsers: Callable[..., Browser]) -> Browser:
    """Olivia's browser, logged in (order_support)."""
    return await browsers().login("olivia")


@pytest.fixture
async def leo(browsers: Callable[..., Browser]) -> Browser:
    """Leo's browser, logged in (tech_support_l2)."""
    return await browsers().login("leo")


@pytest.fixture
async def sam(browsers: Callable[..., Browser]) -> Browser:
    """Sam's browser, logged in (supervisor)."""
    return await browsers().login("sam")


async def post_handoff(bot: Browser, payload: dict[str, Any]) -> str:
    """Deliver a handoff as the bot does (asserting it was created); its id."""
    status, body = await bot.post(
        "/api/handoffs", json=payload, headers={"Idempotency-Key": payload["handoff_id"]}
    )
    assert status == 201, body
    return str(body["handoff_id"])


async def post_application(bot: Browser) -> str:
    """Store an application as the bot does (asserting it was created); its reference."""
    status, body = await bot.post("/api/applications", json=new_application_body())
    assert status == 201, body
    return str(body["reference"])
