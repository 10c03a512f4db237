"""The desk's calls to the Rasa server (docs/desk-design.md, "Desk → Rasa").

- Rasa's HTTP API, with `?token=$RASA_AUTH_TOKEN`: read a tracker, append events (an agent's
  turn as a `bot` event, the hand-back's slot updates and `resume`), execute an action
  (`contract.bot_actions`: `action_welcome_back`, `action_handoff_cancelled`, ...).
- The web chat's `POST /webhooks/socketio/notify` (`Authorization: Bearer $RASA_AUTH_TOKEN`):
  a `handoff_status` event for the customer's page (`contract.customer_status`).
- `POST /webhooks/socketio/handoff-opened` (same token): a handoff the desk holds, so the bot
  pauses and tells the customer if its tracker missed it (`contract.handoff_opened`).

One `aiohttp.ClientSession` per desk application, created on first use (inside the running
loop) and closed with the application. Every request has a short total timeout. Whatever goes
wrong (connection refused, timeout, an error status) is raised as `RasaUnavailable` with a
message that says which call failed and why; the caller decides whether that is fatal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from contract.bot_actions import ACTION_WELCOME_BACK
from contract.customer_status import NOTIFY_PATH, STATUS_EVENT, CustomerStatus, HandoffStatusNotice
from contract.handoff_opened import HANDOFF_OPENED_PATH, HandoffOpenedNotice
from contract.webchat import HandoffAgent, agent_metadata
from desk.services.agents import Actor
from desk.services.handoffs import Resolution
from desk.settings import DeskSettings

LOGGER = logging.getLogger(__name__)

#: The longest part of an error body quoted in a `RasaUnavailable` message.
_ERROR_EXCERPT: Final = 300


class RasaUnavailable(Exception):
    """A call to the Rasa server failed; `status` is the HTTP status when Rasa answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        """Keep the message and the status."""
        super().__init__(message)
        self.message = message
        self.status = status


