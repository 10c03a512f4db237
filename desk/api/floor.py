"""`GET /api/analytics/floor`: the supervisors' live strip (`contract.analytics_report.Floor`).

Supervisors only (agents and branch staff get 403; no session, 401). The same strip is pushed
to the supervisors' consoles as `{"type": "floor", ...}` (`desk.floor.LiveFloor`).
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from desk.api.runtime import actor_of, respond
from desk.floor import LiveFloor
from desk.services.errors import PermissionDenied

FLOOR: Final = web.AppKey("floor", LiveFloor)
FLOOR_PATH: Final = "/api/analytics/floor"


async def get_floor(request: web.Request) -> web.Response:
    """The live strip now."""
    if not actor_of(request).is_supervisor:
        raise PermissionDenied("the live floor is for supervisors")
    return respond(await request.app[FLOOR].now())


def add_routes(app: web.Application) -> None:
    """Register the live strip's route."""
    app.router.add_get(FLOOR_PATH, get_floor)
