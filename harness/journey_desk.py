"""The recording endpoint's stand-in for the desk's resuming and branch-appointment routes.

It answers as `contract.resume` and `contract.appointments` say, on the endpoint's own
in-memory applications database, so the bot's actions can be tested against real HTTP before
(and without) the desk: one-time codes (the last one sent is readable, as the desk's demo log
shows it), failures counted in a row with the lock after `MAX_FAILED_ATTEMPTS`, the branches
and their free slots from the designers' data, and booking, moving and cancelling with the
stage table's checks. It is a stand-in: simple where the desk must be careful (codes are kept
in memory as they are, not hashed), never looser in what it accepts.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.applications import ActorKind, ApplicationEventKind, ApplicationRecord, Touchpoint
from contract.appointments import (
    BRANCHES_PATH,
    AppointmentState,
    BookAppointment,
    Branch,
    BranchList,
    Slot,
    SlotList,
    application_appointment_path,
    branch_slots_path,
)
from contract.documents import RequestedBy
from contract.resume import (
    CODE_DIGITS,
    CODE_TTL_MINUTES,
    LOCKOUT_MINUTES,
    MAX_FAILED_ATTEMPTS,
    ResumeGranted,
    VerificationConfirm,
    VerificationRefused,
    VerificationStart,
    VerificationStarted,
    verification_confirm_path,
    verification_path,
)
from desk.services import applications
from desk.services.branches import Branch as BranchData
from desk.services.branches import branches
from desk.services.errors import Conflict
from desk.store.models import BranchAppointment, ChecklistRequirement, MortgageApplication
from desk.store.types import utcnow

T = TypeVar("T")
BodyT = TypeVar("BodyT", bound=BaseModel)
_Step = Callable[[Session, Any, MortgageApplication], ApplicationRecord]

DEFAULT_SLOT_DAYS = 14
DEFAULT_SLOT_LIMIT = 6


@dataclass
class _Verification:
    """One reference's resuming: the code sent, and the failures in a row."""

    code: str | None = None
    sender_id: str | None = None
    expires_at: datetime | None = None
    failures: int = 0
    locked_until: datetime | None = None


