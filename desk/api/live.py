"""`GET /api/live`: the console's websocket (session cookie), fed by `desk.console_hub`.

After the upgrade the desk sends `{"type": "connected", ...}`; from then on the agent receives
the messages about handoffs in the queues they serve or that they own (see
`desk.console_hub`). The console sends nothing the desk needs; a text "ping" is answered with
"pong" (aiohttp also pings every HEARTBEAT_SECONDS and drops sockets that stop answering). A
websocket upgrade from another site's page (a foreign `Origin`) is refused, like any
cross-site request.

The socket belongs to the session it was opened with: logging out of that session, or the
session expiring, closes it with 1008 (policy violation) and the reason "logged out" or
"session expired" (see `desk.console_hub.LiveHub`).
"""

from __future__ import annotations

from typing import Final

from aiohttp import WSMsgType, web

from desk.api.middleware import json_error, same_origin
from desk.api.runtime import LIVE, SESSION_TOKEN_KEY, actor_of, in_unit
from desk.services import agents

HEARTBEAT_SECONDS: Final = 30.0


async def live(request: web.Request) -> web.StreamResponse:
    """Upgrade to a websocket and stream the agent's live events until either side closes."""
    actor = actor_of(request)
    if not same_origin(request):
        return json_error(403, "cross-site websocket refused")
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
    if not socket.can_prepare(request).ok:
        return json_error(400, "GET /api/live is a websocket; send an upgrade request")
    token: str = request[SESSION_TOKEN_KEY]
    session = await in_unit(request, lambda s: agents.session_info(s, token))
    if session is None:  # it ended since the session middleware let the request through
        return json_error(401, "log in first")
    await socket.prepare(request)
    hub = request.app[LIVE]
    hub.add(socket, actor, session_key=session.key, expires_at=session.expires_at)
    try:
        await socket.send_json(
            {
                "type": "connected",
                "agent": {"id": actor.agent_id, "name": actor.display_name},
                "queues": sorted(actor.queues),
            }
        )
        async for message in socket:
            if message.type == WSMsgType.TEXT and message.data == "ping":
                await socket.send_str("pong")
    except ConnectionResetError:
        pass  # the hub closed the socket while this was writing to it (its session ended)
    finally:
        await hub.finish(socket)  # with the hub's close code when it ended the socket
    return socket


def add_routes(app: web.Application) -> None:
    """Register the live route."""
    app.router.add_get("/api/live", live)
