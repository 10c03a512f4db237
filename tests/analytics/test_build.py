"""The incremental build: idempotent, the same facts whatever the batches, broken rows
counted and reported but never fatal, stage changes one row each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from analytics.build import Builder, rebuild
from analytics.store.models import (
    BuildRun,
    ConversationFact,
    FailurePoint,
    HandoffFact,
    StageChange,
    UnparseableEvent,
)
from contract.applications import ApplicationEventKind
from desk.services import applications
from tests.analytics.conftest import T0, World
from tests.analytics.test_definitions import S, contained_order
from tests.support.applications import mortgage_intake


def _facts(world: World) -> dict[str, Any]:
    with world.facts.session() as session:
        conversations = session.execute(
            select(ConversationFact).order_by(ConversationFact.id)
        ).scalars()
        handoffs = session.execute(select(HandoffFact)).scalars()
        failures = session.execute(select(FailurePoint)).scalars()
        return {
            "conversations": [
                {k: v for k, v in c.__dict__.items() if not k.startswith("_")}
                for c in conversations
            ],
            "handoffs": sorted(h.handoff_id for h in handoffs),
            "failures": sorted((f.event_id, f.kind, f.subject) for f in failures),
        }


def _history(world: World) -> None:
    for n in range(6):
        contained_order(world, f"c{n % 3}", T0 + timedelta(days=n))
    world.tracker.session("f", T0)
    world.tracker.user("f", T0 + S, "nlu_fallback", below="greet")
    handoff = world.desk.handoff("h", queued_at=T0, trigger_at=T0 - S)
    world.desk.event(handoff, "claimed", T0 + 9 * S, "Olivia")
    world.tracker.session("h", T0)
    world.tracker.user("h", T0 + S, "request_human")
    world.tracker.handoff("h", T0 + S, handoff)


def test_a_second_build_with_nothing_new_changes_nothing(world: World) -> None:
    _history(world)
    first = world.build()
    before = _facts(world)
    second = world.build()
    assert first.tracker_events > 0 and first.handoffs == 1
    assert (second.tracker_events, second.handoffs, second.unparseable) == (0, 0, 0)
    assert _facts(world) == before
    with world.facts.session() as session:
        assert session.execute(select(func.count()).select_from(BuildRun)).scalar() == 2


def test_small_batches_and_later_builds_make_the_same_facts_as_one_build(world: World) -> None:
    _history(world)
    world.build()
    whole = _facts(world)
    # The same history again, folded three events at a time.
    rebuild(world.facts)
    small = Builder(
        world.facts,
        world.tracker_engine,
        world.builder.desk,
        world.settings.copy(update={"batch_events": 3}),
    )
    small.run()
    assert _facts(world) == whole


def test_an_unreadable_tracker_row_is_counted_and_reported_and_the_rest_is_built(
    world: World,
) -> None:
    contained_order(world, "before")
    world.tracker.raw(sender_id="x", type_name="user", timestamp=T0.timestamp(), data="{not json")
    world.tracker.raw(sender_id="x", type_name="slot", timestamp=T0.timestamp(), data='["a"]')
    world.tracker.raw(sender_id=None or "", type_name="user", timestamp=T0.timestamp(), data="{}")
    world.tracker.raw(sender_id="x", type_name="user", timestamp=None, data="{}")
    contained_order(world, "after")
    report = world.build()
    assert report.unparseable == 4
    with world.facts.session() as session:
        reasons = sorted(session.execute(select(UnparseableEvent.reason)).scalars())
        senders = set(session.execute(select(ConversationFact.sender_id)).scalars())
    assert reasons == [
        "event data is not JSON",
        "event data is not a JSON object",
        "no sender_id",
        "no valid timestamp",
    ]
    assert senders == {"before", "after"}
    assert world.report().freshness.unparseable_events == 4
    assert world.build().unparseable == 0  # counted once, not at every build


def test_a_broken_handoff_context_is_counted_and_the_handoff_still_counts(world: World) -> None:
    handoff = world.desk.handoff("broken", queued_at=T0)
    world.desk.update(handoff, context="{not json")
    world.desk.event(handoff, "claimed", T0 + 5 * S, "Olivia")
    report = world.build()
    assert (report.handoffs, report.unparseable) == (1, 1)
    latency = world.report().latency
    assert latency.wait_s.p50 == 5.0
    assert latency.system_ms.count == 0 and latency.system_ms.excluded == 1


def test_each_stage_change_is_one_row(world: World) -> None:
    # The desk's own steps: an application opened from the chat, handed to an advisor (a
    # note there does not move it), then the advice says "proceed" (documents).
    with world.desk.database.session(write=True) as session:
        record = applications.create_application(
            session, mortgage_intake(), origin_channel="rest", origin_sender_id="web-1"
        )
    for kind, detail in (
        (ApplicationEventKind.HANDED_TO_ADVISOR, {}),
        (ApplicationEventKind.ADVISOR_NOTE, {"text": "note"}),
    ):
        with world.desk.database.session(write=True) as session:
            applications.record_application_event(
                session, record.reference, touchpoint="desk", kind=kind, detail=detail
            )
    world.build()
    with world.facts.session() as session:
        changes = (
            session.execute(select(StageChange).order_by(StageChange.event_id)).scalars().all()
        )
    assert [(c.from_stage, c.to_stage) for c in changes] == [
        (None, "intake"),
        ("intake", "advice"),
    ]
    assert world.build().stage_changes == 0


def test_a_conversation_that_grows_between_builds_is_folded_on(world: World) -> None:
    world.tracker.session("slow", T0)
    world.tracker.user("slow", T0 + S, "check_order_status")
    world.build()
    assert world.report().kpis[0].value == 1.0  # contained, so far
    handoff = world.desk.handoff("slow", queued_at=T0 + 9 * S, trigger_at=T0 + 8 * S)
    world.tracker.user("slow", T0 + 8 * S, "provide_order_number")
    world.tracker.handoff("slow", T0 + 9 * S, handoff)
    world.build()
    report = world.report()
    assert report.kpis[0].value == 0.0
    assert report.trends[0].engaged == 1
    with world.facts.session() as session:
        (fact,) = session.execute(select(ConversationFact)).scalars()
    assert (fact.handoff_id, fact.turns_before_handoff, fact.customer_messages) == (handoff, 1, 2)


def test_a_handoff_built_before_its_conversation_still_gets_its_channel_and_segment(
    world: World,
) -> None:
    handoff = world.desk.handoff("early", queued_at=T0 + 2 * S, trigger_at=T0 + S)
    world.desk.update(handoff, handed_back_at=T0 + 60 * S, csat_rating=5)
    world.build()  # the desk's side first: no conversation yet
    world.tracker.session("early", T0)
    world.tracker.user("early", T0 + S, "request_human", channel="rest")
    world.tracker.handoff("early", T0 + 2 * S, handoff)
    world.build()
    by_segment = {s.segment: (s.asked, s.rated) for s in world.report(channel="rest").csat}
    assert by_segment["person_only"] == (1, 1)
    assert by_segment["hybrid"] == (0, 0)
    assert world.report(channel="socketio").wait_outcomes.handoffs == 0
