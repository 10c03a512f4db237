"""Single ownership as a property (issue 15): 1,000 random interleavings of what customers,
agents, time and the network do, on the real desk and Rasa's own conversation machinery.

Each interleaving is one conversation (`tests.support.ownership_world.World`: the real desk
application and database; Rasa's processor, trackers, default actions and route code with the
pause guards; scripted NLU, policy and action-server actions). Hypothesis draws the steps:

- the customer says something: "restart", "/restart", "/greet", "/session_start", "/back",
  "never mind", "agent", the wait answers, anything; or goes silent for an hour;
- the event broker forwards the customer's next message to the desk; the action server's
  outbox delivers the next handoff;
- an agent claims (or two claim at once), writes, transfers, resolves;
- the claim time-out passes (the waiting room's check); a held call from the desk to Rasa
  (a hand-back's resume or action, a report of an open handoff) gets through.

After every step: the bot never spoke while an agent owned the conversation (checked the
moment Rasa stored each bot message), no conversation is owned by two agents at once (no two
claims without a transfer between), and a claimed conversation is paused. At the end, with
every held call delivered: a conversation with no open handoff is owned by nobody, is not
paused, and the bot answers again.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from contract.handoff_status import HandoffStatus
from tests.support.ownership_world import (
    OTHER_QUEUE,
    QUEUE,
    World,
    ownerships,
    rasa_as_served,
)

T = TypeVar("T")

#: The issue asks for at least 1,000; OWNERSHIP_INTERLEAVINGS runs more (or fewer, while
#: working on the harness).
INTERLEAVINGS: Final = int(os.environ.get("OWNERSHIP_INTERLEAVINGS", "1000"))
STEPS: Final = 10
CUSTOMER_TEXTS: Final = (
    "restart",
    "/restart",
    "/greet",
    "/session_start",
    "/back",
    "never mind",
    "agent",
    "hi",
    "keep waiting",
    "leave a message",
    "/leave_message",
    "hello? is anyone there",
)
#: The databases live in memory-backed files where the machine has them (no disk syncs).
MEMORY: Final = "/dev/shm" if Path("/dev/shm").is_dir() else None
AGENTS_OF_THE_QUEUE: Final = ("olivia", "omar", "sam")
#: The desk's answers to an agent's request that the handoff's state explains (not found for
#: one they may not see, refused for one not theirs, a conflict for the wrong status).
REFUSALS: Final = {403, 404, 409}
CLOSED: Final = {HandoffStatus.HANDED_BACK, HandoffStatus.ABANDONED, HandoffStatus.EXPIRED}
OPEN: Final = {HandoffStatus.QUEUED, HandoffStatus.CLAIMED}


class Runner:
    """One event loop for the whole run: rules are synchronous, the system is not."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)


RUN: Runner | None = None
WORLD: World | None = None


