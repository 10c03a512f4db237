"""The journey stages and the repeat detector in the build: what the fold records from real
tracker rows, read back through the journey map and the report's repeat rate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from analytics.build import Builder
from analytics.journey_map import UnknownJourney, journey_map
from analytics.stages import StageFileError, load_stage_catalog
from analytics.store.models import HandoffField, StageFact
from contract.analytics_report import JourneyMap, Outcome, PlanningQuery
from tests.analytics.conftest import T0, World

S = timedelta(seconds=1)
ANGRY = "This is ridiculous, I am furious, it is the worst service ever"
HAPPY = "Thank you so much, that is great"


def order_handoff(
    world: World,
    sender: str,
    handoff: str,
    *,
    rate: int | None = 5,
    during: Callable[[], None] = lambda: None,
) -> None:
    """An order the bot found delayed: handed to order support, an agent joins, finishes, the
    bot takes it back and the customer rates it."""
    t = world.tracker
    t.session(sender, T0)
    t.user(sender, T0 + 1 * S, "check_order_status", text="where is my order ORD-100005")
    t.slot(sender, T0 + 1 * S, "order_number", "ORD-100005")
    t.action(sender, T0 + 3 * S, "action_order_status")
    t.slot(sender, T0 + 3 * S, "order_outcome", "escalate")
    t.handoff(sender, T0 + 4 * S, handoff)
    t.user(sender, T0 + 30 * S, "inform", text=ANGRY)
    t.notice(sender, T0 + 64 * S, "agent_joined")
    t.agent(sender, T0 + 70 * S, "Hi, I can see order ORD-100005 is late.")
    t.user(sender, T0 + 80 * S, "inform", text=HAPPY)
    during()
    t.notice(sender, T0 + 184 * S, "agent_left")
    t.resume(sender, T0 + 185 * S)
    if rate is not None:
        t.slot(sender, T0 + 200 * S, "csat_rating", rate)


def order_found(world: World, sender: str) -> None:
    t = world.tracker
    t.session(sender, T0)
    t.user(sender, T0 + 1 * S, "check_order_status", text="where is ORD-100001")
    t.action(sender, T0 + 2 * S, "action_order_status")
    t.slot(sender, T0 + 2 * S, "order_outcome", "reported")


def the_map(world: World, journey: str = "order_status", **filters: object) -> JourneyMap:
    query = PlanningQuery(start=T0.date(), end=T0.date(), journey=journey, **filters)
    with world.facts.session() as session:
        return journey_map(session, query, timezone="Europe/London")


def by_stage(found: JourneyMap) -> dict[str, tuple[int, int]]:
    return {s.stage: (s.reached, s.dropped_off) for s in found.stages}


def test_an_order_handoff_reaches_every_stage_in_order_with_its_times(world: World) -> None:
    order_handoff(world, "web-1", "h-1")
    world.build()
    with world.facts.session() as session:
        rows = session.execute(select(StageFact).order_by(StageFact.position)).scalars().all()
    assert [(r.stage, r.seconds_to_next) for r in rows] == [
        ("asked", 2.0),
        ("looked_up", 1.0),
        ("escalated", 0.0),
        ("queued", 60.0),
        ("claimed", 120.0),
        ("resolved", 1.0),
        ("back_with_bot", 15.0),
        ("rated", None),
    ]
    assert {r.unit for r in rows} == {rows[0].unit} and rows[0].unit.startswith("c")
    found = the_map(world)
    assert found.units == 1
    queued = next(s for s in found.stages if s.stage == "queued")
    # The angry message was said while waiting: the queue's stage carries it, not the next.
    assert queued.sentiment is not None and queued.sentiment < -0.5
    assert queued.sentiment_turns == 1
    claimed = next(s for s in found.stages if s.stage == "claimed")
    assert claimed.sentiment is not None and claimed.sentiment > 0.5
    assert queued.to_next_s.p50 == 60.0 and queued.next_stages == {"claimed": 1}


def test_drop_offs_are_where_units_stopped_short_of_a_final_stage(world: World) -> None:
    order_found(world, "found")
    order_handoff(world, "rated", "h-rated")
    t = world.tracker  # one who left the queue before anyone joined
    t.session("left", T0)
    t.user("left", T0 + S, "check_order_status")
    t.action("left", T0 + 2 * S, "action_order_status")
    t.handoff("left", T0 + 3 * S, "h-left")
    world.build()
    stages = by_stage(the_map(world))
    assert stages["asked"] == (3, 0)
    assert stages["looked_up"] == (3, 0)
    assert stages["reported"] == (1, 0)  # final: ending there is done, not dropped
    assert stages["queued"] == (2, 1)
    assert stages["rated"] == (1, 0)
    assert the_map(world, outcome=Outcome.BOT_ONLY).units == 1
    assert the_map(world, outcome=Outcome.HANDED_OFF).units == 2


def test_troubleshooting_cycles_are_stages(world: World) -> None:
    t = world.tracker
    t.session("tr", T0)
    t.user("tr", T0 + S, "report_error_code", text="E-1234 again")
    t.slot("tr", T0 + S, "troubleshooting_tree", "e1234")
    for cycle in (1, 2, 3):
        t.slot("tr", T0 + (10 * cycle) * S, "troubleshooting_cycle", cycle)
    t.handoff("tr", T0 + 40 * S, "h-tr")
    world.build()
    found = the_map(world, "troubleshooting")
    reached = [s.stage for s in found.stages if s.reached]
    assert reached == [
        "asked",
        "tree_chosen",
        "cycle_1",
        "cycle_2",
        "cycle_3",
        "escalated",
        "queued",
    ]
    cycle_1 = next(s for s in found.stages if s.stage == "cycle_1")
    assert cycle_1.to_next_s.p50 == 10.0


def test_small_batches_record_the_same_stages_as_one_build(tmp_path: Path, world: World) -> None:
    order_handoff(world, "web-1", "h-1")
    order_found(world, "web-2")
    world.build()
    with world.facts.session() as session:
        whole = sorted(
            (r.unit, r.stage, r.position, r.next_stage, r.seconds_to_next, r.sentiment_turns)
            for r in session.execute(select(StageFact)).scalars()
        )
    settings = world.settings.copy(
        update={"database_url": f"sqlite:///{tmp_path / 'facts-small.db'}", "batch_events": 3}
    )
    from analytics.store.database import FactsDatabase

    small = FactsDatabase(settings.database_url)
    small.migrate()
    builder = Builder.from_settings(settings, small)
    builder.run()
    builder.dispose()
    with small.session() as session:
        pieces = sorted(
            (r.unit, r.stage, r.position, r.next_stage, r.seconds_to_next, r.sentiment_turns)
            for r in session.execute(select(StageFact)).scalars()
        )
    small.dispose()
    assert pieces == whole


def test_a_customer_restating_the_order_number_is_a_repeat_and_the_rate_counts_it(
    world: World,
) -> None:
    ids = {}
    for sender in ("quiet", "again", "asked"):
        ids[sender] = world.desk.handoff(sender, queued_at=T0 + 4 * S)
        world.desk.event(ids[sender], "claimed", T0 + 64 * S, "Olivia")
    order_handoff(world, "quiet", ids["quiet"])  # the agent quotes the number back: no repeat
    t = world.tracker

    def restate() -> None:
        t.user("again", T0 + 90 * S, "inform", text="It's ord-100005, as I said!")

    def ask() -> None:
        t.agent("asked", T0 + 95 * S, "What's your order number please?")
        t.user("asked", T0 + 96 * S, "inform", text="ORD-100005")  # the answer: counted once
        t.agent("asked", T0 + 97 * S, "And your email address?")  # never carried

    order_handoff(world, "again", ids["again"], during=restate)
    order_handoff(world, "asked", ids["asked"], during=ask)
    # After the bot took it back nothing counts.
    world.tracker.user("quiet", T0 + 300 * S, "inform", text="ORD-100005")
    world.build()
    with world.facts.session() as session:
        rows = {
            (r.handoff_id, r.field): (r.carried, r.restated, r.asked, r.first_repeat_kind)
            for r in session.execute(select(HandoffField)).scalars()
        }
    assert rows == {
        (ids["quiet"], "order_number"): (True, 0, 0, None),
        (ids["again"], "order_number"): (True, 1, 0, "restated"),
        (ids["asked"], "order_number"): (True, 0, 1, "asked"),
        (ids["asked"], "email"): (False, 0, 1, None),
    }
    repeats = world.report(days=1).repeats
    assert (repeats.handoffs, repeats.with_repeat) == (3, 2)
    (order,) = [f for f in repeats.fields if f.field == "order_number"]
    assert (order.handoffs, order.repeated, order.restated, order.asked) == (3, 2, 1, 1)
    (email,) = [f for f in repeats.fields if f.field == "email"]
    assert (email.handoffs, email.missing, email.rate) == (0, 1, None)
    assert {(e.handoff_id, e.kind) for e in repeats.examples} == {
        (ids["again"], "restated"),
        (ids["asked"], "asked"),
    }


def test_the_facts_keep_no_customer_text(world: World) -> None:
    order_handoff(world, "web-1", "h-1")
    world.tracker.user("web-1", T0 + 90 * S, "inform", text="ORD-100005 jane@example.com")
    world.build()
    with world.facts.engine.connect() as connection:
        dump = "\n".join(connection.connection.driver_connection.iterdump())
    assert "100005" not in dump and "ORD-" not in dump and "furious" not in dump


def test_an_unknown_journey_is_refused() -> None:
    with pytest.raises(UnknownJourney):
        journey_map(
            None, PlanningQuery(start=T0.date(), end=T0.date(), journey="x"), timezone="UTC"
        )  # type: ignore[arg-type]


def test_a_stage_file_naming_one_mark_twice_or_a_wrong_kind_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "stages.yml"
    bad.write_text(
        "version: 1\njourneys:\n  order_status:\n    label: O\n    unit: conversation\n"
        "    stages:\n      - {id: a, label: A, when: [intent:x]}\n"
        "      - {id: b, label: B, when: ['intent:x', 'event:signed']}\n"
    )
    with pytest.raises(StageFileError) as error:
        load_stage_catalog(bad)
    message = str(error.value)
    assert "journeys.order_status.stages[1].when: 'intent:x' already marks stage 'a'" in message
    assert "'event:signed' is not a mark of a conversation" in message


def test_a_mortgage_application_is_one_path_across_its_touchpoints(world: World) -> None:
    from contract.applications import ApplicationEventKind as Kind
    from desk.services import applications
    from tests.support.applications import mortgage_intake

    with world.desk.database.session(write=True) as session:
        record = applications.create_application(
            session, mortgage_intake(), origin_channel="rest", origin_sender_id="web-1"
        )
    for kind in (Kind.HANDED_TO_ADVISOR, Kind.ADVISOR_NOTE, Kind.DOCUMENTS_REQUESTED):
        with world.desk.database.session(write=True) as session:
            applications.record_application_event(
                session, record.reference, touchpoint="desk", kind=kind, detail={"text": "n"}
            )
    world.build()
    found = the_map(world, "mortgage")
    today = found.query.start
    query = PlanningQuery(start=today, end=today, journey="mortgage")
    assert found.unit == "application"
    with world.facts.session() as session:
        rows = session.execute(select(StageFact).order_by(StageFact.position)).scalars().all()
    assert [r.stage for r in rows][-2:] == ["with_advisor", "documents_requested"]
    assert len({r.unit for r in rows}) == 1 and rows[0].unit.startswith("a")
    assert world.build().stage_changes == 0
    with world.facts.session() as session:
        again = journey_map(session, query, timezone="Europe/London")
    assert again == found


def test_the_queue_and_outcome_filters(world: World) -> None:
    low = world.desk.handoff("low", queued_at=T0 + 4 * S, queue="order_support")
    world.desk.update(low, csat_rating=1)
    gone = world.desk.handoff("gone", queued_at=T0 + 4 * S, queue="customer_service")
    world.desk.update(gone, abandoned_at=T0 + 20 * S)
    order_handoff(world, "low", low, rate=1)
    order_handoff(world, "gone", gone, rate=None)
    order_found(world, "found")
    world.build()
    assert the_map(world).units == 3
    assert the_map(world, queue="order_support").units == 1
    assert the_map(world, outcome=Outcome.LOW_CSAT).units == 1
    assert the_map(world, outcome=Outcome.ABANDONED).units == 1
    assert the_map(world, queue="order_support", outcome=Outcome.ABANDONED).units == 0
