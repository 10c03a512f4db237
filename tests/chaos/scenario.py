"""One fault under load, the same on either system: start the customers, wait for the moment
the fault is meant for, inject it, let the load finish, let an agent serve every handoff, and
check the invariants."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

import aiohttp

from contract.handoff_status import OPEN_STATUSES
from tests.chaos.invariants import check_all, told_of_a_person
from tests.chaos.load import AGENT, Customer, Load, claim, handoff_ids, serve_and_resolve
from tests.chaos.report import ChaosReport, Findings
from tests.e2e.desk_system import Agent, DeskStack, eventually, tracker_of
from tests.e2e.scripts import APPLICATION_REFERENCE

#: A fault: called once the load's first handoff reached the desk, in a thread of its own (a
#: restart takes seconds; the customers go on meanwhile).
Fault = Callable[[], None]
OPEN = frozenset(status.value for status in OPEN_STATUSES)


def assert_survived(findings: Findings) -> None:
    assert not findings.violations, "\n".join(findings.violations)


async def first_handoff(system: DeskStack, customers: Sequence[Customer]) -> None:
    async def arrived() -> bool:
        return any(system.handoffs_of(c.sender) for c in customers)

    await eventually(arrived, "the first handoff of the load", timeout=120)


async def open_handoffs(system: DeskStack, customers: Sequence[Customer]) -> list[str]:
    """The customers' open handoffs, once every customer told of a person has one (or the
    deadline passed: the invariants then report the handoff lost)."""

    def told(customer: Customer) -> bool:
        return told_of_a_person([r for t in customer.turns for r in t.replies or []])

    async def all_there() -> bool:
        return all(system.handoffs_of(c.sender) for c in customers if told(c))

    with contextlib.suppress(AssertionError):
        await eventually(all_there, "a handoff of every customer told of one", timeout=90)
    return [
        handoff.handoff_id
        for customer in customers
        for handoff in system.handoffs_of(customer.sender)
        if handoff.status in OPEN
    ]


async def serve_everyone(system: DeskStack, customers: Sequence[Customer]) -> None:
    """The agent claims every open handoff of the customers, writes to them and hands them
    back."""
    agent = await Agent(system).login(AGENT)
    try:
        for handoff_id in await open_handoffs(system, customers):
            handoff = await agent.handoff(handoff_id)
            if handoff["status"] == "queued":
                assert await claim(agent, handoff_id) == 200
            await serve_and_resolve(agent, handoff_id)
    finally:
        await agent.close()


async def fault_at_first_handoff(
    system: DeskStack,
    report: ChaosReport,
    *,
    name: str,
    profile: str,
    kinds: Sequence[str],
    fault: Fault,
) -> Findings:
    """Customers of `kinds` play their scripts; `fault` strikes once the first handoff is in
    the desk; every customer who asked for a person is served and handed back; then the
    invariants, recorded in `report` under `name`."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        load = Load.of(system, kinds).start(http)
        await first_handoff(system, load.customers)
        await asyncio.to_thread(fault)
        await load.finish()
    await serve_everyone(system, load.of_kind("person"))
    findings = await check_all(system, load.customers)
    report.record(name, profile, started, findings)
    return findings


async def desk_killed_mid_claim(
    system: DeskStack, report: ChaosReport, *, profile: str, kill: Fault, restart: Fault
) -> Findings:
    """Customers ask for a person; the agent claims every handoff at once, and `kill` strikes
    the desk the agent works on once the first claim is in; `restart` brings it back, and the
    agent serves everyone."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        load = Load.of(system, ["person"] * 6).start(http)
        await load.finish()
    ids = await handoff_ids(system, load.customers)
    agent = await Agent(system).login(AGENT)
    try:
        claims = [asyncio.create_task(claim(agent, handoff_id)) for handoff_id in ids]

        async def one_claimed() -> bool:
            return any(system.handoffs_of(c.sender)[0].claimed_at for c in load.customers)

        await eventually(one_claimed, "the first claim")
        kill()
        await asyncio.gather(*claims)
        await asyncio.to_thread(restart)
    finally:
        await agent.close()
    await serve_everyone(system, load.customers)
    findings = await check_all(system, load.customers)
    report.record("desk kill -9 mid-claim", profile, started, findings)
    return findings


async def rasa_killed_mid_form(
    system: DeskStack, report: ChaosReport, *, profile: str, fault: Fault
) -> Findings:
    """Customers fill in the mortgage form; `fault` (a Rasa process killed and started again)
    strikes once every one of them is in the form, and every form must still reach its end."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        load = Load.of(system, ["mortgage"] * 4).start(http)

        async def in_the_form() -> bool:
            for customer in load.customers:
                tracker = await tracker_of(http, system, customer.sender)
                if sum(e["event"] == "user" for e in tracker["events"]) < 3:
                    return False
            return True

        await eventually(in_the_form, "every customer in the mortgage form", timeout=120)
        await asyncio.to_thread(fault)
        await load.finish()
    findings = await check_all(system, load.customers)
    for customer in load.customers:
        replies = " ".join(r for t in customer.turns for r in (t.replies or []))
        if not APPLICATION_REFERENCE.search(replies):
            findings.violations.append(f"{customer.sender}: the form did not reach its end")
    report.record("Rasa kill -9 mid-form", profile, started, findings)
    return findings
