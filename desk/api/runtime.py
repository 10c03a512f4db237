"""What the routes share: the app's keys, units of work off the event loop, JSON in and out.

The store is synchronous SQLAlchemy; each unit of work runs in the app's thread pool so the
event loop never waits on the database. A unit of work is a function of the `Session`, run
inside `Database.session()`: it calls the services and turns their results into response
models before the session closes.

Every JSON body is decoded here (`decode_json`), once for every route, and refused unless it
can be stored and served again as it came:
- unreadable (a broken `Content-Encoding`), not UTF-8, not JSON (`NaN` and `Infinity`
  included: PostgreSQL's JSON refuses them too), or nested deeper than MAX_JSON_DEPTH: 400
  (`BadRequest`);
- a string (value or name) holding a lone UTF-16 surrogate (`"\\ud800"`: it has no UTF-8
  encoding, so the database driver fails) or a NUL character (PostgreSQL text refuses it):
  422 (`InvalidInput`), naming each place by JSON Pointer.
A route that takes a request model (`parse`) also needs a JSON object: 422 otherwise.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.orm import Session

from desk.analytics_host import AnalyticsHost
from desk.background import BackgroundTasks, Periodic
from desk.bot_sync import BotSync
from desk.bus import InProcessBus
from desk.console_hub import LiveHub
from desk.customer_link import CustomerLink
from desk.presence import Presence
from desk.rasa_client import RasaClient
from desk.services.agents import Actor
from desk.services.errors import InvalidInput, NotFound
from desk.settings import DeskSettings
from desk.shared_state import SharedState
from desk.store.database import Database, UnitRunner
from desk.waiting_room import WaitingRoom
from desk.workflows.context import Desk

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

SETTINGS: Final = web.AppKey("settings", DeskSettings)
DATABASE: Final = web.AppKey("database", Database)
EXECUTOR: Final = web.AppKey("executor", ThreadPoolExecutor)
UNITS: Final = web.AppKey("units", UnitRunner)
WAITING_ROOM: Final = web.AppKey("waiting_room", WaitingRoom)
RASA: Final = web.AppKey("rasa", RasaClient)
LIVE: Final = web.AppKey("live", LiveHub)
CUSTOMER: Final = web.AppKey("customer", CustomerLink)
BOT_SYNC: Final = web.AppKey("bot_sync", BotSync)
BUS: Final = web.AppKey("bus", InProcessBus)
#: What the desk processes share (the bus above, the told places, the presence below).
SHARED: Final = web.AppKey("shared", SharedState)
#: Who has a console open, on any desk process.
PRESENCE: Final = web.AppKey("presence", Presence)
TASKS: Final = web.AppKey("tasks", BackgroundTasks)
#: Expires the applications nobody touched for DESK_APPLICATION_IDLE_DAYS, every hour.
APPLICATION_EXPIRY: Final = web.AppKey("application_expiry", Periodic)
ANALYTICS: Final = web.AppKey("analytics", AnalyticsHost)
#: What the workflows work with (`desk.workflows`).
DESK: Final = web.AppKey("desk", Desk)

ACTOR_KEY: Final = "desk.actor"
SESSION_TOKEN_KEY: Final = "desk.session_token"
_HANDOFF_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

#: How deep a JSON body may nest (objects and arrays). A handoff context nests 5 levels (the
#: golden example) and the slot values in it or in a resolve add a few; everything that
#: walks a body after us (the decoder, pydantic, the JSON encoder of the screen pop) recurses,
#: and Python's recursion limit (1,000 frames) must stay far away.
MAX_JSON_DEPTH: Final = 32
#: A body full of bad strings is answered with this many of them (and how many more).
MAX_REPORTED_PROBLEMS: Final = 20
#: A UTF-16 surrogate code point in a decoded string: JSON escapes a character beyond U+FFFF as
#: a pair, which decodes to one code point, so only a lone half is left as a surrogate. It has
#: no UTF-8 encoding, so the database driver fails on it.
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
#: The JSON escapes that can put a NUL or a surrogate in a string. A body without any (almost
#: every one) skips the check of its strings: a raw NUL is not JSON, a raw surrogate not UTF-8.
_UNSTORABLE_ESCAPE: Final = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_TOO_DEEP: Final = f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"


class BadRequest(Exception):
    """The body is not what any route accepts (not JSON, or nested too deeply): 400."""


async def in_unit(request: web.Request, work: Callable[[Session], T], *, write: bool = False) -> T:
    """Run `work` in one unit of work, in the app's thread pool."""
    return await request.app[UNITS](work, write=write)


