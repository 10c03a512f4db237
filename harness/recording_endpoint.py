"""A real HTTP endpoint standing in for the desk, for tests and benchmarks.

It behaves as the desk's contract says: a wrong or missing Bearer secret gets 401, a body
that does not validate against the committed schema gets 422 listing the errors, and it is
idempotent on `handoff_id` (201 the first time, 200 with the stored handoff afterwards). The
mortgage application routes (`contract.applications`) are the desk's own service, on an
in-memory database of the endpoint's own; resuming and branch appointments
(`contract.resume`, `contract.appointments`) are `harness.journey_desk`'s, on that database.
It records every request, can be made to fail or stall, and can stop listening ("down") and
listen again on the same port ("up").

In-process (pytest)::

    async with RecordingEndpoint(secret="s3cret") as endpoint:
        ...  # POST to endpoint.url
        await endpoint.wait_for_handoffs(1)

As a separate process (`launcher.stack.handoff_inbox`: the end-to-end tests and the turn
benchmarks)::

    HANDOFF_SECRET=s3cret python -m harness.recording_endpoint --port 5056 --record-file F

takes the Bearer secret from HANDOFF_SECRET (never the command line, which `ps` shows to
every user of the machine), prints
``recording endpoint listening on http://127.0.0.1:5056/api/handoffs`` once it accepts
connections, and appends every newly accepted handoff to F (owner-only) as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.orm import Session

from contract.applications import (
    APPLICATIONS_PATH,
    ApplicationEventRequest,
    ApplicationRecord,
    NewApplication,
    application_events_path,
    application_path,
)
from contract.schema import SCHEMA_PATH, validate_payload
from desk.services import applications
from desk.store.database import Database as DeskDatabase
from harness.journey_desk import JourneyDesk
from harness.stand_in import DEFAULT_WAIT_SECONDS, LoopbackStandIn
from launcher.stack import HANDOFF_SECRET_VARIABLE
from logsupport.private_files import open_private

T = TypeVar("T")

HANDOFF_PATH = "/api/handoffs"


@dataclass(frozen=True)
class ReceivedRequest:
    """One POST the endpoint answered."""

    headers: dict[str, str]
    body: str
    status: int
    handoff_id: str | None = None

    def json(self) -> Any:
        """The decoded body."""
        return json.loads(self.body)


@dataclass
class _Recording:
    requests: list[ReceivedRequest] = field(default_factory=list)
    handoffs: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrivals: int = 0
    #: What the bot sent after a handoff: {handoff_id: {"csat": body, "callback": body}}.
    feedback: dict[str, dict[str, Any]] = field(default_factory=dict)


class RecordingEndpoint(LoopbackStandIn):
    """The desk's handoff endpoint, recording what it receives (see the module docstring)."""

    name = "recording endpoint"

    def __init__(
        self,
        *,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        schema_path: Path = SCHEMA_PATH,
        record_file: Path | None = None,
    ) -> None:
        """Configure the endpoint; `port=0` picks a free ephemeral port on `start()`."""
        super().__init__(host=host, port=port)
        self._secret = secret
        self._schema_path = schema_path
        self._record_file = record_file
        self._recording = _Recording()
        self._scripted: list[int] = []
        #: Conversations whose handoff the endpoint treats as still open (see `hold_open`).
        self._open: dict[str, str] = {}
        #: The mortgage applications, created on the first call that needs them.
        self._applications: DeskDatabase | None = None
        #: Resuming (verification codes) and branch appointments, on the same applications.
        self.journey = JourneyDesk(secret=secret, in_applications=self._in_applications)

    def add_routes(self, app: web.Application) -> None:
        """The desk's handoff routes, the bot's feedback and application routes, a health check."""
        app.router.add_post(HANDOFF_PATH, self._post_handoff)
        app.router.add_get(HANDOFF_PATH, self._list_handoffs)
        app.router.add_post(
            HANDOFF_PATH + "/{handoff_id}/{kind:csat|callback}", self._post_feedback
        )
        app.router.add_get(HANDOFF_PATH + "/{handoff_id}/feedback", self._get_feedback)
        app.router.add_post(APPLICATIONS_PATH, self._post_application)
        app.router.add_get(application_path("{reference}"), self._get_application)
        app.router.add_post(application_events_path("{reference}"), self._post_application_event)
        self.journey.add_routes(app)
        app.router.add_get("/health", self._health)

    async def close(self) -> None:
        """Stop listening for good, and forget the applications."""
        await super().close()
        if self._applications is not None:
            self._applications.dispose()
            self._applications = None

    def recorded(self) -> str:
        """How many requests and handoffs it received."""
        return (
            f"received {len(self._recording.requests)} requests,"
            f" {len(self._recording.handoffs)} handoffs"
        )

    # --- What it received ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """URL to POST handoffs to."""
        return f"http://{self._host}:{self._port}{HANDOFF_PATH}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every POST answered so far, oldest first."""
        return list(self._recording.requests)

    @property
    def handoffs(self) -> dict[str, dict[str, Any]]:
        """Accepted handoffs by handoff_id."""
        return dict(self._recording.handoffs)

    def application(self, reference: str) -> ApplicationRecord | None:
        """The mortgage application stored under this reference, if any."""
        return self._in_applications(lambda s: applications.get_application(s, reference))

    def requests_for(self, handoff_id: str) -> list[ReceivedRequest]:
        """The POSTs that carried this handoff."""
        return [r for r in self._recording.requests if r.handoff_id == handoff_id]

    async def wait_for(
        self, count: int, timeout: float = DEFAULT_WAIT_SECONDS
    ) -> list[ReceivedRequest]:
        """Wait until at least `count` POSTs have been answered; the requests so far."""
        await self.wait_until(lambda: len(self._recording.requests) >= count, timeout)
        return self.requests

    async def wait_for_handoffs(
        self, count: int, timeout: float = DEFAULT_WAIT_SECONDS
    ) -> dict[str, dict[str, Any]]:
        """Wait until at least `count` distinct handoffs have been accepted."""
        await self.wait_until(lambda: len(self._recording.handoffs) >= count, timeout)
        return self.handoffs

    async def wait_for_arrivals(self, count: int, timeout: float = DEFAULT_WAIT_SECONDS) -> None:
        """Wait until at least `count` POSTs have arrived (answered or still stalled)."""
        await self.wait_until(lambda: self._recording.arrivals >= count, timeout)

    # --- Misbehaving on purpose ----------------------------------------------------------------

    def fail_next(self, *statuses: int) -> None:
        """Answer the next POSTs with these statuses (e.g. 503, 429, 400), in order."""
        self._scripted.extend(statuses)

    def hold_open(self, sender_id: str, handoff_id: str) -> None:
        """Like the desk: a new handoff of this conversation is answered 200 with this one."""
        self._open[sender_id] = handoff_id

    # --- Handlers -----------------------------------------------------------------------------

    async def _post_handoff(self, request: web.Request) -> web.Response:
        body = await request.text()
        await self.record(self._count_arrival)
        await self.answering()
        status, answer, handoff_id = self._answer(request, body)
        received = ReceivedRequest(dict(request.headers), body, status, handoff_id)
        await self.record(lambda: self._recording.requests.append(received))
        return web.json_response(answer, status=status)

    def _count_arrival(self) -> None:
        self._recording.arrivals += 1

    def _answer(self, request: web.Request, body: str) -> tuple[int, Any, str | None]:
        if self._scripted:
            status = self._scripted.pop(0)
            return status, {"error": f"scripted failure {status}"}, None
        if request.headers.get("Authorization") != f"Bearer {self._secret}":
            return 401, {"error": "missing or wrong bearer token"}, None
        try:
            payload = json.loads(body)
        except json.JSONDecodeError as error:
            return 400, {"error": f"body is not JSON: {error}"}, None
        errors = validate_payload(payload, self._schema_path)
        if errors:
            return (
                422,
                {"error": "handoff context does not match the schema", "errors": errors},
                None,
            )
        handoff_id = str(payload["handoff_id"])
        if request.headers.get("Idempotency-Key") != handoff_id:
            return 400, {"error": "Idempotency-Key must equal handoff_id"}, handoff_id
        if handoff_id in self._recording.handoffs:
            return 200, self._recording.handoffs[handoff_id], handoff_id
        open_id = self._open.get(str(payload["conversation"]["sender_id"]))
        if open_id is not None:
            return 200, {"handoff_id": open_id, "status": "queued"}, open_id
        self._recording.handoffs[handoff_id] = payload
        self._append_to_record_file(payload)
        return 201, payload, handoff_id

    async def _post_feedback(self, request: web.Request) -> web.Response:
        """The CSAT rating or callback message the bot sends after a handoff."""
        if request.headers.get("Authorization") != f"Bearer {self._secret}":
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        handoff_id = request.match_info["handoff_id"]
        if handoff_id not in self._recording.handoffs:
            return web.json_response({"error": f"no handoff {handoff_id}"}, status=404)
        body = await request.json()
        kind = request.match_info["kind"]
        await self.record(
            lambda: self._recording.feedback.setdefault(handoff_id, {}).update({kind: body})
        )
        return web.json_response(body, status=200)

    async def _get_feedback(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self._secret}":
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        return web.json_response(self._recording.feedback.get(request.match_info["handoff_id"], {}))

    async def _post_application(self, request: web.Request) -> web.Response:
        return await self._application_call(request, self._create_application, status=201)

    async def _get_application(self, request: web.Request) -> web.Response:
        return await self._application_call(request, self._read_application)

    async def _post_application_event(self, request: web.Request) -> web.Response:
        return await self._application_call(request, self._record_application_event)

    async def _application_call(
        self,
        request: web.Request,
        call: Callable[[web.Request, str], ApplicationRecord | None],
        *,
        status: int = 200,
    ) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self._secret}":
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        try:
            record = call(request, await request.text())
        except ValidationError as error:
            return web.json_response({"error": str(error)}, status=422)
        except applications.ApplicationNotFoundError as error:
            return web.json_response({"error": error.message}, status=404)
        if record is None:
            return web.json_response({"error": "no such application"}, status=404)
        return web.Response(text=record.json(), status=status, content_type="application/json")

    def _create_application(self, _request: web.Request, body: str) -> ApplicationRecord:
        new = NewApplication.parse_raw(body)
        return self._in_applications(
            lambda session: applications.create_application(
                session,
                new.intake,
                origin_channel=new.origin_channel,
                origin_sender_id=new.origin_sender_id,
            )
        )

    def _read_application(self, request: web.Request, _body: str) -> ApplicationRecord | None:
        return self.application(request.match_info["reference"])

    def _record_application_event(self, request: web.Request, body: str) -> ApplicationRecord:
        event = ApplicationEventRequest.parse_raw(body)
        return self._in_applications(
            lambda session: applications.record_application_event(
                session,
                request.match_info["reference"],
                touchpoint=event.touchpoint,
                kind=event.kind,
                actor=event.actor,
                detail=event.detail,
            )
        )

    def _in_applications(self, work: Callable[[Session], T]) -> T:
        """One unit of work on the applications (in-memory SQLite: quick enough inline)."""
        if self._applications is None:
            self._applications = DeskDatabase("sqlite://")
            self._applications.migrate()
        with self._applications.session(write=True) as session:
            return work(session)

    async def _list_handoffs(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self._secret}":
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        return web.json_response(list(self._recording.handoffs.values()))

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "handoffs": len(self._recording.handoffs)})

    def _append_to_record_file(self, payload: dict[str, Any]) -> None:
        if self._record_file is None:
            return
        # Handoffs carry customers' personal data: the file is its owner's alone.
        with open_private(self._record_file, append=True) as record:
            record.write((json.dumps(payload, ensure_ascii=False) + "\n").encode())


async def _serve(args: argparse.Namespace, secret: str) -> None:
    endpoint = RecordingEndpoint(
        secret=secret, host=args.host, port=args.port, record_file=args.record_file
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with endpoint:
        print(f"recording endpoint listening on {endpoint.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Run the endpoint until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.recording_endpoint", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--record-file", type=Path, help="append accepted handoffs here")
    args = parser.parse_args(argv)
    secret = os.environ.get(HANDOFF_SECRET_VARIABLE, "")
    if not secret:
        parser.error(f"set {HANDOFF_SECRET_VARIABLE}: the Bearer secret clients must send")
    asyncio.run(_serve(args, secret))


if __name__ == "__main__":
    main()
