"""The OpenAPI 3 description of the desk's HTTP API, generated and committed.

`schemas/desk_openapi.json` describes every route the desk registers: its path parameters,
query parameters, request body (from the same pydantic models the routes parse with, so each
body is defined once) and who may call it (the agent's `desk_session` cookie, the bot's
`HANDOFF_SECRET` bearer token, the metrics scraper's token, or anyone). It is what the fuzzer
(Schemathesis, `tests/e2e/test_schemathesis.py`) and any other client generate requests from.

`OPERATIONS` lists each route's inputs. Summaries and who may call a route are read from the
routes of the real app (`create_app`), so they cannot drift from the code. A route added
without an entry here stops the generator, and `tests/desk/test_openapi.py` fails.

    python -m desk.api.openapi          # (re)write the committed description
    python -m desk.api.openapi --check  # exit 1 if the committed file differs from the code
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel
from pydantic.schema import schema as models_schema

from analytics.settings import AnalyticsSettings
from contract.analytics_report import TABLE_COLUMNS, Grain, Outcome
from contract.applications import (
    APPLICATIONS_PATH,
    ApplicationEventRequest,
    NewApplication,
    application_events_path,
    application_path,
)
from contract.appointments import (
    BRANCH_PATH,
    BRANCHES_PATH,
    BookAppointment,
    IdentityCheck,
    application_appointment_path,
    branch_slots_path,
    case_appointment_path,
)
from contract.conversation_events import EVENTS_PATH, ConversationEvent
from contract.documents import (
    CHAT_UPLOADS_PATH,
    DocumentRequest,
    DocumentReview,
    document_content_path,
    document_requests_path,
    document_review_path,
)
from contract.generated_file import write_or_check
from contract.handoff_context import HandoffContext
from contract.resume import (
    VerificationConfirm,
    VerificationStart,
    verification_confirm_path,
    verification_path,
)
from contract.webchat import TRANSCRIPT_TOKEN_HEADER
from desk.api.analytics import (
    BLUEPRINT_FORMATS,
    CUTS,
    FMEA_PARAMETERS,
    FORMATS,
    PLANNING_PARAMETERS,
    QUERY_PARAMETERS,
)
from desk.api.appointments import CASE_BRANCHES_PATH
from desk.api.cases import CASE_DOCUMENTS_PATH, case_path
from desk.api.floor import FLOOR_PATH
from desk.api.metrics import METRICS_PATH
from desk.api.middleware import SESSION_COOKIE, auth_kind
from desk.api.pages import BRANCH_PAGE, CONSOLE_PAGE, PLANNING_PAGE, SUPERVISOR_PAGE
from desk.api.runtime import ANALYTICS, DATABASE, EXECUTOR
from desk.api.schemas import (
    AdviceRequest,
    CallbackRequest,
    CaseNoteRequest,
    CsatRequest,
    LoginRequest,
    MessageRequest,
    NoteRequest,
    ResolveRequest,
    TransferRequest,
    TypingRequest,
)
from desk.app import MAX_BODY_BYTES, create_app
from desk.settings import DeskSettings

REPO_ROOT: Final = Path(__file__).resolve().parent.parent.parent
DESCRIPTION_PATH: Final = REPO_ROOT / "schemas" / "desk_openapi.json"
OPENAPI_VERSION: Final = "3.1.0"
#: The description's own version: bump it when a change is not backwards compatible.
API_VERSION: Final = "1.0.0"
#: The security scheme names (the routes' kinds of credential, `desk.api.middleware`).
SESSION_SCHEME: Final = "deskSession"
BOT_SCHEME: Final = "botBearer"
METRICS_SCHEME: Final = "metricsBearer"
_REF: Final = "#/components/schemas/{model}"
_ERROR: Final = {"$ref": "#/components/schemas/Error"}
#: The errors the routes answer with (`desk.api.middleware`), as `{"error": ..., "errors"?: [...]}`.
ERROR_STATUSES: Final = {
    "400": "Not a request this route takes (not JSON, nested too deeply, a bad query)",
    "401": "Missing or wrong credentials",
    "403": "Not allowed for this user, or a cross-site request",
    "404": "Not found, or not visible to this user",
    "413": "The body is too large",
    "422": "The body does not fit; `errors` name each field by JSON Pointer",
}


@dataclass(frozen=True)
class Parameter:
    """A query or header parameter: its name, JSON Schema and what it means."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Multipart:
    """A `multipart/form-data` body: its text fields, its one file field, and the text
    fields it may leave out."""

    text_fields: tuple[str, ...]
    file_field: str
    optional_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    """What a route takes beyond its path: a body, query parameters; what it answers with."""

    body: type[BaseModel] | Multipart | None = None
    query: tuple[Parameter, ...] = ()
    #: Request headers the route reads (beyond the credentials of its security scheme).
    headers: tuple[Parameter, ...] = ()
    #: The status of a success.
    success: int = 200
    #: The media type of a success (a page, a CSV, a websocket upgrade...).
    media: str = "application/json"


