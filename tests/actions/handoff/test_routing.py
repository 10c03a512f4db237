"""Routing handoffs to desk queues, from the support leads' YAML file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.handoff import routing
from actions.handoff.routing import (
    REQUIRED_REASON_CODES,
    HandoffRouter,
    HandoffRoutingError,
    UnknownReasonCodeError,
    load_router,
    raise_priority,
)
from actions.journeys import JOURNEYS
from actions.settings import get_settings
from contract.handoff_context import Flow, Priority, Sentiment, SentimentLabel, TriggerType
from tests.support.handoff_examples import ROUTING_PATH


def mood(score: float) -> Sentiment:
    """A sentiment with the given score."""
    label = SentimentLabel.NEGATIVE if score <= -0.05 else SentimentLabel.NEUTRAL
    return Sentiment(score=score, label=label, model="vader", turns_scored=2)


CALM = mood(0.0)


@pytest.mark.parametrize(
    ("reason_code", "flow", "trigger", "queue", "priority"),
    [
        ("order_delayed", "order_status", "business_rule", "order_support", "normal"),
        ("order_lost", "order_status", "business_rule", "order_support", "high"),
        ("order_not_found", "order_status", "user_request", "order_support", "normal"),
        ("cycle_limit", "troubleshooting", "cycle_limit", "tech_support_l2", "normal"),
        ("needs_advice", "mortgage", "needs_advice", "mortgage_advisors", "normal"),
        ("customer_request", "order_status", "user_request", "order_support", "normal"),
        ("customer_request", "troubleshooting", "user_request", "tech_support_l2", "normal"),
        ("customer_request", "mortgage", "user_request", "mortgage_advisors", "normal"),
        ("customer_request", "none", "user_request", "general_support", "normal"),
        ("nlu_fallback", "troubleshooting", "nlu_fallback", "tech_support_l2", "normal"),
        ("nlu_fallback", "none", "nlu_fallback", "general_support", "normal"),
        ("action_error", "mortgage", "business_rule", "mortgage_advisors", "normal"),
        ("action_error", "order_status", "business_rule", "order_support", "normal"),
    ],
)
def test_routes_of_the_shipped_file(
    router: HandoffRouter, reason_code: str, flow: str, trigger: str, queue: str, priority: str
) -> None:
    decision = router.route(reason_code, flow, CALM)

    assert decision.trigger_type is TriggerType(trigger)
    assert decision.routing.queue == queue
    assert decision.routing.priority is Priority(priority)
    assert not decision.raised_for_sentiment


def test_a_lost_order_outranks_a_late_one(router: HandoffRouter) -> None:
    late = router.route("order_delayed", Flow.ORDER_STATUS, CALM).routing.priority
    lost = router.route("order_lost", Flow.ORDER_STATUS, CALM).routing.priority

    assert routing.PRIORITY_ORDER.index(lost) > routing.PRIORITY_ORDER.index(late)


def test_skills_combine_queue_and_reason(router: HandoffRouter) -> None:
    decision = router.route("order_lost", Flow.ORDER_STATUS, CALM)

    assert decision.routing.skills == ["orders", "delivery_delays", "carrier_claims"]


def test_team_name_and_what_the_customer_is_told(router: HandoffRouter) -> None:
    decision = router.route("order_delayed", Flow.ORDER_STATUS)

    assert decision.team_name == "Order Support"
    assert decision.customer_label == "our order support team"


@pytest.mark.parametrize(
    ("score", "expected"), [(-0.5, Priority.HIGH), (-0.9, Priority.HIGH), (-0.49, Priority.NORMAL)]
)
def test_an_upset_customer_goes_up_one_level(
    router: HandoffRouter, score: float, expected: Priority
) -> None:
    decision = router.route("order_delayed", Flow.ORDER_STATUS, mood(score))

    assert decision.routing.priority is expected
    assert decision.raised_for_sentiment is (expected is Priority.HIGH)


def test_no_scored_messages_means_no_escalation(router: HandoffRouter) -> None:
    unscored = Sentiment(score=-1.0, label=SentimentLabel.NEGATIVE, model="vader", turns_scored=0)

    assert router.route("order_delayed", "order_status", unscored).routing.priority is (
        Priority.NORMAL
    )


def test_raise_priority_stops_at_urgent() -> None:
    assert raise_priority(Priority.LOW) is Priority.NORMAL
    assert raise_priority(Priority.HIGH) is Priority.URGENT
    assert raise_priority(Priority.URGENT) is Priority.URGENT
    assert raise_priority(Priority.LOW, 5) is Priority.URGENT


def test_unknown_reason_code(router: HandoffRouter) -> None:
    with pytest.raises(UnknownReasonCodeError, match=r"'gut_feeling'.*known: action_error"):
        router.route("gut_feeling", Flow.NONE)


def test_the_shipped_file_covers_every_required_code(router: HandoffRouter) -> None:
    assert router.reason_codes >= REQUIRED_REASON_CODES


# --- Validation of the file -----------------------------------------------------------------------


@pytest.fixture
def write_routing(tmp_path: Path) -> Callable[[Callable[[dict[str, Any]], None]], Path]:
    """Write a modified copy of the shipped routing file."""

    def write(change: Callable[[dict[str, Any]], None]) -> Path:
        data = yaml.safe_load(ROUTING_PATH.read_text(encoding="utf-8"))
        change(data)
        path = tmp_path / "handoff_routing.yml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["reason_codes"]["order_lost"].update(priority="asap"),
            "reason_codes.order_lost.priority: value is not a valid enumeration member",
        ),
        (
            lambda d: d["reason_codes"]["order_lost"].update(queue="claims"),
            "reason_codes.order_lost.queue: unknown queue 'claims'",
        ),
        (
            lambda d: d["reason_codes"]["cycle_limit"].update(trigger="tired"),
            "reason_codes.cycle_limit.trigger",
        ),
        (
            lambda d: d["reason_codes"].pop("needs_advice"),
            "the bot hands off with these codes, add them: needs_advice",
        ),
        (
            lambda d: d["reason_codes"].update({"Order Gone": d["reason_codes"]["order_lost"]}),
            "reason codes must be snake_case: Order Gone",
        ),
        (lambda d: d["flow_queues"].pop("mortgage"), "no queue for flow 'mortgage'"),
        (
            lambda d: d["flow_queues"].update(none="nowhere"),
            "flow_queues.none: unknown queue 'nowhere'",
        ),
        (lambda d: d["queues"]["order_support"].pop("team_name"), "team_name: field required"),
        (lambda d: d.update(colour="blue"), "colour: extra fields not permitted"),
        (lambda d: d.update(version=2), "version: unexpected value"),
    ],
)
def test_invalid_files_fail_with_a_clear_message(
    write_routing: Callable[[Callable[[dict[str, Any]], None]], Path],
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    path = write_routing(change)

    with pytest.raises(HandoffRoutingError) as raised:
        HandoffRouter.load(path, JOURNEYS)

    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HandoffRoutingError, match="cannot read handoff routing file"):
        HandoffRouter.load(tmp_path / "nope.yml", JOURNEYS)


@pytest.mark.parametrize(
    ("text", "message"), [("queues: [unclosed", "not valid YAML"), ("- a list", "YAML mapping")]
)
def test_a_file_that_is_not_a_mapping(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "handoff_routing.yml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(HandoffRoutingError, match=message):
        HandoffRouter.load(path, JOURNEYS)


# --- From the settings ---------------------------------------------------------------------------


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """Forget cached settings and router before and after the test."""
    get_settings.cache_clear()
    load_router.cache_clear()
    yield
    get_settings.cache_clear()
    load_router.cache_clear()


@pytest.mark.usefixtures("fresh_caches")
def test_load_router_reads_the_configured_file(
    monkeypatch: pytest.MonkeyPatch,
    write_routing: Callable[[Callable[[dict[str, Any]], None]], Path],
) -> None:
    path = write_routing(lambda d: d["queues"]["order_support"].update(team_name="Parcels"))
    monkeypatch.setenv("HANDOFF_URL", "http://127.0.0.1:9/handoffs")
    monkeypatch.setenv("HANDOFF_SECRET", "s")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "t")
    monkeypatch.setenv("HANDOFF_ROUTING", str(path))

    router = load_router(JOURNEYS)

    assert router is load_router(JOURNEYS)
    assert router.route("order_delayed", Flow.ORDER_STATUS).team_name == "Parcels"
