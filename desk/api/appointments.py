"""Routes of branch appointments (`contract.appointments`).

The bot (Bearer HANDOFF_SECRET): the branches, a branch's free slots, and booking, moving
(PUT) or cancelling (DELETE) an application's appointment for the customer in the web chat.
Desk users who work cases (`case_access.ensure_case_worker`; anyone else gets a 404): the
same branches and slots under /api/case-branches, and booking for the customer under
/api/cases/{reference}/appointment. Each change calls its workflow
(`desk.workflows.appointments`) and answers with the application's record.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from aiohttp import web
from sqlalchemy.orm import Session

from contract.applications import ActorKind, Touchpoint
from contract.appointments import (
    BRANCHES_PATH,
    BookAppointment,
    SlotList,
    application_appointment_path,
    branch_slots_path,
    case_appointment_path,
)
from desk.api.middleware import bot_facing
from desk.api.runtime import DESK, actor_of, in_unit, parse, respond
from desk.services import applications, appointments
from desk.services.applications import ApplicationNotFoundError
from desk.services.appointments import Booker
from desk.services.case_access import ensure_case_worker
from desk.services.errors import InvalidInput
from desk.store.types import utcnow
from desk.workflows.appointments import (
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)

CASE_BRANCHES_PATH: Final = "/api/case-branches"
DEFAULT_SLOT_DAYS: Final = 14
DEFAULT_SLOT_LIMIT: Final = 6
#: The customer in the web chat, through the bot.
CUSTOMER_IN_CHAT: Final = Booker(touchpoint=Touchpoint.WEB_CHAT, actor_kind=ActorKind.CUSTOMER)
#: The longest part of a path or query echoed back in an error.
_ECHOED_CHARS: Final = 64
_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_WHOLE_NUMBER: Final = re.compile(r"\d{1,4}", re.ASCII)


def reference_of(request: web.Request) -> str:
    """The `{reference}` of the path, canonical; a 404 when it cannot be one."""
    typed = request.match_info["reference"]
    reference = applications.normalize_reference(typed)
    if reference is None:
        raise ApplicationNotFoundError(f"no mortgage application {typed[:_ECHOED_CHARS]}")
    return reference


@bot_facing
async def get_branches(_request: web.Request) -> web.Response:
    """Every branch where customers sign."""
    return respond(appointments.branch_list())


@bot_facing
async def get_branch_slots(request: web.Request) -> web.Response:
    """The branch's free slots: `?from=YYYY-MM-DD&days=N&limit=N`."""
    return respond(await _slot_list(request))


@bot_facing
async def post_appointment(request: web.Request) -> web.Response:
    """Book the customer's appointment: 201 with the application's record."""
    reference = reference_of(request)
    booking = await parse(request, BookAppointment)
    record = await book_appointment(request.app[DESK], reference, booking, CUSTOMER_IN_CHAT)
    return respond(record, status=201)


@bot_facing
async def put_appointment(request: web.Request) -> web.Response:
    """Move the customer's appointment to another slot: 200 with the record."""
    reference = reference_of(request)
    booking = await parse(request, BookAppointment)
    record = await reschedule_appointment(request.app[DESK], reference, booking, CUSTOMER_IN_CHAT)
    return respond(record)


@bot_facing
async def delete_appointment(request: web.Request) -> web.Response:
    """Cancel the customer's appointment: 200 with the record (ready to sign again)."""
    reference = reference_of(request)
    return respond(await cancel_appointment(request.app[DESK], reference, CUSTOMER_IN_CHAT))


async def get_case_branches(request: web.Request) -> web.Response:
    """The branches, for a desk user who works cases."""
    ensure_case_worker(actor_of(request))
    return respond(appointments.branch_list())


async def get_case_branch_slots(request: web.Request) -> web.Response:
    """A branch's free slots, for a desk user who works cases (same query as the bot's)."""
    ensure_case_worker(actor_of(request))
    return respond(await _slot_list(request))


async def post_case_appointment(request: web.Request) -> web.Response:
    """Book the appointment for the customer, as the desk user: 201 with the record."""
    actor = actor_of(request)
    ensure_case_worker(actor)
    reference = reference_of(request)
    booking = await parse(request, BookAppointment)
    by = Booker(touchpoint=Touchpoint.DESK, actor_kind=ActorKind.AGENT, actor=actor.display_name)
    return respond(await book_appointment(request.app[DESK], reference, booking, by), status=201)


async def _slot_list(request: web.Request) -> SlotList:
    branch = appointments.branch_of(request.match_info["branch"])
    now = utcnow()
    from_day = _query_day(request, "from") or appointments.today_at(branch, now)
    days = _query_count(request, "days", DEFAULT_SLOT_DAYS)
    limit = _query_count(request, "limit", DEFAULT_SLOT_LIMIT)

    def read(session: Session) -> SlotList:
        slots = appointments.free_slots(
            session, branch.key, from_day=from_day, days=days, limit=limit, now=now
        )
        return SlotList(branch=appointments.branch_out(branch), slots=tuple(slots))

    return await in_unit(request, read)


def _query_day(request: web.Request, name: str) -> date | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            [f"{name}: must be a date as YYYY-MM-DD, not {text[:_ECHOED_CHARS]!r}"]
        ) from None


def _query_count(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(text):
        raise InvalidInput([f"{name}: must be a whole number, not {text[:_ECHOED_CHARS]!r}"])
    return int(text)


def add_routes(app: web.Application) -> None:
    """Register the appointment routes."""
    app.router.add_get(BRANCHES_PATH, get_branches)
    app.router.add_get(branch_slots_path("{branch}"), get_branch_slots)
    appointment = application_appointment_path("{reference}")
    app.router.add_post(appointment, post_appointment)
    app.router.add_put(appointment, put_appointment)
    app.router.add_delete(appointment, delete_appointment)
    app.router.add_get(CASE_BRANCHES_PATH, get_case_branches)
    app.router.add_get(f"{CASE_BRANCHES_PATH}/{{branch}}/slots", get_case_branch_slots)
    app.router.add_post(case_appointment_path("{reference}"), post_case_appointment)
