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
from typing import Any
from urllib.parse import quote, urljoin

import aiohttp
from pydantic import ValidationError

from contract.applications import (
    APPLICATIONS_PATH,
    ApplicationEventRequest,
    ApplicationRecord,
    NewApplication,
    application_events_path,
    application_path,
)

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500


class DeskCallFailed(RuntimeError):
    """The desk could not be reached in time, or did not answer as the contract says.

    Attributes:
        status: The HTTP status the desk answered with; None when there was no answer.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep the status beside the message."""
        super().__init__(message)
        self.status = status


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
            method: "GET" or "POST".
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
    if status != expected:
        answer = json_or_none(text)
        detail = answer.get("error") if isinstance(answer, dict) else text
        message = f"the desk answered {status} to {url}: {detail}"
        raise DeskCallFailed(message[:MAX_ERROR_CHARS], status)
    try:
        return ApplicationRecord.parse_raw(text)
    except ValidationError as error:
        raise DeskCallFailed(f"the desk's answer to {url} is not an application: {error}") from None
