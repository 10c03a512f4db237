"""The steady load the faults hit: scripted customers on Rasa's REST channel and desk agents.

Every customer records each turn as it saw it (`Turn`: what it said, what came back, or the
error), so the invariants (`invariants.py`) can compare what the customer experienced with what
the tracker store and the desk database hold. A customer whose turn failed (an error, or the
apology asking to try again) sends the message again once the assistant answers again
(`play`), as a person would. Each try is a turn of its own, so a message the system kept
although its try failed shows up as a duplicate.
"""

from __future__ import annotations

import asyncio
import random
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

from assistant.apology import APOLOGY
from tests.e2e.client import REPLY_TIMEOUT_SECONDS
from tests.e2e.desk_system import Agent, DeskStack, eventually
from tests.e2e.scripts import MORTGAGE_ANSWERS

ASK_FOR_A_PERSON: Final = "I want to talk to a person"
#: Said while a person has (or is about to have) the chat: the bot must stay silent.
WHILE_WAITING: Final = "are you still there?"
ORDER_QUESTION: Final = "where is my order ORD-100002?"
START_MORTGAGE: Final = "I want to apply for a mortgage"
#: How often a customer sends a message whose turn failed (then gives up on it).
SENDS_PER_MESSAGE: Final = 3
#: A restarted Rasa server loads its model first (minutes on a busy 2-core machine).
RASA_BACK_SECONDS: Final = 420.0
_HEALTH_TIMEOUT: Final = aiohttp.ClientTimeout(total=5)
#: The agent who takes the load's handoffs: the supervisor sees every queue.
AGENT: Final = "sam"


@dataclass
class Turn:
    """One message a customer sent and what they saw: the bot's texts, or an error."""

    text: str
    replies: list[str] | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        """The customer saw it fail: an error, or the apology that asks them to try again."""
        return self.error is not None or any(APOLOGY in reply for reply in self.replies or [])


@dataclass
class Customer:
    """A scripted customer on Rasa's REST channel (through `rasa_url`: a process or the
    balancer)."""

    rasa_url: str
    #: The Rasa server's API token: the customer's "is it back?" reads their own tracker.
    rasa_token: str
    kind: str
    sender: str = field(default_factory=lambda: f"chaos-{uuid.uuid4().hex[:12]}")
    turns: list[Turn] = field(default_factory=list)

    async def say(self, http: aiohttp.ClientSession, text: str) -> Turn:
        turn = Turn(text)
        self.turns.append(turn)
        try:
            async with http.post(
                f"{self.rasa_url}/webhooks/rest/webhook",
                json={"sender": self.sender, "message": text},
                timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_SECONDS),
            ) as response:
                if response.status != 200:
                    turn.error = f"HTTP {response.status}"
                else:
                    answer: list[dict[str, Any]] = await response.json()
                    turn.replies = [str(m.get("text") or "") for m in answer]
        except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
            turn.error = type(failure).__name__
        return turn

    async def play(self, http: aiohttp.ClientSession, script: Sequence[str]) -> None:
        for text in script:
            for _ in range(SENDS_PER_MESSAGE):
                if not (await self.say(http, text)).failed:
                    break
                await self.wait_for_the_assistant(http)

    async def wait_for_the_assistant(self, http: aiohttp.ClientSession) -> None:
        """Until the Rasa server reads this conversation again: it is up (a restarted one
        loads the model first) and reaches its tracker store (PostgreSQL back after a
        restart)."""

        async def answers() -> bool:
            try:
                async with http.get(
                    f"{self.rasa_url}/conversations/{self.sender}/tracker",
                    params={"token": self.rasa_token},
                    timeout=_HEALTH_TIMEOUT,
                ) as response:
                    return response.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return False

        await eventually(answers, "the Rasa server back", timeout=RASA_BACK_SECONDS)


def person_script() -> list[str]:
    """Asks for a person, then speaks while waiting (the bot must be silent then)."""
    return ["hello", ASK_FOR_A_PERSON, WHILE_WAITING]


def order_script() -> list[str]:
    return [ORDER_QUESTION, "thanks"]


def mortgage_script() -> list[str]:
    """The mortgage form from the start, answered with a name and e-mail of its own."""
    tag = "".join(random.choices(string.ascii_lowercase, k=6))  # a name has no digits
    answers = list(MORTGAGE_ANSWERS)
    answers[0] = f"Jane {tag.capitalize()}"
    answers[1] = f"jane.{tag}@example.com"
    return [START_MORTGAGE, *answers]


SCRIPTS: Final = {"person": person_script, "order": order_script, "mortgage": mortgage_script}


@dataclass
class Load:
    """Customers playing their scripts at once, each started a little after the last."""

    customers: list[Customer]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def of(cls, system: DeskStack, kinds: Sequence[str]) -> Load:
        """Customers of `kinds` on the system's Rasa server (a process or the balancer)."""
        token = system.env.rasa_auth_token
        return cls([Customer(system.rasa_url, token, kind) for kind in kinds])

    def start(self, http: aiohttp.ClientSession) -> Load:
        self.tasks = [
            asyncio.create_task(customer.play(http, SCRIPTS[customer.kind]()))
            for customer in self.customers
        ]
        return self

    async def finish(self) -> None:
        await asyncio.gather(*self.tasks)

    def of_kind(self, kind: str) -> list[Customer]:
        return [c for c in self.customers if c.kind == kind]


async def handoff_ids(system: DeskStack, customers: Sequence[Customer]) -> list[str]:
    """The desk's handoffs of the customers, once every one of them has exactly one."""

    async def all_there() -> list[str] | None:
        found = [system.handoffs_of(c.sender) for c in customers]
        if all(len(h) == 1 for h in found):
            return [h[0].handoff_id for h in found]
        return None

    return await eventually(all_there, "a handoff of every customer", timeout=90)


async def claim(agent: Agent, handoff_id: str) -> int | None:
    """The claim's HTTP status; None when the desk could not be reached."""
    try:
        status, _ = await agent.call("POST", f"/api/handoffs/{handoff_id}/claim")
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None
    return status


async def serve_and_resolve(agent: Agent, handoff_id: str) -> None:
    """The agent writes to the customer and hands the chat back to the bot."""
    status, body = await agent.call(
        "POST", f"/api/handoffs/{handoff_id}/messages", json={"text": "Hello, Sam here."}
    )
    assert status in (200, 201), body
    status, body = await agent.call(
        "POST", f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )
    assert status == 200, body
