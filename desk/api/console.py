"""Routes of the agent console (session cookie): queues, claim, screen pop, notes, transfer,
resolve; and the console page itself."""

from __future__ import annotations

import html
import logging

from aiohttp import web
from sqlalchemy.orm import Session

from desk.api.runtime import (
    HAND_BACK,
    actor_of,
    handoff_id_of,
    in_unit,
    parse,
    respond,
)
from desk.api.schemas import (
    HandoffOut,
    NoteOut,
    NoteRequest,
    QueuesOut,
    ResolvedOut,
    ResolveRequest,
    ScreenPopOut,
    TransferRequest,
)
from desk.services import claims, handoffs, queues
from desk.store.repositories import HandoffRepository

LOGGER = logging.getLogger(__name__)


async def get_queues(request: web.Request) -> web.Response:
    """The agent's queues (every queue for a supervisor) with who is waiting, best first."""
    actor = actor_of(request)
    views = await in_unit(request, lambda s: QueuesOut.of(queues.queues_for(s, actor)))
    return respond(views)


async def claim(request: web.Request) -> web.Response:
    """Take a waiting handoff: 200, 409 when someone was faster, 403 when not your queue."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)

    def work(session: Session) -> HandoffOut:
        return HandoffOut.of(claims.claim(session, actor, handoff_id))

    return respond(await in_unit(request, work, write=True))


async def get_handoff(request: web.Request) -> web.Response:
    """The screen pop: handoff, the bot's context, notes and history."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)

    def work(session: Session) -> ScreenPopOut:
        return ScreenPopOut.of(handoffs.screen_pop(session, actor, handoff_id))

    return respond(await in_unit(request, work))


async def add_note(request: web.Request) -> web.Response:
    """Add a private note: 201."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    note = await parse(request, NoteRequest)

    def work(session: Session) -> NoteOut:
        stored = handoffs.add_note(session, actor, handoff_id, note.text)
        return NoteOut.of(stored, actor.display_name)

    return respond(await in_unit(request, work, write=True), status=201)


async def transfer(request: web.Request) -> web.Response:
    """Move the handoff to another queue; it waits there with its context."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    target = await parse(request, TransferRequest)

    def work(session: Session) -> HandoffOut:
        moved = handoffs.transfer(session, actor, handoff_id, target.queue)
        return HandoffOut.of(moved, position=HandoffRepository(session).position(moved))

    return respond(await in_unit(request, work, write=True))


async def resolve(request: web.Request) -> web.Response:
    """Close the handoff with a disposition and slot values, then hand it back to the bot."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    body = await parse(request, ResolveRequest)

    resolution = await in_unit(
        request,
        lambda s: handoffs.resolve(s, actor, handoff_id, body.disposition, body.slots),
        write=True,
    )
    try:
        handed_back = await request.app[HAND_BACK](resolution)
    except Exception:
        # The handoff stays resolved; handing back can be retried, the resolution is stored.
        LOGGER.exception("handing %s back to the bot failed", handoff_id)
        handed_back = False

    def work(session: Session) -> ResolvedOut:
        if handed_back:
            handoffs.mark_handed_back(session, handoff_id)
        handoff = HandoffRepository(session).get(handoff_id)
        assert handoff is not None  # resolved a moment ago; handoffs are never deleted
        return ResolvedOut(handoff=HandoffOut.of(handoff), handed_back=handed_back)

    return respond(await in_unit(request, work, write=handed_back))


async def console_page(request: web.Request) -> web.Response:
    """The console (a placeholder until it is built)."""
    name = html.escape(actor_of(request).display_name)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Desk</title>'
        f"</head><body><h1>Support desk</h1><p>Signed in as {name}.</p></body></html>"
    )
    return web.Response(text=page, content_type="text/html")


async def root(_request: web.Request) -> web.Response:
    """`/` is the console."""
    raise web.HTTPFound("/console")


def add_routes(app: web.Application) -> None:
    """Register the console routes."""
    app.router.add_get("/api/queues", get_queues)
    app.router.add_post("/api/handoffs/{handoff_id}/claim", claim)
    app.router.add_get("/api/handoffs/{handoff_id}", get_handoff)
    app.router.add_post("/api/handoffs/{handoff_id}/notes", add_note)
    app.router.add_post("/api/handoffs/{handoff_id}/transfer", transfer)
    app.router.add_post("/api/handoffs/{handoff_id}/resolve", resolve)
    app.router.add_get("/console", console_page)
    app.router.add_get("/", root)
