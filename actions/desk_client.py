"""The action server's one HTTP client of the desk: every call it makes there goes through here.

The desk is reached at HANDOFF_URL (its handoff intake) with `Authorization: Bearer
$HANDOFF_SECRET`; its other routes are the contract's paths on the same host. One
`aiohttp.ClientSession` is opened lazily, in the running event loop, and reused for every call
(the handoff outbox's, the hand-back's and the applications'); every call has the short
HANDOFF_TIMEOUT_SECONDS budget, since a customer is waiting for the answer.

`HandoffClient` (`actions.handoff.delivery`) adds the retries a handoff delivery needs; the
process's one instance is `actions.handoff.delivery.desk_client()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urljoin

import aiohttp
from pydantic import BaseModel, ValidationError

from contract.applications import (
    APPLICATIONS_PATH,
    ApplicationEventRequest,
    ApplicationRecord,
    NewApplication,
    application_events_path,
    application_path,
)
from contract.appointments import (
    BRANCHES_PATH,
    BookAppointment,
    Branch,
    BranchList,
    SlotList,
    application_appointment_path,
    branch_slots_path,
)
from contract.resume import (
    ResumeGranted,
    VerificationConfirm,
    VerificationRefused,
    VerificationStart,
    VerificationStarted,
    verification_confirm_path,
    verification_path,
)

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500

BodyT = TypeVar("BodyT", bound=BaseModel)


class DeskCallFailed(RuntimeError):
    """The desk could not be reached in time, or did not answer as the contract says.

    Attributes:
        status: The HTTP status the desk answered with; None when there was no answer.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep the status beside the message."""
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Granted:
    """The customer is verified: the application as it stands (this chat is now linked)."""

    application: ApplicationRecord


@dataclass(frozen=True)
class Refused:
    """The code (or the e-mail) did not match; `attempts_left` more failures lock resuming."""

    attempts_left: int


@dataclass(frozen=True)
class Locked:
    """Too many failures: resuming this application is locked until `locked_until` (UTC)."""

    locked_until: datetime


#: What the desk answers to a code.
Verdict = Granted | Refused | Locked


class DeskClient:
    """Calls the desk over one reused HTTP session; call `close()` when done."""

    def __init__(self, *, url: str, secret: str, timeout_seconds: float) -> None:
        """Configure the client.

        Args:
            url: The desk's handoff endpoint (HANDOFF_URL); other routes are on its host.
            secret: Bearer token the desk expects.
            timeout_seconds: Total time allowed for one request (connect, send, read).
        """
        self._url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session (a new one is opened if the client is used again)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- After a handoff ---------------------------------------------------------------------

    async def store_csat(self, handoff_id: str, rating: int, comment: str | None) -> bool:
        """Store the customer's rating with the handoff; True if the desk took it."""
        return await self._post_to_handoff(
            handoff_id, "csat", {"rating": rating, "comment": comment}
        )

    async def store_callback(self, handoff_id: str, message: str) -> bool:
        """Store the message a customer left for a callback; True if the desk took it."""
        return await self._post_to_handoff(handoff_id, "callback", {"message": message})

    async def _post_to_handoff(self, handoff_id: str, what: str, body: dict[str, Any]) -> bool:
        url = f"{self._url.rstrip('/')}/{quote(handoff_id, safe='')}/{what}"
        try:
            status, _ = await self.send("POST", url, json.dumps(body))
        except DeskCallFailed as error:
            logger.error("The desk could not be reached at %s: %s", url, error)
            return False
        if 200 <= status < 300:
            return True
        logger.error("The desk answered %s to %s", status, url)
        return False

    # --- Mortgage applications ---------------------------------------------------------------

    async def create_application(self, application: NewApplication) -> ApplicationRecord:
        """Store a completed intake at the desk; the record with its new reference.

        Raises:
            DeskCallFailed: The desk is unreachable, slow, or refused the application.
        """
        url = self._desk_url(APPLICATIONS_PATH)
        return _record(url, *await self.send("POST", url, application.json()), expected=201)

    async def get_application(self, reference: str) -> ApplicationRecord | None:
        """The application with its history; None if the desk has no such reference.

        Raises:
            DeskCallFailed: The desk is unreachable, slow, or answered with an error.
        """
        url = self._desk_url(application_path(quote(reference, safe="")))
        status, text = await self.send("GET", url)
        return None if status == 404 else _record(url, status, text, expected=200)

    async def record_application_event(
        self, reference: str, event: ApplicationEventRequest
    ) -> ApplicationRecord:
        """Append an event to the application's history; the record as it is now.

        Raises:
            DeskCallFailed: The desk is unreachable, slow, has no such application (404), or
                refused the event.
        """
        url = self._desk_url(application_events_path(quote(reference, safe="")))
        return _record(url, *await self.send("POST", url, event.json()), expected=200)

    # --- Resuming an application (contract.resume) ---------------------------------------------

    async def start_verification(
        self, reference: str, email: str, sender_id: str
    ) -> VerificationStarted | Locked:
        """Ask the desk to send a one-time code to the application's e-mail, if `email` is it.

        The answer is the same whether or not the reference and e-mail matched (a mismatch
        counts as a failed attempt); only a lock says more.

        Raises:
            DeskCallFailed: The desk is unreachable, slow, or answered with an error.
        """
        url = self._desk_url(verification_path(quote(reference, safe="")))
        body = VerificationStart(email=email, sender_id=sender_id)
        status, text = await self.send("POST", url, body.json())
        if status == HTTPStatus.LOCKED:
            return _locked(url, text)
        return _body(VerificationStarted, url, status, text, expected=HTTPStatus.ACCEPTED)

    async def confirm_verification(self, reference: str, code: str, sender_id: str) -> Verdict:
        """Send the code the customer typed: granted (with the record), refused, or locked.

        Raises:
            DeskCallFailed: The desk is unreachable, slow, or answered with an error.
        """
        url = self._desk_url(verification_confirm_path(quote(reference, safe="")))
        body = VerificationConfirm(code=code, sender_id=sender_id)
        status, text = await self.send("POST", url, body.json())
        if status == HTTPStatus.LOCKED:
            return _locked(url, text)
        if status == HTTPStatus.UNAUTHORIZED and _is_refusal(text):
            refused = _body(VerificationRefused, url, status, text, expected=status)
            return Refused(attempts_left=refused.attempts_left)
        granted = _body(ResumeGranted, url, status, text, expected=HTTPStatus.OK)
        return Granted(application=granted.application)

    # --- Branch appointments (contract.appointments) --------------------------------------------

    async def branches(self) -> tuple[Branch, ...]:
        """The branches where customers sign, in the desk's order.

        Raises:
            DeskCallFailed: The desk is unreachable, slow, or answered with an error.
        """
        url = self._desk_url(BRANCHES_PATH)
        status, text = await self.send("GET", url)
        return _body(BranchList, url, status, text, expected=HTTPStatus.OK).branches

    async def free_slots(
        self, branch: str, *, start: date | None = None, days: int | None = None, limit: int = 6
    ) -> SlotList:
        """The branch's free slots from `start` (default: today), earliest first.

        Raises:
            DeskCallFailed: The desk is unreachable, slow, has no such branch (404), or
                answered with an error.
        """
        query: dict[str, str] = {"limit": str(limit)}
        if start is not None:
            query["from"] = start.isoformat()
        if days is not None:
            query["days"] = str(days)
        path = branch_slots_path(quote(branch, safe=""))
        url = f"{self._desk_url(path)}?{urlencode(query)}"
        status, text = await self.send("GET", url)
        return _body(SlotList, url, status, text, expected=HTTPStatus.OK)

    async def book_appointment(self, reference: str, slot: BookAppointment) -> ApplicationRecord:
        """Book the slot for the application; the record, at stage `appointment_booked`.

        Raises:
            DeskCallFailed: status 409 when the slot was taken meanwhile or the application is
                not ready to sign; otherwise the desk is unreachable, slow, or refused it.
        """
        url = self._desk_url(application_appointment_path(quote(reference, safe="")))
        return _record(url, *await self.send("POST", url, slot.json()), expected=201)

    async def reschedule_appointment(
        self, reference: str, slot: BookAppointment
    ) -> ApplicationRecord:
        """Move the application's appointment to the slot (the old one is freed).

        Raises:
            DeskCallFailed: status 409 when the slot was taken meanwhile or there is no
                appointment to move; otherwise as `book_appointment`.
        """
        url = self._desk_url(application_appointment_path(quote(reference, safe="")))
        return _record(url, *await self.send("PUT", url, slot.json()), expected=200)

    async def cancel_appointment(self, reference: str) -> ApplicationRecord:
        """Cancel the application's appointment; the record, back at `ready_to_sign`.

        Raises:
            DeskCallFailed: status 409 when there is no appointment to cancel; otherwise as
                `book_appointment`.
        """
        url = self._desk_url(application_appointment_path(quote(reference, safe="")))
        return _record(url, *await self.send("DELETE", url), expected=200)

    # --- HTTP ------------------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        url: str,
        body: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[int, str]:
        """One request with the bearer secret: the status and the text of the answer.

        Args:
            method: "GET", "POST", "PUT" or "DELETE".
            url: Where (a URL of the desk).
            body: A JSON body, already serialised.
            idempotency_key: Sent as `Idempotency-Key`, so a retry changes nothing at the desk.

        Raises:
            DeskCallFailed: No answer: the desk is unreachable, or slower than the timeout.
        """
        headers = {"Authorization": f"Bearer {self._secret}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if body is not None:
            headers["Content-Type"] = "application/json"
        data = None if body is None else body.encode("utf-8")
        try:
            async with self._get_session().request(
                method, url, data=data, headers=headers
            ) as response:
                return response.status, await response.text()
        except asyncio.TimeoutError:
            raise DeskCallFailed(f"timed out after {self._timeout.total}s") from None
        except aiohttp.ClientError as error:
            raise DeskCallFailed(f"{type(error).__name__}: {error}") from error

    def _desk_url(self, path: str) -> str:
        # The contract's paths are absolute: they replace the handoff endpoint's path.
        return urljoin(self._url, path)

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily: aiohttp sessions belong to the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session


def json_or_none(text: str) -> Any:
    """The decoded JSON answer, or None when there is none (an older desk's empty answer)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _record(url: str, status: int, text: str, *, expected: int) -> ApplicationRecord:
    """The application record the desk answered with, or a `DeskCallFailed` saying why not."""
    _expect(url, status, text, expected)
    try:
        return ApplicationRecord.parse_raw(text)
    except ValidationError as error:
        raise DeskCallFailed(f"the desk's answer to {url} is not an application: {error}") from None


def _body(kind: type[BodyT], url: str, status: int, text: str, *, expected: int) -> BodyT:
    """The contract body the desk answered with, or a `DeskCallFailed` saying why not."""
    _expect(url, status, text, expected)
    try:
        return kind.parse_raw(text)
    except ValidationError as error:
        message = f"the desk's answer to {url} is not a {kind.__name__}: {error}"
        raise DeskCallFailed(message[:MAX_ERROR_CHARS], status) from None


def _expect(url: str, status: int, text: str, expected: int) -> None:
    """Raise a `DeskCallFailed` with the desk's own words unless it answered `expected`."""
    if status != expected:
        answer = json_or_none(text)
        detail = answer.get("error") if isinstance(answer, dict) else text
        message = f"the desk answered {status} to {url}: {detail}"
        raise DeskCallFailed(message[:MAX_ERROR_CHARS], status)


def _is_refusal(text: str) -> bool:
    # A 401 without `attempts_left` is a wrong bearer secret, not a wrong code.
    answer = json_or_none(text)
    return isinstance(answer, dict) and "attempts_left" in answer


def _locked(url: str, text: str) -> Locked:
    refused = _body(VerificationRefused, url, HTTPStatus.LOCKED, text, expected=HTTPStatus.LOCKED)
    if refused.locked_until is None:
        raise DeskCallFailed(f"the desk's lock at {url} says no time", HTTPStatus.LOCKED)
    return Locked(locked_until=refused.locked_until)