# --- The routes' inputs --------------------------------------------------------------------------

_DATE: Final = {"type": "string", "format": "date"}
#: What opens a web chat (its history, its uploads); the id alone opens nothing.
_CHAT_TOKEN: Final = Parameter(
    TRANSCRIPT_TOKEN_HEADER,
    {"type": "string"},
    "The chat's token from POST /chat/sessions, or the web chat channel's chat_token event"
    " (contract.webchat)",
)
_DAY_PARAMETERS: Final = {
    "start": Parameter("start", _DATE, "First day of the period (YYYY-MM-DD)"),
    "end": Parameter("end", _DATE, "Last day of the period (YYYY-MM-DD); today by default"),
    "grain": Parameter("grain", {"type": "string", "enum": [g.value for g in Grain]}),
    "journey": Parameter("journey", {"type": "string"}, "A journey's name"),
    "queue": Parameter("queue", {"type": "string"}, "A queue's name"),
    "reason_code": Parameter("reason_code", {"type": "string"}),
    "channel": Parameter("channel", {"type": "string"}),
    "outcome": Parameter("outcome", {"type": "string", "enum": [o.value for o in Outcome]}),
}


def _analytics_query(names: frozenset[str], formats: tuple[str, ...] = ()) -> tuple[Parameter, ...]:
    """The query parameters of an analytics route, from the names the route allows."""
    given = [_DAY_PARAMETERS[name] for name in sorted(names) if name != "format"]
    if formats:
        given.append(Parameter("format", {"type": "string", "enum": list(formats)}))
    return tuple(given)


_SLOT_QUERY: Final = (
    Parameter("from", _DATE, "First day to look at (YYYY-MM-DD); today by default"),
    Parameter("days", {"type": "integer", "minimum": 0, "maximum": 9999}),
    Parameter("limit", {"type": "integer", "minimum": 0, "maximum": 9999}),
)
_HTML: Final = "text/html"
_HANDOFF: Final = "/api/handoffs/{handoff_id}"
_APPOINTMENT: Final = f"{BRANCH_PATH}/appointments/{{appointment_id}}"
_CASE: Final = case_path("{reference}")