class OneConversation(RuleBasedStateMachine):
    """A customer, the agents of their queue, time and the network, in any order."""

    def __init__(self) -> None:
        super().__init__()
        assert RUN is not None and WORLD is not None
        self.run, self.world = RUN, WORLD
        self.sender = self.world.new_sender()
        self.pending: set[asyncio.Task[Any]] = set()
        self.speeches_before = len(self.world.rasa.broker.speeches)

    # --- Helpers -------------------------------------------------------------------------------

    def settle(self) -> None:
        self.run(self.world.settle(self.pending))

    def latest_handoff(self) -> str | None:
        handoffs = self.world.handoffs_of(self.sender)
        return str(handoffs[-1]["handoff_id"]) if handoffs else None

    def agent_call(self, agent: str, verb: str, body: dict[str, Any] | None = None) -> int | None:
        handoff_id = self.latest_handoff()
        if handoff_id is None:
            return None
        browser = self.world.browsers[agent]
        status, answer = self.run(
            browser.post(f"/api/handoffs/{handoff_id}/{verb}", json=body or {})
        )
        assert status < 500, answer
        self.settle()
        return int(status)

    @initialize(delivered=st.booleans())
    def customer_asks_for_a_person(self, delivered: bool) -> None:
        """Every interleaving starts with a hand-over request; its delivery to the desk may
        come at once or later."""
        self.run(self.world.rasa.customer_says(self.sender, "agent"))
        if delivered:
            self.run(self.world.deliver_handoff())
        self.settle()

    # --- The customer ----------------------------------------------------------------------------

    @rule(text=st.sampled_from(CUSTOMER_TEXTS))
    def customer_says(self, text: str) -> None:
        self.run(self.world.rasa.customer_says(self.sender, text))
        self.settle()

    @rule()
    def customer_silent_for_an_hour(self) -> None:
        self.run(self.world.hour_of_silence(self.sender))
        self.settle()

    # --- Rasa reaching the desk ------------------------------------------------------------------

    @rule()
    def broker_forwards_a_message(self) -> None:
        self.run(self.world.forward_customer_event())
        self.settle()

    @rule()
    def outbox_delivers_a_handoff(self) -> None:
        self.run(self.world.deliver_handoff())
        self.settle()

    # --- Agents --------------------------------------------------------------------------------

    @rule(agent=st.sampled_from(AGENTS_OF_THE_QUEUE))
    def agent_claims(self, agent: str) -> None:
        status = self.agent_call(agent, "claim")
        assert status in {None, 200} | REFUSALS

    @rule()
    def two_agents_claim_at_once(self) -> None:
        handoff_id = self.latest_handoff()
        if handoff_id is None:
            return
        path = f"/api/handoffs/{handoff_id}/claim"

        async def both() -> list[tuple[int, Any]]:
            browsers = self.world.browsers
            return list(
                await asyncio.gather(browsers["olivia"].post(path), browsers["omar"].post(path))
            )

        answers = self.run(both())
        self.settle()
        won = [status for status, _ in answers if status == 200]
        assert len(won) <= 1, answers
        assert {status for status, _ in answers} <= {200} | REFUSALS, answers

    @rule(agent=st.sampled_from(AGENTS_OF_THE_QUEUE))
    def agent_writes(self, agent: str) -> None:
        status = self.agent_call(agent, "messages", {"text": f"{agent} here."})
        assert status in {None, 201} | REFUSALS

    @rule(agent=st.sampled_from(AGENTS_OF_THE_QUEUE), queue=st.sampled_from([QUEUE, OTHER_QUEUE]))
    def agent_transfers(self, agent: str, queue: str) -> None:
        status = self.agent_call(agent, "transfer", {"queue": queue})
        assert status in {None, 200, 400, 422} | REFUSALS

    @rule(agent=st.sampled_from(AGENTS_OF_THE_QUEUE))
    def agent_resolves(self, agent: str) -> None:
        """Resolving hands back: its calls to Rasa may be held, so it runs on."""
        handoff_id = self.latest_handoff()
        if handoff_id is None:
            return
        browser = self.world.browsers[agent]
        request = browser.post(
            f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
        )
        self.pending.add(self.run_on(request))
        self.settle()

    def run_on(self, work: Coroutine[Any, Any, tuple[int, Any]]) -> asyncio.Task[Any]:
        async def checked() -> None:
            status, answer = await work
            assert status in {200} | REFUSALS, answer

        return self.run.loop.create_task(checked())

    # --- Time and the network ---------------------------------------------------------------------

    @rule()
    def claim_time_out(self) -> None:
        self.run(self.world.check_waiting_room())
        self.settle()

    @rule(pick=st.integers(min_value=0, max_value=7))
    def a_held_call_gets_through(self, pick: int) -> None:
        if self.world.wire.held:
            self.world.wire.release(pick)
            self.settle()

    # --- The properties ------------------------------------------------------------------------

    @invariant()
    def the_bot_never_speaks_over_a_person(self) -> None:
        spoken = self.world.rasa.broker.speeches[self.speeches_before :]
        over = [speech for speech in spoken if speech.owner_id is not None]
        assert not over, f"the bot spoke while agent {over[0].owner_id} owned the chat: {over}"

    @invariant()
    def one_owner_at_a_time_and_the_bot_paused_while_owned(self) -> None:
        handoffs = self.world.handoffs_of(self.sender)
        ownerships(handoffs)  # asserts that no two claims overlap
        owned = [handoff for handoff in handoffs if handoff["status"] == HandoffStatus.CLAIMED]
        assert len(owned) <= 1, owned
        if owned:
            tracker = self.run(self.world.rasa.tracker(self.sender))
            assert tracker.is_paused(), "an agent owns the chat but the bot is not paused"

    def teardown(self) -> None:
        """Deliver everything still under way, then resolve what is still open (as Sam, who
        claims it first if it waits): the conversation is then owned by nobody, not paused,
        and the bot answers again. (Closing it also keeps the queue short for the next
        interleaving.)"""
        self.drain()
        for handoff in self.world.handoffs_of(self.sender):
            if HandoffStatus(handoff["status"]) not in OPEN:
                continue
            tracker = self.run(self.world.rasa.tracker(self.sender))
            assert tracker.is_paused(), f"a handoff is open but the bot is not paused: {handoff}"
            if handoff["status"] == HandoffStatus.QUEUED:
                assert self.agent_call("sam", "claim") == 200
            self.agent_resolves("sam")
            self.drain()
        handoffs = self.world.handoffs_of(self.sender)
        for handoff in handoffs:
            assert HandoffStatus(handoff["status"]) in CLOSED, handoff
        assert self.world.owner_of(self.sender) is None
        tracker = self.run(self.world.rasa.tracker(self.sender))
        assert not tracker.is_paused(), f"nobody has the chat, yet it is paused: {handoffs}"
        replies = self.run(self.world.rasa.customer_says(self.sender, "hi"))
        assert replies, "the bot did not answer after the conversation came back to it"

    def drain(self) -> None:
        world = self.world
        while world.wire.held or world.rasa.outbox or world.rasa.broker.pending:
            if world.rasa.outbox:
                self.run(world.deliver_handoff())
            elif world.rasa.broker.pending:
                self.run(world.forward_customer_event())
            else:
                world.wire.release(0)
            self.settle()
        self.run(self.world.settle_all(self.pending))
        assert not self.pending


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    global RUN, WORLD
    RUN = Runner()
    with rasa_as_served(), tempfile.TemporaryDirectory(dir=MEMORY) as root:
        WORLD = World(Path(root))
        RUN(WORLD.start())
        try:
            yield WORLD
        finally:
            RUN(WORLD.close())
            RUN.loop.close()
            RUN = WORLD = None


