"""Every definition of docs/metrics.md on small hand-built histories, the peers' mistakes
included: a conversation both handed off and resolved, a denominator of conversations that
could never hand off, a waiting clock reset at the handoff or at a transfer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.analytics.conftest import T0, World, kpi

S = timedelta(seconds=1)
M = timedelta(minutes=1)


def contained_order(world: World, sender: str, at=T0, channel: str = "socketio") -> None:
    """An order looked up and fine: the bot resolved it alone."""
    world.tracker.session(sender, at)
    world.tracker.user(sender, at + S, "check_order_status", channel=channel)
    world.tracker.loop(sender, at + S, "order_form")
    world.tracker.user(sender, at + 2 * S, "provide_order_number", channel=channel)
    world.tracker.loop(sender, at + 2 * S, None)
    world.tracker.action(sender, at + 3 * S, "action_order_status")


def greet_only(world: World, sender: str, at=T0) -> None:
    world.tracker.session(sender, at)
    world.tracker.user(sender, at + S, "greet")
    world.tracker.bot(sender, at + S)
    world.tracker.user(sender, at + 2 * S, "goodbye")


def test_a_period_of_greetings_only_has_no_containment_rate_not_a_perfect_one(world: World) -> None:
    for n in range(4):
        greet_only(world, f"greeter-{n}")
    world.build()
    report = world.report()
    assert kpi(report, "containment") is None
    assert kpi(report, "handoff_rate") is None
    assert report.trends[0].engaged == 0


def test_greetings_do_not_dilute_the_rates(world: World) -> None:
    contained_order(world, "a")
    greet_only(world, "b")
    greet_only(world, "c")
    world.tracker.session("d", T0)
    world.tracker.user("d", T0 + S, "request_human")
    world.tracker.handoff("d", T0 + 2 * S, "11111111-1111-4111-8111-111111111111")
    world.build()
    report = world.report()
    assert kpi(report, "containment") == pytest.approx(0.5)
    assert kpi(report, "handoff_rate") == pytest.approx(0.5)


def test_a_cancelled_handoff_is_handed_off_and_never_also_contained(world: World) -> None:
    # The customer asks about an order, is handed off, then says "never mind".
    world.tracker.session("cancelled", T0)
    world.tracker.user("cancelled", T0 + S, "check_order_status")
    world.tracker.handoff("cancelled", T0 + 2 * S, "22222222-2222-4222-8222-222222222222")
    world.tracker.user("cancelled", T0 + 3 * S, "cancel")
    world.tracker.action("cancelled", T0 + 3 * S, "action_handoff_cancelled")
    world.tracker.slot("cancelled", T0 + 3 * S, "handoff_id", None)
    world.tracker.user("cancelled", T0 + 4 * S, "thank")
    contained_order(world, "fine")
    contained_order(world, "fine-too", channel="rest")
    world.build()
    for cut in ({}, {"journey": "order_status"}, {"channel": "socketio"}, {"channel": "rest"}):
        report = world.report(**cut)
        containment, handoffs = kpi(report, "containment"), kpi(report, "handoff_rate")
        assert containment + handoffs == pytest.approx(1.0), cut
    report = world.report()
    assert kpi(report, "containment") == pytest.approx(2 / 3)
    assert kpi(report, "handoff_rate") == pytest.approx(1 / 3)
    assert report.trends[0].containment + report.trends[0].handoff_rate == pytest.approx(1.0)


def test_the_waiting_clock_runs_from_the_trigger_through_a_transfer_to_the_first_claim(
    world: World,
) -> None:
    queued = T0 + timedelta(hours=1)
    trigger = queued - timedelta(milliseconds=200)
    handoff = world.desk.handoff("waiter", queued_at=queued, trigger_at=trigger)
    world.desk.event(
        handoff, "transferred", queued + 5 * M, "Sam", **{"from": "order_support", "to": "level2"}
    )
    world.desk.event(handoff, "claimed", queued + 7 * M, "Leo")
    world.desk.event(handoff, "resolved", queued + 17 * M, "Leo")
    world.desk.update(
        handoff,
        queue="level2",
        transfer_count=1,
        status="resolved",
        claimed_at=queued + 7 * M,
        resolved_at=queued + 17 * M,
    )
    world.build()
    latency = world.report().latency
    assert latency.system_ms.p50 == pytest.approx(200.0)
    assert latency.wait_s.p50 == pytest.approx(420.0)
    assert latency.total_s.p50 == pytest.approx(420.2)


def test_a_reclaim_after_a_transfer_does_not_restart_the_wait_and_each_agent_keeps_their_part(
    world: World,
) -> None:
    queued = T0
    handoff = world.desk.handoff("moved", queued_at=queued, trigger_at=queued - S)
    world.desk.event(handoff, "claimed", queued + 2 * M, "Olivia")
    world.desk.event(
        handoff,
        "transferred",
        queued + 5 * M,
        "Olivia",
        **{"from": "order_support", "to": "level2"},
    )
    world.desk.event(handoff, "claimed", queued + 9 * M, "Leo")
    world.desk.event(handoff, "resolved", queued + 19 * M, "Leo")
    world.build()
    report = world.report()
    assert report.latency.wait_s.p50 == pytest.approx(120.0)
    by_agent = {row.key: row for row in report.handle_time_by_agent}
    assert by_agent["Olivia"].p50_s == pytest.approx(180.0)
    assert by_agent["Leo"].p50_s == pytest.approx(600.0)
    by_queue = {row.key: row.parts for row in report.handle_time_by_queue}
    assert by_queue == {"order_support": 1, "level2": 1}
    assert report.wait_outcomes.transferred == 1


def test_unclaimed_handoffs_have_no_wait_and_are_counted_as_outcomes(world: World) -> None:
    claimed = world.desk.handoff("c", queued_at=T0, trigger_at=T0)
    world.desk.event(claimed, "claimed", T0 + 30 * S, "Olivia")
    gone = world.desk.handoff(
        "g", queued_at=T0, trigger_at=T0, status="abandoned", abandoned_at=T0 + M
    )
    world.desk.event(gone, "abandoned", T0 + M)
    left = world.desk.handoff(
        "l", queued_at=T0, status="expired", expired_at=T0 + 3 * M, callback_message="call me"
    )
    world.desk.event(left, "expired", T0 + 3 * M)
    world.build()
    report = world.report()
    assert report.latency.wait_s.count == 1
    assert report.latency.wait_s.excluded == 2
    assert report.latency.wait_s.p95 == pytest.approx(30.0)
    outcomes = report.wait_outcomes
    assert (outcomes.handoffs, outcomes.claimed, outcomes.abandoned, outcomes.expired) == (
        3,
        1,
        1,
        1,
    )
    assert outcomes.callbacks_open == 1
    assert report.wait_distribution[1].handoffs == 1  # 30 s: in [30, 60)
    world.desk.update(left, callback_done_at=T0 + timedelta(hours=2))
    world.desk.event(left, "callback_done", T0 + timedelta(hours=2), "Olivia")
    world.build()
    assert world.report().wait_outcomes.callbacks_open == 0


def test_durable_containment_needs_the_window_to_pass_and_no_return_about_the_same_journey(
    world: World,
) -> None:
    contained_order(world, "back-soon", T0)
    contained_order(world, "back-soon", T0 + timedelta(days=3))  # came back: not durable
    contained_order(world, "back-late", T0)
    contained_order(world, "back-late", T0 + timedelta(days=10))  # after the window: durable
    contained_order(world, "other-thing", T0)
    world.tracker.session("other-thing", T0 + timedelta(days=2))
    world.tracker.user("other-thing", T0 + timedelta(days=2, seconds=1), "report_error_code")
    world.build()
    # Over the first day only: three contained conversations, their windows passed.
    report = world.report(days=1, now=T0 + timedelta(days=20))
    assert kpi(report, "durable_containment") == pytest.approx(2 / 3)
    # Asked before the windows passed, nothing is durable or not yet: no figure.
    early = world.report(days=1, now=T0 + timedelta(days=1))
    assert kpi(early, "durable_containment") is None
    assert next(t for t in early.kpis if t.key == "durable_containment").count == 0


def test_csat_segments_and_their_response_rates(world: World) -> None:
    # Bot-only: asked twice, rated once (4).
    for sender, rating in (("rated", 4), ("skipped", None)):
        contained_order(world, sender)
        world.tracker.loop(sender, T0 + 4 * S, "bot_csat_form")
        world.tracker.user(sender, T0 + 5 * S, "inform")
        if rating is not None:
            world.tracker.slot(sender, T0 + 5 * S, "bot_csat_rating", float(rating))
        world.tracker.loop(sender, T0 + 5 * S, None)
    # Hybrid: the bot worked a turn, then handed off; handed back and rated 2.
    hybrid = world.desk.handoff("hybrid", queued_at=T0 + M, trigger_at=T0 + M)
    world.tracker.session("hybrid", T0)
    world.tracker.user("hybrid", T0 + S, "check_order_status")
    world.tracker.user("hybrid", T0 + 2 * S, "provide_order_number")
    world.tracker.handoff("hybrid", T0 + 3 * S, hybrid)
    world.desk.update(hybrid, handed_back_at=T0 + 9 * M, csat_rating=2)
    # Person-only: asked for a person at once; handed back, not rated.
    person = world.desk.handoff(
        "person", queued_at=T0 + M, trigger_at=T0 + M, reason="customer_request"
    )
    world.tracker.session("person", T0)
    world.tracker.user("person", T0 + S, "greet")
    world.tracker.user("person", T0 + 2 * S, "request_human")
    world.tracker.handoff("person", T0 + 3 * S, person)
    world.desk.update(person, handed_back_at=T0 + 9 * M)
    world.build()
    segments = {s.segment: s for s in world.report().csat}
    assert (segments["bot_only"].asked, segments["bot_only"].rated) == (2, 1)
    assert segments["bot_only"].response_rate == pytest.approx(0.5)
    assert segments["bot_only"].csat == pytest.approx(1.0)
    assert (segments["hybrid"].asked, segments["hybrid"].rated, segments["hybrid"].csat) == (
        1,
        1,
        0.0,
    )
    assert (segments["person_only"].asked, segments["person_only"].rated) == (1, 0)
    assert segments["person_only"].response_rate == 0.0


def test_handoff_shares_by_reason_sum_to_the_handoff_rate(world: World) -> None:
    contained_order(world, "fine")
    for n, reason in enumerate(("order_delayed", "order_delayed", "order_lost")):
        sender = f"h{n}"
        handoff = world.desk.handoff(sender, queued_at=T0 + M, trigger_at=T0 + M, reason=reason)
        world.tracker.session(sender, T0)
        world.tracker.user(sender, T0 + S, "check_order_status")
        world.tracker.handoff(sender, T0 + 2 * S, handoff)
    world.build()
    report = world.report()
    shares = {s.key: s for s in report.handoffs_by_reason}
    assert shares["order_delayed"].handoffs == 2
    assert shares["order_lost"].handoffs == 1
    assert sum(s.rate for s in report.handoffs_by_reason) == pytest.approx(
        kpi(report, "handoff_rate")
    )
    assert kpi(world.report(reason_code="order_lost"), "system_p95_ms") is not None


def test_where_the_bot_fails(world: World) -> None:
    sender = "struggler"
    world.tracker.session(sender, T0)
    world.tracker.user(sender, T0 + S, "nlu_fallback", below="check_order_status")
    world.tracker.user(sender, T0 + 2 * S, "nlu_fallback", below="check_order_status")
    world.tracker.user(sender, T0 + 3 * S, "nlu_fallback", below="report_error_code")
    world.tracker.user(sender, T0 + 4 * S, "check_order_status")
    world.tracker.loop(sender, T0 + 4 * S, "order_form")
    world.tracker.slot(sender, T0 + 4 * S, "requested_slot", "order_number")
    world.tracker.user(sender, T0 + 5 * S, "inform")
    world.tracker.slot(sender, T0 + 5 * S, "order_number", None)
    world.tracker.slot(sender, T0 + 5 * S, "requested_slot", "order_number")  # asked again
    world.tracker.user(sender, T0 + 6 * S, "provide_order_number")
    world.tracker.slot(sender, T0 + 6 * S, "requested_slot", None)
    world.tracker.loop(sender, T0 + 6 * S, None)
    world.tracker.user(sender, T0 + 7 * S, "report_error_code")
    world.tracker.loop(sender, T0 + 7 * S, "troubleshooting_form")
    world.tracker.slot(sender, T0 + 7 * S, "troubleshooting_tree", "E42")
    attempts = []
    for n, outcome in enumerate(("not_resolved", "not_resolved", "resolved")):
        attempts = [*attempts, {"label": f"s{n % 2}", "outcome": outcome}]
        world.tracker.user(sender, T0 + (8 + n) * S, "deny")
        world.tracker.slot(sender, T0 + (8 + n) * S, "troubleshooting_attempts", attempts)
    world.build()
    failures = world.report().failures
    assert [(f.intent, f.fallbacks) for f in failures.fallback_intents] == [
        ("check_order_status", 2),
        ("report_error_code", 1),
    ]
    assert [(r.form, r.slot, r.reasks) for r in failures.form_reasks] == [
        ("order_form", "order_number", 1)
    ]
    steps = {(s.tree, s.step): (s.answers, s.not_helped) for s in failures.troubleshooting_steps}
    assert steps == {("E42", "s0"): (2, 1), ("E42", "s1"): (1, 1)}


def test_slots_carried_into_a_new_session_do_not_hand_it_off_again(world: World) -> None:
    handoff = "33333333-3333-4333-8333-333333333333"
    world.tracker.session("returning", T0)
    world.tracker.user("returning", T0 + S, "request_human")
    world.tracker.handoff("returning", T0 + 2 * S, handoff)
    # Two hours later, a new session: Rasa carries the slots over before the first message.
    later = T0 + timedelta(hours=2)
    world.tracker.session("returning", later)
    world.tracker.slot("returning", later, "handoff_id", handoff)
    world.tracker.user("returning", later + S, "check_order_status")
    world.build()
    report = world.report()
    assert report.trends[0].engaged == 2
    assert kpi(report, "handoff_rate") == pytest.approx(0.5)


def test_weekly_buckets_cut_days_in_the_reporting_zone(world: World) -> None:
    # 23:30 UTC on Sunday 15 November is still Sunday in London (UTC+0): week of the 9th.
    contained_order(world, "late", T0.replace(day=15, hour=23, minute=30))
    contained_order(world, "monday", T0.replace(day=16, hour=8))
    world.build()
    report = world.report(start=T0.replace(day=9), days=14, grain="week")
    assert [(p.bucket.isoformat(), p.engaged) for p in report.trends] == [
        ("2026-11-09", 1),
        ("2026-11-16", 1),
    ]