#: Every route the desk serves (method, path template) and its inputs.
OPERATIONS: Final[dict[tuple[str, str], Operation]] = {
    ("GET", "/health"): Operation(),
    # The bot.
    ("POST", "/api/handoffs"): Operation(body=HandoffContext, success=201),
    ("POST", EVENTS_PATH): Operation(body=ConversationEvent, success=202),
    ("POST", f"{_HANDOFF}/csat"): Operation(body=CsatRequest),
    ("POST", f"{_HANDOFF}/callback"): Operation(body=CallbackRequest),
    ("POST", APPLICATIONS_PATH): Operation(body=NewApplication, success=201),
    ("GET", application_path("{reference}")): Operation(),
    ("POST", application_events_path("{reference}")): Operation(
        body=ApplicationEventRequest, success=201
    ),
    ("GET", BRANCHES_PATH): Operation(),
    ("GET", branch_slots_path("{branch}")): Operation(query=_SLOT_QUERY),
    ("POST", application_appointment_path("{reference}")): Operation(
        body=BookAppointment, success=201
    ),
    ("PUT", application_appointment_path("{reference}")): Operation(body=BookAppointment),
    ("DELETE", application_appointment_path("{reference}")): Operation(),
    ("POST", verification_path("{reference}")): Operation(body=VerificationStart, success=201),
    ("POST", verification_confirm_path("{reference}")): Operation(body=VerificationConfirm),
    # Sessions.
    ("POST", "/api/login"): Operation(body=LoginRequest),
    ("POST", "/api/logout"): Operation(),
    ("GET", "/api/me"): Operation(),
    # The agent console.
    ("GET", "/api/queues"): Operation(),
    ("GET", "/api/my-handoffs"): Operation(),
    ("POST", f"{_HANDOFF}/claim"): Operation(),
    ("GET", _HANDOFF): Operation(),
    ("GET", f"{_HANDOFF}/conversation"): Operation(),
    ("POST", f"{_HANDOFF}/notes"): Operation(body=NoteRequest, success=201),
    ("POST", f"{_HANDOFF}/messages"): Operation(body=MessageRequest, success=201),
    ("POST", f"{_HANDOFF}/typing"): Operation(body=TypingRequest, success=202),
    ("POST", f"{_HANDOFF}/transfer"): Operation(body=TransferRequest),
    ("POST", f"{_HANDOFF}/resolve"): Operation(body=ResolveRequest),
    ("POST", f"{_HANDOFF}/hand-back"): Operation(),
    ("GET", "/"): Operation(success=302, media=_HTML),
    ("GET", "/api/callbacks"): Operation(),
    ("POST", f"{_HANDOFF}/callback-done"): Operation(),
    ("GET", "/api/live"): Operation(success=101, media="websocket"),
    # Mortgage cases (advisors).
    ("GET", _CASE): Operation(),
    ("POST", f"{_CASE}/advice"): Operation(body=AdviceRequest),
    ("POST", f"{_CASE}/notes"): Operation(body=CaseNoteRequest, success=201),
    ("POST", document_requests_path("{reference}")): Operation(body=DocumentRequest),
    ("GET", CASE_DOCUMENTS_PATH): Operation(),
    ("GET", CASE_BRANCHES_PATH): Operation(),
    ("GET", f"{CASE_BRANCHES_PATH}/{{branch}}/slots"): Operation(query=_SLOT_QUERY),
    ("POST", case_appointment_path("{reference}")): Operation(body=BookAppointment, success=201),
    ("GET", document_content_path("{document_id}")): Operation(
        query=(Parameter("download", {"type": "string"}, "1: as an attachment"),),
        media="application/octet-stream",
    ),
    ("POST", document_review_path("{document_id}")): Operation(body=DocumentReview),
    # The branch.
    ("GET", f"{BRANCH_PATH}/appointments"): Operation(
        query=(Parameter("date", _DATE, "The day (YYYY-MM-DD); today at the branch by default"),)
    ),
    ("GET", f"{BRANCH_PATH}/cases/{{reference}}"): Operation(),
    ("POST", f"{_APPOINTMENT}/identity-check"): Operation(body=IdentityCheck),
    ("POST", f"{_APPOINTMENT}/signing"): Operation(),
    ("POST", f"{_APPOINTMENT}/missed"): Operation(),
    # Supervisors.
    ("GET", FLOOR_PATH): Operation(),
    ("GET", "/api/analytics/report"): Operation(query=_analytics_query(QUERY_PARAMETERS)),
    ("GET", "/api/analytics/tables/{table}"): Operation(
        query=_analytics_query(QUERY_PARAMETERS, FORMATS)
    ),
    ("GET", "/api/analytics/fmea"): Operation(query=_analytics_query(FMEA_PARAMETERS, FORMATS)),
    ("POST", "/api/analytics/build"): Operation(),
    ("GET", "/api/analytics/journey-map"): Operation(query=_analytics_query(PLANNING_PARAMETERS)),
    ("GET", "/api/analytics/blueprint"): Operation(
        query=_analytics_query(PLANNING_PARAMETERS, BLUEPRINT_FORMATS)
    ),
    ("GET", METRICS_PATH): Operation(media="text/plain"),
    # Pages, the customer's web chat and static files.
    ("GET", "/chat"): Operation(media=_HTML),
    ("GET", "/chat/config"): Operation(),
    ("POST", "/chat/sessions"): Operation(success=201),
    ("GET", "/chat/history"): Operation(headers=(_CHAT_TOKEN,)),
    ("POST", CHAT_UPLOADS_PATH): Operation(
        body=Multipart(("reference", "item"), "file", optional_fields=("session_id",)),
        headers=(_CHAT_TOKEN,),
        success=201,
    ),
    ("GET", "/login"): Operation(media=_HTML),
    ("GET", CONSOLE_PAGE): Operation(media=_HTML),
    ("GET", BRANCH_PAGE): Operation(media=_HTML),
    ("GET", SUPERVISOR_PAGE): Operation(media=_HTML),
    ("GET", PLANNING_PAGE): Operation(media=_HTML),
    ("GET", "/api/console-config"): Operation(),
    ("GET", "/static/{name}"): Operation(media="application/octet-stream"),
}
assert set(CUTS) <= set(_DAY_PARAMETERS), "every analytics cut is described"

