"""Single ownership as a property, end to end: seeded random interleavings on the real processes.

The in-process property (`tests/desk/test_single_ownership_property.py`) tries 1,000
interleavings with a scripted NLU and policy; this runs `INTERLEAVINGS` of them through the
real system (`DeskStack`: the desk, the action server and the Rasa server with the trained
model, on loopback), so the trained bot and the real HTTP, socket.io and event-broker paths are
held to the same properties. Steps are not awaited one after the other's effects: a customer's
message is sent and the next step (an agent's claim, say) starts at once, so the processes race
as they would in production.

Each interleaving: the customer's order is delayed, so they are handed to order support; then
a seeded mix of customer messages ("restart", "/restart", "/greet", "/session_start", "never
mind", "leave a message", ...), claims by Olivia or Sam (or both at once), agent messages,
transfers and resolves. Afterwards, from the tracker (every event) and the desk's records:
- a handoff is never claimed by a second agent while owned, and no two ownerships overlap;
- no bot message of the bot's own (not an agent's, not a desk notice, not the restart refusal)
  was stored while an agent owned the conversation;
- once any open handoff is resolved, nobody owns the conversation, it is not paused, and the
  bot answers again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiohttp
import pytest

from desk.store.database import Database
from tests.e2e.desk_system import Agent, DeskStack, SocketCustomer, eventually
from tests.support.ownership_world import handoffs_of, is_the_bots_own, ownerships

pytestmark = pytest.mark.e2e

Agents = Callable[[str], Awaitable[Agent]]
Customers = Callable[[str], Awaitable[SocketCustomer]]

INTERLEAVINGS: Final = 20
STEPS: Final = 8
SEED: Final = 15
CUSTOMER_TEXTS: Final = (
    "restart",
    "/restart",
    "/greet",
    "/session_start",
    "never mind",
    "leave a message",
    "keep waiting",
    "hi",
    "agent",
)
STEP_KINDS: Final = ("say", "say", "claim", "race", "write", "transfer", "resolve")
OPEN: Final = ("queued", "claimed")
CLOSED: Final = ("handed_back", "abandoned", "expired")


class Interleaving:
    """One customer, Olivia (order support) and Sam (supervisor), and a seeded mix of steps."""

    def __init__(
        self, system: DeskStack, customer: SocketCustomer, agents: dict[str, Agent]
    ) -> None:
        self.system = system
        self.customer = customer
        self.agents = agents
        self.database = Database(system.desk_database_url)
        self.http = aiohttp.ClientSession()
        self.steps: list[str] = []
        #: How many messages the customer sent.
        self.said = 0

    async def close(self) -> None:
        await self.http.close()
        self.database.dispose()

    def handoffs(self) -> list[dict[str, Any]]:
        return handoffs_of(self.database, self.customer.sender)

    async def handed_over(self) -> str | None:
        return self.latest()

    def latest(self) -> str | None:
        handoffs = self.handoffs()
        return str(handoffs[-1]["handoff_id"]) if handoffs else None

    async def tracker(self) -> dict[str, Any]:
        """Every event of the conversation (also those before a restart)."""
        async with self.http.get(
            f"{self.system.rasa_url}/conversations/{self.customer.sender}/tracker",
            params={"token": self.system.env.rasa_auth_token, "include_events": "ALL"},
        ) as response:
            assert response.status == 200, await response.text()
            tracker: dict[str, Any] = await response.json()
            return tracker

    async def say(self, text: str) -> None:
        self.said += 1
        await self.customer.page.say(text)

    async def agent_post(self, name: str, verb: str, body: dict[str, Any] | None = None) -> int:
        handoff_id = self.latest()
        if handoff_id is None:
            return 0
        status, answer = await self.agents[name].call(
            "POST", f"/api/handoffs/{handoff_id}/{verb}", json=body or {}
        )
        assert status < 500, (verb, answer)
        return status

    async def step(self, chance: random.Random) -> None:
        kind = chance.choice(STEP_KINDS)
        agent = chance.choice(("olivia", "sam"))
        if kind == "say":
            text = chance.choice(CUSTOMER_TEXTS)
            self.steps.append(f"customer says {text!r}")
            await self.say(text)  # its turn is not awaited: the next step races it
        elif kind == "race":
            self.steps.append("olivia and sam claim at once")
            answers = await asyncio.gather(
                self.agent_post("olivia", "claim"), self.agent_post("sam", "claim")
            )
            assert answers.count(200) <= 1, answers
        else:
            verb, body = {
                "claim": ("claim", None),
                "write": ("messages", {"text": f"{agent.title()} here."}),
                "transfer": (
                    "transfer",
                    {"queue": chance.choice(("tech_support_l2", "order_support"))},
                ),
                "resolve": ("resolve", {"disposition": "resolved"}),
            }[kind]
            self.steps.append(f"{agent} {verb} {body or ''}")
            await self.agent_post(agent, verb, body)

    async def settled(self) -> dict[str, Any] | None:
        """The tracker, once the bot has taken every message sent and finished its turn, and
        the desk has given back every handoff that left the queue; None before."""
        tracker = await self.tracker()
        events = tracker["events"]
        taken = sum(1 for event in events if event["event"] == "user") >= self.said
        listening = events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"
        handoffs = self.handoffs()
        closed = all(handoff["status"] in CLOSED for handoff in handoffs)
        giving_back = any(handoff["status"] == "resolved" for handoff in handoffs) or (
            tracker["paused"] and closed
        )
        return tracker if taken and (tracker["paused"] or listening) and not giving_back else None

    async def quiet(self) -> dict[str, Any]:
        """Wait until `settled` (a conversation left paused with nobody never settles)."""
        return await eventually(
            self.settled, f"a settled conversation after {self.steps}", timeout=60
        )

    async def finish(self) -> None:
        """Resolve what is still open (claiming it first if it waits), as Sam."""
        for handoff in self.handoffs():
            if handoff["status"] == "queued":
                await self.agent_post("sam", "claim")
            if handoff["status"] in OPEN:
                status = await self.agent_post("sam", "resolve", {"disposition": "resolved"})
                assert status == 200, self.steps

    async def check(self) -> None:
        handoffs = self.handoffs()
        owned = ownerships(handoffs)  # asserts one owner at a time
        tracker = await self.tracker()
        over = [
            event
            for event in tracker["events"]
            if event["event"] == "bot"
            and is_the_bots_own(event)
            and any(start < event["timestamp"] < end for _, start, end in owned)
        ]
        assert not over, f"the bot spoke while an agent owned the chat: {over} ({self.steps})"
        assert all(handoff["status"] in CLOSED for handoff in handoffs), (handoffs, self.steps)
        assert tracker["paused"] is False, f"nobody has the chat, yet it is paused ({self.steps})"

        said_at = time.time()
        await self.say("hi")

        async def answered() -> bool:
            events = (await self.tracker())["events"]
            return any(
                event["event"] == "bot" and is_the_bots_own(event) and event["timestamp"] > said_at
                for event in events
            )

        await eventually(answered, f"the bot's answer after {self.steps}", timeout=60)


async def test_one_owner_and_a_silent_bot_in_seeded_interleavings_on_the_real_processes(
    desk_stack: DeskStack, agents: Agents, customers: Customers
) -> None:
    team = {"olivia": await agents("olivia"), "sam": await agents("sam")}
    await team["olivia"].live()
    chance = random.Random(SEED)
    started = time.monotonic()
    for number in range(INTERLEAVINGS):
        customer = await customers(f"ownership-{number}")
        run = Interleaving(desk_stack, customer, team)
        try:
            run.said = 1
            assert "order support" in " ".join(await customer.turn("where is my order ORD-100005?"))
            await eventually(run.handed_over, "the handoff at the desk")
            for _ in range(STEPS):
                await run.step(chance)
            await run.quiet()
            await run.finish()
            await run.quiet()
            await run.check()
        finally:
            await run.close()
    elapsed = time.monotonic() - started
    print(f"{INTERLEAVINGS} interleavings on the real processes in {elapsed:.1f}s")
