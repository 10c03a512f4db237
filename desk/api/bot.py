"""Routes the bot calls (Bearer HANDOFF_SECRET): intake, conversation events, CSAT, callback.

Each parses the request, calls its workflow (`desk.workflows`) and answers; what the bot sets
off in Rasa runs in the background after the answer (the bot waits with short timeouts).
"""

from __future__ import annotations

from aiohttp import web

from contract.conversation_events import EVENTS_PATH, ConversationEvent
from desk.api.middleware import bot_facing
from desk.api.runtime import (
    DESK,
    PRESENCE,
    BadRequest,
    decode_json,
    handoff_id_of,
    parse,
    read_body,
    respond,
)
from desk.api.schemas import (
    CallbackRequest,
    CsatRequest,
    EventAccepted,
    HandoffAccepted,
    HandoffStatusOut,
)
from desk.store.models import Handoff
from desk.workflows import customer, intake


@bot_facing
async def post_handoff(request: web.Request) -> web.Response:
    """Receive a HandoffContext: 201 new, 422 when it breaks the schema, 200 with the known
    handoff when this one was delivered before or the conversation already has an open one (the
    answer's `handoff_id` then names that one: the bot must not tell of a second handoff).

    A new handoff is confirmed to the Rasa server in the background, so the conversation is
    paused even if the bot never learns the outcome of this call (see `contract.handoff_opened`).
    """
    body = await read_body(request)
    payload = decode_json(body)
    key = request.headers.get("Idempotency-Key")
    if key is not None and isinstance(payload, dict) and key != str(payload.get("handoff_id")):
        raise BadRequest("the Idempotency-Key header must equal handoff_id")
    received = await intake.receive_handoff(
        request.app[DESK],
        payload,
        raw=body.decode("utf-8"),
        connected_agents=await request.app[PRESENCE].agent_ids(),
    )
    answer = HandoffAccepted(
        handoff_id=received.handoff_id,
        status=received.status,
        queue=received.queue,
        position=received.position,
    )
    return respond(answer, status=201 if received.created else 200)


@bot_facing
async def post_conversation_event(request: web.Request) -> web.Response:
    """A tracker event of a conversation: 202 (see `desk.workflows.customer`)."""
    body = await parse(request, ConversationEvent)
    handoff_id = await customer.conversation_event(request.app[DESK], body.sender_id, body.event)
    return respond(EventAccepted(accepted=True, handoff_id=handoff_id), status=202)


@bot_facing
async def post_csat(request: web.Request) -> web.Response:
    """The customer's rating of a resolved handoff."""
    handoff_id = handoff_id_of(request)
    csat = await parse(request, CsatRequest)
    rated = await customer.rate(request.app[DESK], handoff_id, csat.rating, csat.comment, _status)
    return respond(rated)


@bot_facing
async def post_callback(request: web.Request) -> web.Response:
    """The message a customer left instead of waiting; a waiting handoff expires."""
    handoff_id = handoff_id_of(request)
    callback = await parse(request, CallbackRequest)
    stored = await customer.leave_callback(request.app[DESK], handoff_id, callback.message, _status)
    return respond(stored)


def _status(handoff: Handoff) -> HandoffStatusOut:
    return HandoffStatusOut(handoff_id=handoff.handoff_id, status=handoff.status)


def add_routes(app: web.Application) -> None:
    """Register the bot-facing routes."""
    app.router.add_post("/api/handoffs", post_handoff)
    app.router.add_post(EVENTS_PATH, post_conversation_event)
    app.router.add_post("/api/handoffs/{handoff_id}/csat", post_csat)
    app.router.add_post("/api/handoffs/{handoff_id}/callback", post_callback)