@dataclass
class JourneyDesk:
    """The routes, and what tests may read or arrange (see the module docstring)."""

    secret: str
    in_applications: Callable[[Callable[[Session], Any]], Any]
    now: Callable[[], datetime] = utcnow
    verifications: dict[str, _Verification] = field(default_factory=dict)
    #: Slots taken by "another customer" (`take_slot`): listed as not free, refused with 409.
    taken: set[tuple[str, datetime]] = field(default_factory=set)

    def add_routes(self, app: web.Application) -> None:
        """The bot-facing routes of `contract.resume` and `contract.appointments`."""
        app.router.add_post(verification_path("{reference}"), self._start)
        app.router.add_post(verification_confirm_path("{reference}"), self._confirm)
        app.router.add_get(BRANCHES_PATH, self._branches)
        app.router.add_get(branch_slots_path("{branch}"), self._slots)
        path = application_appointment_path("{reference}")
        app.router.add_post(path, self._book)
        app.router.add_put(path, self._reschedule)
        app.router.add_delete(path, self._cancel)

    # --- For tests ----------------------------------------------------------------------------

    def last_code(self, reference: str) -> str | None:
        """The code last sent for the reference (what the desk's demo log shows)."""
        verification = self.verifications.get(_canonical(reference))
        return None if verification is None else verification.code

    def take_slot(self, branch: str, starts_at: datetime) -> None:
        """Another customer books every desk of this slot."""
        self.taken.add((branch, starts_at.astimezone(timezone.utc)))

    def set_stage(self, reference: str, stage: str) -> None:
        """Put the application at a stage, as the desk's own steps would have."""

        def move(session: Session) -> None:
            applications.load(session, reference).stage = stage

        self.in_applications(move)

    def add_checklist(self, reference: str, *titles: str) -> None:
        """Ask for documents (by title), as an advisor would; the application collects them."""

        def request(session: Session) -> None:
            application = applications.load(session, reference)
            start = len(application.checklist)
            for position, title in enumerate(titles, start=start):
                application.checklist.append(
                    ChecklistRequirement(
                        key="_".join(title.lower().split()),
                        title=title,
                        ask=f"Please send your {title.lower()}.",
                        requested_by=RequestedBy.ADVISOR.value,
                        position=position,
                    )
                )
            _append(application, ApplicationEventKind.DOCUMENTS_REQUESTED, ActorKind.AGENT)

        self.in_applications(request)

    def mark_missed(self, reference: str) -> None:
        """The branch records the current appointment as missed."""

        def missed(session: Session) -> None:
            application = applications.load(session, reference)
            appointment = applications.current_appointment(application)
            assert appointment is not None, "no appointment to miss"
            appointment.state = AppointmentState.MISSED.value
            _append(application, ApplicationEventKind.APPOINTMENT_MISSED, ActorKind.BRANCH_STAFF)

        self.in_applications(missed)

    # --- Resuming -----------------------------------------------------------------------------

    async def _start(self, request: web.Request) -> web.Response:
        refused = _unauthorised(request, self.secret)
        if refused is not None:
            return refused
        start = await _parse(request, VerificationStart)
        if isinstance(start, web.Response):
            return start
        reference = _canonical(request.match_info["reference"])
        verification = self.verifications.setdefault(reference, _Verification())
        if self._locked(verification):
            return self._lock_answer(verification)
        email = self.in_applications(lambda s: _email_of(s, reference))
        if email is None or email.casefold() != start.email.strip().casefold():
            verification.code = None
            self._fail(verification)
            if self._locked(verification):
                return self._lock_answer(verification)
        else:
            verification.code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
            verification.sender_id = start.sender_id
            verification.expires_at = self.now() + timedelta(minutes=CODE_TTL_MINUTES)
        started = VerificationStarted(expires_in_seconds=CODE_TTL_MINUTES * 60)
        return _json(started, 202)

    async def _confirm(self, request: web.Request) -> web.Response:
        refused = _unauthorised(request, self.secret)
        if refused is not None:
            return refused
        confirm = await _parse(request, VerificationConfirm)
        if isinstance(confirm, web.Response):
            return confirm
        reference = _canonical(request.match_info["reference"])
        verification = self.verifications.setdefault(reference, _Verification())
        if self._locked(verification):
            return self._lock_answer(verification)
        if not self._code_matches(verification, confirm):
            self._fail(verification)
            if self._locked(verification):
                return self._lock_answer(verification)
            left = MAX_FAILED_ATTEMPTS - verification.failures
            answer = VerificationRefused(error="the code does not match", attempts_left=left)
            return _json(answer, 401)
        self.verifications[reference] = _Verification()
        record = self.in_applications(lambda s: _resume(s, reference, confirm.sender_id))
        return _json(ResumeGranted(application=record), 200)

    def _code_matches(self, verification: _Verification, confirm: VerificationConfirm) -> bool:
        return (
            verification.code is not None
            and verification.expires_at is not None
            and verification.expires_at > self.now()
            and verification.sender_id == confirm.sender_id
            and secrets.compare_digest(verification.code, confirm.code)
        )

    def _fail(self, verification: _Verification) -> None:
        # A wrong code leaves the code sent valid: the customer may have mistyped it.
        verification.failures += 1
        if verification.failures >= MAX_FAILED_ATTEMPTS:
            verification.code = None  # after the lock, a new code is needed
            verification.locked_until = self.now() + timedelta(minutes=LOCKOUT_MINUTES)

    def _locked(self, verification: _Verification) -> bool:
        if verification.locked_until is None:
            return False
        if verification.locked_until > self.now():
            return True
        verification.locked_until, verification.failures = None, 0
        return False

    def _lock_answer(self, verification: _Verification) -> web.Response:
        answer = VerificationRefused(
            error="resuming is locked", attempts_left=0, locked_until=verification.locked_until
        )
        return _json(answer, 423)

    # --- Branches and slots -------------------------------------------------------------------

    async def _branches(self, request: web.Request) -> web.Response:
        refused = _unauthorised(request, self.secret)
        if refused is not None:
            return refused
        return _json(BranchList(branches=tuple(_branch(b) for b in branches().values())), 200)

    async def _slots(self, request: web.Request) -> web.Response:
        refused = _unauthorised(request, self.secret)
        if refused is not None:
            return refused
        branch = branches().get(request.match_info["branch"])
        if branch is None:
            return web.json_response({"error": "no such branch"}, status=404)
        try:
            start = date.fromisoformat(request.query.get("from") or self.now().date().isoformat())
            days = int(request.query.get("days", DEFAULT_SLOT_DAYS))
            limit = int(request.query.get("limit", DEFAULT_SLOT_LIMIT))
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=422)
        booked = self.in_applications(lambda s: _booked_counts(s, branch.key))
        slots: list[Slot] = []
        for offset in range(days):
            for starts_at in branch.slots_on(start + timedelta(days=offset)):
                free = self._free_desks(branch, starts_at, booked)
                if starts_at > self.now() and free > 0 and len(slots) < limit:
                    slots.append(_slot(branch, starts_at, free))
        return _json(SlotList(branch=_branch(branch), slots=tuple(slots)), 200)

    def _free_desks(
        self, branch: BranchData, starts_at: datetime, booked: Mapping[datetime, int]
    ) -> int:
        if (branch.key, starts_at) in self.taken:
            return 0
        return branch.desks - booked.get(starts_at, 0)

    # --- Appointments -------------------------------------------------------------------------

    async def _book(self, request: web.Request) -> web.Response:
        return await self._appointment_call(request, self._booking(moving=False), 201)

    async def _reschedule(self, request: web.Request) -> web.Response:
        return await self._appointment_call(request, self._booking(moving=True), 200)

    async def _cancel(self, request: web.Request) -> web.Response:
        return await self._appointment_call(request, lambda _s, _b, a: _cancel(a), 200, body=False)

    def _booking(self, *, moving: bool) -> _Step:
        def book(
            session: Session, slot: BookAppointment, application: MortgageApplication
        ) -> ApplicationRecord:
            branch = branches().get(slot.branch)
            starts_at = slot.starts_at.astimezone(timezone.utc)
            if branch is None or starts_at not in branch.slots_on(
                starts_at.astimezone(branch.zone).date()
            ):
                raise ValueError("no such slot at that branch")
            if starts_at <= self.now() or (branch.key, starts_at) in self.taken:
                raise Conflict("that slot is no longer free")
            desks = _booked_desks(session, branch.key, starts_at)
            return _book(application, branch, starts_at, desks, moving=moving)

        return book

    async def _appointment_call(
        self,
        request: web.Request,
        step: _Step,
        status: int,
        *,
        body: bool = True,
    ) -> web.Response:
        refused = _unauthorised(request, self.secret)
        if refused is not None:
            return refused
        slot: BookAppointment | None = None
        if body:
            parsed = await _parse(request, BookAppointment)
            if isinstance(parsed, web.Response):
                return parsed
            slot = parsed
        reference = request.match_info["reference"]

        def work(session: Session) -> ApplicationRecord:
            application = applications.load(session, reference)
            with session.begin_nested():
                record = step(session, slot, application)
                session.flush()
            return record

        try:
            record = self.in_applications(work)
        except applications.ApplicationNotFoundError as error:
            return web.json_response({"error": error.message}, status=404)
        except Conflict as error:
            return web.json_response({"error": error.message}, status=409)
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=422)
        return web.Response(text=record.json(), status=status, content_type="application/json")


