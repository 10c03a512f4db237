"""Faults on the embedded system (one Rasa, one action server, one desk, SQLite), under load.

Each test starts a load of scripted customers (and, where a person has the chat, an agent),
injects one fault while their turns are in flight, lets the system recover, then checks the
four invariants (`invariants.py`) and records the run in the summary. A broken invariant
fails the test with every violation listed.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import update

from actions.store.database import Database as AppDatabase
from actions.store.database import utcnow
from actions.store.models import HandoffOutboxEntry, OutboxStatus
from harness.faults import kill_hard
from tests.chaos.conftest import ACTIONS, DESK, RASA, Embedded
from tests.chaos.invariants import check_all
from tests.chaos.load import Load, handoff_ids
from tests.chaos.report import ChaosReport
from tests.chaos.scenario import (
    assert_survived,
    desk_killed_mid_claim,
    fault_at_first_handoff,
    rasa_killed_mid_form,
    serve_everyone,
)
from tests.e2e.desk_system import eventually, tracker_of

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.long_running]

PROFILE = "embedded"
#: A little longer than the action server waits for the desk (HANDOFF_TIMEOUT_SECONDS, 2 s):
#: every delivery times out although the desk takes the handoff.
SLOW_DESK_SECONDS = 2.5


@pytest.mark.parametrize(
    ("process", "name", "kinds"),
    [
        (ACTIONS, "action server kill -9 mid-turn", ["person"] * 8 + ["order"] * 2),
        (DESK, "desk kill -9 mid-intake", ["person"] * 8),
    ],
    ids=["action-server-mid-turn", "desk-mid-intake"],
)
async def test_process_killed_at_the_first_handoff(
    healed: Embedded, report: ChaosReport, process: str, name: str, kinds: list[str]
) -> None:
    def fault() -> None:
        kill_hard(healed.system.stack, process)
        healed.restart(process)

    findings = await fault_at_first_handoff(
        healed.system, report, name=name, profile=PROFILE, kinds=kinds, fault=fault
    )
    assert_survived(findings)


async def test_desk_killed_mid_claim(healed: Embedded, report: ChaosReport) -> None:
    findings = await desk_killed_mid_claim(
        healed.system,
        report,
        profile=PROFILE,
        kill=lambda: kill_hard(healed.system.stack, DESK),
        restart=lambda: healed.restart(DESK),
    )
    assert_survived(findings)


async def test_rasa_killed_mid_form(healed: Embedded, report: ChaosReport) -> None:
    def fault() -> None:
        kill_hard(healed.system.stack, RASA)
        healed.restart(RASA)

    findings = await rasa_killed_mid_form(healed.system, report, profile=PROFILE, fault=fault)
    assert_survived(findings)


async def test_duplicate_deliveries(healed: Embedded, report: ChaosReport) -> None:
    """The same handoff POSTed twice at once, a conversation event POSTed twice, and an outbox
    row the relay sends a second time: each opens or changes nothing more."""
    started = time.monotonic()
    system = healed.system
    async with aiohttp.ClientSession() as http:
        load = Load.of(system, ["person"] * 4).start(http)
        await load.finish()
        await handoff_ids(system, load.customers)
        headers = {"Authorization": f"Bearer {system.env.handoff_secret}"}
        first, second, third, fourth = load.customers

        # 1. The handoff of `first` POSTed twice at once, as the outbox stored it.
        [row] = system.env.outbox(first.sender)
        sent = [
            http.post(
                f"{system.desk_url}/api/handoffs",
                data=row.payload,
                headers={**headers, "Idempotency-Key": row.handoff_id},
            )
            for _ in range(2)
        ]
        for answer in await asyncio.gather(*sent):
            async with answer:
                assert answer.status == 200, await answer.text()

        # 2. `second`'s last message delivered to the desk twice more.
        tracker = await tracker_of(http, system, second.sender)
        last_user = [e for e in tracker["events"] if e["event"] == "user"][-1]

        async def applied() -> bool:
            [handoff] = system.handoffs_of(second.sender)
            return handoff.last_message_timestamp == last_user["timestamp"]

        await eventually(applied, "the desk applies the customer's last message")
        before = system.handoffs_of(second.sender)[0]
        for _ in range(2):
            async with http.post(
                f"{system.desk_url}/api/conversation-events",
                json={"sender_id": second.sender, "event": last_user},
                headers=headers,
            ) as answer:
                assert answer.status == 202, await answer.text()
        after = system.handoffs_of(second.sender)[0]
        assert (after.status, after.last_message_timestamp) == (
            before.status,
            before.last_message_timestamp,
        )

        # 3. `third`'s outbox row made due again: the relay delivers it a second time.
        [delivered] = system.env.outbox(third.sender)
        outbox = AppDatabase(system.env.app_database_url)
        try:
            with outbox.session() as session:
                session.execute(
                    update(HandoffOutboxEntry)
                    .where(HandoffOutboxEntry.sender_id == third.sender)
                    .values(
                        status=OutboxStatus.PENDING.value,
                        delivered_at=None,
                        next_attempt_at=utcnow() - timedelta(seconds=1),
                    )
                )
                session.commit()
        finally:
            outbox.dispose()

        async def relayed() -> bool:
            [again] = system.env.outbox(third.sender)
            return again.status == OutboxStatus.DELIVERED.value and (
                again.attempts > delivered.attempts
            )

        await eventually(relayed, "the relay delivers the row again", timeout=60)
    await serve_everyone(healed.system, [first, second, third, fourth])
    findings = await check_all(system, load.customers)
    report.record("duplicate deliveries (handoff, event, outbox row)", PROFILE, started, findings)
    assert_survived(findings)


async def test_slow_desk(healed: Embedded, report: ChaosReport) -> None:
    """Every answer of the desk to the bot arrives after the action server stopped waiting."""
    started = time.monotonic()
    healed.proxy.delay_seconds = SLOW_DESK_SECONDS
    async with aiohttp.ClientSession() as http:
        load = Load.of(healed.system, ["person"] * 6 + ["order"] * 2).start(http)
        await load.finish()
    healed.proxy.delay_seconds = 0.0
    await serve_everyone(healed.system, load.of_kind("person"))
    findings = await check_all(healed.system, load.customers)
    report.record(f"slow desk (+{SLOW_DESK_SECONDS} s per answer)", PROFILE, started, findings)
    assert_survived(findings)
