"""Talking to the running system the way its users do: over HTTP, on loopback."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

T = TypeVar("T")

#: Generous: the first message of a conversation loads the model's graph on a slow machine.
REPLY_TIMEOUT_SECONDS = 60.0


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    *,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll `predicate` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(interval)  # poll interval, bounded by the deadline


def new_sender(prefix: str) -> str:
    """A conversation id no other test uses."""
    return f"e2e-{prefix}-{uuid.uuid4()}"


def texts(replies: list[dict[str, Any]]) -> list[str]:
    """The texts of the bot's replies, in order."""
    return [str(reply["text"]) for reply in replies if reply.get("text")]


def joined(replies: list[dict[str, Any]]) -> str:
    """All reply texts as one lower-cased string, for loose checks of key facts."""
    return "\n".join(texts(replies)).lower()


@dataclass
class BotClient:
    """Rasa's REST channel and HTTP API, and the recording endpoint standing in for the desk."""

    rasa_url: str
    rasa_auth_token: str
    handoff_url: str
    handoff_secret: str
    record_file: Path
    http: requests.Session = field(default_factory=requests.Session)

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Send one customer message; the bot's replies (empty if it stays silent)."""
        response = self.http.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=REPLY_TIMEOUT_SECONDS,
        )
        assert response.status_code == 200, f"REST channel: {response.status_code} {response.text}"
        replies = response.json()
        assert isinstance(replies, list), f"REST channel answered {replies!r}"
        return replies

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker from Rasa's token-protected HTTP API."""
        response = self.http.get(
            f"{self.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.rasa_auth_token},
            timeout=REPLY_TIMEOUT_SECONDS,
        )
        assert response.status_code == 200, f"tracker: {response.status_code} {response.text}"
        tracker: dict[str, Any] = response.json()
        return tracker

    def handoffs(self) -> list[dict[str, Any]]:
        """Every handoff the recording endpoint (its current process) accepted."""
        response = self.http.get(
            self.handoff_url,
            headers={"Authorization": f"Bearer {self.handoff_secret}"},
            timeout=10,
        )
        assert response.status_code == 200, f"endpoint: {response.status_code} {response.text}"
        handoffs: list[dict[str, Any]] = response.json()
        return handoffs

    def handoffs_for(self, sender: str) -> list[dict[str, Any]]:
        """The accepted handoffs of one conversation."""
        return [h for h in self.handoffs() if h["conversation"]["sender_id"] == sender]

    def recorded_handoffs(self) -> list[dict[str, Any]]:
        """Every handoff written to the record file, across restarts of the endpoint."""
        lines = self.record_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def only_handoff_for(self, sender: str) -> dict[str, Any]:
        """The one handoff of a conversation (REST replies come after delivery, so no wait)."""
        received = self.handoffs_for(sender)
        assert len(received) == 1, f"expected 1 handoff for {sender}, got {len(received)}"
        return received[0]
