"""Routes of the console's callbacks (session cookie): the messages customers left instead of
waiting, and marking one done.

- `GET /api/callbacks`: `CallbacksOut`, the open callbacks of the agent's queues (every queue
  for a supervisor), oldest first;
- `POST /api/handoffs/{handoff_id}/callback-done` (no body): 200 with the `CallbackOut`, done;
  404 no such handoff, 403 not a queue of the agent's, 409 no callback or already done (the
  error says when and by whom).

Marking done goes through `desk.workflows.callbacks`, which publishes `handoff.callback_done`
(the queue's consoles reload their callbacks; `desk.console_hub`).
"""

from __future__ import annotations

from aiohttp import web

from desk.api.runtime import DESK, actor_of, handoff_id_of, in_unit, respond
from desk.api.schemas import CallbackOut, CallbacksOut
from desk.services import callbacks as callback_rules
from desk.workflows import callbacks


async def get_callbacks(request: web.Request) -> web.Response:
    """The open callbacks of the agent's queues, oldest first."""
    actor = actor_of(request)
    listed = await in_unit(
        request, lambda s: CallbacksOut.of(*callback_rules.open_callbacks(s, actor))
    )
    return respond(listed)


async def mark_callback_done(request: web.Request) -> web.Response:
    """Mark a callback done: 200 with the callback."""
    actor = actor_of(request)
    handoff_id = handoff_id_of(request)
    done = await callbacks.mark_callback_done(request.app[DESK], actor, handoff_id, CallbackOut.of)
    return respond(done)


def add_routes(app: web.Application) -> None:
    """Register the callbacks' routes."""
    app.router.add_get("/api/callbacks", get_callbacks)
    app.router.add_post("/api/handoffs/{handoff_id}/callback-done", mark_callback_done)
