"""Routes of the mortgage applications (Bearer HANDOFF_SECRET, like the bot's other routes).

The bodies are the contract's (`contract.applications`). A change parses, calls its workflow
(`desk.workflows.applications`, which publishes what happened) and answers with the
`ApplicationRecord`; a read calls the service in one unit of work, like the console's reads.
"""

from __future__ import annotations

from aiohttp import web

from contract.applications import (
    APPLICATIONS_PATH,
    ApplicationEventRequest,
    NewApplication,
    application_events_path,
    application_path,
)
from desk.api.middleware import bot_facing
from desk.api.runtime import DESK, in_unit, parse, respond
from desk.services import applications
from desk.services.applications import ApplicationNotFoundError
from desk.workflows.applications import open_application, record_event

#: The longest part of a path echoed back in an error.
_ECHOED_CHARS = 64


def _reference_of(request: web.Request) -> str:
    """The `{reference}` of the path, canonical; a 404 when it cannot be one."""
    typed = request.match_info["reference"]
    reference = applications.normalize_reference(typed)
    if reference is None:
        raise ApplicationNotFoundError(f"no mortgage application {typed[:_ECHOED_CHARS]}")
    return reference


@bot_facing
async def post_application(request: web.Request) -> web.Response:
    """Store a completed intake as a new application: 201 with its record and reference."""
    body = await parse(request, NewApplication)
    return respond(await open_application(request.app[DESK], body), status=201)


@bot_facing
async def get_application(request: web.Request) -> web.Response:
    """The application with its whole history; 404 if there is none."""
    reference = _reference_of(request)
    record = await in_unit(
        request, lambda session: applications.get_application(session, reference)
    )
    if record is None:
        raise ApplicationNotFoundError(f"no mortgage application {reference}")
    return respond(record)


@bot_facing
async def post_application_event(request: web.Request) -> web.Response:
    """Append one event to the application's history: 200 with the record as it is now."""
    reference = _reference_of(request)
    entry = await parse(request, ApplicationEventRequest)
    return respond(await record_event(request.app[DESK], reference, entry))


def add_routes(app: web.Application) -> None:
    """Register the application routes."""
    app.router.add_post(APPLICATIONS_PATH, post_application)
    app.router.add_get(application_path("{reference}"), get_application)
    app.router.add_post(application_events_path("{reference}"), post_application_event)
