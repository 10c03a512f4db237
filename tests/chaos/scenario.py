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
from tests.chaos.load import AGENT, Customer, Load, claim, serve_and_resolve
from tests.chaos.report import ChaosReport, Findings
from tests.e2e.desk_system import Agent, DeskStack, eventually

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
