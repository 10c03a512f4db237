"""Fuzzing the running system (issue 7): hostile input on every channel and every desk route.

The real processes on loopback (desk, action server, Rasa server; `desk_system.py`) get:
- named cases: lone surrogates, control characters and NUL in every id and text field, markup,
  SQL and path tricks, deep nesting, empty, huge and non-JSON bodies, wrong content types, a
  0xff byte in the Authorization header;
- generated cases: strings drawn from a seeded random mix of all of the above (the seed is in
  the test id, so a failure replays exactly), and seeded random bytes as whole bodies;
- wrong JSON types and wrong content types on Rasa's REST channel;
- engine.io and socket.io packets no client should send, over long-polling and websocket
  (unknown packet types, broken and deep event packets, absurd attachment counts, unknown
  namespaces, bodies over the buffer, a POST without a session).

They go to Rasa's REST channel, the web chat's socket.io events, the Rasa server's desk-facing
routes, and every route the desk registers (read from the desk's own router), with and
without credentials. Then: no answer was a 5xx, every process is still running, and the
next ordinary message is still answered (by the bot, and through the desk to the customer).
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from contract.handoff_opened import HANDOFF_OPENED_PATH
from contract.webchat import new_chat, transcript_key
from desk.api.middleware import auth_kind
from desk.api.runtime import DATABASE, EXECUTOR
from desk.app import create_app
from desk.settings import DeskSettings
from harness.chat_client import ChatClient
from tests.desk.api.test_hostile_input import BODYLESS, VALID_BODIES
from tests.desk.conftest import make_context
from tests.e2e.client import REPLY_TIMEOUT_SECONDS, new_sender
from tests.e2e.desk_system import Agent, DeskStack, SocketCustomer

pytestmark = pytest.mark.e2e

SEED = 20261201
GENERATED = 40
RANDOM_BODIES = 20
NOTIFY_PATH = "/webhooks/socketio/notify"
PROCESSES = ("desk", "actions", "rasa")

#: Strings no field should choke on.
NAMED_STRINGS: dict[str, str] = {
    "surrogate": "\ud800web",
    "low surrogate": "x\udfffy",
    "nul": "a\x00b",
    "controls": "".join(chr(c) for c in range(1, 32)) + "\x7f\x85",
    "bidi": "\u202eevil\u202c",
    "zero width": "\u200b\ufeff",
    "markup": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "sql": "'; DROP TABLE handoffs; --",
    "path": "../../../../etc/passwd",
    "url path": "..%2f..%2fetc%2fpasswd%00",
    "format": "%s%s%n{0}{__class__}",
    "empty": "",
    "spaces": "   ",
    "long": "x" * 100_000,
    "emoji": "🙂" * 500,
}
DEEP = b"[" * 3000 + b"]" * 3000
RAW_BODIES: dict[str, bytes] = {
    "empty": b"",
    "not json": b"{not json",
    "not utf-8": b"\xff\xfe\xfd",
    "deep": DEEP,
    "deep object": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "array": b"[]",
    "number": b"12",
    "huge": b'{"x": "' + b"y" * (2 * 1024 * 1024) + b'"}',
    "nan": b'{"sender": NaN, "message": Infinity}',
}


def random_bodies(rng: random.Random, count: int) -> dict[str, bytes]:
    """Random bytes, and random bytes behind a JSON-looking start (seeded: a failure replays)."""
    made = {}
    for number in range(count):
        noise = rng.randbytes(rng.choice((1, 7, 64, 1024, 65536)))
        made[f"random bytes {number}"] = noise if number % 2 else b'{"sender": "' + noise
    return made


def generated_strings(rng: random.Random, count: int) -> list[str]:
    """Random mixes of the named strings' ingredients and random code points."""
    parts = [s for s in NAMED_STRINGS.values() if len(s) < 1000]
    made = []
    for _ in range(count):
        pieces = rng.choices(parts, k=rng.randint(1, 4))
        pieces += ["".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 20)))]
        rng.shuffle(pieces)
        made.append("".join(pieces))
    return made


def hostile_strings() -> list[str]:
    return [*NAMED_STRINGS.values(), *generated_strings(random.Random(SEED), GENERATED)]


def encode(value: Any) -> bytes:
    """JSON as a client sends it: lone surrogates and NUL as \\u escapes."""
    return json.dumps(value).encode("ascii")


def hostile_values() -> list[Any]:
    """What goes into a field instead of a good value."""
    return [*hostile_strings(), None, 0, -1, 1e308, True, [], {}, ["a"], {"a": {"b": []}}]


@dataclass(frozen=True)
class Answer:
    target: str
    case: str
    status: int
    body: str

    def __str__(self) -> str:
        return f"{self.target} [{self.case[:60]!r}]: {self.status} {self.body[:200]}"


