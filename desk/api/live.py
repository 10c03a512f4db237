"""`GET /api/live`: the console's websocket (session cookie), fed by `desk.live.LiveHub`.

After the upgrade the desk sends `{"type": "connected", ...}`; from then on the agent receives
the messages about handoffs in the queues they serve or that they own (see `desk.live`). The
console sends nothing the desk needs; a text "ping" is answered with "pong" (aiohttp also pings
every HEARTBEAT_SECONDS and drops sockets that stop answering). A websocket upgrade from another
site's page (a foreign `Origin`) is refused, like any cross-site request.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from desk.api.middleware import json_error
from desk.api.runtime import LIVE, actor_of

HEARTBEAT_SECONDS: Final = 30.0


async def live(request: web.Request) -> web.StreamResponse:
    """Upgrade to a websocket and stream the agent's live events until either side closes."""
    actor = actor_of(request)
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
        return json_error(403, "cross-site websocket refused")
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
    if not socket.can_prepare(request).ok:
        return json_error(400, "GET /api/live is a websocket; send an upgrade request")
    await socket.prepare(request)
    hub = request.app[LIVE]
    hub.add(socket, actor)
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
    finally:
        hub.remove(socket)
    return socket


def add_routes(app: web.Application) -> None:
    """Register the live route."""
    app.router.add_get("/api/live", live)
