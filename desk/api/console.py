"""Routes of the agent console (session cookie): queues, the agent's own chats, claim, screen
pop, the conversation, notes, messages to the customer, typing, transfer, resolve (the console
page is in `desk.api.pages`).

Around the rules, each route keeps the customer and the other consoles in the picture (see
`desk.live`): claim tells the customer `agent_joined` (status and a bot message, before the
claim is answered, so before the agent's first message); transfer `waiting` with the new
queue and position; resolve `agent_left` (likewise), then hands the conversation back (the
bot speaks), then `back_with_bot`. Queues refresh live (`queue_changed`), and the customers
still waiting learn their new places (`desk.waiting_room`). A failed notification is logged
and never fails the agent's request.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.orm import Session

from contract.desk_notices import DeskNotice
from desk.api.runtime import (
    CUSTOMER,
    HAND_BACK,
    LIVE,
    RASA,
    WAITING_ROOM,
    actor_of,
    handoff_id_of,
    in_unit,
    parse,
    respond,
)
from desk.api.schemas import (
    ConversationOut,
    HandoffOut,
    MessageRequest,
    MessageSentOut,
    MyHandoffsOut,
    NoteOut,
    NoteRequest,
    QueuesOut,
    ResolvedOut,
    ResolveRequest,
    ScreenPopOut,
    TransferRequest,
    TypingOut,
    TypingRequest,
)
from desk.live import Audience, joined_text, left_text, queue_changed
from desk.rasa_client import RasaUnavailable
from desk.services import claims, handoffs, queues, transcripts
from desk.services.agents import Actor
from desk.store.repositories import HandoffRepository

LOGGER = logging.getLogger(__name__)


async def get_queues(request: web.Request) -> web.Response:
    """The agent's queues (every queue for a supervisor) with who is waiting, best first."""
    actor = actor_of(request)
    views = await in_unit(request, lambda s: QueuesOut.of(queues.queues_for(s, actor)))
    return respond(views)


async def get_my_handoffs(request: web.Request) -> web.Response:
    """The handoffs the agent has claimed and not yet resolved, newest claim first.

    Only the agent's own (a supervisor's too), so any browser shows the same "my chats".
    """
    actor = actor_of(request)
    mine = await in_unit(request, lambda s: MyHandoffsOut.of(handoffs.claimed_by(s, actor)))
    return respond(mine)


async def claim(request: web.Request) -> web.Response:
    """Take a waiting handoff: 200, 409 when someone was faster, 403 when not your queue."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)

    def work(session: Session) -> HandoffOut:
        return HandoffOut.of(claims.claim(session, actor, handoff_id))

    claimed = await in_unit(request, work, write=True)
    # Said before the claim is answered, so it comes before the agent's first message.
    await request.app[CUSTOMER].announce(
        claimed.sender_id,
        DeskNotice.AGENT_JOINED,
        joined_text(actor.display_name, claimed.queue),
        "agent_joined",
        agent_name=actor.display_name,
    )
    await request.app[LIVE].publish(
        queue_changed(claimed.queue, handoff_id, "claimed"),
        Audience(claimed.queue, actor.agent_id),
    )
    request.app[WAITING_ROOM].queue_moved(claimed.queue)
    return respond(claimed)


async def get_handoff(request: web.Request) -> web.Response:
    """The screen pop: handoff, the bot's context, notes and history."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)

    def work(session: Session) -> ScreenPopOut:
        return ScreenPopOut.of(handoffs.screen_pop(session, actor, handoff_id))

    return respond(await in_unit(request, work))


async def get_conversation(request: web.Request) -> web.Response:
    """The conversation from the handoff on, read from Rasa's tracker.

    Customer, bot and agent turns in order, with timestamps; agent turns name the agent (see
    `desk.services.transcripts`). Visible as the screen pop is (404 otherwise); 503 when Rasa
    cannot be read.
    """
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    handoff = await in_unit(
        request, lambda s: HandoffOut.of(handoffs.visible(s, actor, handoff_id))
    )
    try:
        tracker = await request.app[RASA].tracker(handoff.sender_id)
    except RasaUnavailable as error:
        raise RasaUnavailable(
            f"the conversation could not be loaded from Rasa: {error.message}", status=error.status
        ) from None
    turns, since_handoff = transcripts.handoff_turns(tracker, handoff_id)
    return respond(ConversationOut.of(handoff, turns, since_handoff=since_handoff))


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

    def work(session: Session) -> tuple[HandoffOut, str, int | None]:
        before = handoffs.get_existing(session, handoff_id)
        old_queue, owner = before.queue, before.agent_id  # read now: the row object is refreshed
        moved = handoffs.transfer(session, actor, handoff_id, target.queue)
        out = HandoffOut.of(moved, position=HandoffRepository(session).position(moved))
        return out, old_queue, owner

    moved, old_queue, owner = await in_unit(request, work, write=True)
    # The customer learns their place in the new queue; those behind them in the old one, theirs.
    await request.app[WAITING_ROOM].tell_positions([moved.queue], tell=[handoff_id])
    request.app[WAITING_ROOM].queue_moved(old_queue)
    hub = request.app[LIVE]
    await hub.publish(
        queue_changed(old_queue, handoff_id, "transferred_out"), Audience(old_queue, owner)
    )
    arrived = queue_changed(moved.queue, handoff_id, "transferred_in")
    await hub.publish(arrived, Audience(moved.queue))
    return respond(moved)


