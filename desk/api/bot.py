"""Routes the bot calls (Bearer HANDOFF_SECRET): intake, conversation events, CSAT, callback.

The bot waits for these answers with short timeouts (and Rasa may hold the conversation's lock
meanwhile), so what they set off in Rasa (telling the customer their place in the queue, giving
a cancelled conversation back to the bot) runs in the background after the answer.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from aiohttp import web
from sqlalchemy.orm import Session

from desk.api.middleware import bot_facing
from desk.api.runtime import (
    BOT_SYNC,
    CUSTOMER,
    LIVE,
    RASA,
    SEEN_MESSAGES,
    WAITING_ROOM,
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
from desk.live import Audience, CustomerLink, queue_changed, with_retries
from desk.rasa_client import ASK_CALLBACK_ACTION, CANCELLED_ACTION, RasaClient
from desk.services import conversations, handoffs, intake
from desk.services.conversations import CustomerActivity, WaitOutcome
from desk.store.models import Handoff

LOGGER = logging.getLogger(__name__)

#: Pauses between attempts to give a cancelled conversation back to the bot.
GIVE_BACK_RETRY_SECONDS: Final[tuple[float, ...]] = (0.5, 2.0)


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
    raw = body.decode("utf-8")

    def work(session: Session) -> tuple[HandoffAccepted, bool, str]:
        received = intake.receive(session, payload, raw=raw)
        handoff = received.handoff
        answer = HandoffAccepted(
            handoff_id=handoff.handoff_id,
            status=handoff.status,
            queue=handoff.queue,
            position=received.position,
        )
        return answer, received.created, handoff.sender_id

    answer, created, sender_id = await in_unit(request, work, write=True)
    if created:
        await request.app[LIVE].publish(
            queue_changed(answer.queue, answer.handoff_id, "queued"), Audience(answer.queue)
        )
        # The customer learns their place (and anyone an urgent arrival overtook, theirs);
        # with nobody of the queue online, the wait choice follows at once.
        request.app[WAITING_ROOM].queue_moved(answer.queue)
        request.app[BOT_SYNC].handoff_created(sender_id, answer.handoff_id, answer.queue)
    return respond(answer, status=201 if created else 200)


@bot_facing
async def post_conversation_event(request: web.Request) -> web.Response:
    """A tracker event of a conversation: 202.

    For a conversation with an open handoff, what the customer says or types goes to the
    consoles that may see the handoff. While it is still queued: "never mind" abandons it and
    gives the conversation back to the bot (`action_handoff_cancelled`, then `back_with_bot`);
    "leave a message" expires it and gives the conversation back to the bot, which asks for the
    message (`action_ask_callback`); "keep waiting" restarts the wait and re-tells the place.
    """
    body = await parse(request, ConversationEventRequest)
    event = body.event
    kind = event["event"]
    if not request.app[SEEN_MESSAGES].first_time(body.sender_id, event):
        return respond(EventAccepted(accepted=True, handoff_id=None), status=202)  # a re-delivery
    writes = kind == conversations.USER  # only a customer's message can change a handoff

    def work(session: Session) -> CustomerActivity:
        return conversations.receive_event(session, body.sender_id, event)

    activity = await in_unit(request, work, write=writes)
    if activity.handoff_id is not None and activity.queue is not None:
        audience = Audience(activity.queue, activity.owner_id)
        hub = request.app[LIVE]
        room = request.app[WAITING_ROOM]
        give_back = _GIVE_BACK.get(activity.outcome) if activity.outcome else None
        if give_back is not None:
            change = give_back[0]
            await hub.publish(queue_changed(activity.queue, activity.handoff_id, change), audience)
            room.queue_moved(activity.queue)
            customer = request.app[CUSTOMER]
            customer.spawn(
                _give_back(request.app[RASA], customer, body.sender_id, give_back[1]),
                name=f"give back a handoff ({change})",
            )
        elif activity.outcome is WaitOutcome.KEPT_WAITING:
            await hub.publish(_customer_message(activity, event), audience)
            room.queue_moved(activity.queue, tell=[activity.handoff_id])
        elif activity.kind == "message":
            await hub.publish(_customer_message(activity, event), audience)
        elif activity.kind == "typing":
            await hub.publish(
                {
                    "type": "customer_typing",
                    "handoff_id": activity.handoff_id,
                    "sender_id": activity.sender_id,
                    "typing": bool(event.get("typing")),
                },
                audience,
            )
    return respond(EventAccepted(accepted=True, handoff_id=activity.handoff_id), status=202)


def _customer_message(activity: CustomerActivity, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "customer_message",
        "handoff_id": activity.handoff_id,
        "sender_id": activity.sender_id,
        "text": event.get("text"),
        "intent": conversations.intent_of(event),
        "timestamp": event.get("timestamp"),
    }


#: A waiting customer's choice that ends the wait: the console's `queue_changed` change and
#: the action the bot runs when it takes the conversation back.
_GIVE_BACK: Final = {
    WaitOutcome.ABANDONED: ("abandoned", CANCELLED_ACTION),
    WaitOutcome.LEFT_MESSAGE: ("expired", ASK_CALLBACK_ACTION),
}


async def _give_back(rasa: RasaClient, customer: CustomerLink, sender_id: str, action: str) -> None:
    """Resume the conversation, let the bot run `action`, tell the page `back_with_bot`.

    The handoff has already left the queue, so nobody else will resume the conversation: a
    failure is retried (resuming twice is harmless), then logged.
    """

    async def give_back() -> None:
        await rasa.give_back(sender_id, action)

    if await with_retries(give_back, GIVE_BACK_RETRY_SECONDS, what=f"giving back ({action})"):
        await customer.notify(sender_id, "back_with_bot")


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
