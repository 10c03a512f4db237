"""Every route of the desk as every role, against the table of who may use it.

The routes come from the real app's router, so a route added later fails
`test_every_route_has_an_access_class` until it is given a class in ROUTES. Each route is called
as each role (nobody, the bot's bearer, an agent of each team, branch staff, a supervisor) with
a body and objects that get an allowed caller past every check; what comes back is sorted into
an outcome (`outcome_of`) and compared with EXPECTED for the route's access class. Each answer
must also carry the security headers. Per-object routes get their own fresh object for each
call (a handoff of order support, claimed by Olivia; an application booked at Bea's branch).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestServer

from analytics.settings import AnalyticsSettings
from contract.applications import ApplicationStage
from desk.api.middleware import auth_kind
from desk.app import create_app
from desk.document_store import LocalDiskStore
from desk.services.agents import Actor, create_agent
from desk.services.queues import QUEUES
from desk.settings import DeskSettings
from desk.store.database import Database
from desk.store.models import AgentRole
from desk.store.types import utcnow
from tests.desk.api.test_hostile_input import VALID_BODIES
from tests.desk.api.test_security_headers import assert_protected
from tests.desk.conftest import HANDOFF_SECRET, PASSWORD, Browser, make_context, post_handoff
from tests.support.mortgage_cases import add_case_people, application_at

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")


class Access(enum.Enum):
    """Who may use a route."""

    PUBLIC = "anyone, the same answer for every caller"
    BOT = "the bot's bearer secret only"
    SESSION = "anyone logged in"
    CONSOLE = "agents and supervisors (branch staff have their own page)"
    SUPERVISOR = "supervisors only"
    BRANCH = "branch staff only"
    ADVISORS = "those who work mortgage applications: the advisors and supervisors"
    CASE_READERS = "advisors, supervisors, and branch staff of the case's branch"
    ORDER_QUEUE = "who may see a handoff of order support: its agents and supervisors"


#: Every route (a HEAD route has its GET's class), by access class.
ROUTES: Final[dict[tuple[str, str], Access]] = {
    ("GET", "/health"): Access.PUBLIC,
    ("POST", "/api/login"): Access.PUBLIC,
    ("POST", "/api/logout"): Access.PUBLIC,
    ("GET", "/login"): Access.PUBLIC,
    ("GET", "/chat"): Access.PUBLIC,
    ("GET", "/chat/config"): Access.PUBLIC,
    ("POST", "/chat/sessions"): Access.PUBLIC,
    ("GET", "/chat/history"): Access.PUBLIC,  # its own credential: the chat's token
    ("POST", "/chat/uploads"): Access.PUBLIC,  # its own credential: the chat's token
    ("GET", "/static/{name}"): Access.PUBLIC,
    ("GET", "/metrics"): Access.PUBLIC,  # its own credential: DESK_METRICS_TOKEN
    ("POST", "/api/handoffs"): Access.BOT,
    ("POST", "/api/conversation-events"): Access.BOT,
    ("POST", "/api/handoffs/{handoff_id}/csat"): Access.BOT,
    ("POST", "/api/handoffs/{handoff_id}/callback"): Access.BOT,
    ("POST", "/api/applications"): Access.BOT,
    ("GET", "/api/applications/{reference}"): Access.BOT,
    ("POST", "/api/applications/{reference}/events"): Access.BOT,
    ("GET", "/api/branches"): Access.BOT,
    ("GET", "/api/branches/{branch}/slots"): Access.BOT,
    ("POST", "/api/applications/{reference}/appointment"): Access.BOT,
    ("PUT", "/api/applications/{reference}/appointment"): Access.BOT,
    ("DELETE", "/api/applications/{reference}/appointment"): Access.BOT,
    ("POST", "/api/applications/{reference}/verification"): Access.BOT,
    ("POST", "/api/applications/{reference}/verification/confirm"): Access.BOT,
    ("GET", "/"): Access.SESSION,
    ("GET", "/api/me"): Access.SESSION,
    ("GET", "/api/queues"): Access.SESSION,  # branch staff: no queues
    ("GET", "/api/my-handoffs"): Access.SESSION,
    ("GET", "/api/callbacks"): Access.SESSION,  # of the caller's queues only
    ("GET", "/api/live"): Access.SESSION,
    ("GET", "/console"): Access.CONSOLE,
    ("GET", "/api/console-config"): Access.CONSOLE,
    ("GET", "/supervisor"): Access.SUPERVISOR,
    ("GET", "/supervisor/planning"): Access.SUPERVISOR,
    ("GET", "/api/analytics/floor"): Access.SUPERVISOR,
    ("GET", "/api/analytics/report"): Access.SUPERVISOR,
    ("GET", "/api/analytics/tables/{table}"): Access.SUPERVISOR,
    ("GET", "/api/analytics/fmea"): Access.SUPERVISOR,
    ("POST", "/api/analytics/build"): Access.SUPERVISOR,
    ("GET", "/api/analytics/journey-map"): Access.SUPERVISOR,
    ("GET", "/api/analytics/blueprint"): Access.SUPERVISOR,
    ("GET", "/branch"): Access.BRANCH,
    ("GET", "/api/branch/appointments"): Access.BRANCH,
    ("GET", "/api/branch/cases/{reference}"): Access.BRANCH,
    ("POST", "/api/branch/appointments/{appointment_id}/identity-check"): Access.BRANCH,
    ("POST", "/api/branch/appointments/{appointment_id}/signing"): Access.BRANCH,
    ("POST", "/api/branch/appointments/{appointment_id}/missed"): Access.BRANCH,
    ("GET", "/api/case-branches"): Access.ADVISORS,
    ("GET", "/api/case-branches/{branch}/slots"): Access.ADVISORS,
    ("GET", "/api/case-documents"): Access.ADVISORS,
    ("GET", "/api/cases/{reference}"): Access.ADVISORS,
    ("POST", "/api/cases/{reference}/advice"): Access.ADVISORS,
    ("POST", "/api/cases/{reference}/notes"): Access.ADVISORS,
    ("POST", "/api/cases/{reference}/document-requests"): Access.ADVISORS,
    ("POST", "/api/cases/{reference}/appointment"): Access.ADVISORS,
    ("POST", "/api/documents/{document_id}/review"): Access.ADVISORS,
    ("GET", "/api/documents/{document_id}/content"): Access.CASE_READERS,
    ("POST", "/api/handoffs/{handoff_id}/claim"): Access.ORDER_QUEUE,
    ("GET", "/api/handoffs/{handoff_id}"): Access.ORDER_QUEUE,
    ("GET", "/api/handoffs/{handoff_id}/conversation"): Access.ORDER_QUEUE,
    ("POST", "/api/handoffs/{handoff_id}/notes"): Access.ORDER_QUEUE,
    ("POST", "/api/handoffs/{handoff_id}/messages"): Access.ORDER_QUEUE,
    ("POST", "/api/handoffs/{handoff_id}/typing"): Access.ORDER_QUEUE,
    ("POST", "/api/handoffs/{handoff_id}/transfer"): Access.ORDER_QUEUE,
    ("POST", "/api/handoffs/{handoff_id}/resolve"): Access.ORDER_QUEUE,
    ("POST", "/api/handoffs/{handoff_id}/hand-back"): Access.ORDER_QUEUE,
    ("POST", "/api/handoffs/{handoff_id}/callback-done"): Access.ORDER_QUEUE,
}

# --- Roles and outcomes --------------------------------------------------------------------------

#: The agents of each team (username: role, queues), beside the supervisor and branch staff.
TEAMS: Final[dict[str, tuple[AgentRole, tuple[str, ...]]]] = {
    "olivia": (AgentRole.AGENT, ("order_support",)),  # from the conftest
    "leo": (AgentRole.AGENT, ("tech_support_l2",)),  # Level 2, from the conftest
    "maya": (AgentRole.AGENT, ("mortgage_advisors",)),  # from tests.support.mortgage_cases
    "gina": (AgentRole.AGENT, ("general_support",)),
}
#: Every caller, in the order walked (each logs out last; the bot changes applications last).
ROLES: Final = ("nobody", "bea", "olivia", "leo", "gina", "maya", "sam", "bot")

OK: Final = "ok"  # past every check of who may (2xx, or a 4xx about the request or the state)
LOGIN: Final = "login"  # 401, or a page's redirect to /login
REFUSED: Final = "refused"  # 403, or a page's redirect to the caller's own page
HIDDEN: Final = "hidden"  # 404, as for something that does not exist


def _only(allowed: set[str], others: str) -> dict[str, str]:
    """Logged-in roles in `allowed` get OK, the other logged-in ones `others`; nobody and the
    bot are asked to log in."""
    return {
        role: LOGIN if role in ("nobody", "bot") else OK if role in allowed else others
        for role in ROLES
    }


LOGGED_IN: Final = {"bea", "olivia", "leo", "gina", "maya", "sam"}
#: What each role gets from a route of each class (PUBLIC: the same for everyone).
EXPECTED: Final[dict[Access, dict[str, str]]] = {
    Access.BOT: {role: OK if role == "bot" else LOGIN for role in ROLES},
    Access.SESSION: _only(LOGGED_IN, others=REFUSED),
    Access.CONSOLE: _only(LOGGED_IN - {"bea"}, others=REFUSED),
    Access.SUPERVISOR: _only({"sam"}, others=REFUSED),
    Access.BRANCH: _only({"bea"}, others=REFUSED),
    Access.ADVISORS: _only({"maya", "sam"}, others=HIDDEN),
    Access.CASE_READERS: _only({"maya", "sam", "bea"}, others=HIDDEN),
    Access.ORDER_QUEUE: _only({"olivia", "sam"}, others=HIDDEN),
}


#: What the middleware says to a caller without the credentials a route takes.
ASKED_TO_LOG_IN: Final = ("log in first", "missing or wrong bearer token")


async def outcome_of(response: ClientResponse, path: str) -> str:
    """Sort an answer (see OK, LOGIN, REFUSED, HIDDEN); a 5xx is never expected.

    A 401 of the route's own (a wrong one-time code) is about what was sent: OK.
    """
    assert response.status < 500, f"{response.status} from {path}"
    if response.status in (301, 302, 303, 307, 308):
        location = response.headers["Location"]
        if location == "/login":
            return LOGIN
        return OK if path == "/" else REFUSED  # "/" is the console's alias; else not your page
    if response.status == 401:
        if response.method == "HEAD":
            return LOGIN  # no body to tell
        error = (await response.json()).get("error")
        return LOGIN if error in ASKED_TO_LOG_IN else OK
    return {403: REFUSED, 404: HIDDEN}.get(response.status, OK)


# --- The world -----------------------------------------------------------------------------------


@dataclass
class World:
    """The desk, a browser per role, and a way to make fresh objects."""

    server: TestServer
    database: Database
    store: LocalDiskStore
    browsers: dict[str, Browser]
    setup: Browser  # Olivia in a browser of her own: claims the handoffs
    bot: Browser
    cases: int = 0

    def case(self) -> tuple[str, int, int]:
        """A new application booked at Leeds (Bea's branch) with its documents' files: its
        reference, appointment id and first document's id."""
        self.cases += 1  # each at its own time: one appointment per desk and start
        starts_at = utcnow().replace(microsecond=0) + timedelta(hours=1, minutes=self.cases)
        with self.database.session(write=True) as session:
            application = application_at(
                session, ApplicationStage.APPOINTMENT_BOOKED, starts_at=starts_at
            )
            for document in application.documents:
                self.store.put(document.storage_key, b"%PDF-1.4 test")
            return (
                application.reference,
                application.appointments[0].id,
                application.documents[0].id,
            )

    async def handoff(self, *, claimed: bool) -> str:
        """A new handoff of order support, claimed by Olivia if `claimed`."""
        handoff_id = await post_handoff(self.bot, make_context(queue="order_support"))
        if claimed:
            status, body = await self.setup.post(f"/api/handoffs/{handoff_id}/claim")
            assert status == 200, body
        return handoff_id


@pytest.fixture
def settings(settings: DeskSettings, tmp_path: Path) -> DeskSettings:
    """The conftest's settings, the documents in the test's own directory."""
    return settings.copy(update={"documents_dir": tmp_path / "documents"})


@pytest.fixture
async def world(
    settings: DeskSettings,
    database: Database,
    actors: dict[str, Actor],
    analytics_settings: AnalyticsSettings,
) -> Any:
    add_case_people(database, PASSWORD)
    with database.session(write=True) as session:
        create_agent(
            session,
            username="gina",
            display_name="Gina",
            password=PASSWORD,
            role=AgentRole.AGENT,
            queues=TEAMS["gina"][1],
        )
    server = TestServer(create_app(settings, analytics=analytics_settings))
    await server.start_server()
    made: list[Browser] = []

    def browser(headers: dict[str, str] | None = None) -> Browser:
        made.append(Browser(server, headers))
        return made[-1]

    bot = browser({"Authorization": f"Bearer {HANDOFF_SECRET}"})
    browsers = {"nobody": browser(), "bot": bot}
    for username in set(ROLES) - set(browsers):
        browsers[username] = await browser().login(username)
    setup = await browser().login("olivia")
    yield World(server, database, LocalDiskStore(settings.documents_dir), browsers, setup, bot)
    for each in made:
        await each.close()
    await server.close()


@dataclass(frozen=True)
class Call:
    """One route as the router has it."""

    method: str
    template: str

    @property
    def access(self) -> Access:
        return ROUTES[("GET" if self.method == "HEAD" else self.method, self.template)]


def routes_of(server: TestServer) -> list[Call]:
    calls = [
        Call(route.method, route.resource.canonical)
        for route in server.app.router.routes()
        if route.resource is not None
    ]
    # Logging out ends the caller's session: last.
    return sorted(calls, key=lambda call: call.template == "/api/logout")


async def request_for(world: World, call: Call) -> tuple[str, Any]:
    """The concrete path and JSON body of a call that gets an allowed caller past every check;
    fresh objects for the routes of one object."""
    path, body = call.template, None
    if (call.method, call.template) in VALID_BODIES:
        body = VALID_BODIES[(call.method, call.template)]()
    if "{handoff_id}" in path:
        handoff_id = await world.handoff(claimed=not path.endswith("/claim"))
        path = path.replace("{handoff_id}", handoff_id)
    if "{reference}" in path or "{appointment_id}" in path or "{document_id}" in path:
        reference, appointment_id, document_id = world.case()
        path = path.replace("{reference}", reference)
        path = path.replace("{appointment_id}", str(appointment_id))
        path = path.replace("{document_id}", str(document_id))
    if path.endswith("/identity-check"):
        body = {"document": "passport", "matches": True}
    path = path.replace("{branch}", "leeds_park_row").replace("{table}", "kpis")
    path = path.replace("{name}", "console.js")
    if (call.method, call.template) == ("POST", "/api/login"):
        body = {}  # refused for its body alike: no session is ended, no guess is counted
    return path, body


# --- The tests -----------------------------------------------------------------------------------


def test_every_route_has_an_access_class(world: World) -> None:
    calls = [call for call in routes_of(world.server) if call.method != "HEAD"]
    listed = {(call.method, call.template) for call in calls}

    assert listed - set(ROUTES) == set()  # a new route needs its class
    assert set(ROUTES) - listed == set()  # none stale
    # The table agrees with the routes' own markers.
    for kind, access in (("public", Access.PUBLIC), ("bot", Access.BOT)):
        marked = {(c.method, c.template) for c in calls if auth_kind(_handler(world, c)) == kind}
        assert marked == {key for key, given in ROUTES.items() if given is access}, kind


def _handler(world: World, call: Call) -> Any:
    for route in world.server.app.router.routes():
        if route.resource is not None and (route.method, route.resource.canonical) == (
            call.method,
            call.template,
        ):
            return route.handler
    raise KeyError(call)


async def test_every_route_as_every_role(world: World) -> None:
    calls = routes_of(world.server)
    got: dict[tuple[str, str, str], str] = {}
    for role in ROLES:
        browser = world.browsers[role]
        for call in calls:
            path, body = await request_for(world, call)
            response = await browser.raw(call.method, path, json=body, allow_redirects=False)
            got[(call.method, call.template, role)] = await outcome_of(response, path)
            assert_protected(response.headers)

    wrong = []
    for call in calls:
        answers = {role: got[(call.method, call.template, role)] for role in ROLES}
        if call.access is Access.PUBLIC:
            if len(set(answers.values())) != 1:
                wrong.append(f"{call.method} {call.template}: not alike for all: {answers}")
            continue
        expected = EXPECTED[call.access]
        for role in ROLES:
            if answers[role] != expected[role]:
                wrong.append(
                    f"{call.method} {call.template} as {role}: {answers[role]}, "
                    f"expected {expected[role]} ({call.access.value})"
                )
    assert wrong == []
    # Every route (HEADs included) as every role.
    assert len(got) == len(calls) * len(ROLES) > len(ROUTES) * len(ROLES)


async def test_each_agent_sees_only_their_own_queues(world: World) -> None:
    mine = {username: set(queues) for username, (_, queues) in TEAMS.items()}
    for queue in ("order_support", "tech_support_l2", "mortgage_advisors", "general_support"):
        await post_handoff(world.bot, make_context(queue=queue))

    for username, queues in mine.items():
        status, body = await world.browsers[username].get("/api/queues")
        assert status == 200, body
        assert {queue["name"] for queue in body["queues"]} == queues, username
        waiting = {queue["name"]: len(queue["waiting"]) for queue in body["queues"]}
        assert set(waiting.values()) == {1}, (username, waiting)
    status, everything = await world.browsers["sam"].get("/api/queues")
    assert {queue["name"] for queue in everything["queues"]} == set().union(*mine.values())
    status, none = await world.browsers["bea"].get("/api/queues")
    assert none == {"queues": []}


async def test_my_handoffs_are_only_my_own(world: World) -> None:
    claimed = await world.handoff(claimed=True)  # by Olivia

    _, olivia = await world.setup.get("/api/my-handoffs")
    _, sam = await world.browsers["sam"].get("/api/my-handoffs")

    assert [h["handoff_id"] for h in olivia["handoffs"]] == [claimed]
    assert sam["handoffs"] == []  # a supervisor's own chats, not everyone's


async def test_branch_staff_see_only_their_branchs_appointments(world: World) -> None:
    noon = datetime(2099, 1, 5, 12, 0, tzinfo=timezone.utc)
    with world.database.session(write=True) as session:
        references = [
            application_at(
                session, ApplicationStage.APPOINTMENT_BOOKED, branch=branch, starts_at=noon
            ).reference
            for branch in ("leeds_park_row", "manchester_king_street")
        ]

    status, body = await world.browsers["bea"].get(
        "/api/branch/appointments", params={"date": "2099-01-05"}
    )
    other = await world.browsers["bea"].get(f"/api/branch/cases/{references[1]}")
    own = await world.browsers["bea"].get(f"/api/branch/cases/{references[0]}")

    assert status == 200, body
    assert [entry["reference"] for entry in body["appointments"]] == references[:1]
    assert other[0] == 404
    assert own[0] == 200


def test_the_table_names_every_team() -> None:
    """Every agent team of the routing is walked (a new queue needs an agent here)."""
    assert set().union(*(set(queues) for _, queues in TEAMS.values())) == set(QUEUES)
