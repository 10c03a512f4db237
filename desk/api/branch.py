"""Routes of the branch's desk (session cookie; branch staff only, see `desk.services.branch_desk`).

- `GET /api/branch/appointments?date=YYYY-MM-DD`: `BranchDayOut`, the staff member's branch's
  appointments that day (default: today in the branch's time zone); 422 for a malformed date;
- `GET /api/branch/cases/{reference}`: `BranchCaseOut`, the whole record, the documents (with
  links to their files) and the identity check; 404 unless the case has an appointment at the
  staff member's branch;
- `POST /api/branch/appointments/{id}/identity-check`, body `IdentityCheck`;
- `POST /api/branch/appointments/{id}/signing` (no body): the application becomes `signed`;
- `POST /api/branch/appointments/{id}/missed` (no body): back to `ready_to_sign`.
The steps answer with the application's `ApplicationRecord`: 404 for an appointment of another
branch (or none), 409 when the step is not allowed yet (named). Anyone but branch staff gets a
403 on every route.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from aiohttp import web

from contract.appointments import BRANCH_PATH, IdentityCheck
from desk.api.branch_schemas import BranchCaseOut, BranchDayOut
from desk.api.runtime import DESK, actor_of, in_unit, parse, respond
from desk.services import applications, branch_desk
from desk.services.applications import ApplicationNotFoundError
from desk.services.errors import InvalidInput, NotFound
from desk.workflows import branch_desk as branch_steps

_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
#: An appointment id: a positive integer a database column can hold.
_APPOINTMENT_ID: Final = re.compile(r"^[1-9][0-9]{0,17}$", re.ASCII)
#: The longest part of a request echoed back in an error.
_ECHOED_CHARS: Final = 64


def _day_of(request: web.Request) -> date | None:
    """The `date` query parameter; None when not given; 422 when it is not a date."""
    if "date" not in request.query:
        return None
    typed = request.query["date"]
    try:
        if _DATE.match(typed):
            return date.fromisoformat(typed)
    except ValueError:
        pass
    raise InvalidInput([f"/date: {typed[:_ECHOED_CHARS]!r} is not a date (YYYY-MM-DD)"])


def _appointment_id_of(request: web.Request) -> int:
    """The `{appointment_id}` of the path; a 404 when it cannot be one."""
    typed = request.match_info["appointment_id"]
    if not _APPOINTMENT_ID.match(typed):
        raise NotFound(f"no appointment {typed[:_ECHOED_CHARS]} at your branch")
    return int(typed)


def _reference_of(request: web.Request) -> str:
    """The `{reference}` of the path, canonical; a 404 when it cannot be one."""
    typed = request.match_info["reference"]
    reference = applications.normalize_reference(typed)
    if reference is None:
        raise ApplicationNotFoundError(f"no mortgage application {typed[:_ECHOED_CHARS]}")
    return reference


async def get_appointments(request: web.Request) -> web.Response:
    """The branch's appointments of the day (today at the branch unless `date` is given)."""
    actor = actor_of(request)
    branch = branch_desk.branch_of(actor)
    day = _day_of(request) or branch_desk.branch_today(actor)
    entries = await in_unit(request, lambda s: branch_desk.appointments_on(s, actor, day))
    return respond(BranchDayOut.of(branch, day, entries))


async def get_case(request: web.Request) -> web.Response:
    """The case with its timeline and documents, if it has an appointment at the branch."""
    actor = actor_of(request)
    branch_desk.branch_of(actor)
    reference = _reference_of(request)
    case = await in_unit(request, lambda s: branch_desk.case_for_branch(s, actor, reference))
    return respond(BranchCaseOut.of(case))


async def post_identity_check(request: web.Request) -> web.Response:
    """Record what the customer showed and whether it matched the record."""
    actor = actor_of(request)
    branch_desk.branch_of(actor)
    appointment_id = _appointment_id_of(request)
    check = await parse(request, IdentityCheck)
    record = await branch_steps.check_identity(request.app[DESK], actor, appointment_id, check)
    return respond(record)


async def post_signing(request: web.Request) -> web.Response:
    """Record the signing: the application becomes signed."""
    actor = actor_of(request)
    branch_desk.branch_of(actor)
    appointment_id = _appointment_id_of(request)
    return respond(await branch_steps.record_signing(request.app[DESK], actor, appointment_id))


async def post_missed(request: web.Request) -> web.Response:
    """Record that the customer did not come (only once the appointment has started)."""
    actor = actor_of(request)
    branch_desk.branch_of(actor)
    appointment_id = _appointment_id_of(request)
    return respond(await branch_steps.record_missed(request.app[DESK], actor, appointment_id))


def add_routes(app: web.Application) -> None:
    """Register the branch's routes."""
    appointment = f"{BRANCH_PATH}/appointments/{{appointment_id}}"
    app.router.add_get(f"{BRANCH_PATH}/appointments", get_appointments)
    app.router.add_get(f"{BRANCH_PATH}/cases/{{reference}}", get_case)
    app.router.add_post(f"{appointment}/identity-check", post_identity_check)
    app.router.add_post(f"{appointment}/signing", post_signing)
    app.router.add_post(f"{appointment}/missed", post_missed)
