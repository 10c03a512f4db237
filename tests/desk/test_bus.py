"""The event bus (`desk.bus`) and the events it carries (`desk.events`)."""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from desk.api.runtime import BUS
from desk.bus import InProcessBus, Reach
from desk.events import (
    EVENT_TYPES,
    MASK,
    AboutApplication,
    AboutHandoff,
    CustomerMessage,
    DeskEvent,
    HandoffClaimed,
    HandoffQueued,
    HandoffResolved,
    decode,
    encode,
)

QUEUED = HandoffQueued("h-1", "web-alice", "order_support", priority="normal")
CLAIMED = HandoffClaimed("h-1", "web-alice", "order_support", agent_id=7, agent_name="Olivia")


async def test_subscribers_get_the_events_of_their_name_in_the_order_they_subscribed() -> None:
    bus = InProcessBus()
    seen: list[tuple[str, str]] = []

    async def first(event: HandoffQueued) -> None:
        seen.append(("first", event.NAME.value))

    async def second(event: HandoffQueued) -> None:
        seen.append(("second", event.NAME.value))

    async def claims(event: HandoffClaimed) -> None:
        seen.append(("claims", event.NAME.value))

    bus.subscribe(HandoffQueued, first)
    bus.subscribe(HandoffClaimed, claims)
    bus.subscribe(HandoffQueued, second)

    await bus.publish(QUEUED)
    await bus.publish(CLAIMED)

    assert seen == [
        ("first", "handoff.queued"),
        ("second", "handoff.queued"),
        ("claims", "handoff.claimed"),
    ]


async def test_an_event_nobody_follows_is_published_without_effect() -> None:
    await InProcessBus().publish(QUEUED)


async def test_a_failing_subscriber_is_logged_masked_and_breaks_nobody(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = InProcessBus()
    seen: list[str] = []

    async def broken(event: CustomerMessage) -> None:
        raise RuntimeError("console gone")

    async def after(event: CustomerMessage) -> None:
        seen.append(event.handoff_id)

    bus.subscribe(CustomerMessage, broken)
    bus.subscribe(CustomerMessage, after)
    message = CustomerMessage(
        "h-1",
        "web-alice",
        "order_support",
        owner_id=None,
        text="I'm Alice Smith",
        intent=None,
        timestamp=1.5,
    )

    with caplog.at_level(logging.ERROR, logger="desk.bus"):
        await bus.publish(message)  # does not raise

    assert seen == ["h-1"]
    (record,) = caplog.records
    assert "broken" in record.getMessage() and "message.customer" in record.getMessage()
    assert "console gone" in caplog.text
    assert "Alice Smith" not in caplog.text and "web-alice" not in caplog.text
    assert "h-1" in record.getMessage()


async def test_published_here_every_subscriber_runs_in_order_before_publish_returns() -> None:
    bus = InProcessBus()
    seen: list[str] = []

    async def tell_customer(event: HandoffClaimed) -> None:
        seen.append("customer told (once)")

    async def push_consoles(event: HandoffClaimed) -> None:
        seen.append("consoles pushed (every process)")

    async def tell_places(event: HandoffClaimed) -> None:
        seen.append("places told (once)")

    bus.subscribe(HandoffClaimed, tell_customer)  # Reach.ONCE is the default
    bus.subscribe(HandoffClaimed, push_consoles, reach=Reach.EVERY_PROCESS)
    bus.subscribe(HandoffClaimed, tell_places, reach=Reach.ONCE)

    await bus.publish(CLAIMED)

    assert seen == [
        "customer told (once)",
        "consoles pushed (every process)",
        "places told (once)",
    ]


async def test_from_another_process_only_the_every_process_subscribers_run_in_order() -> None:
    bus = InProcessBus()
    seen: list[str] = []

    async def once(event: HandoffClaimed) -> None:
        seen.append("once")

    async def first(event: HandoffClaimed) -> None:
        seen.append("every 1")

    async def second(event: HandoffClaimed) -> None:
        seen.append("every 2")

    bus.subscribe(HandoffClaimed, first, reach=Reach.EVERY_PROCESS)
    bus.subscribe(HandoffClaimed, once, reach=Reach.ONCE)
    bus.subscribe(HandoffClaimed, second, reach=Reach.EVERY_PROCESS)

    await bus.deliver_remote(CLAIMED)

    assert seen == ["every 1", "every 2"]


#: Who follows the desk's events in every process: what each process holds by itself.
EVERY_PROCESS_OWNERS = {"ConsoleFeed", "LiveFloor"}


async def test_every_subscriber_of_the_desk_says_how_far_an_event_reaches_it(
    server: TestServer,
) -> None:
    bus = server.app[BUS]

    # The audit (docs/desk-design.md): the consoles and the supervisors' live strip run in
    # every process; everything that writes, tells a customer or calls Rasa runs once.
    for event_type in EVENT_TYPES.values():
        for name, reach in bus.reach_of(event_type):
            owner = name.split(".")[0]
            expected = Reach.EVERY_PROCESS if owner in EVERY_PROCESS_OWNERS else Reach.ONCE
            assert reach is expected, (event_type.NAME.value, name)
    assert bus.reach_of(HandoffClaimed) == [
        ("CustomerLink.agent_joined", Reach.ONCE),
        ("ConsoleFeed.claimed", Reach.EVERY_PROCESS),
        ("WaitingRoom.handoff_moved", Reach.ONCE),
        ("LiveFloor.handoff_moved", Reach.EVERY_PROCESS),
    ]
    assert bus.reach_of(HandoffQueued) == [
        ("ConsoleFeed.queued", Reach.EVERY_PROCESS),
        ("WaitingRoom.handoff_moved", Reach.ONCE),
        ("BotSync.queued", Reach.ONCE),
        ("LiveFloor.handoff_moved", Reach.EVERY_PROCESS),
        ("ApplicationTimeline._later.<locals>.spawn", Reach.ONCE),
    ]
    assert bus.reach_of(HandoffResolved)[0] == ("CustomerLink.agent_left", Reach.ONCE)


def _example(event_type: type[DeskEvent]) -> DeskEvent:
    values: dict[str, Any] = {}
    for field in fields(event_type):
        kind = str(field.type)
        if kind.startswith("int"):
            values[field.name] = 3
        elif kind == "bool":
            values[field.name] = True
        else:
            values[field.name] = f"{field.name}-value"
    return event_type(**values)


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_crosses_a_process_as_json(name: str) -> None:
    event = _example(EVENT_TYPES[name])

    assert decode(encode(event)) == event
    assert event.NAME.value == name


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_personal_fields_are_masked(name: str) -> None:
    event = _example(EVENT_TYPES[name])

    masked = event.masked()

    assert all(masked[personal] == MASK for personal in event.PERSONAL)
    if isinstance(event, AboutHandoff):
        assert masked["sender_id"] == MASK and masked["handoff_id"] == event.handoff_id
    elif isinstance(event, AboutApplication):
        assert masked["reference"] == event.reference
    else:
        assert masked == {"session_key": MASK}


def test_what_is_not_an_event_is_refused() -> None:
    with pytest.raises(ValueError, match="not a desk event"):
        decode('{"name": "handoff.teleported", "payload": {}}')
