"""Hostile input on every route the desk registers: never a 5xx, and nothing stored is harmed.

The routes come from the real app's router, so a new route is covered as soon as it exists;
one that reads a JSON body must be listed in VALID_BODIES (with a body that works) or in
BODYLESS, or `test_every_route_is_classified` fails. Each request goes without credentials and
with the ones its route takes (the bot's bearer secret, an agent's session cookie). After the
barrage, a normal request still works and the handoff stored before it is unchanged.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMessage, WSMsgType
from aiohttp.test_utils import TestServer

from contract.analytics_report import FLOOR_MESSAGE
from desk.api.middleware import SESSION_COOKIE, auth_kind
from desk.api.runtime import MAX_JSON_DEPTH
from desk.app import MAX_BODY_BYTES
from tests.desk.conftest import (
    HANDOFF_SECRET,
    PASSWORD,
    Browser,
    make_context,
    post_application,
    post_handoff,
)
from tests.support.applications import new_application_body

SENDER_ID = "web-hostile-input"
NOTE = "customer is polite"
VALID_EVENT: dict[str, Any] = {
    "event": "user",
    "text": "is anyone there?",
    "timestamp": 1_741_946_400.5,
    "parse_data": {"intent": {"name": "inform", "confidence": 0.9}},
}

BOOKING: dict[str, str] = {
    "branch": "manchester_king_street",
    "starts_at": "2099-01-05T09:30:00+00:00",
}

#: A body that works, for each route that reads one ({handoff_id}: the world's handoff).
VALID_BODIES: dict[tuple[str, str], Callable[[], Any]] = {
    ("POST", "/api/handoffs"): make_context,
    ("POST", "/api/conversation-events"): lambda: {"sender_id": SENDER_ID, "event": VALID_EVENT},
    ("POST", "/api/handoffs/{handoff_id}/csat"): lambda: {"rating": 4, "comment": "quick"},
    ("POST", "/api/handoffs/{handoff_id}/callback"): lambda: {"message": "call me after 5"},
    ("POST", "/api/login"): lambda: {"username": "sam", "password": PASSWORD},
    ("POST", "/api/handoffs/{handoff_id}/notes"): lambda: {"text": NOTE},
    ("POST", "/api/handoffs/{handoff_id}/messages"): lambda: {"text": "I can help with that."},
    ("POST", "/api/handoffs/{handoff_id}/typing"): lambda: {"typing": True},
    ("POST", "/api/handoffs/{handoff_id}/transfer"): lambda: {"queue": "tech_support_l2"},
    ("POST", "/api/handoffs/{handoff_id}/resolve"): lambda: {
        "disposition": "resolved",
        "slots": {"order_id": "ORD-100005"},
    },
    ("POST", "/api/applications"): new_application_body,
    ("POST", "/api/documents/{document_id}/review"): lambda: {"decision": "accept"},
    ("POST", "/api/applications/{reference}/events"): lambda: {
        "touchpoint": "desk",
        "kind": "note",
        "actor": "sam",
        "detail": {"text": "called the applicant"},
    },
    ("POST", "/api/applications/{reference}/appointment"): lambda: BOOKING,
    ("PUT", "/api/applications/{reference}/appointment"): lambda: BOOKING,
    ("POST", "/api/cases/{reference}/appointment"): lambda: BOOKING,
    ("POST", "/api/applications/{reference}/verification"): lambda: {
        "email": "jane@example.com",
        "sender_id": "web-hostile-input",
    },
    ("POST", "/api/applications/{reference}/verification/confirm"): lambda: {
        "code": "123456",
        "sender_id": "web-hostile-input",
    },
    ("POST", "/api/cases/{reference}/advice"): lambda: {"outcome": "more_information"},
    ("POST", "/api/cases/{reference}/notes"): lambda: {"text": "called the applicant"},
    ("POST", "/api/cases/{reference}/document-requests"): lambda: {
        "items": [{"key": "payslips"}],
        "note": "as discussed",
    },
}
#: The routes that change something without reading a body.
BODYLESS: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/handoffs/{handoff_id}/claim"),
        ("POST", "/api/handoffs/{handoff_id}/hand-back"),
        ("POST", "/api/handoffs/{handoff_id}/callback-done"),
        ("POST", "/api/logout"),
        # A build of the analytics' facts now (supervisors).
        ("POST", "/api/analytics/build"),
        # A multipart form (the customer's upload), never JSON: tests/desk/api/test_documents.py.
        ("POST", "/chat/uploads"),
        # A new web chat: its id and transcript token, made by the desk from nothing.
        ("POST", "/chat/sessions"),
        ("DELETE", "/api/applications/{reference}/appointment"),
        # Branch staff only: the supervisor of these tests is refused before any body is read.
        ("POST", "/api/branch/appointments/{appointment_id}/identity-check"),
        ("POST", "/api/branch/appointments/{appointment_id}/signing"),
        ("POST", "/api/branch/appointments/{appointment_id}/missed"),
    }
)
#: A query that gets a route past its own checks.
QUERIES: dict[str, str] = {"/chat/history": "?session_id=" + "a" * 32}

DEEP_ARRAY = b"[" * 2000 + b"]" * 2000
DEEP_OBJECT = b'{"a":' * 2000 + b"1" + b"}" * 2000
NOT_JSON = [b"", b"{not json", b"\xff\xfe", b"NaN", b'{"a": Infinity}', b"1e999", b"1" * 5000]
WRONG_TYPES: list[Any] = [[], 5, "text", None, True]


@dataclass(frozen=True)
class Route:
    """One registered route, its path made concrete."""

    method: str
    template: str
    path: str
    kind: str  # public, bot, session

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.template)

    @property
    def reads_json(self) -> bool:
        return self.key in VALID_BODIES

    def reads_body(self, *, credentials: bool) -> bool:
        """Whether the body gets read (without credentials a protected route stops at 401)."""
        return self.reads_json and (credentials or self.kind == "public")

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@dataclass
class World:
    """The desk with a claimed handoff, the bot, an agent (a supervisor) and a stranger."""

    server: TestServer
    bot: Browser
    agent: Browser
    anonymous: Browser
    login: Callable[[], Awaitable[Browser]]
    handoff_id: str
    context: dict[str, Any]
    routes: list[Route]
    reference: str

    async def client(self, route: Route, *, credentials: bool) -> Browser:
        """Who calls `route`: nobody, or someone with the credentials it takes."""
        if not credentials:
            return self.anonymous
        if route.kind == "bot":
            return self.bot
        if route.template in ("/api/login", "/api/logout"):
            # Logging out, or in again, ends the browser's session: not the agent's own.
            return await self.login()
        return self.agent


@pytest.fixture
async def world(
    server: TestServer, bot: Browser, anonymous: Browser, browsers: Callable[..., Browser]
) -> World:
    context = make_context(queue="order_support", sender_id=SENDER_ID)
    handoff_id = await post_handoff(bot, context)
    agent = await browsers().login("sam")
    status, body = await agent.post(f"/api/handoffs/{handoff_id}/claim")
    assert status == 200, body

    async def login() -> Browser:
        return await browsers().login("olivia")

    reference = await post_application(bot)
    routes = [
        Route(
            method=route.method,
            template=route.resource.canonical,
            path=_concrete(route.resource.canonical, handoff_id, reference),
            kind=auth_kind(route.handler),
        )
        for route in server.app.router.routes()
        if route.resource is not None
    ]
    return World(server, bot, agent, anonymous, login, handoff_id, context, routes, reference)


def _concrete(template: str, handoff_id: str, reference: str) -> str:
    path = template.replace("{handoff_id}", handoff_id).replace("{name}", "console.js")
    path = path.replace("{reference}", reference).replace("{appointment_id}", "1")
    path = path.replace("{document_id}", "1")
    path = path.replace("{branch}", "leeds_park_row")
    path = path.replace("{table}", "kpis")
    return path + QUERIES.get(template, "")


@pytest.fixture(autouse=True)
def no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test in which the desk logged an unexpected error (the log of any 500)."""
    yield
    unexpected = [r.getMessage() for r in caplog.records if "unexpected error" in r.getMessage()]
    assert unexpected == []


