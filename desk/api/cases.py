"""Routes of the advisor's case view (session cookie; case workers only).

A case is a mortgage application as the desk console shows it. Only case workers (agents of a
queue with the `mortgages` skill, supervisors) may use these routes; anyone else, branch staff
included, gets a 404 as for an application that does not exist, so a guessed reference tells
them nothing (`desk.services.case_access`).

- `GET /api/cases/{reference}`: `CaseOut`, the application (stage, checklist with each
  item's state, appointment, timeline), its uploaded documents and the allowed actions;
- `POST /api/cases/{reference}/advice`, body `AdviceRequest`: 200 with the record;
- `POST /api/cases/{reference}/notes`, body `CaseNoteRequest`: 201 with the record;
- `POST /api/cases/{reference}/document-requests`, body `DocumentRequest`: 200 with the record;
- `GET /api/case-documents`: the designers' documents (key, title) for the request picker.

Changes go through `desk.workflows.cases`, which publishes each timeline entry.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web
from sqlalchemy.orm import Session

from contract.documents import DocumentRequest, document_requests_path
from desk.api.runtime import DESK, actor_of, in_unit, parse, respond
from desk.api.schemas import (
    AdviceRequest,
    CaseActionsOut,
    CaseDocumentOut,
    CaseDocumentsOut,
    CaseNoteRequest,
    CaseOut,
)
from desk.services import applications
from desk.services.agents import Actor
from desk.services.applications import ApplicationNotFoundError
from desk.services.case_access import ensure_case_worker
from desk.services.checklists import document_checklists
from desk.services.documents import documents_of
from desk.workflows import cases

CASES_PATH: Final = "/api/cases"
CASE_DOCUMENTS_PATH: Final = "/api/case-documents"
#: The longest part of a path echoed back in an error.
_ECHOED_CHARS: Final = 64


def case_path(reference: str) -> str:
    """The case view of one application."""
    return f"{CASES_PATH}/{reference}"


def _reference_of(request: web.Request) -> str:
    """The `{reference}` of the path, canonical; a 404 when it cannot be one."""
    typed = request.match_info["reference"]
    reference = applications.normalize_reference(typed)
    if reference is None:
        raise ApplicationNotFoundError(f"no mortgage application {typed[:_ECHOED_CHARS]}")
    return reference


def case_view(session: Session, actor: Actor, reference: str) -> CaseOut:
    """The case as a case worker sees it.

    Raises:
        NotFound: No such application, or the actor does not work cases.
    """
    ensure_case_worker(actor)
    application = applications.load(session, reference)
    return CaseOut(
        application=applications.record_of(application),
        documents=documents_of(application),
        actions=CaseActionsOut.at(application.stage),
    )


async def get_case(request: web.Request) -> web.Response:
    """The case view; 404 for no such application or a user who does not work cases."""
    actor = actor_of(request)
    reference = _reference_of(request)
    return respond(await in_unit(request, lambda s: case_view(s, actor, reference)))


async def post_advice(request: web.Request) -> web.Response:
    """Record the advice outcome: 200 with the record; 409 when the advice is closed."""
    actor = actor_of(request)
    ensure_case_worker(actor)  # before reading the body: others learn nothing
    reference = _reference_of(request)
    body = await parse(request, AdviceRequest)
    record = await cases.record_advice(request.app[DESK], actor, reference, body.outcome, body.note)
    return respond(record)


async def post_note(request: web.Request) -> web.Response:
    """Add an advisor's note to the timeline: 201 with the record."""
    actor = actor_of(request)
    ensure_case_worker(actor)
    reference = _reference_of(request)
    body = await parse(request, CaseNoteRequest)
    record = await cases.add_note(request.app[DESK], actor, reference, body.text)
    return respond(record, status=201)


async def post_document_request(request: web.Request) -> web.Response:
    """Ask for (more) documents: 200 with the record; 409 once an appointment is booked."""
    actor = actor_of(request)
    ensure_case_worker(actor)
    reference = _reference_of(request)
    body = await parse(request, DocumentRequest)
    record = await cases.request_documents(request.app[DESK], actor, reference, body)
    return respond(record)


async def get_case_documents(request: web.Request) -> web.Response:
    """The documents the designers defined (key and title), in the file's order."""
    ensure_case_worker(actor_of(request))
    documents = document_checklists().documents.values()
    listed = [CaseDocumentOut(key=document.key, title=document.title) for document in documents]
    return respond(CaseDocumentsOut(documents=listed))


def add_routes(app: web.Application) -> None:
    """Register the case routes."""
    app.router.add_get(case_path("{reference}"), get_case)
    app.router.add_post(case_path("{reference}") + "/advice", post_advice)
    app.router.add_post(case_path("{reference}") + "/notes", post_note)
    app.router.add_post(document_requests_path("{reference}"), post_document_request)
    app.router.add_get(CASE_DOCUMENTS_PATH, get_case_documents)