@pytest.mark.long_running
def test_one_owner_and_a_silent_bot_over_a_thousand_interleavings(world: World) -> None:
    run_state_machine_as_test(
        OneConversation,
        settings=settings(
            max_examples=INTERLEAVINGS,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_a_late_report_of_a_handed_back_handoff_leaves_the_bot_in_charge(world: World) -> None:
    """The shrunk counterexample the property found: the desk's report of a new handoff
    (`handoff-opened`) reached Rasa only after the agent had resolved it and the bot had taken
    the conversation back; it paused the conversation again, with nobody owning it, and told
    the customer they were in a queue that no longer held them."""
    assert RUN is not None
    machine = OneConversation()
    machine.customer_asks_for_a_person(delivered=True)
    machine.agent_claims("olivia")
    machine.agent_resolves("olivia")
    held = world.wire.held
    assert [call.kind for call in held] == ["handoff_opened", "resume"]
    machine.a_held_call_gets_through(1)  # the hand-back's resume
    assert [call.kind for call in held] == ["handoff_opened", "execute"]
    machine.a_held_call_gets_through(1)  # action_welcome_back
    machine.a_held_call_gets_through(0)  # the report, last

    assert world.handoffs_of(machine.sender)[-1]["status"] == HandoffStatus.HANDED_BACK
    tracker = RUN(world.rasa.tracker(machine.sender))
    assert not tracker.is_paused()
    assert RUN(world.rasa.customer_says(machine.sender, "hi")) == ["Here is the bot's answer."]


def test_a_late_welcome_back_does_not_speak_over_the_next_agent(world: World) -> None:
    """A counterexample of the same kind: the hand-back's `resume` got through, the customer
    asked for a person again and Omar claimed that new handoff, and only then did the
    hand-back's second call (`action_welcome_back`) reach Rasa: the bot said "Welcome back!"
    over Omar."""
    assert RUN is not None
    machine = OneConversation()
    machine.customer_asks_for_a_person(delivered=True)
    machine.agent_claims("olivia")
    machine.agent_resolves("olivia")
    held = world.wire.held
    machine.a_held_call_gets_through([call.kind for call in held].index("resume"))
    machine.customer_says("agent")
    machine.outbox_delivers_a_handoff()
    machine.agent_claims("omar")
    assert world.owner_of(machine.sender) == world.agent_ids["omar"]
    machine.a_held_call_gets_through([call.kind for call in held].index("execute"))

    machine.the_bot_never_speaks_over_a_person()
    machine.one_owner_at_a_time_and_the_bot_paused_while_owned()
    machine.teardown()
