"""Faults on the scaled system (two Rasa, two action servers, two desks behind HAProxy), on
PostgreSQL, Redis and RabbitMQ servers the suite starts for itself (`harness.private_services`):
restarting them is the fault, and the machine's shared ones are never touched.

Customers come in through the balancer; the action servers deliver to desk #1 and the agent
works there (`tests.e2e.scaled_system.wiring`), so "the desk" below is desk #1. The balancer
sends each REST request to either Rasa process (round robin), so killing Rasa #1 strikes about
half the customers' turns, and their conversations go on from the shared tracker store.
"""

from __future__ import annotations

import pytest

from harness.faults import kill_hard
from tests.chaos.conftest import Scaled
from tests.chaos.report import ChaosReport
from tests.chaos.scenario import (
    Fault,
    assert_survived,
    desk_killed_mid_claim,
    fault_at_first_handoff,
    rasa_killed_mid_form,
)

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.long_running]

PROFILE = "scaled"
LOAD = ["person"] * 6 + ["order"] * 2


async def run(scaled: Scaled, report: ChaosReport, name: str, fault: Fault) -> None:
    findings = await fault_at_first_handoff(
        scaled.desk_stack, report, name=name, profile=PROFILE, kinds=LOAD, fault=fault
    )
    assert_survived(findings)


async def test_postgres_restart(scaled_healed: Scaled, report: ChaosReport) -> None:
    await run(scaled_healed, report, "PostgreSQL restart", scaled_healed.services.postgres.restart)


async def test_redis_restart(scaled_healed: Scaled, report: ChaosReport) -> None:
    await run(scaled_healed, report, "Redis restart", scaled_healed.services.redis.restart)


async def test_rabbitmq_restart(scaled_healed: Scaled, report: ChaosReport) -> None:
    await run(scaled_healed, report, "RabbitMQ restart", scaled_healed.services.rabbitmq.restart)


@pytest.mark.parametrize(
    ("process", "name"),
    [("actions1", "action server kill -9 mid-turn"), ("desk1", "desk kill -9 mid-intake")],
    ids=["action-server-mid-turn", "desk-mid-intake"],
)
async def test_process_killed_at_the_first_handoff(
    scaled_healed: Scaled, report: ChaosReport, process: str, name: str
) -> None:
    copy = scaled_healed.system.copy

    def fault() -> None:
        kill_hard(copy.stack, process)
        copy.restart(process)

    await run(scaled_healed, report, name, fault)


async def test_desk_killed_mid_claim(scaled_healed: Scaled, report: ChaosReport) -> None:
    copy = scaled_healed.system.copy
    findings = await desk_killed_mid_claim(
        scaled_healed.desk_stack,
        report,
        profile=PROFILE,
        kill=lambda: kill_hard(copy.stack, "desk1"),
        restart=lambda: copy.restart("desk1"),
    )
    assert_survived(findings)


async def test_rasa_killed_mid_form(scaled_healed: Scaled, report: ChaosReport) -> None:
    copy = scaled_healed.system.copy

    def fault() -> None:
        kill_hard(copy.stack, "rasa1")
        copy.restart("rasa1")

    findings = await rasa_killed_mid_form(
        scaled_healed.desk_stack, report, profile=PROFILE, fault=fault
    )
    assert_survived(findings)
