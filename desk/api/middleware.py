"""Authentication, the security headers and error handling around every route.

Three kinds of route (see `public`, `bot_facing`; the default is a logged-in agent):
- public: /health, POST /api/login, POST /api/logout, and the pages of `desk.api.pages`
  marked `public`: /login, the customer web chat /chat, /chat/config, /chat/history and
  the static files /static/{name};
- bot-facing: `Authorization: Bearer $HANDOFF_SECRET`, compared in constant time;
- everything else needs a valid session cookie: 401 JSON under /api/, a redirect to /login
  for pages.
A header or cookie with bytes that are not UTF-8 (0xff) is just a wrong credential: 401.

Cross-site writes: a request that changes something (and the console's websocket) is refused
(403) when a browser says it comes from another origin, on top of the SameSite=Strict cookie:
an `Origin` (or, without one, a `Referer`) whose scheme, host or port is not the desk's,
`Origin: null`, or `Sec-Fetch-Site: cross-site`/`same-site`. The desk's origin is
DESK_PUBLIC_URL when set (behind TLS termination), otherwise the request's scheme (a trusted
proxy's X-Forwarded-Proto) and Host. A request with neither Origin nor Referer is let
through: every browser sends Origin with a POST and a websocket upgrade, so it comes from a
program (curl, the tests), which cannot borrow a browser's cookie.

Every answer carries nosniff, a Referrer-Policy, framing forbidden (X-Frame-Options and CSP
frame-ancestors), and JSON answers `Cache-Control: no-store` and a CSP that allows nothing;
headers a route set itself (the pages' own CSP) are kept.

A failed call to Rasa the request depended on (an agent's message) is a 503 naming the cause.
Every error becomes a JSON body `{"error": str, "errors"?: [...]}`; nothing escapes as a bare
500 page, and an unexpected exception is logged and answered with a generic 500.
"""

from __future__ import annotations

import ipaddress
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
from desk.services.login_throttle import TooManyAttempts
from desk.store.types import utcnow

LOGGER = logging.getLogger(__name__)

SESSION_COOKIE: Final = "desk_session"
LOGIN_PAGE: Final = "/login"
_AUTH_ATTRIBUTE: Final = "desk_auth"
_PUBLIC: Final = "public"
_BOT: Final = "bot"
_SESSION: Final = "session"
_UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: What `Sec-Fetch-Site` says of a request another site's page made.
_FOREIGN_FETCH_SITES: Final = frozenset({"cross-site", "same-site"})
#: On every answer, unless the route set its own.
SECURITY_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
#: The CSP of an answer that is not a page: nothing may load from it, nothing may frame it.
NOTHING_POLICY: Final = "default-src 'none'; frame-ancestors 'none'"
FRAME_POLICY: Final = "frame-ancestors 'none'"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: (scheme, host, port) of a web origin, the port explicit.
Origin = tuple[str, str, int]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
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
    (TooManyAttempts, 429),
)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a JSON error with the right status; put the security headers
    on every answer (a redirect's too)."""
    try:
        response = await _answer(request, handler)
    except web.HTTPException as redirect:  # below 400: aiohttp answers with it as it is
        protect(redirect)
        raise
    protect(response)
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return json_error(error.status, error.reason, **_allowed(error))
    except InvalidInput as error:
        return json_error(422, error.message, errors=error.errors)
    except TooManyAttempts as error:
        response = json_error(429, error.message)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
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


def protect(response: web.StreamResponse) -> None:
    """Add the security headers the response does not set itself (see the module doc); a
    policy of its own that allows framing gets `frame-ancestors 'none'` added.

    A response already sent (a websocket's, once it ends) is left alone.
    """
    if response.prepared:
        return
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if response.content_type == "application/json":
        headers.setdefault("Content-Security-Policy", NOTHING_POLICY)
        headers.setdefault("Cache-Control", "no-store")
    policy = headers.setdefault("Content-Security-Policy", FRAME_POLICY)
    if "frame-ancestors" not in policy:  # a route's own policy (a document's sandbox)
        headers["Content-Security-Policy"] = f"{policy}; {FRAME_POLICY}"


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
    """Whether a browser says the request comes from a page of the desk's own origin (see the
    module doc); a request that names no origin at all is not a browser's, and passes."""
    if request.headers.get("Sec-Fetch-Site", "").lower() in _FOREIGN_FETCH_SITES:
        return False
    claimed = request.headers.get("Origin")
    if claimed is None:
        claimed = request.headers.get("Referer")
        if claimed is None:
            return True
    origin = _origin_of(claimed)
    return origin is not None and origin == site_origin(request)


def site_origin(request: web.Request) -> Origin | None:
    """The desk's origin as the browser sees it: DESK_PUBLIC_URL when set, otherwise this
    request's scheme (a trusted proxy's X-Forwarded-Proto) and Host; None for a Host that is
    not one."""
    public_url = request.app[SETTINGS].public_url
    if public_url:
        return _origin_of(public_url)
    scheme = request.scheme
    if _from_trusted_proxy(request):
        forwarded = request.headers.getall("X-Forwarded-Proto", [])
        if forwarded and forwarded[-1].strip().lower() in _DEFAULT_PORTS:
            scheme = forwarded[-1].strip().lower()
    return _origin_of(f"{scheme}://{request.host}")


def over_https(request: web.Request) -> bool:
    """Whether the browser reaches the desk over https (so its cookie may say Secure)."""
    origin = site_origin(request)
    return request.secure or (origin is not None and origin[0] == "https")


def _origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, the port made explicit; None for anything else
    ("null", a scheme other than http(s), a URL that does not parse)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # "http://[", a port that is not a number
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def client_address(request: web.Request) -> str:
    """The address of the client: the peer, or, behind a trusted proxy (DESK_TRUSTED_PROXIES),
    the address the proxies say they received the request from.

    X-Forwarded-For is read from the right (what the nearest proxy appended): the first
    address that is not a trusted proxy is the client; what lies left of it was written by the
    client and is not believed. Behind no trusted proxy the header is ignored.
    """
    peer = request.remote or "unknown"
    if not _from_trusted_proxy(request):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
    ]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return peer  # a proxy wrote nothing like this: believe none of it
        if not _is_trusted(request, address):
            return str(address)
    return str(_ip(hops[0])) if hops else peer


def _from_trusted_proxy(request: web.Request) -> bool:
    peer = _ip(request.remote or "")
    return peer is not None and _is_trusted(request, peer)


def _is_trusted(request: web.Request, address: IPAddress) -> bool:
    return any(address in network for network in request.app[SETTINGS].trusted_proxy_networks)


def _ip(text: str) -> IPAddress | None:
    """The address, an IPv4 one mapped into IPv6 (a dual-stack socket's peer) as IPv4."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