async def read_body(request: web.Request) -> bytes:
    """The request body; aiohttp answers 413 beyond the app's `client_max_size` (counted
    after a `Content-Encoding` is undone); `BadRequest` when the body cannot be read (a gzip
    that is not one, a chunk cut short)."""
    try:
        return await request.read()
    except web.RequestPayloadError as error:
        detail = str(error).strip().splitlines()[-1].strip()  # aiohttp's: "400, message:\n ..."
        raise BadRequest(f"the body cannot be read: {detail}") from None


async def read_json(request: web.Request) -> Any:
    """The decoded JSON body; `BadRequest` when it is not JSON."""
    return decode_json(await read_body(request))


def decode_json(body: bytes) -> Any:
    """Decode a JSON body (UTF-8) that can be stored as it is (see the module doc).

    Raises:
        BadRequest: Not UTF-8, not JSON, or nested deeper than MAX_JSON_DEPTH.
        InvalidInput: A string holds a lone surrogate or a NUL; `errors` name each place.
    """
    try:
        text = body.decode("utf-8")
        decoded = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except UnicodeDecodeError as error:
        raise BadRequest(f"body is not UTF-8: {error}") from None
    except RecursionError:
        raise BadRequest(_TOO_DEEP) from None
    except ValueError as error:  # JSONDecodeError, NaN, 1e999, an int of over 4,300 digits
        raise BadRequest(f"body is not JSON: {error}") from None
    problems = _unstorable(decoded, check_strings=_UNSTORABLE_ESCAPE.search(text) is not None)
    if problems:
        raise InvalidInput(problems)
    return decoded


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"{literal[:20]} is too large for a JSON number")
    return value


def _unstorable(decoded: Any, *, check_strings: bool) -> list[str]:
    """The strings of `decoded` that cannot be stored, as "<JSON Pointer>: <why>" lines.

    `BadRequest` when it nests deeper than MAX_JSON_DEPTH. Iterative, so the check cannot
    exhaust the stack itself; only containers go on the stack, so a body of a million numbers
    costs one pass over them.
    """
    if isinstance(decoded, str):
        return _string_problems(decoded, "(root)", "the value") if check_strings else []
    problems: list[str] = []
    stack: list[tuple[Any, str, int]] = [(decoded, "", 1)] if _is_container(decoded) else []
    while stack:
        container, pointer, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadRequest(_TOO_DEEP)
        children = container.items() if isinstance(container, dict) else enumerate(container)
        for key, child in children:
            if check_strings and isinstance(key, str):
                problems += _string_problems(key, _pointer(pointer, key), "the name")
            if check_strings and isinstance(child, str):
                problems += _string_problems(child, _pointer(pointer, key), "the value")
            elif _is_container(child):
                stack.append((child, _pointer(pointer, key), depth + 1))
    problems.sort()
    if len(problems) > MAX_REPORTED_PROBLEMS:
        more = len(problems) - MAX_REPORTED_PROBLEMS
        problems[MAX_REPORTED_PROBLEMS:] = [f"... and {more} more"]
    return problems


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


def _string_problems(text: str, pointer: str, what: str) -> list[str]:
    problems = []
    if "\x00" in text:
        problems.append(f"{pointer}: {what} holds a NUL character (\\u0000), which is not stored")
    if _SURROGATE.search(text):
        problems.append(f"{pointer}: {what} holds a lone UTF-16 surrogate, which is not text")
    return problems


def _pointer(parent: str, key: str | int) -> str:
    """A JSON Pointer (RFC 6901), made printable for an error message."""
    token = str(key).replace("~", "~0").replace("/", "~1")
    return parent + "/" + token.encode("utf-8", "backslashreplace").decode("utf-8")


async def parse(request: web.Request, model: type[M]) -> M:
    """The body as `model`: a JSON object; a 422 when it is not one or does not fit the model.

    pydantic alone would turn some arrays into objects (`[["rating", 5]]`), so anything but an
    object is refused first.
    """
    payload = await read_json(request)
    if not isinstance(payload, dict):
        raise InvalidInput([f"(root): must be a JSON object, not {_json_type(payload)}"])
    return model.parse_obj(payload)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


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
