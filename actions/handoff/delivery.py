"""POST a handoff context to the desk, retrying what can succeed on a second try."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from actions.desk_client import DeskCallFailed, DeskClient, json_or_none
from actions.settings import Settings, get_settings
from contract.handoff_context import HandoffContext

logger = logging.getLogger(__name__)

# Statuses that refuse this body for good (malformed, conflicting, too large, invalid against
# the schema): retrying would only repeat the rejection, so the outbox keeps it as a dead
# letter. Every other failure (5xx, 429, and 401/403/404/405, which mean a wrong URL or secret
# that an operator can fix) is retried from the outbox, so no handoff is lost to a config slip.
PERMANENT_REJECTIONS = frozenset({400, 409, 413, 422})
MAX_ERROR_CHARS = 500


class DeliveryStatus(str, Enum):
    """How a delivery ended."""

    DELIVERED = "delivered"  # 2xx: the desk has it (201 created, or 200 already had it)
    REJECTED = "rejected"  # 400, 409, 413, 422: this body is refused for good
    FAILED = "failed"  # connection error, timeout, 5xx, 429 or a config error: retry later


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of `HandoffClient.deliver_handoff`, after all tries.

    `desk_handoff_id` is the handoff the desk answered with when it has the conversation: the
    one delivered, or the conversation's already open handoff (then they differ).
    """

    status: DeliveryStatus
    status_code: int | None
    error: str | None
    tries: int
    desk_handoff_id: str | None = None

    @property
    def delivered(self) -> bool:
        """Whether the desk has the handoff."""
        return self.status is DeliveryStatus.DELIVERED


@dataclass(frozen=True)
class _Try:
    """Outcome of one HTTP request."""

    status: DeliveryStatus
    status_code: int | None
    error: str | None
    desk_handoff_id: str | None = None


Sleep = Callable[[float], Awaitable[None]]


class HandoffClient(DeskClient):
    """Delivers handoff contexts to the desk over HTTP, without blocking the event loop.

    The desk client (one `aiohttp.ClientSession`, created on first use and reused; call
    `close()` when done) with the retries a handoff delivery needs.
    """

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        timeout_seconds: float,
        attempts: int,
        backoff_seconds: float,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Configure the client.

        Args:
            url: The desk's handoff endpoint.
            secret: Bearer token the desk expects.
            timeout_seconds: Total time allowed for one request (connect, send, read).
            attempts: Tries per delivery (at least 1).
            backoff_seconds: Base delay before the 2nd try; doubles for each further try.
            rng: Source of jitter (seed it in tests).
            sleep: How to wait between tries.
        """
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        super().__init__(url=url, secret=secret, timeout_seconds=timeout_seconds)
        self._attempts = attempts
        self._backoff_seconds = backoff_seconds
        self._rng = rng or random.Random()
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> HandoffClient:
        """A client configured from the action server's settings."""
        return cls(
            url=settings.handoff_url,
            secret=settings.handoff_secret,
            timeout_seconds=settings.handoff_timeout_seconds,
            attempts=settings.handoff_attempts,
            backoff_seconds=settings.handoff_backoff_seconds,
        )

    @property
    def max_delivery_seconds(self) -> float:
        """Upper bound of one `deliver_*` call: every try timing out plus every backoff."""
        timeouts = (self._timeout.total or 0.0) * self._attempts
        backoffs = sum(self._max_backoff(n) for n in range(1, self._attempts))
        return timeouts + backoffs

    async def deliver_handoff(self, context: HandoffContext) -> DeliveryResult:
        """POST `context` to the desk; see `deliver_body`."""
        return await self.deliver_body(str(context.handoff_id), context.json())

    async def deliver_body(
        self, handoff_id: str, body: str, *, attempts: int | None = None
    ) -> DeliveryResult:
        """POST an already serialised context, retrying transient failures.

        Args:
            handoff_id: Sent as the `Idempotency-Key`, so a retry never opens a second handoff.
            body: The JSON body, exactly as stored in the outbox.
            attempts: Override the configured number of tries.
        """
        tries = attempts or self._attempts
        outcome = _Try(DeliveryStatus.FAILED, None, "not attempted")
        for number in range(1, tries + 1):
            outcome = await self._post(handoff_id, body)
            if outcome.status is not DeliveryStatus.FAILED:
                return DeliveryResult(
                    outcome.status,
                    outcome.status_code,
                    outcome.error,
                    number,
                    outcome.desk_handoff_id,
                )
            logger.warning(
                "Handoff %s: try %d/%d failed: %s", handoff_id, number, tries, outcome.error
            )
            if number < tries:
                await self._sleep(self._backoff(number))
        return DeliveryResult(outcome.status, outcome.status_code, outcome.error, tries)

    async def _post(self, handoff_id: str, body: str) -> _Try:
        try:
            status, text = await self.send("POST", self._url, body, idempotency_key=handoff_id)
        except DeskCallFailed as unreachable:
            return _Try(DeliveryStatus.FAILED, None, str(unreachable))
        if 200 <= status < 300:
            answer = json_or_none(text)
            desk_id = answer.get("handoff_id") if isinstance(answer, dict) else None
            return _Try(
                DeliveryStatus.DELIVERED, status, None, str(desk_id) if desk_id else handoff_id
            )
        error = f"HTTP {status}: {text[:MAX_ERROR_CHARS]}"
        if status in PERMANENT_REJECTIONS:
            return _Try(DeliveryStatus.REJECTED, status, error)
        return _Try(DeliveryStatus.FAILED, status, error)

    def _max_backoff(self, try_number: int) -> float:
        return self._backoff_seconds * 2 ** (try_number - 1)

    def _backoff(self, try_number: int) -> float:
        # Exponential with "equal jitter": at least half the nominal delay, so retries do not
        # hammer the desk, and a random rest, so many bots do not retry in lock-step.
        nominal = self._max_backoff(try_number)
        return nominal / 2 + self._rng.uniform(0, nominal / 2)


@lru_cache(maxsize=1)
def desk_client() -> HandoffClient:
    """The process's one client of the desk: handoffs (with their retries), hand-backs and
    applications share its HTTP session, which opens lazily in the running event loop."""
    return HandoffClient.from_settings(get_settings())
