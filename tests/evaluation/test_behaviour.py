"""The behaviour evaluation's reading of a conversation, and its held-out set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluation.behaviour import (
    CONFIRMATION,
    FALLBACK,
    LABELS,
    PHRASINGS,
    UNSEEN,
    Observed,
    Outcome,
    Phrasing,
    PhrasingsError,
    Report,
    evaluate,
    is_misroute,
    load_phrasings,
    observe,
)

ROOT = Path(__file__).resolve().parents[2]


def tracker(intent: str, *steps: str | tuple[str, str], **slots: Any) -> dict[str, Any]:
    """A one-message tracker: the customer's message, then these actions (or
    ("active_loop", form)) in order."""
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "...", "parse_data": {"intent": {"name": intent}}},
    ]
    for step in steps:
        if isinstance(step, tuple):
            events.append({"event": "active_loop", "name": step[1]})
        else:
            events.append({"event": "action", "name": step})
    return {"events": events, "slots": slots}


def handoff(queue: str) -> dict[str, Any]:
    return {"conversation": {"sender_id": "x"}, "routing": {"queue": queue}}


@pytest.mark.parametrize(
    ("events", "handoffs", "behaviour", "queue"),
    [
        (
            tracker("check_order_status", "order_form", ("loop", "order_form")),
            [],
            "order_status",
            None,
        ),
        (
            tracker("check_order_status", "order_form", "action_order_status", "action_handoff"),
            [handoff("order_support")],
            "order_status",
            "order_support",
        ),
        (
            tracker("report_error_code", "action_start_troubleshooting", "troubleshooting_form"),
            [],
            "troubleshooting",
            None,
        ),
        (tracker("start_mortgage", "mortgage_form"), [], "mortgage_intake", None),
        (tracker("upload_documents", "action_ask_next_document"), [], "documents", None),
        (tracker("resume_application", "resume_application_form"), [], "resume_application", None),
        (tracker("book_appointment", "action_start_booking"), [], "branch_appointment", None),
        (
            tracker("ask_mortgage_advice", "action_handoff"),
            [handoff("mortgage_advisors")],
            "mortgage_advice",
            "mortgage_advisors",
        ),
        (
            tracker("request_human", "action_handoff"),
            [handoff("general_support")],
            "human",
            "general_support",
        ),
        (tracker("ask_mortgage_advice", "action_handoff"), [], CONFIRMATION, None),
        (
            tracker("ask_refund", "action_offer_customer_service", support_topic="refund"),
            [],
            "customer_service:refund",
            None,
        ),
        (tracker("nlu_fallback", "action_nlu_fallback"), [], FALLBACK, None),
        (tracker("out_of_scope", "utter_out_of_scope"), [], "out_of_scope", None),
        (tracker("greet", "utter_greet"), [], "smalltalk", None),
    ],
)
def test_what_the_bot_did_is_read_from_the_tracker_and_the_handoffs(
    events: dict[str, Any], handoffs: list[dict[str, Any]], behaviour: str, queue: str | None
) -> None:
    observed = observe(events, handoffs)
    assert (observed.behaviour, observed.queue) == (behaviour, queue)
    assert observed.intent == events["events"][1]["parse_data"]["intent"]["name"]


@pytest.mark.parametrize(
    ("expect", "observed", "misroute"),
    [
        ("order_status", Observed("mortgage_advice", "mortgage_advisors", "x"), True),
        ("order_status", Observed("order_status", "order_support", "x"), False),
        ("customer_service:feedback", Observed("troubleshooting", None, "x"), True),
        ("customer_service:refund", Observed("mortgage_intake", None, "x"), True),
        ("human", Observed("human", "general_support", "x"), False),
        ("customer_service:refund", Observed("human", "general_support", "x"), False),
        ("mortgage_advice", Observed("human", "general_support", "x"), True),
        # Errors, but nobody's time is spent on the wrong queue or journey.
        ("order_status", Observed(FALLBACK, None, "x"), False),
        ("order_status", Observed(CONFIRMATION, None, "x"), False),
        ("customer_service:refund", Observed("customer_service:return", None, "x"), False),
        ("smalltalk", Observed("out_of_scope", None, "x"), False),
        ("smalltalk", Observed("order_status", None, "x"), True),
        # The right team, the wrong step: the mortgage advisors see the intake anyway.
        ("mortgage_advice", Observed("mortgage_intake", None, "x"), False),
        ("resume_application", Observed("documents", None, "x"), False),
    ],
)
def test_a_misroute_is_another_journey_or_another_teams_queue(
    expect: str, observed: Observed, misroute: bool
) -> None:
    assert is_misroute(expect, observed) is misroute


def test_each_phrasing_is_a_new_conversation_and_handoffs_are_matched_by_sender() -> None:
    said: list[tuple[str, str]] = []
    phrasings = [Phrasing("where is ORD-100005", "order_status"), Phrasing("agent", "human")]

    def say(sender: str, text: str) -> None:
        said.append((sender, text))

    def read(sender: str) -> dict[str, Any]:
        text = dict(said)[sender]
        if text == "agent":
            return tracker("request_human", "action_handoff")
        return tracker("check_order_status", "order_form")

    def handoffs() -> list[dict[str, Any]]:
        agent_sender = next(s for s, t in said if t == "agent")
        return [
            {"conversation": {"sender_id": agent_sender}, "routing": {"queue": "general_support"}}
        ]

    report = evaluate(phrasings, say, read, handoffs)

    assert len({sender for sender, _ in said}) == 2
    assert [o.observed.behaviour for o in report.outcomes] == ["order_status", "human"]
    assert [o.observed.queue for o in report.outcomes] == [None, "general_support"]
    assert report.accuracy == 1.0 and report.misroutes == []


def test_the_report_counts_errors_and_misroutes() -> None:
    report = Report(
        [
            Outcome(Phrasing("a", "order_status"), "s1", Observed("order_status", None, "i")),
            Outcome(Phrasing("b", "order_status"), "s2", Observed(FALLBACK, None, "i")),
            Outcome(
                Phrasing("c", "human"), "s3", Observed("mortgage_advice", "mortgage_advisors", "i")
            ),
            Outcome(Phrasing("d", "human"), "s4", Observed("human", "general_support", "i")),
        ]
    )
    assert report.accuracy == 0.5
    assert [o.phrasing.text for o in report.misroutes] == ["c"]
    assert report.per_label() == {"human": (1, 2), "order_status": (1, 2)}
    assert [o.phrasing.text for o in report.reached_queue("mortgage_advisors")] == ["c"]
    markdown = report.as_markdown()
    assert "50.0%" in markdown and "misroutes: **1**" in markdown
    assert "| c | human | mortgage_advice (MISROUTE) | i | mortgage_advisors |" in markdown


def test_the_held_out_set_covers_every_behaviour_with_at_least_300_phrasings() -> None:
    phrasings = load_phrasings()
    counts = Counter(phrasing.expect for phrasing in phrasings)
    assert len(phrasings) >= 300
    assert set(counts) == set(LABELS)
    assert min(counts.values()) >= 10, counts


@pytest.mark.parametrize("held_out", [PHRASINGS, UNSEEN], ids=["phrasings", "unseen"])
def test_no_held_out_phrasing_is_a_training_example(held_out: Path) -> None:
    trained: set[str] = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in str(block.get("examples", "")).splitlines():
                example = line.strip().removeprefix("- ")
                # "[ORD-100002](order_number)" is the text "ORD-100002".
                while "](" in example:
                    start = example.index("[")
                    middle = example.index("](", start)
                    end = example.index(")", middle)
                    example = example[:start] + example[start + 1 : middle] + example[end + 1 :]
                trained.add(example.casefold().strip())
    overlap = [p.text for p in load_phrasings(held_out) if p.text.casefold().strip() in trained]
    assert overlap == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("version: 2\nphrasings: []", "version: 1"),
        ("version: 1\nphrasings: []", "non-empty list"),
        (
            'version: 1\nphrasings:\n  - text: "hi"\n    expect: chitchat',
            "unknown behaviour 'chitchat'",
        ),
        ('version: 1\nphrasings:\n  - text: ""\n    expect: smalltalk', "non-empty string"),
        (
            'version: 1\nphrasings:\n  - {text: "Hi", expect: smalltalk}\n'
            '  - {text: "hi", expect: smalltalk}',
            "twice",
        ),
        ("version: 1\nphrasings: [", "expected"),
    ],
)
def test_a_broken_set_is_refused_with_a_message(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "phrasings.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PhrasingsError, match=message):
        load_phrasings(path)