class Fuzzer:
    """Sends requests and keeps every answer."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.answers: list[Answer] = []

    async def send(
        self,
        method: str,
        url: str,
        case: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
    ) -> Answer:
        async with self.http.request(
            method,
            url,
            data=data,
            headers={"Content-Type": "application/json", **(headers or {})},
            cookies=cookies,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_SECONDS),
        ) as response:
            text = await response.text()
            answer = Answer(f"{method} {url.split('?')[0]}", case, response.status, text)
        self.answers.append(answer)
        return answer

    def server_errors(self) -> list[str]:
        return [str(answer) for answer in self.answers if answer.status >= 500]


@pytest.fixture
async def fuzzer() -> AsyncIterator[Fuzzer]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        yield Fuzzer(http)


def assert_all_running(system: DeskStack) -> None:
    for name in PROCESSES:
        assert system.stack.running[name].process.poll() is None, f"{name} exited"


async def assert_still_answering(system: DeskStack, customer: SocketCustomer) -> None:
    """An ordinary message gets the bot's answer; the desk still takes a handoff."""
    assert await customer.turn("where is my order ORD-100002?"), "the bot stayed silent"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{system.desk_url}/api/handoffs",
            data=json.dumps(make_context(sender_id=new_sender("fuzz-after"))),
            headers={
                "Authorization": f"Bearer {system.env.handoff_secret}",
                "Content-Type": "application/json",
            },
        ) as response,
    ):
        assert response.status == 201, await response.text()


# --- Rasa: the REST channel ------------------------------------------------------------------


