"""`GET /metrics`: the desk's numbers for Prometheus (`desk.prometheus`), text format.

Not a session route: Prometheus sends `Authorization: Bearer $DESK_METRICS_TOKEN`, compared in
constant time (401 without it or with another). With DESK_METRICS_TOKEN unset the desk serves
no metrics (404), rather than serving them to anyone.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from desk.api.middleware import json_error, public
from desk.api.runtime import SETTINGS
from desk.prometheus import CONTENT_TYPE, DeskMetrics
from desk.security import secrets_equal

METRICS: Final = web.AppKey("metrics", DeskMetrics)
METRICS_PATH: Final = "/metrics"


@public  # its own credential, checked here: a bearer token, not a session
async def get_metrics(request: web.Request) -> web.Response:
    """The exposition, for a scraper with the metrics token."""
    token = request.app[SETTINGS].metrics_token
    if token is None:
        return json_error(404, "metrics are off: set DESK_METRICS_TOKEN to serve them")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets_equal(given.strip(), token):
        return web.json_response(
            {"error": "missing or wrong bearer token"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    body = await request.app[METRICS].scrape()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def add_routes(app: web.Application) -> None:
    """Register the metrics route."""
    app.router.add_get(METRICS_PATH, get_metrics)
