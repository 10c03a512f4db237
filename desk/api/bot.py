"""Routes the bot calls (Bearer HANDOFF_SECRET): intake, conversation events, CSAT, callback."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.orm import Session

from desk.api.middleware import bot_facing
from desk.api.runtime import (
    BadRequest,
    decode_json,
    handoff_id_of,
    in_unit,
    parse,
    read_body,
    respond,
)
from desk.api.schemas import (
    CallbackRequest,
    ConversationEventRequest,
    CsatRequest,
    EventAccepted,
    HandoffAccepted,
    HandoffStatusOut,
)
from desk.services import handoffs, intake
from desk.store.models import Handoff
from desk.store.repositories import HandoffRepository


@bot_facing
async def post_handoff(request: web.Request) -> web.Response:
    """Receive a HandoffContext: 201 new, 200 already known, 422 when it breaks the schema."""
    body = await read_body(request)
    payload = decode_json(body)
    key = request.headers.get("Idempotency-Key")
    if key is not None and isinstance(payload, dict) and key != str(payload.get("handoff_id")):
        raise BadRequest("the Idempotency-Key header must equal handoff_id")
    raw = body.decode("utf-8")

    def work(session: Session) -> tuple[HandoffAccepted, bool]:
        received = intake.receive(session, payload, raw=raw)
        handoff = received.handoff
        answer = HandoffAccepted(
            handoff_id=handoff.handoff_id,
            status=handoff.status,
            queue=handoff.queue,
            position=received.position,
        )
        return answer, received.created

    answer, created = await in_unit(request, work, write=True)
    return respond(answer, status=201 if created else 200)


@bot_facing
async def post_conversation_event(request: web.Request) -> web.Response:
    """A tracker event of a conversation (relayed to agents in a later step): 202."""
    event = await parse(request, ConversationEventRequest)

    def work(session: Session) -> EventAccepted:
        open_handoff = HandoffRepository(session).open_for_sender(event.sender_id)
        handoff_id = None if open_handoff is None else open_handoff.handoff_id
        return EventAccepted(accepted=True, handoff_id=handoff_id)

    return respond(await in_unit(request, work), status=202)


@bot_facing
async def post_csat(request: web.Request) -> web.Response:
    """The customer's rating of a resolved handoff."""
    handoff_id = handoff_id_of(request)
    csat = await parse(request, CsatRequest)

    def work(session: Session) -> HandoffStatusOut:
        return _status(handoffs.store_csat(session, handoff_id, csat.rating, csat.comment))

    return respond(await in_unit(request, work, write=True))


@bot_facing
async def post_callback(request: web.Request) -> web.Response:
    """The message a customer left instead of waiting; the handoff expires."""
    handoff_id = handoff_id_of(request)
    callback = await parse(request, CallbackRequest)

    def work(session: Session) -> HandoffStatusOut:
        return _status(handoffs.store_callback(session, handoff_id, callback.message))

    return respond(await in_unit(request, work, write=True))


def _status(handoff: Handoff) -> HandoffStatusOut:
    return HandoffStatusOut(handoff_id=handoff.handoff_id, status=handoff.status)


def add_routes(app: web.Application) -> None:
    """Register the bot-facing routes."""
    app.router.add_post("/api/handoffs", post_handoff)
    app.router.add_post("/api/conversation-events", post_conversation_event)
    app.router.add_post("/api/handoffs/{handoff_id}/csat", post_csat)
    app.router.add_post("/api/handoffs/{handoff_id}/callback", post_callback)