def _book(
    application: MortgageApplication,
    branch: BranchData,
    starts_at: datetime,
    taken: set[int],
    *,
    moving: bool,
) -> ApplicationRecord:
    current = applications.current_appointment(application)
    held = current is not None and current.state == AppointmentState.BOOKED.value
    if moving and not held:
        raise Conflict("there is no booked appointment to move")
    desk = next((d for d in range(1, branch.desks + 1) if d not in taken), None)
    if desk is None:
        raise Conflict("that slot is no longer free")
    kind = (
        ApplicationEventKind.APPOINTMENT_RESCHEDULED
        if moving
        else ApplicationEventKind.APPOINTMENT_BOOKED
    )
    _append(application, kind, ActorKind.CUSTOMER, {"branch": branch.key})
    session = Session.object_session(application)
    assert session is not None
    if moving and current is not None:
        current.state = AppointmentState.RESCHEDULED.value
        current.closed_at = utcnow()
        session.flush()  # frees the slot the partial unique index holds for the application
    application.appointments.append(
        BranchAppointment(
            branch=branch.key,
            desk=desk,
            starts_at=starts_at,
            ends_at=starts_at + branch.slot,
            state=AppointmentState.BOOKED.value,
            booked_at=utcnow(),
            booked_by="bot",
        )
    )
    session.flush()  # the record shows the appointment's id
    return applications.record_of(application)


