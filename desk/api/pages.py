"""The desk's pages: the customer web chat, the agent console and its login, their static files.

Public (the `public` marker, so the session middleware lets anyone through):
- `GET /chat`: the customer web chat page (desk/web/chat.html);
- `GET /chat/config`: `{"rasa_url": RASA_URL}`, where the page opens its socket.io connection;
- `POST /chat/sessions`: a new web chat, `{session_id, token, expires_at}`: the desk makes the
  id (32 random hex) and signs it (`contract.webchat.transcript_token`, valid for a day). Only
  an id the desk made itself is ever signed, so an id read in a log cannot be given a token;
- `GET /chat/history` with the chat's token in the `X-Chat-Token` header (never in the URL,
  which access logs keep): the customer-visible turns of that conversation, read from Rasa's
  tracker (`desk.services.transcripts.visible_turns`: customer, bot and agent turns; no
  intents, slots or actions), and the open handoff's state, so a reloaded page shows where the
  customer is. No token, or one that is forged, expired or malformed: 401, and the page starts
  a new chat;
- `GET /static/{name}`: the files of desk/web (flat, an allow-list of suffixes): the pages'
  native ES modules (`<script type="module">`, each importing its neighbours as `./name.js`, so
  they must stay flat and be served as JavaScript) and their style sheets;
- `GET /login`: the agent login page.

Session (the middleware's default: a logged-in agent, else a redirect to /login):
- `GET /console`: the agent console page (branch staff are sent to /branch: they serve no
  queue);
- `GET /branch`: the branch staff's page, the day's signing appointments and each case (anyone
  else is sent to /console);
- `GET /supervisor`: the supervisors' dashboard (desk.api.analytics has its data; agents are
  sent to /console, branch staff to /branch); `GET /supervisor/planning` likewise, their
  planning views (journey map, service blueprint, FMEA);
- `GET /api/console-config`: the known queues (for transfer) and dispositions (not for branch
  staff: 403, they serve no queue).

Every page gets a Content-Security-Policy without inline script: all behaviour is in the
static files; the chat page may also connect to the Rasa server (its socket.io long-polling).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.orm import Session

from contract.customer_status import CustomerStatus
from contract.webchat import (
    TRANSCRIPT_TOKEN_HEADER,
    TranscriptTokenRefused,
    new_chat,
    transcript_key,
    transcript_session,
)
from desk.api.middleware import public
from desk.api.runtime import CUSTOMER, RASA, SETTINGS, actor_of, in_unit
from desk.api.schemas import AgentOut
from desk.customer_link import CustomerLink
from desk.services.case_access import is_branch_staff
from desk.services.errors import AuthenticationFailed, PermissionDenied
from desk.services.queues import QUEUES, team_name
from desk.services.transcripts import visible_turns
from desk.store.models import DISPOSITIONS, HandoffStatus
from desk.store.repositories import HandoffRepository

WEB_DIR: Final = Path(__file__).resolve().parent.parent / "web"
CONSOLE_PAGE: Final = "/console"
BRANCH_PAGE: Final = "/branch"
SUPERVISOR_PAGE: Final = "/supervisor"
PLANNING_PAGE: Final = "/supervisor/planning"

#: A web chat session id as the desk makes it (`new_chat`): 16 random bytes in lowercase hex.
SESSION_ID: Final = re.compile(r"^[0-9a-f]{32}$")
#: Static files served from WEB_DIR: a flat name with one of these suffixes.
STATIC_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CONTENT_TYPES: Final[dict[str, str]] = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def security_headers(connect_src: str = "'self'") -> dict[str, str]:
    """A page's headers: its Content-Security-Policy (scripts only from the desk) and no caching."""
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect_src}; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-cache",
    }


def _page(name: str, connect_src: str = "'self'") -> web.FileResponse:
    return web.FileResponse(WEB_DIR / name, headers=security_headers(connect_src))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _websocket_origin(url: str) -> str:
    """The ws:// (wss:// for https) origin of `url`: the web chat's websocket goes there."""
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


# --- The customer's web chat -------------------------------------------------------------------


@public
async def chat_page(request: web.Request) -> web.FileResponse:
    """The customer web chat; it may connect to the Rasa server's socket.io endpoint, over
    long-polling and over websocket."""
    rasa_url = request.app[SETTINGS].rasa_url
    return _page(
        "chat.html", connect_src=f"'self' {_origin(rasa_url)} {_websocket_origin(rasa_url)}"
    )


@public
async def chat_config(request: web.Request) -> web.Response:
    """Where the page finds the Rasa server."""
    return web.json_response(
        {"rasa_url": request.app[SETTINGS].rasa_url}, headers={"Cache-Control": "no-cache"}
    )


@public
async def post_new_chat(request: web.Request) -> web.Response:
    """A new web chat: its id, made here, and the token that opens it."""
    grant = new_chat(transcript_key(request.app[SETTINGS].handoff_secret))
    return web.json_response(grant.dict(), status=201, headers={"Cache-Control": "no-store"})