#: Path parameters narrower than any string (the others are any string; the routes answer 404
#: for one that names nothing).
PATH_PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "handoff_id": {"type": "string", "format": "uuid"},
    "table": {"type": "string", "enum": sorted(TABLE_COLUMNS)},
}


# --- The routes of the real app ------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A route the desk registers: method, path template, who may call it, what it does."""

    method: str
    path: str
    kind: str  # public, bot, session (desk.api.middleware.auth_kind)
    summary: str


@contextmanager
def _desk_app() -> Iterator[web.Application]:
    """The desk's application as `python -m desk` builds it, never started (no database is
    opened: only its router is read)."""
    settings = DeskSettings.parse_obj(
        {
            "database_url": "sqlite://",
            "handoff_secret": "described-only",
            "rasa_auth_token": "described-only",
            "rasa_url": "http://127.0.0.1:9",
        }
    )
    analytics = AnalyticsSettings.parse_obj(
        {
            "database_url": "sqlite://",
            "tracker_store_url": "sqlite://",
            "desk_database_url": "sqlite://",
        }
    )
    app = create_app(settings, analytics=analytics)
    try:
        yield app
    finally:
        app[EXECUTOR].shutdown()
        app[DATABASE].dispose()
        app[ANALYTICS].close()


def desk_routes() -> list[Route]:
    """Every route of the desk's router (HEAD, which aiohttp adds beside each GET, left out)."""
    with _desk_app() as app:
        return [
            Route(route.method, route.resource.canonical, auth_kind(route.handler), _summary(route))
            for route in app.router.routes()
            if route.resource is not None and route.method != "HEAD"
        ]


def _summary(route: web.AbstractRoute) -> str:
    doc = (route.handler.__doc__ or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ").strip() if doc else route.resource.canonical  # type: ignore[union-attr]


class UndescribedRoute(Exception):
    """The router and `OPERATIONS` disagree: a route without a description, or the reverse."""


# --- The description -----------------------------------------------------------------------------


def desk_openapi(routes: list[Route] | None = None) -> dict[str, Any]:
    """The OpenAPI 3 description of `routes` (the desk's own by default).

    Raises:
        UndescribedRoute: A route has no entry in OPERATIONS, or an entry no route.
    """
    routes = desk_routes() if routes is None else routes
    registered = {(route.method, route.path) for route in routes}
    undescribed = sorted(registered - set(OPERATIONS))
    unrouted = sorted(set(OPERATIONS) - registered)
    if undescribed or unrouted:
        raise UndescribedRoute(
            "desk.api.openapi.OPERATIONS and the desk's routes differ:"
            + "".join(f"\n  not described: {m} {p}" for m, p in undescribed)
            + "".join(f"\n  described but not routed: {m} {p}" for m, p in unrouted)
        )
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(routes, key=lambda r: (r.path, r.method)):
        operation = OPERATIONS[(route.method, route.path)]
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, operation)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Support desk",
            "version": API_VERSION,
            "description": (
                "The desk's HTTP API: the bot's handoffs and applications (bearer"
                " HANDOFF_SECRET), the agents', advisors', branch staff's and supervisors'"
                f" console (the `{SESSION_COOKIE}` cookie from POST /api/login), and the"
                " customer's web chat pages. Generated by `python -m desk.api.openapi`."
                f" Every body is JSON of at most {MAX_BODY_BYTES} bytes unless stated."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {
                SESSION_SCHEME: {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
                BOT_SCHEME: {"type": "http", "scheme": "bearer"},
                METRICS_SCHEME: {"type": "http", "scheme": "bearer"},
            },
            "responses": {
                status: {
                    "description": description,
                    "content": {"application/json": {"schema": _ERROR}},
                }
                for status, description in ERROR_STATUSES.items()
            },
        },
    }