async def test_the_rest_channel_never_answers_5xx(
    desk_stack: DeskStack, fuzzer: Fuzzer, customers: Any
) -> None:
    url = f"{desk_stack.rasa_url}/webhooks/rest/webhook"
    for name, raw in {**RAW_BODIES, **random_bodies(random.Random(SEED), RANDOM_BODIES)}.items():
        await fuzzer.send("POST", url, name, data=raw)
    for content_type in ("text/plain", "application/octet-stream", "multipart/form-data"):
        body = encode({"sender": new_sender("fuzz-rest"), "message": "hi"})
        await fuzzer.send(
            "POST", url, content_type, data=body, headers={"Content-Type": content_type}
        )
    wrong_types: list[Any] = [
        {"sender": {"id": 1}, "message": ["hi"]},
        {"sender": ["a", "b"], "message": {"text": "hi"}},
        {"sender": 12, "message": 34},
        {"sender": True, "message": None},
        {"message": "hi"},
        {"sender": new_sender("fuzz-rest")},
    ]
    for body in wrong_types:
        await fuzzer.send("POST", url, f"wrong types {body!r}", data=encode(body))
    await fuzzer.send(
        "POST",
        url,
        "form",
        data=b"sender=a&message=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    for value in hostile_values():
        for field in ("sender", "message", "metadata", "input_channel"):
            body = {"sender": new_sender("fuzz-rest"), "message": "hi", field: value}
            await fuzzer.send("POST", url, f"{field}={value!r}", data=encode(body))

    assert fuzzer.server_errors() == []
    assert_all_running(desk_stack)
    await assert_still_answering(desk_stack, await customers("fuzz-rest"))


# --- Rasa: the web chat's socket.io events -----------------------------------------------------


async def test_socketio_events_never_end_the_server(desk_stack: DeskStack, customers: Any) -> None:
    payloads: list[Any] = [
        None,
        5,
        "text",
        [1, 2],
        {"deep": json.loads(b"[" * 200 + b"]" * 200)},
    ]
    for value in [*hostile_values(), *payloads]:
        # A connection per value: its seven events stay within the limit of one connection
        # (assistant.channels.rate_limit), so every one reaches the handlers.
        page = ChatClient()
        try:
            await page.sio.connect(
                desk_stack.rasa_url, transports=["polling"], socketio_path="/socket.io"
            )
            await page.sio.emit("session_request", {"session_id": value})
            await page.sio.emit("user_uttered", {"message": value, "session_id": value})
            await page.sio.emit("user_uttered", {"message": "hi", "metadata": value})
            await page.sio.emit("user_typing", {"session_id": value, "typing": value})
            await page.sio.emit("user_uttered", value)
            await page.sio.emit("session_request", value)
            # A round trip, so the server has handled all of the above (and engine.io never
            # gets more packets in one long-polling POST than it takes: 16).
            chat = new_chat(transcript_key(desk_stack.env.handoff_secret))
            await page.sio.emit(
                "session_request", {"session_id": chat.session_id, "token": chat.token}
            )
            await page.until(
                "session_confirm", chat.session_id.__eq__, timeout=REPLY_TIMEOUT_SECONDS
            )
        finally:
            await page.close()

    assert_all_running(desk_stack)
    await assert_still_answering(desk_stack, await customers("fuzz-socket"))


# --- Rasa: broken engine.io and socket.io packets ---------------------------------------------

ENGINEIO_PATH = "/socket.io/"
#: engine.io v4 separates the packets of one long-polling body with this byte.
RECORD_SEPARATOR = "\x1e"
#: Packets no client should send, as the body of a long-polling POST of an open session.
BROKEN_PACKETS: dict[str, bytes] = {
    "empty": b"",
    "separators": RECORD_SEPARATOR.encode() * 3,
    "unknown engine.io type": b"9hello",
    # Packets a server refuses from a client: python-engineio held each POST until the client
    # gave up (assistant.channels.websocket_transport.close_without_waiting).
    "client's ping": b"2",
    "open": b"0",
    "no-op": b"6",
    "bare message": b"4",
    "bare event": b"42",
    "open bracket": b"42[",
    "event without data end": b'42["user_uttered"',
    "event as object": b'42{"message": "hi"}',
    "event name not a string": b'42[17, {"message": "hi"}]',
    "empty event": b"42[]",
    "ack without id": b"43",
    "unknown socket.io type": b"49[]",
    "binary event without attachment": b'451-["user_uttered",{"_placeholder":true,"num":0}]',
    "attachment count absurd": b'4599999999999-["user_uttered",{}]',
    "namespace that does not exist": b'40/admin,{"token": "x"}',
    "event in unknown namespace": b'42/admin,["user_uttered",{"message":"hi"}]',
    "deep event": b'42["user_uttered",' + b"[" * 5000 + b"]" * 5000 + b"]",
    "not utf-8": b"42\xff\xfe\xfd",
    "base64 not base64": b"b!!!not base64!!!",
    "ping flood": RECORD_SEPARATOR.join(["2"] * 200).encode(),
    "many events in one body": RECORD_SEPARATOR.join(
        ['42["user_typing",{"typing":true}]'] * 40
    ).encode(),
    "close": b"1",
    "upgrade without probe": b"5",
    "over max payload": b'42["user_uttered",{"message":"' + b"x" * 2_000_000 + b'"}]',
}
#: Requests that are not a valid engine.io exchange at all (query strings).
BROKEN_HANDSHAKES = (
    "EIO=3&transport=polling",
    "EIO=abc&transport=polling",
    "EIO=4&transport=carrier-pigeon",
    "EIO=4&transport=polling&sid=not-a-session",
    "EIO=4&transport=polling&sid=" + "%00" * 40,
    "EIO=4&transport=websocket",  # a websocket without the upgrade; a POST without a sid
    "EIO=4&transport=polling&j=not-a-number",
    "",
)


async def engineio_session(http: aiohttp.ClientSession, base: str) -> str:
    """A new long-polling engine.io session joined to socket.io's default namespace: its sid."""
    async with http.get(f"{base}?EIO=4&transport=polling") as response:
        assert response.status == 200, await response.text()
        opening = await response.text()
    sid: str = json.loads(opening[1:].split(RECORD_SEPARATOR)[0])["sid"]
    async with http.post(f"{base}?EIO=4&transport=polling&sid={sid}", data=b"40") as response:
        assert response.status == 200, await response.text()
    return sid


async def test_broken_engineio_packets_never_end_the_server(
    desk_stack: DeskStack, fuzzer: Fuzzer, customers: Any
) -> None:
    base = desk_stack.rasa_url + ENGINEIO_PATH
    for query in BROKEN_HANDSHAKES:
        await fuzzer.send("GET", f"{base}?{query}", query, headers={"Content-Type": "text/plain"})
        await fuzzer.send("POST", f"{base}?{query}", query, data=b"40")
    rng = random.Random(SEED)
    packets = {**BROKEN_PACKETS, **random_bodies(rng, RANDOM_BODIES)}
    async with aiohttp.ClientSession() as http:
        for name, packet in packets.items():
            sid = await engineio_session(http, base)
            url = f"{base}?EIO=4&transport=polling&sid={sid}"
            await fuzzer.send(
                "POST", url, name, data=packet, headers={"Content-Type": "text/plain"}
            )
        # The same over a websocket: every frame on one socket, then a new socket per frame.
        for name, packet in packets.items():
            if len(packet) > 100_000:
                continue  # aiohttp's client refuses to send frames this large itself
            async with http.ws_connect(
                f"{base}?EIO=4&transport=websocket".replace("http", "ws", 1)
            ) as socket:
                await socket.receive(timeout=REPLY_TIMEOUT_SECONDS)  # the open packet
                await socket.send_str("40")
                if name.startswith("random bytes"):
                    await socket.send_bytes(packet)
                else:
                    await socket.send_str(packet.decode("utf-8", "replace"))
                await socket.send_str("2")  # a ping: answered unless the frame closed it
                await socket.receive(timeout=REPLY_TIMEOUT_SECONDS)

    assert fuzzer.server_errors() == []
    assert_all_running(desk_stack)
    await assert_still_answering(desk_stack, await customers("fuzz-engineio"))


# --- Rasa: the desk-facing routes ----------------------------------------------------------------


async def test_the_rasa_servers_desk_routes_never_answer_5xx(
    desk_stack: DeskStack, fuzzer: Fuzzer, customers: Any
) -> None:
    token = {"Authorization": f"Bearer {desk_stack.env.rasa_auth_token}"}
    for path in (NOTIFY_PATH, HANDOFF_OPENED_PATH):
        url = desk_stack.rasa_url + path
        for name, raw in RAW_BODIES.items():
            await fuzzer.send("POST", url, name, data=raw, headers=token)
        await fuzzer.send(
            "POST", url, "0xff token", data=b"{}", headers={"Authorization": "Bearer \xff"}
        )
        for value in hostile_values():
            notice = {"sender_id": value, "type": "handoff_status", "status": "waiting"}
            opened = {"sender_id": value, "handoff_id": value, "text": value}
            body = notice if path == NOTIFY_PATH else opened
            await fuzzer.send("POST", url, repr(value), data=encode(body), headers=token)

    assert fuzzer.server_errors() == []
    assert_all_running(desk_stack)
    await assert_still_answering(desk_stack, await customers("fuzz-rasa-routes"))


# --- The desk: every route ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeskRoute:
    method: str
    template: str
    kind: str  # public, bot, session


@pytest.fixture
def desk_routes(desk_stack: DeskStack) -> Iterator[list[DeskRoute]]:
    """Every route the desk registers, read from the router of an app built as the desk's."""
    settings = DeskSettings(
        database_url=desk_stack.desk_database_url,
        handoff_secret=desk_stack.env.handoff_secret,
        rasa_auth_token=desk_stack.env.rasa_auth_token,
        rasa_url=desk_stack.rasa_url,
    )
    app = create_app(settings)
    try:
        yield [
            DeskRoute(route.method, route.resource.canonical, auth_kind(route.handler))
            for route in app.router.routes()
            if route.resource is not None and route.method != "HEAD"
        ]
    finally:
        app[EXECUTOR].shutdown()
        app[DATABASE].dispose()


async def test_every_desk_route_never_answers_5xx(
    desk_stack: DeskStack,
    desk_routes: list[DeskRoute],
    fuzzer: Fuzzer,
    agents: Any,
    customers: Any,
) -> None:
    agent: Agent = await agents("sam")
    session = {c.key: c.value for c in agent.http.cookie_jar}
    bot = {"Authorization": f"Bearer {desk_stack.env.handoff_secret}"}
    handoff = make_context(sender_id=new_sender("fuzz-desk"))
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{desk_stack.desk_url}/api/handoffs", data=json.dumps(handoff), headers=bot
        ) as response,
    ):
        assert response.status == 201
    # Logging out (a listed route) must not end the session the barrage uses.
    routes = [r for r in desk_routes if r.template != "/api/logout"]
    assert {(r.method, r.template) for r in desk_routes if r.method != "GET"} == {
        *VALID_BODIES,
        *BODYLESS,
    }, "a new desk route: list its body in tests/desk/api/test_hostile_input.py"

    strings = hostile_strings()
    for route in routes:
        path = route.template.replace("{handoff_id}", handoff["handoff_id"])
        path = path.replace("{name}", "../../etc/passwd")
        url = desk_stack.desk_url + path
        credentials = {"headers": bot} if route.kind == "bot" else {"cookies": session}
        for name, raw in RAW_BODIES.items():
            await fuzzer.send(route.method, url, name, data=raw)
            await fuzzer.send(route.method, url, name, data=raw, **credentials)  # type: ignore[arg-type]
        await fuzzer.send(
            route.method, url, "0xff", data=b"{}", headers={"Authorization": "Bearer \xff"}
        )
        await fuzzer.send(route.method, url + "?session_id=" + "\ud800", "query", data=b"")
        valid = VALID_BODIES.get((route.method, route.template))
        if valid is None:
            continue
        body = valid()
        if route.template == "/api/login":
            # Spoiled passwords would lock the agent's account on the shared stack (5 failures):
            # guess at an account no test logs in to.
            body = {**body, "username": "fuzz-intruder"}
        for field in body if isinstance(body, dict) else []:
            for value in strings[:: max(1, len(strings) // 12)]:
                spoiled = {**body, field: value}
                await fuzzer.send(
                    route.method,
                    url,
                    f"{field}={value!r}",
                    data=encode(spoiled),
                    **credentials,  # type: ignore[arg-type]
                )

    assert fuzzer.server_errors() == []
    assert_all_running(desk_stack)
    await assert_still_answering(desk_stack, await customers("fuzz-desk"))