# --- Sending and judging --------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    route: Route
    case: str
    credentials: bool
    status: int
    body: Any

    def __str__(self) -> str:
        who = "with credentials" if self.credentials else "without credentials"
        return f"{self.route} {who}, {self.case}: {self.status} {str(self.body)[:200]}"


async def send(
    world: World,
    route: Route,
    case: str,
    *,
    credentials: bool,
    data: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Answer:
    client = await world.client(route, credentials=credentials)
    async with client.session.request(
        route.method,
        world.server.make_url(route.path),
        data=data,
        headers={"Content-Type": content_type, **(headers or {})},
        allow_redirects=False,
    ) as response:
        status, text = response.status, await response.text()
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    return Answer(route, case, credentials, status, body)


def problems_of(answers: list[Answer], expected: Callable[[Answer], int | None]) -> list[str]:
    """Every answer that is a 5xx, a 4xx without a JSON error, or not the expected status."""
    problems = []
    for answer in answers:
        wanted = expected(answer)
        if answer.status >= 500:
            problems.append(f"5xx: {answer}")
        elif wanted is not None and answer.status != wanted:
            problems.append(f"expected {wanted}: {answer}")
        elif answer.status >= 400 and answer.route.method != "HEAD" and not _is_error(answer):
            problems.append(f"not a JSON error: {answer}")
    return problems


def _is_error(answer: Answer) -> bool:
    return isinstance(answer.body, dict) and isinstance(answer.body.get("error"), str)


def refused_for(status: int) -> Callable[[Answer], int | None]:
    """`status` from a route that reads the body (401 for a stranger on a protected route);
    any status below 500 from a route that does not read it."""

    def expected(answer: Answer) -> int | None:
        if not answer.credentials and answer.route.kind == "bot":
            return 401
        if not answer.credentials and answer.route.kind == "session":
            return 401 if answer.route.template.startswith("/api/") else 302  # to /login
        return status if answer.route.reads_json else None

    return expected


def encode(value: Any) -> bytes:
    """JSON as a client sends it: lone surrogates and NUL as \\u escapes."""
    return json.dumps(value).encode("ascii")


async def still_works(world: World) -> None:
    """A normal request works, and the handoff stored before the barrage is unchanged."""
    status, pop = await world.agent.get(f"/api/handoffs/{world.handoff_id}")
    assert status == 200, pop
    assert pop["context"] == world.context
    assert {note["text"] for note in pop["notes"]} <= {NOTE}

    fresh = make_context(queue="order_support")
    assert (await world.bot.post("/api/handoffs", json=fresh))[0] == 201
    agent = await world.login()
    claimed = await agent.post(f"/api/handoffs/{fresh['handoff_id']}/claim")
    noted = await agent.post(f"/api/handoffs/{fresh['handoff_id']}/notes", json={"text": NOTE})
    status, pop = await agent.get(f"/api/handoffs/{fresh['handoff_id']}")
    assert (claimed[0], noted[0], status) == (200, 201, 200)
    assert pop["context"] == fresh
    assert [note["text"] for note in pop["notes"]] == [NOTE]

    status, application = await world.bot.get(f"/api/applications/{world.reference}")
    assert status == 200, application
    assert [event["kind"] for event in application["events"][:2]] == [
        "chat_started",
        "form_completed",
    ]
    assert {event["kind"] for event in application["events"][2:]} <= {
        "note",
        "advice_outcome",
        "advisor_note",
        "documents_requested",
        "verification_failed",
        "resume_locked",
    }


# --- The barrage ------------------------------------------------------------------------------


def test_every_route_is_classified(world: World) -> None:
    posts = {route.key for route in world.routes if route.method not in {"GET", "HEAD"}}

    assert posts == set(VALID_BODIES) | BODYLESS
    assert {route.kind for route in world.routes} == {"public", "bot", "session"}


async def test_valid_bodies_work(world: World) -> None:
    """The bodies the other tests spoil are accepted as they are (so a refusal is the spoil's)."""
    answers = []
    for route in world.routes:
        if route.template.endswith("/resolve"):  # the transfer before put it back in a queue
            assert (await world.agent.post(f"/api/handoffs/{world.handoff_id}/claim"))[0] == 200
        if route.reads_json:
            body = encode(VALID_BODIES[route.key]())
            answers.append(await send(world, route, "valid", credentials=True, data=body))

    assert {(str(a.route), a.status) for a in answers if a.status >= 300} == {
        # The bot rates and calls back only resolved or waiting handoffs; this one is claimed.
        ("POST /api/handoffs/{handoff_id}/csat", 409),
        ("POST /api/handoffs/{handoff_id}/callback", 409),
        ("POST /api/documents/{document_id}/review", 404),  # the world has no documents
        # The world's application is at intake: not ready to sign, and no code was sent.
        ("POST /api/applications/{reference}/appointment", 409),
        ("PUT /api/applications/{reference}/appointment", 409),
        ("POST /api/applications/{reference}/verification/confirm", 401),
        ("POST /api/cases/{reference}/appointment", 409),
    }


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
async def test_deep_nesting_is_400_everywhere(world: World, body: bytes) -> None:
    answers = [
        await send(world, route, "deep", credentials=credentials, data=body)
        for route in world.routes
        for credentials in (False, True)
    ]

    assert problems_of(answers, refused_for(400)) == []
    assert {a.body["error"] for a in answers if a.status == 400 and a.route.reads_json} == {
        f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
    }
    await still_works(world)


async def test_nesting_up_to_the_limit_is_accepted(world: World) -> None:
    nested: Any = "deepest"
    for _ in range(MAX_JSON_DEPTH - 2):  # the body and the event are two levels
        nested = [nested]

    async def post_event(metadata: Any) -> int:
        event = {**VALID_EVENT, "metadata": metadata}
        body = {"sender_id": SENDER_ID, "event": event}
        status, _ = await world.bot.post("/api/conversation-events", json=body)
        return status

    assert (await post_event(nested), await post_event([nested])) == (202, 400)


def string_places(value: Any, pointer: str = "") -> Iterator[tuple[str, list[str | int]]]:
    """The JSON Pointer and path of every string in `value`."""
    if isinstance(value, str):
        yield pointer, []
    elif isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            for inner, path in string_places(child, f"{pointer}/{key}"):
                yield inner, [key, *path]


def replaced(value: Any, path: list[str | int], new: str) -> Any:
    changed = copy.deepcopy(value)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return changed


UNSTORABLE = {"lone surrogate": "ab\ud800cd", "NUL": "ab\x00cd"}


@pytest.mark.parametrize("spoil", list(UNSTORABLE))
async def test_unstorable_strings_are_422_naming_the_place_everywhere(
    world: World, spoil: str
) -> None:
    bad = UNSTORABLE[spoil]
    answers: list[tuple[Answer, str]] = []
    for route in world.routes:
        valid = VALID_BODIES[route.key]() if route.reads_json else {"anything": "x"}
        spoiled = [(pointer, replaced(valid, path, bad)) for pointer, path in string_places(valid)]
        spoiled.append((f"/{bad.encode('utf-8', 'backslashreplace').decode()}", {**valid, bad: 1}))
        for credentials in (False, True):
            for pointer, body in (
                spoiled if route.reads_body(credentials=credentials) else spoiled[:1]
            ):
                answer = await send(
                    world, route, pointer, credentials=credentials, data=encode(body)
                )
                answers.append((answer, pointer))

    assert problems_of([a for a, _ in answers], refused_for(422)) == []
    unnamed = [
        str(answer)
        for answer, pointer in answers
        if answer.status == 422
        and not any(e.startswith(pointer + ":") for e in answer.body["errors"])
    ]
    assert unnamed == []
    assert sum(1 for answer, _ in answers if answer.status == 422) > 100  # the intake's strings
    await still_works(world)


async def test_bodies_that_are_not_json_objects_are_refused_everywhere(world: World) -> None:
    not_json, wrong_type = [], []
    for route in world.routes:
        for credentials in (False, True):
            reads = route.reads_body(credentials=credentials)
            for body in NOT_JSON if reads else NOT_JSON[:1]:
                not_json.append(
                    await send(world, route, repr(body[:20]), credentials=credentials, data=body)
                )
            valid = VALID_BODIES[route.key]() if route.reads_json else {}
            pairs = list(valid.items())  # pydantic alone would make an object of them
            for value in [*WRONG_TYPES, pairs] if reads else WRONG_TYPES[:1]:
                data = encode(value)
                wrong_type.append(
                    await send(world, route, repr(value)[:40], credentials=credentials, data=data)
                )

    assert problems_of(not_json, refused_for(400)) == []
    assert problems_of(wrong_type, refused_for(422)) == []
    await still_works(world)


async def test_a_body_over_the_limit_is_413_everywhere(world: World) -> None:
    huge = encode({"text": "x" * MAX_BODY_BYTES})
    answers = [
        await send(world, route, "huge", credentials=True, data=huge)
        for route in world.routes
        if route.reads_json
    ]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b" " * (MAX_BODY_BYTES // 2)

    status, body = await world.bot.post("/api/handoffs", data=chunks())  # no Content-Length

    assert problems_of(answers, lambda _: 413) == []
    assert (status, body["error"]) == (413, "Request Entity Too Large")
    await still_works(world)


WRONG_CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
]


async def test_a_wrong_content_type_is_never_a_500(world: World) -> None:
    """The declared type is not checked (the body is JSON or refused as not JSON)."""
    answers = []
    for content_type in WRONG_CONTENT_TYPES:
        for route in world.routes:
            body = encode(VALID_BODIES[route.key]()) if route.reads_json else b"a=1&b=2"
            for credentials in (False, True):
                answers.append(
                    await send(
                        world,
                        route,
                        content_type,
                        credentials=credentials,
                        data=body,
                        content_type=content_type,
                    )
                )

    assert problems_of(answers, lambda _: None) == []
    await still_works(world)


async def test_a_body_that_is_not_the_gzip_it_claims_is_never_a_500(world: World) -> None:
    # aiohttp closes the connection after such a request: a new one each time.
    headers = {"Content-Encoding": "gzip", "Connection": "close"}
    answers = [
        await send(world, route, "gzip", credentials=True, data=b"{}", headers=headers)
        for route in world.routes
    ]

    assert problems_of(answers, refused_for(400)) == []
    assert {a.body["error"] for a in answers if a.status == 400 and a.route.reads_json} == {
        "the body cannot be read: Can not decode content-encoding: gzip"
    }
    await still_works(world)


# --- Bytes that are not text in headers and the request line ---------------------------------


async def raw_request(
    world: World, route: Route, head: list[bytes], target: bytes = b""
) -> tuple[int, bytes]:
    """Send one request byte by byte (aiohttp's client would not send a 0xff in a header)."""
    host, port = world.server.host, world.server.port
    reader, writer = await asyncio.open_connection(host, port)
    body = encode(VALID_BODIES[route.key]()) if route.reads_json else b""
    lines = [
        route.method.encode() + b" " + (target or route.path.encode()) + b" HTTP/1.1",
        f"Host: {host}:{port}".encode(),
        b"Connection: close",
        b"Content-Type: application/json",
        f"Content-Length: {len(body)}".encode(),
        *head,
    ]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(response.split(b" ", 2)[1]), response


async def session_cookie(world: World, route: Route) -> bytes:
    """A `Cookie` header with a live session of an agent (of one who may log out)."""
    browser = await world.client(route, credentials=True) if route.kind == "public" else world.agent
    (cookie,) = [c for c in browser.session.cookie_jar if c.key == SESSION_COOKIE]
    return f"Cookie: {SESSION_COOKIE}={cookie.value}".encode()


NOT_TEXT: dict[str, list[bytes]] = {
    "0xff bearer": [b"Authorization: Bearer \xff"],
    "secret+0xff": [b"Authorization: Bearer " + HANDOFF_SECRET.encode() + b"\xff"],
    "0xff scheme": [b"Authorization: \xff\xfe " + HANDOFF_SECRET.encode()],
    "0xff cookie": [b"Cookie: " + SESSION_COOKIE.encode() + b"=\xff\xfe"],
    "0xff key": [b"Idempotency-Key: \xff", b"Authorization: Bearer " + HANDOFF_SECRET.encode()],
    "0xff range": [b"Range: bytes=\xff-", b"If-Modified-Since: \xff"],
}
#: With an agent's session cookie as well.
NOT_TEXT_IN_SESSION: dict[str, list[bytes]] = {
    "0xff bearer, session": [b"Authorization: Bearer \xff"],
    "0xff origin": [b"Origin: http://\xff"],
    "broken origin": [b"Origin: http://["],
}
REFUSED_BOT_CASES = ("0xff bearer", "secret+0xff", "0xff scheme", "0xff cookie")


async def test_bytes_that_are_not_text_in_headers_are_never_a_500(world: World) -> None:
    answers = []
    for route in world.routes:
        for case, head in NOT_TEXT.items():
            answers.append((route, case, *await raw_request(world, route, head)))
        for case, head in NOT_TEXT_IN_SESSION.items():
            cookie = await session_cookie(world, route)
            answers.append((route, case, *await raw_request(world, route, [*head, cookie])))
        path = route.path.encode()
        query = path + (b"&" if b"?" in path else b"?") + b"q=\xff%ff%00%ed%a0%80"
        cookie = await session_cookie(world, route)
        answers.append((route, "0xff query", *await raw_request(world, route, [cookie], query)))
        if "{handoff_id}" in route.template:
            odd_id = route.template.encode().replace(b"{handoff_id}", b"\xff%ff%ed%a0%80")
            answers.append((route, "0xff id", *await raw_request(world, route, [cookie], odd_id)))

    assert [f"{r} {case}: {s} {b[-200:]!r}" for r, case, s, b in answers if s >= 500] == []
    bot_refusals = {
        (case, status)
        for route, case, status, _ in answers
        if route.kind == "bot" and case in REFUSED_BOT_CASES
    }
    assert bot_refusals == {(case, 401) for case in REFUSED_BOT_CASES}
    session_refusals = {
        status
        for route, case, status, _ in answers
        if route.kind == "session" and route.template.startswith("/api/") and case == "0xff cookie"
    }
    assert session_refusals == {401}
    cross_site = {
        status
        for route, case, status, _ in answers
        if route.method == "POST" and route.kind != "bot" and case.endswith("origin")
    }
    assert cross_site == {403}
    await still_works(world)


# --- The console's websocket and a conversation event's parse_data ---------------------------


async def console_answer(socket: ClientWebSocketResponse) -> WSMessage:
    """The next message of a console, the supervisors' live strip skipped (the world's agent
    is a supervisor, and the strip is pushed whenever it may have changed)."""
    while True:
        message = await socket.receive(timeout=5)
        if message.type != WSMsgType.TEXT or not message.data.startswith("{"):
            return message
        if json.loads(message.data).get("type") != FLOOR_MESSAGE:
            return message


async def test_the_console_socket_ignores_what_it_does_not_understand(world: World) -> None:
    socket = await world.agent.live()
    assert (await socket.receive_json(timeout=5))["type"] == "connected"

    await socket.send_bytes(b"\xff\xfe")
    await socket.send_str(DEEP_ARRAY.decode())
    await socket.send_str('{"type": "\\ud800\\u0000"}')
    await socket.send_str("ping")
    answer = await console_answer(socket)
    await socket.close()

    assert (answer.type, answer.data) == (WSMsgType.TEXT, "pong")


async def test_a_parse_data_that_is_not_an_object_means_no_intent(world: World) -> None:
    """The customer's words still reach the agent; nothing happens to a waiting handoff."""
    socket = await world.agent.live()
    assert (await socket.receive_json(timeout=5))["type"] == "connected"
    for parse_data in ["cancel", ["cancel"], 5, None, {"intent": "cancel"}]:
        waiting = make_context(queue="tech_support_l2", sender_id=f"web-{uuid.uuid4().hex[:12]}")
        handoff_id = await post_handoff(world.bot, waiting)
        assert json.loads((await console_answer(socket)).data)["change"] == "queued"
        event = {**VALID_EVENT, "text": "never mind", "parse_data": parse_data}

        status, body = await world.bot.post(
            "/api/conversation-events",
            json={"sender_id": waiting["conversation"]["sender_id"], "event": event},
        )
        message = json.loads((await console_answer(socket)).data)
        _, pop = await world.agent.get(f"/api/handoffs/{handoff_id}")

        assert (status, body) == (202, {"accepted": True, "handoff_id": handoff_id}), parse_data
        assert (message["type"], message["text"], message["intent"]) == (
            "customer_message",
            "never mind",
            None,
        )
        assert pop["handoff"]["status"] == "queued"
    await socket.close()


async def test_an_object_field_refuses_the_pairs_pydantic_would_make_one_of(world: World) -> None:
    pairs = [["event", "user"], ["text", "hello"]]

    event = await world.bot.post(
        "/api/conversation-events", json={"sender_id": SENDER_ID, "event": pairs}
    )
    resolve = await world.agent.post(
        f"/api/handoffs/{world.handoff_id}/resolve",
        json={"disposition": "resolved", "slots": [["order_id", "ORD-100005"]]},
    )

    assert (event[0], event[1]["errors"]) == (422, ["/event: must be a JSON object"])
    assert (resolve[0], resolve[1]["errors"]) == (422, ["/slots: must be a JSON object"])
    await still_works(world)