def _operation(route: Route, operation: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{_operation_name(route.path)}",
        "summary": route.summary,
        "security": _security(route),
    }
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_PARAMETERS.get(name, {"type": "string"}),
        }
        for name in _path_names(route.path)
    ]
    parameters += [
        {"name": p.name, "in": place, "required": False, "schema": p.schema}
        | ({"description": p.description} if p.description else {})
        for place, given in (("query", operation.query), ("header", operation.headers))
        for p in given
    ]
    if parameters:
        described["parameters"] = parameters
    if operation.body is not None:
        described["requestBody"] = _request_body(operation.body)
    described["responses"] = _responses(route, operation)
    return described


def _security(route: Route) -> list[dict[str, list[str]]]:
    if route.path == METRICS_PATH:
        return [{METRICS_SCHEME: []}]
    if route.kind == "bot":
        return [{BOT_SCHEME: []}]
    if route.kind == "session":
        return [{SESSION_SCHEME: []}]
    return []


def _operation_name(path: str) -> str:
    name = "".join(c if c.isalnum() else "_" for c in path.replace("{", "by_")).strip("_")
    return name or "root"


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _request_body(body: type[BaseModel] | Multipart) -> dict[str, Any]:
    if isinstance(body, Multipart):
        fields = (*body.text_fields, *body.optional_fields)
        properties: dict[str, Any] = {name: {"type": "string"} for name in fields}
        properties[body.file_field] = {"type": "string", "format": "binary"}
        form = {
            "type": "object",
            "properties": properties,
            "required": [*body.text_fields, body.file_field],
        }
        return {"required": True, "content": {"multipart/form-data": {"schema": form}}}
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=body.__name__)}}},
    }


def _responses(route: Route, operation: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Success"}
    if operation.media == "application/json" and operation.success < 300:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    elif operation.media not in ("websocket", "application/json"):
        success["content"] = {operation.media: {}}
    responses: dict[str, Any] = {str(operation.success): success}
    errors = ["400", "404"]
    if route.kind != "public" or route.path == METRICS_PATH:
        errors += ["401", "403"]
    if operation.body is not None:
        errors += ["413", "422"]
    for status in sorted(errors):
        responses[status] = {"$ref": f"#/components/responses/{status}"}
    return responses


def _component_schemas() -> dict[str, Any]:
    """The request models' JSON Schemas, under their names; and the error body."""
    models = sorted(
        {op.body for op in OPERATIONS.values() if isinstance(op.body, type)},
        key=lambda model: model.__name__,
    )
    # pydantic returns cached dicts: never modify them in place.
    generated = copy.deepcopy(models_schema(models, ref_template=_REF)["definitions"])
    generated["Error"] = {
        "title": "Error",
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["error"],
    }
    return dict(sorted(generated.items()))


def render_description(description: dict[str, Any]) -> str:
    """The exact text committed to DESCRIPTION_PATH (so `--check` compares byte for byte)."""
    return json.dumps(description, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the committed description, or with `--check` verify it matches the code."""
    parser = argparse.ArgumentParser(prog="python -m desk.api.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--path", type=Path, default=DESCRIPTION_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        generated = render_description(desk_openapi())
    except UndescribedRoute as error:
        print(f"{error}\nDescribe each route in desk/api/openapi.py.", file=sys.stderr)
        return 1
    return write_or_check(
        args.path,
        generated,
        check=args.check,
        source="the desk's routes and models",
        command="python -m desk.api.openapi",
    )


if __name__ == "__main__":
    sys.exit(main())
