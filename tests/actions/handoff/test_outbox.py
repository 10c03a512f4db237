"""The transactional outbox against a real SQLite file and a real HTTP endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actions.handoff.delivery import DeliveryResult, HandoffClient
from actions.handoff.outbox import (
    DispatchStatus,
    HandoffDispatcher,
    OutboxPolicy,
    OutboxRelay,
    OutboxUnavailableError,
)
from actions.settings import get_settings
from actions.store.database import Database, utcnow
from actions.store.models import HandoffOutboxEntry
from contract.handoff_context import HandoffContext
from harness.recording_endpoint import RecordingEndpoint
from tests.actions.conftest import FakeClock

MakeClient = Callable[..., HandoffClient]
MakeContext = Callable[..., HandoffContext]

POLICY = OutboxPolicy(lease_seconds=60.0, retry_backoff_seconds=10.0, max_retry_delay_seconds=600)


def entry(database: Database, handoff_id: object) -> HandoffOutboxEntry:
    """The outbox row of a handoff."""
    with database.session() as session:
        row = session.get(HandoffOutboxEntry, str(handoff_id))
        assert row is not None
        return row


def all_entries(database: Database) -> list[HandoffOutboxEntry]:
    """Every outbox row."""
    with database.session() as session:
        return list(session.query(HandoffOutboxEntry).all())


@pytest.fixture
def dispatcher(database: Database, make_client: MakeClient, clock: FakeClock) -> HandoffDispatcher:
    """A dispatcher with two quick tries per delivery."""
    return HandoffDispatcher(database, make_client(attempts=2), POLICY, clock=clock)


@pytest.fixture
def make_relay(
    database: Database, make_client: MakeClient, clock: FakeClock
) -> Callable[..., OutboxRelay]:
    """Build relays; pass `database=` for one with its own engine."""

    def make(**overrides: Any) -> OutboxRelay:
        options: dict[str, Any] = {"interval_seconds": 3600.0, "clock": clock}
        options.update(overrides)
        db = options.pop("database", database)
        return OutboxRelay(db, make_client(attempts=1), POLICY, **options)

    return make


# --- Dispatch -------------------------------------------------------------------------------------


async def test_dispatch_delivers_and_records_it(
    dispatcher: HandoffDispatcher,
    database: Database,
    endpoint: RecordingEndpoint,
    make_context: MakeContext,
    clock: FakeClock,
) -> None:
    context = make_context()

    outcome = await dispatcher.dispatch(context)

    assert outcome.status is DispatchStatus.DELIVERED
    assert outcome.handoff_id == str(context.handoff_id)
    row = entry(database, context.handoff_id)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)
    assert row.delivered_at == clock.now
    assert row.sender_id == context.conversation.sender_id
    assert row.payload == context.json() == endpoint.requests[0].body


async def test_desk_down_queues_the_handoff(
    dispatcher: HandoffDispatcher,
    database: Database,
    endpoint: RecordingEndpoint,
    make_context: MakeContext,
    clock: FakeClock,
) -> None:
    await endpoint.down()
    context = make_context()

    outcome = await dispatcher.dispatch(context)

    assert outcome.status is DispatchStatus.QUEUED
    assert "ClientConnectorError" in (outcome.error or "")
    row = entry(database, context.handoff_id)
    assert (row.status, row.attempts) == ("pending", 2)
    assert "ClientConnectorError" in (row.last_error or "")
    # Two failed tries: the next one waits twice the base backoff.
    assert row.next_attempt_at == clock.now + POLICY.retry_delay(2)


async def test_relay_delivers_once_the_desk_is_back(
    dispatcher: HandoffDispatcher,
    database: Database,
    endpoint: RecordingEndpoint,
    make_context: MakeContext,
    make_relay: Callable[..., OutboxRelay],
    clock: FakeClock,
) -> None:
    await endpoint.down()
    context = make_context()
    await dispatcher.dispatch(context)
    await endpoint.up()
    relay = make_relay()

    assert (await relay.run_once()).claimed == 0  # not due yet
    clock.advance(POLICY.retry_delay(2).total_seconds())
    report = await relay.run_once()

    assert (report.claimed, report.delivered) == (1, 1)
    row = entry(database, context.handoff_id)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)
    assert endpoint.requests_for(str(context.handoff_id))[0].body == context.json()
    assert await relay.run_once() == type(report)()  # nothing left to do


async def test_relay_backs_off_while_the_desk_stays_down(
    dispatcher: HandoffDispatcher,
    database: Database,
    endpoint: RecordingEndpoint,
    make_context: MakeContext,
    make_relay: Callable[..., OutboxRelay],
    clock: FakeClock,
) -> None:
    await endpoint.down()
    context = make_context()
    await dispatcher.dispatch(context)
    clock.advance(POLICY.retry_delay(2).total_seconds())

    report = await make_relay().run_once()

    assert (report.claimed, report.retrying) == (1, 1)
    row = entry(database, context.handoff_id)
    assert (row.status, row.attempts) == ("pending", 3)
    assert row.next_attempt_at == clock.now + POLICY.retry_delay(3)


async def test_dispatching_the_same_handoff_twice_delivers_once(
    dispatcher: HandoffDispatcher, endpoint: RecordingEndpoint, make_context: MakeContext
) -> None:
    context = make_context()

    first = await dispatcher.dispatch(context)
    second = await dispatcher.dispatch(context)

    assert (first.status, second.status) == (DispatchStatus.DELIVERED, DispatchStatus.DUPLICATE)
    assert len(endpoint.requests_for(str(context.handoff_id))) == 1


async def test_concurrent_dispatches_of_one_handoff_deliver_once(
    dispatcher: HandoffDispatcher, endpoint: RecordingEndpoint, make_context: MakeContext
) -> None:
    context = make_context()

    outcomes = await asyncio.gather(*(dispatcher.dispatch(context) for _ in range(3)))

    assert sorted(o.status.value for o in outcomes) == ["delivered", "duplicate", "duplicate"]
    assert len(endpoint.requests_for(str(context.handoff_id))) == 1


async def test_the_relay_leaves_a_handoff_alone_while_it_is_being_dispatched(
    database: Database,
    endpoint: RecordingEndpoint,
    make_client: MakeClient,
    make_context: MakeContext,
    make_relay: Callable[..., OutboxRelay],
) -> None:
    # Real clock: the lease written before delivery is what keeps the relay away.
    dispatcher = HandoffDispatcher(database, make_client(), POLICY)
    relay = make_relay(clock=utcnow)
    context = make_context()
    endpoint.stall()
    dispatching = asyncio.create_task(dispatcher.dispatch(context))
    await endpoint.wait_for_arrivals(1)

    report = await relay.run_once()
    endpoint.resume()
    outcome = await dispatching

    assert report.claimed == 0
    assert outcome.status is DispatchStatus.DELIVERED
    assert len(endpoint.requests_for(str(context.handoff_id))) == 1


async def test_nothing_is_lost_when_dispatch_dies_mid_delivery(
    dispatcher: HandoffDispatcher,
    database: Database,
    endpoint: RecordingEndpoint,
    make_context: MakeContext,
    make_relay: Callable[..., OutboxRelay],
    clock: FakeClock,
) -> None:
    context = make_context()
    endpoint.stall()
    dispatching = asyncio.create_task(dispatcher.dispatch(context))
    await endpoint.wait_for_arrivals(1)
    dispatching.cancel()  # the process "dies" after writing the row, before recording a result
    with pytest.raises(asyncio.CancelledError):
        await dispatching
    endpoint.resume()
    assert entry(database, context.handoff_id).status == "pending"

    clock.advance(POLICY.lease_seconds)
    report = await make_relay().run_once()

    assert report.delivered == 1
    assert entry(database, context.handoff_id).status == "delivered"
    await endpoint.wait_for_handoffs(1)


async def test_two_relays_never_deliver_the_same_handoff_twice(
    dispatcher: HandoffDispatcher,
    database_path: Path,
    endpoint: RecordingEndpoint,
    make_context: MakeContext,
    make_relay: Callable[..., OutboxRelay],
    clock: FakeClock,
) -> None:
    await endpoint.down()
    contexts = [make_context() for _ in range(8)]
    for context in contexts:
        await dispatcher.dispatch(context)
    await endpoint.up()
    clock.advance(3600)
    # Each relay has its own engine, as two action server processes would.
    other_database = Database(f"sqlite:///{database_path}")
    relays = [make_relay(), make_relay(database=other_database)]
    try:
        reports = await asyncio.gather(*(relay.run_once() for relay in relays))
    finally:
        other_database.dispose()

    assert sum(report.claimed for report in reports) == len(contexts)
    assert sum(report.delivered for report in reports) == len(contexts)
    for context in contexts:
        assert len(endpoint.requests_for(str(context.handoff_id))) == 1
    assert len(endpoint.handoffs) == len(contexts)


async def test_rejected_handoffs_stay_as_dead_letters(
    dispatcher: HandoffDispatcher,
    database: Database,
    endpoint: RecordingEndpoint,
    make_context: MakeContext,
    make_relay: Callable[..., OutboxRelay],
    clock: FakeClock,
) -> None:
    endpoint.fail_next(400)
    context = make_context()

    outcome = await dispatcher.dispatch(context)
    clock.advance(3600)
    report = await make_relay().run_once()

    assert outcome.status is DispatchStatus.REJECTED
    row = entry(database, context.handoff_id)
    assert (row.status, row.attempts) == ("rejected", 1)
    assert "HTTP 400" in (row.last_error or "")
    assert row.payload == context.json()
    assert report.claimed == 0
    assert len(endpoint.requests) == 1


async def test_started_relay_delivers_at_start_up_and_stops_cleanly(
    dispatcher: HandoffDispatcher,
    endpoint: RecordingEndpoint,
    make_context: MakeContext,
    make_relay: Callable[..., OutboxRelay],
    clock: FakeClock,
) -> None:
    await endpoint.down()
    context = make_context()
    await dispatcher.dispatch(context)
    await endpoint.up()
    clock.advance(3600)
    relay = make_relay()

    relay.start()
    relay.start()  # already running: no second task
    try:
        await endpoint.wait_for_handoffs(1)
        assert relay.running
    finally:
        await relay.stop()

    assert not relay.running
    assert len(endpoint.requests) == 1
    await relay.stop()  # stopping twice is fine


def test_retry_delay_doubles_up_to_the_cap() -> None:
    policy = OutboxPolicy(lease_seconds=1, retry_backoff_seconds=10, max_retry_delay_seconds=60)

    delays = [policy.retry_delay(n).total_seconds() for n in range(1, 6)]

    assert delays == [10, 20, 40, 60, 60]
    assert policy.retry_delay(10_000).total_seconds() == 60


#: OUTBOX_INTERVAL_SECONDS' default (.env.example), the relay's pace.
RELAY_INTERVAL_SECONDS = 10.0
#: The README's promise ("Delivery"): once the desk is back, a pending handoff reaches it
#: within a minute plus one relay interval, however long the desk was down.
PROMISED_SECONDS_AFTER_RECOVERY = 60.0 + RELAY_INTERVAL_SECONDS


async def test_after_a_long_outage_a_handoff_reaches_the_desk_soon_after_it_is_back(
    database: Database,
    endpoint: RecordingEndpoint,
    make_client: MakeClient,
    make_context: MakeContext,
    clock: FakeClock,
) -> None:
    client = make_client(attempts=3)
    policy = OutboxPolicy.for_client(client, retry_backoff_seconds=RELAY_INTERVAL_SECONDS)
    relay = OutboxRelay(
        database,
        make_client(attempts=1),
        policy,
        interval_seconds=RELAY_INTERVAL_SECONDS,
        clock=clock,
    )
    await endpoint.down()
    context = make_context()
    await HandoffDispatcher(database, client, policy, clock=clock).dispatch(context)
    # Half an hour of outage, the relay looking every interval.
    for _ in range(180):
        clock.advance(RELAY_INTERVAL_SECONDS)
        await relay.run_once()
    failures = entry(database, context.handoff_id).attempts
    await endpoint.up()

    waited = 0.0
    while waited < PROMISED_SECONDS_AFTER_RECOVERY and not endpoint.handoffs:
        clock.advance(RELAY_INTERVAL_SECONDS)
        waited += RELAY_INTERVAL_SECONDS
        await relay.run_once()

    assert failures > 10  # the relay kept trying through the outage
    assert str(context.handoff_id) in endpoint.handoffs, f"still pending after {waited:g} s"
    assert entry(database, context.handoff_id).status == "delivered"


def test_the_retry_delay_never_exceeds_a_slow_relay_interval() -> None:
    policy = OutboxPolicy.for_client(
        HandoffClient(
            url="http://127.0.0.1:9/", secret="s", timeout_seconds=1, attempts=1, backoff_seconds=0
        ),
        retry_backoff_seconds=120,
    )

    assert {policy.retry_delay(n).total_seconds() for n in range(1, 20)} == {120}


def test_policy_lease_covers_the_slowest_delivery(
    monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    monkeypatch.setenv("HANDOFF_URL", "http://127.0.0.1:9/handoffs")
    monkeypatch.setenv("HANDOFF_SECRET", "s")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "t")
    monkeypatch.setenv("OUTBOX_INTERVAL_SECONDS", "7")
    get_settings.cache_clear()
    try:
        client = make_client(timeout_seconds=2.0, attempts=3, backoff_seconds=0.2)
        policy = OutboxPolicy.from_settings(get_settings(), client)
    finally:
        get_settings.cache_clear()

    assert policy.lease_seconds > client.max_delivery_seconds
    assert policy.retry_backoff_seconds == 7


class CrashingClient(HandoffClient):
    """A client with a bug: delivery raises instead of returning a result."""

    async def deliver_body(
        self, handoff_id: str, body: str, *, attempts: int | None = None
    ) -> DeliveryResult:
        """Fail the way an unexpected bug would."""
        raise RuntimeError("bug in delivery")


async def test_a_crashing_delivery_leaves_the_handoff_queued(
    database: Database, make_context: MakeContext, clock: FakeClock
) -> None:
    client = CrashingClient(
        url="http://127.0.0.1:9", secret="s", timeout_seconds=1, attempts=1, backoff_seconds=0
    )
    dispatcher = HandoffDispatcher(database, client, POLICY, clock=clock)
    context = make_context()

    outcome = await dispatcher.dispatch(context)

    assert outcome.status is DispatchStatus.QUEUED
    assert "bug in delivery" in (outcome.error or "")
    assert entry(database, context.handoff_id).status == "pending"


async def test_with_the_outbox_database_down_a_handoff_is_delivered_directly(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    # The customer who needs a person must still reach one while the app database is down.
    broken = Database("sqlite:////nonexistent-directory/app.db")
    dispatcher = HandoffDispatcher(broken, make_client(), POLICY)

    outcome = await dispatcher.dispatch(order_delayed_context)

    assert outcome.status is DispatchStatus.DELIVERED
    assert list(endpoint.handoffs) == [str(order_delayed_context.handoff_id)]


async def test_with_the_outbox_and_the_desk_down_dispatch_fails_loudly(
    endpoint: RecordingEndpoint, make_client: MakeClient, order_delayed_context: HandoffContext
) -> None:
    broken = Database("sqlite:////nonexistent-directory/app.db")
    dispatcher = HandoffDispatcher(broken, make_client(attempts=1), POLICY)
    await endpoint.down()

    with pytest.raises(OutboxUnavailableError):
        await dispatcher.dispatch(order_delayed_context)