class RasaClient:
    """Rasa's HTTP API and the web chat's notify route, for one desk application."""

    def __init__(self, base_url: str, token: str, *, timeout_seconds: float = 5.0) -> None:
        """Talk to the Rasa server at `base_url` with `token` (RASA_AUTH_TOKEN)."""
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout_seconds = timeout_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: DeskSettings) -> RasaClient:
        """The client for RASA_URL / RASA_AUTH_TOKEN."""
        return cls(
            settings.rasa_url,
            settings.rasa_auth_token,
            timeout_seconds=settings.rasa_timeout_seconds,
        )

    async def close(self) -> None:
        """Close the HTTP session (the application's cleanup does this)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # --- Rasa's HTTP API ----------------------------------------------------------------------

    async def tracker(self, sender_id: str) -> dict[str, Any]:
        """The conversation's tracker."""
        return await self._api("GET", sender_id, "tracker", what="reading the tracker")

    async def append_events(
        self,
        sender_id: str,
        events: Sequence[Mapping[str, Any]],
        output_channel: str = "latest",
        *,
        execute_side_effects: bool = False,
    ) -> dict[str, Any]:
        """Append events to the tracker; the tracker afterwards.

        With `execute_side_effects`, Rasa also sends appended `bot` events to the output
        channel (for `latest`, the channel the customer last wrote on: their socket.io room).
        """
        params = {"output_channel": output_channel}
        if execute_side_effects:
            params["execute_side_effects"] = "true"
        return await self._api(
            "POST",
            sender_id,
            "tracker/events",
            params=params,
            json=list(events),
            what="appending events",
        )

    async def execute(
        self, sender_id: str, action: str, output_channel: str = "latest"
    ) -> dict[str, Any]:
        """Run an action in the conversation; `{"tracker": ..., "messages": [...]}`."""
        return await self._api(
            "POST",
            sender_id,
            "execute",
            params={"output_channel": output_channel},
            json={"name": action},
            what=f"executing {action}",
        )

    async def send_agent_message(self, sender_id: str, text: str, agent: Actor) -> dict[str, Any]:
        """An agent's turn: a `bot` event with `metadata.handoff_agent`, sent to the customer.

        It becomes part of Rasa's one transcript of the conversation, stored once with the words
        as the agent typed them (`contract.webchat`), and Rasa delivers it on the customer's
        latest channel (the web chat room, which names the agent in the text), like any bot
        message.
        """
        event = {
            "event": "bot",
            "text": text,
            "metadata": agent_metadata(HandoffAgent(id=agent.agent_id, name=agent.display_name)),
        }
        return await self.append_events(
            sender_id, [event], output_channel="latest", execute_side_effects=True
        )

    async def give_back(
        self, sender_id: str, action: str, slots: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume the paused conversation (after setting `slots`) and run `action`."""
        events: list[dict[str, Any]] = [
            {"event": "slot", "name": name, "value": value} for name, value in (slots or {}).items()
        ]
        events.append({"event": "resume"})
        await self.append_events(sender_id, events)
        return await self.execute(sender_id, action)

    # --- The web chat's status notifications ----------------------------------------------------

    async def notify(self, sender_id: str, status: CustomerStatus, **details: Any) -> bool:
        """Push a `handoff_status` event to the customer's page; False when nobody listens.

        The body is a `contract.customer_status.HandoffStatusNotice` with `details` (only the
        keys given). A 404 means the Rasa server has no web chat channel (a REST-only
        deployment): logged, and False. Any other failure raises `RasaUnavailable`.
        """
        notice = HandoffStatusNotice(
            sender_id=sender_id, type=STATUS_EVENT, status=status, **details
        )
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        try:
            await self._request(
                "POST",
                self.base_url + NOTIFY_PATH,
                headers=headers,
                data=notice.json(exclude_unset=True),
                what="notify",
            )
        except RasaUnavailable as error:
            if error.status == 404:
                LOGGER.info(
                    "Rasa has no web chat notify route (%s); %s not shown", error, status.value
                )
                return False
            raise
        return True

    async def handoff_opened(self, notice: HandoffOpenedNotice) -> bool:
        """Tell the Rasa server the desk holds this open handoff; whether the bot had missed it
        (and has now paused the conversation and told the customer)."""
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        answer = await self._request(
            "POST",
            self.base_url + HANDOFF_OPENED_PATH,
            headers=headers,
            data=notice.json(),
            what="reporting an open handoff",
        )
        return bool(answer.get("changed"))

    # --- Plumbing -----------------------------------------------------------------------------

    async def _api(
        self,
        method: str,
        sender_id: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        url = f"{self.base_url}/conversations/{quote(sender_id, safe='')}/{path}"
        query = {**(params or {}), "token": self._token}
        return await self._request(method, url, params=query, json=json, what=what)

    async def _request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: str | None = None,
    ) -> dict[str, Any]:
        shown = url.split("?", 1)[0]
        try:
            async with self._client().request(
                method, url, params=params, headers=headers, json=json, data=data
            ) as response:
                text = await response.text()
                if response.status >= 400:
                    raise RasaUnavailable(
                        f"Rasa answered {response.status} when {what} ({method} {shown}): "
                        f"{_excerpt(text)}",
                        status=response.status,
                    )
                if not text.strip():
                    return {}
                try:
                    decoded = await response.json(content_type=None)
                except ValueError as error:
                    raise RasaUnavailable(
                        f"Rasa's answer when {what} is not JSON: {error}", status=response.status
                    ) from None
                return decoded if isinstance(decoded, dict) else {"result": decoded}
        except asyncio.TimeoutError:
            raise RasaUnavailable(
                f"Rasa did not answer within {self._timeout.total}s when {what} ({method} {shown})"
            ) from None
        except aiohttp.ClientError as error:
            raise RasaUnavailable(
                f"Rasa could not be reached at {self.base_url} when {what}: {error}"
            ) from None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_EXCERPT else text[:_ERROR_EXCERPT] + "…"


class RasaHandBack:
    """The desk's `HandBack`: set the agent's slots, resume, and let the bot welcome back.

    Raises `RasaUnavailable` when Rasa cannot take the conversation; the caller keeps the
    handoff resolved and reports the error.
    """

    def __init__(self, client: RasaClient) -> None:
        """Hand back through `client`."""
        self._client = client

    async def __call__(self, resolution: Resolution) -> bool:
        """Apply the slot updates and `resume`, then execute `action_welcome_back`."""
        await self._client.give_back(resolution.sender_id, ACTION_WELCOME_BACK, resolution.slots)
        return True