async def send_message(request: web.Request) -> web.Response:
    """Say something to the customer: 201 once it is in the conversation, 503 if Rasa is down.

    The message is appended to Rasa's tracker as a `bot` event with `metadata.handoff_agent`
    (Rasa delivers it to the customer's channel); then the desk logs it and, the first time,
    the first agent reply.
    """
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    message = await parse(request, MessageRequest)
    handoffs.check_message(message.text)

    handoff = await in_unit(request, lambda s: _working_on(s, actor, handoff_id))
    await request.app[RASA].send_agent_message(handoff.sender_id, message.text, actor)

    def work(session: Session) -> MessageSentOut:
        logged = handoffs.record_agent_message(session, actor, handoff_id, message.text)
        return MessageSentOut(handoff=HandoffOut.of(logged), text=message.text)

    return respond(await in_unit(request, work, write=True), status=201)


async def typing(request: web.Request) -> web.Response:
    """Show (or stop showing) "the agent is typing" on the customer's page: 202."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    body = await parse(request, TypingRequest)
    handoff = await in_unit(request, lambda s: _working_on(s, actor, handoff_id))
    notified = await request.app[CUSTOMER].notify(
        handoff.sender_id, "agent_typing", typing=body.typing, agent_name=actor.display_name
    )
    return respond(TypingOut(typing=body.typing, notified=notified), status=202)


async def resolve(request: web.Request) -> web.Response:
    """Close the handoff with a disposition and slot values, then hand it back to the bot."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    body = await parse(request, ResolveRequest)

    def close(session: Session) -> tuple[handoffs.Resolution, str]:
        resolution = handoffs.resolve(session, actor, handoff_id, body.disposition, body.slots)
        return resolution, handoffs.get_existing(session, handoff_id).queue

    resolution, queue = await in_unit(request, close, write=True)
    # Said before the hand-back, so it comes before the bot's welcome back.
    await request.app[CUSTOMER].announce(
        resolution.sender_id,
        DeskNotice.AGENT_LEFT,
        left_text(actor.display_name),
        "agent_left",
        agent_name=actor.display_name,
    )
    await request.app[LIVE].publish(
        queue_changed(queue, handoff_id, "resolved"), Audience(queue, actor.agent_id)
    )
    return respond(await _hand_back(request, resolution))


async def retry_hand_back(request: web.Request) -> web.Response:
    """Try again to give a resolved handoff back to the bot (its hand-back failed before)."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    resolution = await in_unit(
        request, lambda session: handoffs.pending_hand_back(session, actor, handoff_id)
    )
    return respond(await _hand_back(request, resolution))


async def _hand_back(request: web.Request, resolution: handoffs.Resolution) -> ResolvedOut:
    """Give the conversation back to the bot; on success tell the page and mark it handed back.

    A failure leaves the handoff resolved (the resolution is stored) and is reported in
    `hand_back_error`; `POST /api/handoffs/{id}/hand-back` tries again.
    """
    handoff_id = resolution.handoff_id
    error: str | None = None
    try:
        handed_back = await request.app[HAND_BACK](resolution)
    except RasaUnavailable as failure:
        LOGGER.error("handing %s back to the bot failed: %s", handoff_id, failure)
        handed_back, error = False, failure.message
    except Exception:
        LOGGER.exception("handing %s back to the bot failed", handoff_id)
        handed_back, error = False, "unexpected error handing back; it has been logged"
    if handed_back:
        await request.app[CUSTOMER].notify(resolution.sender_id, "back_with_bot")

    def work(session: Session) -> ResolvedOut:
        if handed_back:
            handoffs.mark_handed_back(session, handoff_id)
        handoff = HandoffRepository(session).get(handoff_id)
        assert handoff is not None  # resolved a moment ago; handoffs are never deleted
        return ResolvedOut(
            handoff=HandoffOut.of(handoff), handed_back=handed_back, hand_back_error=error
        )

    return await in_unit(request, work, write=handed_back)


def _working_on(session: Session, actor: Actor, handoff_id: str) -> HandoffOut:
    return HandoffOut.of(handoffs.working_on(session, actor, handoff_id))


async def root(_request: web.Request) -> web.Response:
    """`/` is the console."""
    raise web.HTTPFound("/console")


def add_routes(app: web.Application) -> None:
    """Register the console routes."""
    app.router.add_get("/api/queues", get_queues)
    app.router.add_get("/api/my-handoffs", get_my_handoffs)
    app.router.add_post("/api/handoffs/{handoff_id}/claim", claim)
    app.router.add_get("/api/handoffs/{handoff_id}", get_handoff)
    app.router.add_get("/api/handoffs/{handoff_id}/conversation", get_conversation)
    app.router.add_post("/api/handoffs/{handoff_id}/notes", add_note)
    app.router.add_post("/api/handoffs/{handoff_id}/messages", send_message)
    app.router.add_post("/api/handoffs/{handoff_id}/typing", typing)
    app.router.add_post("/api/handoffs/{handoff_id}/transfer", transfer)
    app.router.add_post("/api/handoffs/{handoff_id}/resolve", resolve)
    app.router.add_post("/api/handoffs/{handoff_id}/hand-back", retry_hand_back)
    app.router.add_get("/", root)