def chat_of_token(request: web.Request) -> str:
    """The chat the request's `X-Chat-Token` header opens; `AuthenticationFailed` (401, its
    message saying why, for the page to show) when it opens none."""
    token = request.headers.get(TRANSCRIPT_TOKEN_HEADER)
    try:
        if not token:
            raise TranscriptTokenRefused(f"the chat's token is missing ({TRANSCRIPT_TOKEN_HEADER})")
        key = transcript_key(request.app[SETTINGS].handoff_secret)
        return transcript_session(key, token, time.time())
    except TranscriptTokenRefused as refused:
        raise AuthenticationFailed(f"{refused}: start a new chat") from None


@public
async def chat_history(request: web.Request) -> web.Response:
    """The conversation's customer-visible turns and its open handoff (or null).

    The chat is the one its token (the `X-Chat-Token` header) opens; 401 without a token that
    opens one; 503 (the error middleware) if Rasa is down.
    """
    session_id = chat_of_token(request)
    tracker = await request.app[RASA].tracker(session_id)
    customer = request.app[CUSTOMER]
    handoff = await in_unit(request, lambda s: _open_handoff(s, session_id, customer))
    body = {"session_id": session_id, "turns": visible_turns(tracker), "handoff": handoff}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def _open_handoff(
    session: Session, sender_id: str, customer: CustomerLink
) -> dict[str, Any] | None:
    handoffs = HandoffRepository(session)
    handoff = handoffs.open_for_sender(sender_id)
    if handoff is None:
        return None
    if handoff.status == HandoffStatus.QUEUED:
        return {
            "status": CustomerStatus.WAITING.value,
            **customer.waiting_details(handoff.queue, handoffs.position(handoff)),
        }
    agent = handoff.agent
    return {
        "status": CustomerStatus.AGENT_JOINED.value,
        "queue": handoff.queue,
        "team_name": team_name(handoff.queue),
        "agent_name": agent.display_name if agent is not None else None,
    }


# --- The agent console ---------------------------------------------------------------------------


@public
async def login_page(_request: web.Request) -> web.FileResponse:
    """The agent login form (it posts to /api/login)."""
    return _page("login.html")


async def console_page(request: web.Request) -> web.FileResponse:
    """The agent console (a session is required: the middleware redirects to /login); branch
    staff are sent to their own page."""
    if is_branch_staff(actor_of(request)):
        raise web.HTTPFound(BRANCH_PAGE)
    return _page("console.html")


async def branch_page(request: web.Request) -> web.FileResponse:
    """The branch staff's page; everyone else is sent to the console."""
    if not is_branch_staff(actor_of(request)):
        raise web.HTTPFound(CONSOLE_PAGE)
    return _page("branch.html")


async def supervisor_page(request: web.Request) -> web.FileResponse:
    """The supervisors' dashboard; branch staff are sent to their page, agents to the console."""
    return _supervisors_page(request, "supervisor.html")


async def planning_page(request: web.Request) -> web.FileResponse:
    """The supervisors' planning views (journey map, service blueprint, FMEA); as the
    dashboard, for supervisors only."""
    return _supervisors_page(request, "planning.html")


def _supervisors_page(request: web.Request, name: str) -> web.FileResponse:
    actor = actor_of(request)
    if is_branch_staff(actor):
        raise web.HTTPFound(BRANCH_PAGE)
    if not actor.is_supervisor:
        raise web.HTTPFound(CONSOLE_PAGE)
    return _page(name)


async def console_config(request: web.Request) -> web.Response:
    """Who is logged in, every known queue (transfer targets) and the dispositions; branch staff
    get a 403 (they use the branch page)."""
    if is_branch_staff(actor_of(request)):
        raise PermissionDenied("branch staff use the branch page, not the console")
    return web.json_response(
        {
            "agent": AgentOut.of(actor_of(request)).dict(),
            "queues": [{"name": name, "team_name": team} for name, team in QUEUES.items()],
            "dispositions": list(DISPOSITIONS),
        }
    )


# --- Static files ------------------------------------------------------------------------------


@public
async def static_file(request: web.Request) -> web.FileResponse:
    """A file of desk/web by its flat name; 404 for anything else."""
    name = request.match_info["name"]
    suffix = Path(name).suffix.lower()
    if not STATIC_NAME.match(name) or ".." in name or suffix not in CONTENT_TYPES:
        raise web.HTTPNotFound()
    path = WEB_DIR / name
    if not path.is_file():
        raise web.HTTPNotFound()
    headers = {
        "Content-Type": CONTENT_TYPES[suffix],
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
    return web.FileResponse(path, headers=headers)


def add_routes(app: web.Application) -> None:
    """Register the pages, their JSON helpers and the static files."""
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/config", chat_config)
    app.router.add_post("/chat/sessions", post_new_chat)
    app.router.add_get("/chat/history", chat_history)
    app.router.add_get("/login", login_page)
    app.router.add_get(CONSOLE_PAGE, console_page)
    app.router.add_get(BRANCH_PAGE, branch_page)
    app.router.add_get(SUPERVISOR_PAGE, supervisor_page)
    app.router.add_get(PLANNING_PAGE, planning_page)
    app.router.add_get("/api/console-config", console_config)
    app.router.add_get("/static/{name}", static_file)
