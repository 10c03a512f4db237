"""A real HTTP server standing in for the Rasa server the desk talks to, recording every call.

It speaks the part of Rasa's HTTP API the desk uses (with `?token=`), and the web chat's
`POST /webhooks/socketio/notify` (with `Authorization: Bearer`). It keeps a tiny tracker per
conversation (events, slots, paused), so tests can check the state the desk left behind, or
`seed` it with what happened before; appended events get a `timestamp` as Rasa's do. A test
can make a kind of call fail with a status (`fail["notify"] = 404`) or stall it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from contract.handoff_opened import HANDOFF_ID_SLOT, HANDOFF_OPENED_PATH

RASA_TOKEN = "rasa-token"


@dataclass(frozen=True)
class Call:
    """One request the stand-in received."""

    kind: str  # tracker, events, execute, notify, handoff_opened
    sender_id: str
    query: dict[str, str]
    body: Any
    authorization: str | None


@dataclass
class Conversation:
    """What the stand-in knows of one conversation."""

    events: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    paused: bool = True

    def state(self, sender_id: str) -> dict[str, Any]:
        return {
            "sender_id": sender_id,
            "events": self.events,
            "slots": self.slots,
            "paused": self.paused,
        }


def closed_port_url() -> str:
    """A loopback URL where nothing listens (a free port, closed again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class RasaStandIn:
    """The recording stand-in; `url` once started."""

    def __init__(self, token: str = RASA_TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.conversations: dict[str, Conversation] = {}
        self.fail: dict[str, int] = {}
        self.stall: set[str] = set()
        self.server: TestServer | None = None
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_get("/conversations/{sender_id}/tracker", self._tracker)
        app.router.add_post("/conversations/{sender_id}/tracker/events", self._events)
        app.router.add_post("/conversations/{sender_id}/execute", self._execute)
        app.router.add_post("/webhooks/socketio/notify", self._notify)
        app.router.add_post(HANDOFF_OPENED_PATH, self._handoff_opened)
        self.app = app

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> None:
        self.server = TestServer(self.app)
        await self.server.start_server()

    async def _stalled(self) -> None:
        """Hold the request until the test ends (the client times out first)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._release.wait(), timeout=30)

    async def close(self) -> None:
        self._release.set()
        if self.server is not None:
            await self.server.close()

    # --- Reading what happened ------------------------------------------------------------------

    def of_kind(self, kind: str) -> list[Call]:
        return [call for call in self.calls if call.kind == kind]

    def notifications(self, sender_id: str | None = None) -> list[dict[str, Any]]:
        """The notify bodies, in order (of one conversation if given)."""
        return [
            call.body
            for call in self.of_kind("notify")
            if sender_id is None or call.sender_id == sender_id
        ]

    def statuses(self, sender_id: str | None = None) -> list[str]:
        return [body["status"] for body in self.notifications(sender_id)]

    def conversation(self, sender_id: str) -> Conversation:
        return self.conversations.setdefault(sender_id, Conversation())

    def seed(self, sender_id: str, events: list[dict[str, Any]]) -> Conversation:
        """Give a conversation a tracker history (as if it had happened), before the test acts."""
        conversation = self.conversation(sender_id)
        conversation.events.extend(events)
        return conversation

    # --- Handlers ---------------------------------------------------------------------------------

    async def _record(self, request: web.Request, kind: str, sender_id: str) -> Call | web.Response:
        body = await request.json() if request.can_read_body else None
        call = Call(
            kind=kind,
            sender_id=sender_id,
            query=dict(request.query),
            body=body,
            authorization=request.headers.get("Authorization"),
        )
        self.calls.append(call)
        if kind in self.stall:
            await self._stalled()
        if kind in self.fail:
            return web.json_response(
                {"message": f"failing {kind} on purpose"}, status=self.fail[kind]
            )
        return call

    def _check_token(self, request: web.Request) -> web.Response | None:
        if request.query.get("token") != self.token:
            return web.json_response({"message": "wrong token"}, status=401)
        return None

    async def _tracker(self, request: web.Request) -> web.Response:
        sender_id = request.match_info["sender_id"]
        outcome = await self._record(request, "tracker", sender_id)
        if isinstance(outcome, web.Response):
            return outcome
        return self._check_token(request) or web.json_response(
            self.conversation(sender_id).state(sender_id)
        )

    async def _events(self, request: web.Request) -> web.Response:
        sender_id = request.match_info["sender_id"]
        outcome = await self._record(request, "events", sender_id)
        if isinstance(outcome, web.Response):
            return outcome
        refused = self._check_token(request)
        if refused is not None:
            return refused
        conversation = self.conversation(sender_id)
        for event in outcome.body:
            conversation.events.append({"timestamp": time.time(), **event})
            if event["event"] == "slot":
                conversation.slots[event["name"]] = event["value"]
            elif event["event"] == "resume":
                conversation.paused = False
        return web.json_response(conversation.state(sender_id))

    async def _execute(self, request: web.Request) -> web.Response:
        sender_id = request.match_info["sender_id"]
        outcome = await self._record(request, "execute", sender_id)
        if isinstance(outcome, web.Response):
            return outcome
        refused = self._check_token(request)
        if refused is not None:
            return refused
        conversation = self.conversation(sender_id)
        name = outcome.body["name"]
        conversation.events.append({"event": "action", "name": name, "timestamp": time.time()})
        message = {"recipient_id": sender_id, "text": f"(the bot ran {name})"}
        return web.json_response({"tracker": conversation.state(sender_id), "messages": [message]})

    async def _handoff_opened(self, request: web.Request) -> web.Response:
        """Like the Rasa server: a conversation that missed the handoff records it, is paused
        and its customer told; one already paused is left alone."""
        body = await request.json()
        sender_id = str(body.get("sender_id"))
        call = Call(
            kind="handoff_opened",
            sender_id=sender_id,
            query=dict(request.query),
            body=body,
            authorization=request.headers.get("Authorization"),
        )
        self.calls.append(call)
        if "handoff_opened" in self.fail:
            return web.json_response(
                {"error": "failing on purpose"}, status=self.fail["handoff_opened"]
            )
        if call.authorization != f"Bearer {self.token}":
            return web.json_response({"error": "wrong token"}, status=401)
        conversation = self.conversation(sender_id)
        # A paused conversation stands for one whose bot recorded the handoff itself.
        changed = not conversation.paused
        if changed:
            conversation.slots[HANDOFF_ID_SLOT] = body["handoff_id"]
            conversation.paused = True
            conversation.events.append(
                {"event": "bot", "text": body["text"], "timestamp": time.time()}
            )
        return web.json_response({"changed": changed})

    async def _notify(self, request: web.Request) -> web.Response:
        body = await request.json()
        call = Call(
            kind="notify",
            sender_id=str(body.get("sender_id")),
            query=dict(request.query),
            body=body,
            authorization=request.headers.get("Authorization"),
        )
        self.calls.append(call)
        if "notify" in self.stall:
            await self._stalled()
        if "notify" in self.fail:
            return web.json_response({"error": "failing on purpose"}, status=self.fail["notify"])
        if call.authorization != f"Bearer {self.token}":
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        return web.json_response({"status": "accepted"}, status=202)