def _cancel(application: MortgageApplication) -> ApplicationRecord:
    current = applications.current_appointment(application)
    if current is None or current.state != AppointmentState.BOOKED.value:
        raise Conflict("there is no booked appointment to cancel")
    _append(application, ApplicationEventKind.APPOINTMENT_CANCELLED, ActorKind.CUSTOMER)
    current.state = AppointmentState.CANCELLED.value
    current.closed_at = utcnow()
    return applications.record_of(application)


def _append(
    application: MortgageApplication,
    kind: ApplicationEventKind,
    actor_kind: ActorKind,
    detail: Mapping[str, Any] | None = None,
) -> None:
    touchpoint = {
        ActorKind.BRANCH_STAFF: Touchpoint.BRANCH,
        ActorKind.AGENT: Touchpoint.DESK,
    }.get(actor_kind, Touchpoint.WEB_CHAT)
    applications.append_entry(
        application, kind, touchpoint=touchpoint, actor_kind=actor_kind, detail=detail
    )


def _resume(session: Session, reference: str, sender_id: str) -> ApplicationRecord:
    application = applications.load(session, reference)
    applications.link_chat(application, sender_id, applications.LINKED_BY_VERIFICATION)
    _append(application, ApplicationEventKind.RESUMED, ActorKind.CUSTOMER)
    session.flush()
    return applications.record_of(application)


def _email_of(session: Session, reference: str) -> str | None:
    record = applications.get_application(session, reference)
    return None if record is None else record.email


def _booked(session: Session, branch: str) -> list[BranchAppointment]:
    statement = select(BranchAppointment).where(
        BranchAppointment.branch == branch,
        BranchAppointment.state == AppointmentState.BOOKED.value,
    )
    return list(session.execute(statement).scalars())


def _booked_counts(session: Session, branch: str) -> dict[datetime, int]:
    booked: dict[datetime, int] = {}
    for appointment in _booked(session, branch):
        starts_at = appointment.starts_at.astimezone(timezone.utc)
        booked[starts_at] = booked.get(starts_at, 0) + 1
    return booked


def _booked_desks(session: Session, branch: str, starts_at: datetime) -> set[int]:
    return {
        appointment.desk
        for appointment in _booked(session, branch)
        if appointment.starts_at.astimezone(timezone.utc) == starts_at
    }


def _canonical(reference: str) -> str:
    # An unknown or malformed reference is tracked as typed: it fails like a wrong e-mail.
    return applications.normalize_reference(reference) or reference


def _branch(branch: BranchData) -> Branch:
    return Branch(
        key=branch.key, name=branch.name, address=branch.address, timezone=branch.zone.key
    )


def _slot(branch: BranchData, starts_at: datetime, free: int) -> Slot:
    return Slot(
        branch=branch.key,
        starts_at=starts_at,
        ends_at=starts_at + branch.slot,
        label=branch.label(starts_at),
        free_desks=free,
    )


def _unauthorised(request: web.Request, secret: str) -> web.Response | None:
    if request.headers.get("Authorization") != f"Bearer {secret}":
        return web.json_response({"error": "missing or wrong bearer token"}, status=401)
    return None


async def _parse(request: web.Request, kind: type[BodyT]) -> BodyT | web.Response:
    try:
        return kind.parse_raw(await request.text())
    except ValidationError as error:
        return web.json_response({"error": str(error)}, status=422)


def _json(body: BaseModel, status: int) -> web.Response:
    return web.Response(text=body.json(), status=status, content_type="application/json")
