"""What the routes share: the app's keys, units of work off the event loop, JSON in and out.

The store is synchronous SQLAlchemy; each unit of work runs in the app's thread pool so the
event loop never waits on the database. A unit of work is a function of the `Session`, run
inside `Database.session()`: it calls the services and turns their results into response
models before the session closes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.orm import Session

from desk.live import CustomerLink, LiveHub
from desk.rasa_client import RasaClient
from desk.services.agents import Actor
from desk.services.conversations import SeenMessages
from desk.services.errors import NotFound
from desk.services.handoffs import HandBack
from desk.settings import DeskSettings
from desk.store.database import Database, UnitRunner
from desk.waiting_room import WaitingRoom

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

SETTINGS: Final = web.AppKey("settings", DeskSettings)
DATABASE: Final = web.AppKey("database", Database)
EXECUTOR: Final = web.AppKey("executor", ThreadPoolExecutor)
UNITS: Final = web.AppKey("units", UnitRunner)
WAITING_ROOM: Final = web.AppKey("waiting_room", WaitingRoom)
SEEN_MESSAGES: Final = web.AppKey("seen_messages", SeenMessages)
HAND_BACK: Final = web.AppKey("hand_back", HandBack)
RASA: Final = web.AppKey("rasa", RasaClient)
LIVE: Final = web.AppKey("live", LiveHub)
CUSTOMER: Final = web.AppKey("customer", CustomerLink)

ACTOR_KEY: Final = "desk.actor"
SESSION_TOKEN_KEY: Final = "desk.session_token"
_HANDOFF_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class BadRequest(Exception):
    """The body is not what any route accepts (not JSON at all): 400."""


async def in_unit(request: web.Request, work: Callable[[Session], T], *, write: bool = False) -> T:
    """Run `work` in one unit of work, in the app's thread pool."""
    return await request.app[UNITS](work, write=write)


async def read_body(request: web.Request) -> bytes:
    """The request body; aiohttp answers 413 beyond the app's `client_max_size`."""
    return await request.read()


async def read_json(request: web.Request) -> Any:
    """The decoded JSON body; `BadRequest` when it is not JSON."""
    return decode_json(await read_body(request))


def decode_json(body: bytes) -> Any:
    """Decode a JSON body (UTF-8); `BadRequest` when it is not JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise BadRequest(f"body is not UTF-8: {error}") from None
    except json.JSONDecodeError as error:
        raise BadRequest(f"body is not JSON: {error}") from None


async def parse(request: web.Request, model: type[M]) -> M:
    """The body as `model`; pydantic's ValidationError (a 422) when it does not fit."""
    return model.parse_obj(await read_json(request))


def respond(model: BaseModel, status: int = 200) -> web.Response:
    """A JSON response from a response model."""
    return web.Response(text=model.json(), status=status, content_type="application/json")


def actor_of(request: web.Request) -> Actor:
    """The logged-in user (set by the session middleware)."""
    actor: Actor = request[ACTOR_KEY]
    return actor


def handoff_id_of(request: web.Request) -> str:
    """The `{handoff_id}` of the path, normalised; NotFound when it cannot be one."""
    handoff_id = request.match_info["handoff_id"].lower()
    if not _HANDOFF_ID.match(handoff_id):
        raise NotFound(f"no handoff {request.match_info['handoff_id'][:64]}")
    return handoff_id
