"""Authentication and error handling around every route.

Three kinds of route (see `public`, `bot_facing`; the default is a logged-in agent):
- public: /health, POST /api/login, POST /api/logout, and the pages of `desk.api.pages`
  marked `public`: /login, the customer web chat /chat, /chat/config, /chat/history and
  the static files /static/{name};
- bot-facing: `Authorization: Bearer $HANDOFF_SECRET`, compared in constant time;
- everything else needs a valid session cookie: 401 JSON under /api/, a redirect to /login
  for pages.
A header or cookie with bytes that are not UTF-8 (0xff) is just a wrong credential: 401.
Browser requests that change something and carry an `Origin` of another site (or one that
is not a URL) are refused (403) on top of the SameSite=Strict cookie.

A failed call to Rasa the request depended on (an agent's message) is a 503 naming the cause.
Every error becomes a JSON body `{"error": str, "errors"?: [...]}`; nothing escapes as a bare
500 page, and an unexpected exception is logged and answered with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.orm import Session

from desk.api.runtime import (
    ACTOR_KEY,
    SESSION_TOKEN_KEY,
    SETTINGS,
    BadRequest,
    in_unit,
)
from desk.api.schemas import error_list
from desk.rasa_client import RasaUnavailable
from desk.security import secrets_equal
from desk.services.agents import Actor, actor_for_token, session_needs_write
from desk.services.errors import (
    AuthenticationFailed,
    Conflict,
    DeskError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from desk.store.types import utcnow

LOGGER = logging.getLogger(__name__)

SESSION_COOKIE: Final = "desk_session"
LOGIN_PAGE: Final = "/login"
_AUTH_ATTRIBUTE: Final = "desk_auth"
_PUBLIC: Final = "public"
_BOT: Final = "bot"
_SESSION: Final = "session"
_UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


def public(handler: H) -> H:
    """Mark a route as open to anyone."""
    setattr(handler, _AUTH_ATTRIBUTE, _PUBLIC)
    return handler


def bot_facing(handler: H) -> H:
    """Mark a route as called by the bot with the HANDOFF_SECRET bearer token."""
    setattr(handler, _AUTH_ATTRIBUTE, _BOT)
    return handler


def auth_kind(handler: Handler) -> str:
    """What a route requires: "public", "bot" (the bearer secret) or "session" (an agent)."""
    kind: str = getattr(handler, _AUTH_ATTRIBUTE, _SESSION)
    return kind


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    """A JSON error body."""
    return web.json_response({"error": message, **extra}, status=status)


_DESK_ERROR_STATUS: Final[tuple[tuple[type[DeskError], int], ...]] = (
    (NotFound, 404),
    (PermissionDenied, 403),
    (AuthenticationFailed, 401),
    (Conflict, 409),
    (InvalidInput, 422),
)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a JSON error with the right status."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return json_error(error.status, error.reason, **_allowed(error))
    except InvalidInput as error:
        return json_error(422, error.message, errors=error.errors)
    except DeskError as error:
        status = next(code for kind, code in _DESK_ERROR_STATUS if isinstance(error, kind))
        return json_error(status, error.message)
    except ValidationError as error:
        errors = error_list(error)
        return json_error(422, "the request body does not fit: " + errors[0], errors=errors)
    except BadRequest as error:
        return json_error(400, str(error))
    except RasaUnavailable as error:
        LOGGER.warning("Rasa unavailable on %s %s: %s", request.method, request.path, error)
        return json_error(503, error.message)
    except Exception:
        LOGGER.exception("unexpected error on %s %s", request.method, request.path)
        return json_error(500, "internal error; it has been logged")


def _allowed(error: web.HTTPException) -> dict[str, Any]:
    if isinstance(error, web.HTTPMethodNotAllowed):
        return {"allowed_methods": sorted(error.allowed_methods)}
    return {}


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let a request through only with the credentials its route requires."""
    kind = auth_kind(request.match_info.route.handler)
    if request.match_info.http_exception is not None:
        kind = _PUBLIC  # 404 / 405: nothing to protect
    if kind == _BOT:
        if not _has_bearer(request, request.app[SETTINGS].handoff_secret):
            return web.json_response(
                {"error": "missing or wrong bearer token"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await handler(request)
    if request.method in _UNSAFE_METHODS and not same_origin(request):
        return json_error(403, "cross-site request refused")
    if kind == _PUBLIC:
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    actor = await _actor_of_session(request, token) if token else None
    if actor is None:
        if request.path.startswith("/api/"):
            return json_error(401, "log in first")
        raise web.HTTPFound(LOGIN_PAGE)
    request[ACTOR_KEY] = actor
    request[SESSION_TOKEN_KEY] = token
    return await handler(request)


async def _actor_of_session(request: web.Request, token: str) -> Actor | None:
    """The session's user; one read-only unit of work unless the session needs a write."""

    def read(session: Session) -> tuple[bool, Actor | None]:
        now = utcnow()  # one instant for both: then the second call cannot write
        if session_needs_write(session, token, now=now):
            return True, None
        return False, actor_for_token(session, token, now=now)

    needs_write, actor = await in_unit(request, read)
    if needs_write:
        actor = await in_unit(request, lambda s: actor_for_token(s, token), write=True)
    return actor


def _has_bearer(request: web.Request, secret: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets_equal(given.strip(), secret)


def same_origin(request: web.Request) -> bool:
    """Whether the request may come from a page of this site: no `Origin`, or this host's."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site request (curl, tests, same-origin GET forms)
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # "http://[": not an origin any browser sends
        return False
    return netloc.lower() == request.host.lower()
