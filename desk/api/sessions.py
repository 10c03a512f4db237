"""Logging in and out: POST /api/login, POST /api/logout, GET /api/me (the login page is in
`desk.api.pages`)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from sqlalchemy.orm import Session

from desk.api.middleware import SESSION_COOKIE, client_address, over_https, public
from desk.api.runtime import DESK, SETTINGS, actor_of, in_unit, parse, respond
from desk.api.schemas import AgentOut, LoginRequest
from desk.services import agents
from desk.services.errors import AuthenticationFailed
from desk.services.login_throttle import LoginLimits
from desk.workflows import sessions


@public
async def login(request: web.Request) -> web.Response:
    """Check the credentials and set a new session cookie.

    401 with one message for any failure, a locked username included; 429 with Retry-After
    when the client's address failed too many logins (`desk.services.login_throttle`). The
    session of the cookie the browser came with ends, here and in its consoles.
    """
    credentials = await parse(request, LoginRequest)
    settings = request.app[SETTINGS]
    hours = settings.session_hours
    carried = request.cookies.get(SESSION_COOKIE) or None
    attempt = agents.LoginAttempt(
        credentials.username, credentials.password, client_address(request)
    )

    def work(session: Session) -> agents.StartedSession | None:
        return agents.log_in(
            session,
            attempt,
            limits=LoginLimits.of(settings),
            lifetime=timedelta(hours=hours),
            replacing=carried,
        )

    started = await in_unit(request, work, write=True)
    if started is None:
        raise AuthenticationFailed(agents.BAD_CREDENTIALS)
    if carried:
        await sessions.session_ended(request.app[DESK], carried)
    response = respond(AgentOut.of(started.actor))
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        max_age=int(hours * 3600),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=over_https(request),
    )
    return response


@public
async def logout(request: web.Request) -> web.Response:
    """End the session (if any), close its console websockets and clear the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sessions.log_out(request.app[DESK], token)
    response = web.json_response({"logged_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    """The logged-in user."""
    return respond(AgentOut.of(actor_of(request)))


def add_routes(app: web.Application) -> None:
    """Register the session routes."""
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
