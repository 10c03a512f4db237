"""The live strip read from a hand-built database (`desk.floor.read_floor`), on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from contract.analytics_report import FLOOR_MESSAGE, Breach, QueueFloor
from desk.background import BackgroundTasks
from desk.console_hub import LiveHub
from desk.floor import LiveFloor, read_floor
from desk.services import intake
from desk.services.agents import Actor
from desk.store.database import Database, UnitRunner
from desk.store.types import utcnow
from tests.desk.floor_world import LEVELS, NOW, build_world


def test_the_strip_counts_waits_and_breaches(
    any_database: Database, context_factory: Callable[..., dict[str, Any]]
) -> None:
    ids = build_world(any_database, context_factory)

    with any_database.session() as session:
        floor = read_floor(session, levels=LEVELS, agents_online=3, now=NOW)

    assert (floor.at, floor.waiting, floor.oldest_wait_s, floor.agents_online) == (
        NOW,
        4,
        1000.0,
        3,
    )
    assert floor.queues == [
        QueueFloor(queue="order_support", waiting=2, oldest_wait_s=1000.0, sla_s=120.0),
        # Waiting again after a transfer: the wait runs from its first queue (100 s), not from
        # the transfer (500 s).
        QueueFloor(queue="tech_support_l2", waiting=1, oldest_wait_s=900.0, sla_s=300.0),
        QueueFloor(queue="mortgage_advisors", waiting=0, oldest_wait_s=None, sla_s=120.0),
        QueueFloor(queue="general_support", waiting=0, oldest_wait_s=None, sla_s=120.0),
        QueueFloor(queue="vip_lounge", waiting=1, oldest_wait_s=10.0, sla_s=120.0),
    ]
    assert floor.breaches == [
        Breach(
            handoff_id=ids["waiting_long"], queue="order_support", waited_s=1000.0, claimed=False
        ),
        Breach(
            handoff_id=ids["transferred"], queue="tech_support_l2", waited_s=900.0, claimed=False
        ),
        # Claimed within the hour after the level of the queue they were claimed from; the one
        # claimed two hours ago and those claimed in time are not listed, nor is the transferred
        # handoff's first (late) claim: it waits again.
        Breach(
            handoff_id=ids["claimed_late"], queue="tech_support_l2", waited_s=500.0, claimed=True
        ),
        Breach(
            handoff_id=ids["resolved_late"], queue="order_support", waited_s=290.0, claimed=True
        ),
    ]


def test_an_empty_desk_has_no_waits(any_database: Database) -> None:
    with any_database.session() as session:
        floor = read_floor(session, levels=LEVELS, agents_online=0, now=NOW)

    assert (floor.waiting, floor.oldest_wait_s, floor.breaches) == (0, None, [])
    assert [(q.queue, q.waiting, q.oldest_wait_s) for q in floor.queues] == [
        ("order_support", 0, None),
        ("tech_support_l2", 0, None),
        ("mortgage_advisors", 0, None),
        ("general_support", 0, None),
    ]


class RecordingSocket:
    """Stands in for a console's websocket: records what the hub sends it."""

    closed = False

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def test_the_strip_is_pushed_again_while_nothing_happens(
    database: Database, actors: dict[str, Actor], context_factory: Callable[..., dict[str, Any]]
) -> None:
    with database.session(write=True) as session:
        intake.receive(session, context_factory(), now=utcnow() - timedelta(seconds=30))
    hub, tasks = LiveHub(), BackgroundTasks()
    with ThreadPoolExecutor(max_workers=2) as executor:
        live = LiveFloor(UnitRunner(database, executor), hub, LEVELS, tasks, refresh_seconds=0.05)
        live.start()
        supervisor, agent = RecordingSocket(), RecordingSocket()
        hub.add(agent, actors["olivia"])  # type: ignore[arg-type]
        hub.add(supervisor, actors["sam"])  # type: ignore[arg-type]

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while len(supervisor.sent) < 3 and loop.time() < deadline:
            await asyncio.sleep(0.01)  # polling the recording, with a deadline
        await live.stop()
        await tasks.settle()

    assert len(supervisor.sent) >= 3
    assert agent.sent == []
    assert {message["type"] for message in supervisor.sent} == {FLOOR_MESSAGE}
    assert {message["agents_online"] for message in supervisor.sent} == {2}
    waits = [message["oldest_wait_s"] for message in supervisor.sent]
    assert waits == sorted(waits) and waits[0] >= 30.0 and waits[-1] > waits[0]


async def test_nothing_is_read_with_no_supervisor_connected(
    database: Database, actors: dict[str, Actor]
) -> None:
    hub, tasks = LiveHub(), BackgroundTasks()
    with ThreadPoolExecutor(max_workers=1) as executor:
        live = LiveFloor(UnitRunner(database, executor), hub, LEVELS, tasks)
        live.start()
        agent = RecordingSocket()
        hub.add(agent, actors["olivia"])  # type: ignore[arg-type]
        pushed = await live.push()
        await live.stop()
        await tasks.settle()

    assert (pushed, agent.sent) == (0, [])
