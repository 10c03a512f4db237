"""Routes of the agent console (session cookie): queues, the agent's own chats, claim, screen
pop, the conversation, notes, messages to the customer, typing, transfer, resolve (the console
page is in `desk.api.pages`).

Each route parses the request, calls its workflow (`desk.workflows.agent_work`,
`desk.workflows.closing`) and answers. The workflows publish what happened on the event bus,
which keeps the customer and the other consoles in the picture: claim tells the customer
`agent_joined` (status and a bot message, before the claim is answered, so before the agent's
first message); transfer `waiting` with the new queue and position; resolve `agent_left`
(likewise), then hands the conversation back (the bot speaks), then `back_with_bot`. Queues
refresh live (`queue_changed`), and the customers still waiting learn their new places
(`desk.waiting_room`). A failed notification is logged and never fails the agent's request.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.orm import Session

from desk.api.runtime import (
    DESK,
    RASA,
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
from desk.rasa_client import RasaUnavailable
from desk.services import handoffs, queues, transcripts
from desk.store.models import Handoff, HandoffNote
from desk.workflows import agent_work, closing


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
    """Take a waiting handoff: 200, 409 when someone was faster, 404 when you may not see it."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    claimed = await agent_work.claim(request.app[DESK], actor, handoff_id, HandoffOut.of)
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

    def present(stored: HandoffNote) -> NoteOut:
        return NoteOut.of(stored, actor.display_name)

    added = await agent_work.add_note(request.app[DESK], actor, handoff_id, note.text, present)
    return respond(added, status=201)


async def transfer(request: web.Request) -> web.Response:
    """Move the handoff to another queue; it waits there with its context."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    target = await parse(request, TransferRequest)

    def present(moved: Handoff, position: int | None) -> HandoffOut:
        return HandoffOut.of(moved, position=position)

    moved = await agent_work.transfer(request.app[DESK], actor, handoff_id, target.queue, present)
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
    handoff = await agent_work.send_message(
        request.app[DESK], actor, handoff_id, message.text, HandoffOut.of
    )
    return respond(MessageSentOut(handoff=handoff, text=message.text), status=201)


async def typing(request: web.Request) -> web.Response:
    """Show (or stop showing) "the agent is typing" on the customer's page: 202."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    body = await parse(request, TypingRequest)
    notified = await agent_work.typing(request.app[DESK], actor, handoff_id, body.typing)
    return respond(TypingOut(typing=body.typing, notified=notified), status=202)


async def resolve(request: web.Request) -> web.Response:
    """Close the handoff with a disposition and slot values, then hand it back to the bot."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    body = await parse(request, ResolveRequest)
    closed = await closing.resolve(
        request.app[DESK], actor, handoff_id, body.disposition, body.slots, HandoffOut.of
    )
    return respond(_resolved(closed))


async def retry_hand_back(request: web.Request) -> web.Response:
    """Try again to give a resolved handoff back to the bot (its hand-back failed before)."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    closed = await closing.retry_hand_back(request.app[DESK], actor, handoff_id, HandoffOut.of)
    return respond(_resolved(closed))


def _resolved(closed: closing.Closed[HandoffOut]) -> ResolvedOut:
    """The answer to a resolve or hand-back: a failed hand-back is in `hand_back_error`."""
    return ResolvedOut(
        handoff=closed.handoff,
        handed_back=closed.handed_back,
        hand_back_error=closed.hand_back_error,
    )


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
