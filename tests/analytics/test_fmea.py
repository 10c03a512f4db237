"""The handoff FMEA: its catalog (schema, closed counters and watches, bands, detection), each
occurrence counter on hand-built facts (it counts its mode, not its neighbours'), the RPN,
the previous period and the ranking, and the facts the build keeps for it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import insert, select

from analytics import fmea_catalog as catalog_module
from analytics.fmea import fmea
from analytics.fmea_catalog import (
    DEFAULT_PATH,
    WATCHES,
    FmeaCatalog,
    FmeaFileError,
    load_fmea_catalog,
)
from analytics.handoffs import HistoryEntry, fmea_columns
from analytics.store.database import FactsDatabase
from analytics.store.models import ApplicationOutcome, HandoffFact, HandoffField
from contract.analytics_report import FMEA_COLUMNS, Floor, Fmea, FmeaMode, Report
from desk.services import applications
from desk.store.models import ApplicationEvent, MortgageApplication
from desk.workflows.closing import Closed
from tests.analytics.conftest import World
from tests.support.applications import mortgage_intake

PROJECT = Path(__file__).resolve().parents[2]
#: A Monday; the period is that week, the previous period the week before.
START = date(2026, 11, 2)
END = date(2026, 11, 8)
BEFORE = date(2026, 10, 28)
NOW = datetime(2026, 11, 9, 12, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Levels:
    """Claim levels: 120 s, 300 s for Level 2."""

    def for_queue(self, queue: str) -> float:
        return 300.0 if queue == "tech_support_l2" else 120.0


def _at(day: date, seconds: float = 0.0) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=timezone.utc) + timedelta(
        seconds=seconds
    )


def _handoff(handoff_id: str, day: date = START, **values: Any) -> dict[str, Any]:
    """A handoff claimed after 30 s, resolved and handed back: no failure at all."""
    queued = _at(day)
    row: dict[str, Any] = {
        "handoff_id": handoff_id,
        "sender_id": f"web-{handoff_id}",
        "day": day,
        "journey": "order_status",
        "first_queue": "order_support",
        "queue": "order_support",
        "reason_code": "order_delayed",
        "trigger_type": "business_rule",
        "status": "handed_back",
        "triggered_at": None,
        "queued_at": queued,
        "first_claimed_at": queued + timedelta(seconds=30),
        "first_agent_reply_at": None,
        "resolved_at": queued + timedelta(seconds=300),
        "handed_back_at": queued + timedelta(seconds=301),
        "abandoned_at": None,
        "expired_at": None,
        "callback_left": False,
        "callback_done_at": None,
        "transfers": 0,
        "system_ms": None,
        "wait_s": 30.0,
        "first_reply_s": None,
        "claim_to_reply_s": None,
        "csat_rating": 5,
        "channel": "socketio",
        "turns_before_handoff": 2,
        "duplicates_suppressed": 0,
        "hand_back_refusals": 0,
        "agents_online_at_queue": 2,
        "delivery_s": 1.0,
    }
    row.update(values)
    return row


def _unclaimed(**values: Any) -> dict[str, Any]:
    return {
        "first_claimed_at": None,
        "wait_s": None,
        "resolved_at": None,
        "handed_back_at": None,
        "csat_rating": None,
        **values,
    }


#: One handoff per failure, each with only its own failure, and one with none.
HANDOFFS = [
    _handoff("clean"),
    _handoff("nobody-online", agents_online_at_queue=0),
    _handoff("slow-claim", wait_s=121.0),
    _handoff("slow-l2-in-time", first_queue="tech_support_l2", wait_s=299.0),
    _handoff("late", delivery_s=21.0),
    _handoff("twice", duplicates_suppressed=2),
    _handoff("refused", hand_back_refusals=1, status="resolved", handed_back_at=None),
    _handoff("repeated"),
    _handoff(
        "gave-up",
        status="abandoned",
        **_unclaimed(abandoned_at=_at(START, 60)),
    ),
    _handoff("unhappy", csat_rating=2),
    _handoff("unhappy-person-only", csat_rating=1, turns_before_handoff=0),
    _handoff("unknown-online", agents_online_at_queue=None, delivery_s=None),
]


@pytest.fixture
def facts(tmp_path: Path, migrated: Path) -> Iterator[FactsDatabase]:
    """The migrated facts database holding HANDOFFS."""
    (tmp_path / "facts.db").write_bytes((migrated / "facts.db").read_bytes())
    database = FactsDatabase(f"sqlite:///{tmp_path / 'facts.db'}")
    with database.session(write=True) as session:
        session.execute(insert(HandoffFact.__table__), HANDOFFS)
        session.add(_field("repeated", repeat=True))
        session.add(_field("clean", repeat=False))
        session.add(_field("unhappy", repeat=True, carried=False))  # asked, never carried
    yield database
    database.dispose()


def _field(handoff_id: str, *, repeat: bool, carried: bool = True) -> HandoffField:
    return HandoffField(
        handoff_id=handoff_id,
        field="order_number",
        conversation_id=1,
        carried=carried,
        restated=1 if repeat else 0,
        asked=0,
        first_repeat_at=_at(START, 100) if repeat else None,
        first_repeat_kind="restated" if repeat else None,
    )


def _fmea(database: FactsDatabase, catalog: FmeaCatalog | None = None, **kwargs: Any) -> Fmea:
    with database.session() as session:
        return fmea(
            session,
            kwargs.pop("start", START),
            kwargs.pop("end", END),
            timezone="Europe/London",
            catalog=catalog or load_fmea_catalog(),
            service_levels=Levels(),
            now=NOW,
            **kwargs,
        )


def _mode(found: Fmea, mode: str) -> FmeaMode:
    return next(m for m in found.modes if m.mode == mode)


# --- The catalog ---------------------------------------------------------------------------


def test_the_shipped_catalog_has_the_ten_modes() -> None:
    catalog = load_fmea_catalog()
    assert [m.id for m in catalog.modes] == [
        "no_agent_online",
        "nobody_claims_in_time",
        "desk_unreachable",
        "duplicate_handoff_suppressed",
        "hand_back_refused",
        "customer_repeats_information",
        "abandoned_while_waiting",
        "low_csat_after_hybrid",
        "document_rejected_twice",
        "missed_branch_appointment",
    ]
    steps = catalog.modes_by_step()
    assert steps["queue_wait"] == ["no_agent_online"]
    assert steps["give_up"] == ["abandoned_while_waiting"]
    assert steps["intake"] == ["desk_unreachable", "duplicate_handoff_suppressed"]


def test_detection_is_the_best_watch_or_none() -> None:
    catalog = load_fmea_catalog()
    by_id = {m.id: m for m in catalog.modes}
    assert catalog.detection(by_id["nobody_claims_in_time"]) == 2  # the live strip
    assert catalog.detection(by_id["abandoned_while_waiting"]) == 3  # Prometheus
    assert catalog.detection(by_id["low_csat_after_hybrid"]) == 5  # the dashboard
    assert catalog.detection(by_id["desk_unreachable"]) == 7  # a log
    assert catalog.detection(by_id["duplicate_handoff_suppressed"]) == 9  # nothing


@pytest.mark.parametrize(
    ("per_thousand", "score"),
    [(None, 1), (0.0, 1), (0.09, 1), (0.1, 2), (1.0, 4), (99.9, 9), (100.0, 10), (2000.0, 10)],
)
def test_occurrence_bands(per_thousand: float | None, score: int) -> None:
    assert load_fmea_catalog().occurrence(per_thousand) == score


def test_every_watch_exists_where_it_says() -> None:
    for name, watch in WATCHES.items():
        assert (PROJECT / watch.where.split(":")[0]).is_file(), name
    assert {"agents_online", "waiting", "breaches"} <= set(Floor.__fields__)
    assert {"wait_outcomes", "latency", "csat", "repeats"} <= set(Report.__fields__)
    assert "hand_back_error" in Closed.__dataclass_fields__
    collector = (PROJECT / "desk" / "prometheus.py").read_text()
    for name, watch in WATCHES.items():
        if name.startswith("prometheus_"):
            metric = watch.where.split(": ")[1]
            assert f'"{metric}"' in collector, name
    assert "try %d/%d failed" in (PROJECT / "actions/handoff/delivery.py").read_text()
    assert "back to the bot failed" in (PROJECT / "desk/workflows/closing.py").read_text()


def _shipped() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text())
    return document


def _load(tmp_path: Path, document: dict[str, Any]) -> FmeaCatalog:
    path = tmp_path / "fmea.yml"
    path.write_text(yaml.safe_dump(document))
    return load_fmea_catalog(path)


def test_a_file_naming_what_does_not_exist_is_refused_with_its_yaml_paths(
    tmp_path: Path,
) -> None:
    document = _shipped()
    document["modes"][0]["occurrence_counter"] = "select_star"
    document["modes"][1]["detected_by"] = ["floor_sla_breach", "pager_duty"]
    document["modes"][2]["journeys"] = ["order_status", "billing"]
    document["modes"][3]["id"] = document["modes"][0]["id"]
    document["modes"][8]["journeys"] = ["order_status"]

    with pytest.raises(FmeaFileError) as refused:
        _load(tmp_path, document)

    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'fmea.yml'}: 5 problems:")
    assert "modes[0].occurrence_counter: unknown counter 'select_star'; one of" in message
    assert "modes[1].detected_by[1]: unknown watch 'pager_duty'; one of" in message
    assert "modes[2].journeys[1]: unknown journey 'billing'" in message
    assert "modes[3].id: mode 'no_agent_online' is listed twice" in message
    assert "modes[8].journeys: 'document_rejected_twice' counts mortgage applications" in message


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d["modes"][4].update(severity=11),
            "modes[4].severity: must be between 1 and 10, found 11",
        ),
        (
            lambda d: d["modes"][4].update(severity=0),
            "modes[4].severity: must be between 1 and 10, found 0",
        ),
        (lambda d: d["modes"][5].pop("cause"), "modes[5]: missing required key 'cause'"),
        (lambda d: d["modes"][5].update(query="SELECT 1"), "modes[5]: Additional properties"),
        (
            lambda d: d["occurrence_bands"][3].update({"from": 0.2}),
            "occurrence_bands[3].from: must be above the band before (0.5)",
        ),
        (
            lambda d: d["occurrence_bands"][0].update({"score": 2}),
            "occurrence_bands: the scores must be 1 to 10, in order",
        ),
        (lambda d: d["detection"].pop("none"), "detection: missing required key 'none'"),
    ],
)
def test_a_broken_file_is_refused_naming_the_place(
    tmp_path: Path, change: Any, problem: str
) -> None:
    document = _shipped()
    change(document)
    with pytest.raises(FmeaFileError, match=re.escape(problem)):
        _load(tmp_path, document)


def test_the_environment_names_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _shipped()
    document["modes"] = document["modes"][:1]
    path = tmp_path / "mine.yml"
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setenv("ANALYTICS_HANDOFF_FMEA", str(path))
    assert [m.id for m in load_fmea_catalog().modes] == ["no_agent_online"]


def test_the_command_checks_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert catalog_module.main([str(DEFAULT_PATH)]) == 0
    assert "OK: 10 failure modes" in capsys.readouterr().out
    broken = tmp_path / "broken.yml"
    broken.write_text("version: 1\nmodes: [\n")
    assert catalog_module.main([str(broken)]) == 1
    assert "not valid YAML" in capsys.readouterr().err


# --- The counters ----------------------------------------------------------------------------

#: What each mode counts among HANDOFFS: (occurrences, exposure, examples).
EXPECTED = {
    "no_agent_online": (1, 11, ["nobody-online"]),
    "nobody_claims_in_time": (1, 12, ["slow-claim"]),
    "desk_unreachable": (1, 11, ["late"]),
    "duplicate_handoff_suppressed": (1, 12, ["twice"]),
    # Exposure: the resolved ones (all but the abandoned one).
    "hand_back_refused": (1, 11, ["refused"]),
    # Exposure: the claimed ones; "unhappy" was asked for a field the context lacked.
    "customer_repeats_information": (1, 11, ["repeated"]),
    "abandoned_while_waiting": (1, 12, ["gave-up"]),
    # Exposure: hybrid and rated (not "refused": not handed back; not the person-only one).
    "low_csat_after_hybrid": (1, 9, ["unhappy"]),
    "document_rejected_twice": (0, 0, []),
    "missed_branch_appointment": (0, 0, []),
}


def test_each_counter_counts_its_mode_and_not_its_neighbours(facts: FactsDatabase) -> None:
    found = _fmea(facts)
    counted = {m.mode: (m.occurrences, m.exposure, m.examples) for m in found.modes}
    assert counted == EXPECTED
    assert found.handoffs == len(HANDOFFS)


def test_a_wait_still_running_or_given_up_counts_against_the_level(facts: FactsDatabase) -> None:
    with facts.session(write=True) as session:
        session.execute(
            insert(HandoffFact.__table__),
            [
                # Still waiting at NOW (the previous day), and gave up after 200 s.
                _handoff("waiting", day=END, status="queued", **_unclaimed()),
                _handoff(
                    "gave-up-late", status="abandoned", **_unclaimed(abandoned_at=_at(START, 200))
                ),
                # Left a message after 100 s: in time.
                _handoff("message", status="expired", **_unclaimed(expired_at=_at(START, 100))),
            ],
        )
    mode = _mode(_fmea(facts), "nobody_claims_in_time")
    assert (mode.occurrences, mode.exposure) == (3, 15)
    assert mode.examples == ["waiting", "slow-claim", "gave-up-late"]


def test_a_counter_counts_only_the_modes_journeys(facts: FactsDatabase, tmp_path: Path) -> None:
    document = _shipped()
    document["modes"][6]["journeys"] = ["troubleshooting"]  # abandoned: no such handoff
    mode = _mode(_fmea(facts, _load(tmp_path, document)), "abandoned_while_waiting")
    assert (mode.occurrences, mode.exposure, mode.per_thousand) == (0, 0, None)


def test_examples_are_the_five_newest(facts: FactsDatabase) -> None:
    with facts.session(write=True) as session:
        session.execute(
            insert(HandoffFact.__table__),
            [
                _handoff(f"gave-up-{n}", status="abandoned", **_unclaimed(abandoned_at=_at(START)))
                | {"queued_at": _at(START, n)}
                for n in range(1, 8)
            ],
        )
    mode = _mode(_fmea(facts), "abandoned_while_waiting")
    assert mode.occurrences == 8
    assert mode.examples == [f"gave-up-{n}" for n in (7, 6, 5, 4, 3)]


# --- Scores, previous period, ranking ----------------------------------------------------------


def test_rpn_is_severity_times_occurrence_times_detection(facts: FactsDatabase) -> None:
    found = _fmea(facts)
    for mode in found.modes:
        assert mode.rpn == mode.severity * mode.occurrence * mode.detection
    abandoned = _mode(found, "abandoned_while_waiting")
    # 1 of 12 handoffs: 83.3 per 1,000, band 9 (from 50); severity 8; Prometheus watches: 3.
    assert abandoned.per_thousand == pytest.approx(1000 / 12)
    assert (abandoned.severity, abandoned.occurrence, abandoned.detection) == (8, 9, 3)
    assert abandoned.rpn == 216
    duplicate = _mode(found, "duplicate_handoff_suppressed")
    assert (duplicate.severity, duplicate.occurrence, duplicate.detection) == (3, 9, 9)
    assert duplicate.rpn == 243
    documents = _mode(found, "document_rejected_twice")  # nothing to count: band 1
    assert (documents.occurrence, documents.rpn) == (1, 5 * 1 * 7)


def test_the_modes_are_ranked_by_rpn(facts: FactsDatabase) -> None:
    found = _fmea(facts)
    ranked = [(m.rpn, m.severity, m.occurrences) for m in found.modes]
    assert ranked == sorted(ranked, key=lambda r: (-r[0], -r[1], -r[2]))
    assert found.modes[0].mode == "desk_unreachable"  # 8 x 9 x 7 = 504


def test_the_previous_period_is_counted_alike(facts: FactsDatabase) -> None:
    with facts.session(write=True) as session:
        session.execute(
            insert(HandoffFact.__table__),
            [_handoff(f"old-{n}", day=BEFORE) for n in range(99)]
            + [_handoff("old-late", day=BEFORE, delivery_s=60.0)],
        )
    found = _fmea(facts)
    late = _mode(found, "desk_unreachable")
    # Before: 1 of 100 is 10 per 1,000, band 7.
    assert (late.previous_occurrences, late.previous_rpn) == (1, 8 * 7 * 7)
    assert late.examples == ["late"]
    assert found.period.previous_start == date(2026, 10, 26)
    assert found.period.previous_end == date(2026, 11, 1)
    # The earlier week alone: its own occurrences, and nothing before it.
    earlier = _mode(
        _fmea(facts, start=date(2026, 10, 26), end=date(2026, 11, 1)), "desk_unreachable"
    )
    assert (earlier.occurrences, earlier.exposure, earlier.previous_occurrences) == (1, 100, 0)


def test_the_csv_columns_are_the_modes_fields() -> None:
    assert FMEA_COLUMNS[:3] == ("mode", "label", "effect")
    assert "rpn" in FMEA_COLUMNS and "previous_rpn" in FMEA_COLUMNS


# --- Application counters ------------------------------------------------------------------


def _outcome(
    event_id: int, application: int, kind: str, day: date, item: str | None = None
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "application_id": application,
        "kind": kind,
        "item": item,
        "occurred_at": _at(day, event_id),
        "day": day,
    }


def test_a_document_rejected_twice_and_a_missed_appointment(facts: FactsDatabase) -> None:
    rows = [
        # Application 1: payslips rejected twice this week (counted once), then accepted.
        _outcome(1, 1, "document_rejected", START, "payslips"),
        _outcome(2, 1, "document_rejected", START, "payslips"),
        _outcome(3, 1, "document_rejected", START, "payslips"),
        _outcome(4, 1, "document_accepted", START, "payslips"),
        # Application 2: two items rejected once each: not twice.
        _outcome(5, 2, "document_rejected", START, "payslips"),
        _outcome(6, 2, "document_rejected", START, "id_document"),
        # Application 3: rejected once last week, again this week: twice now.
        _outcome(7, 3, "document_rejected", BEFORE, "bank_statements"),
        _outcome(8, 3, "document_rejected", END, "bank_statements"),
        # Application 4: accepted at once.
        _outcome(9, 4, "document_accepted", START, "payslips"),
        # Appointments: 1 missed, 2 signed this week; 1 missed last week.
        _outcome(10, 1, "appointment_missed", START),
        _outcome(11, 1, "signed", END),
        _outcome(12, 4, "signed", END),
        _outcome(13, 5, "appointment_missed", BEFORE),
    ]
    with facts.session(write=True) as session:
        session.execute(insert(ApplicationOutcome.__table__), rows)
    found = _fmea(facts)
    twice = _mode(found, "document_rejected_twice")
    assert (twice.occurrences, twice.exposure) == (2, 4)
    assert twice.examples == ["application:3", "application:1"]
    assert twice.previous_occurrences == 0
    missed = _mode(found, "missed_branch_appointment")
    assert (missed.occurrences, missed.exposure, missed.examples) == (1, 3, ["application:1"])
    assert missed.previous_occurrences == 1


# --- The facts the build keeps for it -------------------------------------------------------


def test_the_handoff_columns_come_from_its_history() -> None:
    queued_at = _at(START, 30)
    history = [
        HistoryEntry("queued", queued_at, None, {"queue": "order_support", "agents_online": 0}),
        HistoryEntry("duplicate_suppressed", queued_at, None, {"handoff_id": "x"}),
        HistoryEntry("duplicate_suppressed", queued_at, None, {"handoff_id": "y"}),
        HistoryEntry("hand_back_refused", queued_at, None, {"reason": "rasa_unavailable"}),
    ]
    handoff = {"requested_at": _at(START), "queued_at": queued_at}
    assert fmea_columns(handoff, history) == {
        "duplicates_suppressed": 2,
        "hand_back_refusals": 1,
        "agents_online_at_queue": 0,
        "delivery_s": 30.0,
    }
    # Queued before the desk recorded who was online.
    older = [replace(history[0], detail={"queue": "order_support"})]
    assert fmea_columns({**handoff, "requested_at": None}, older) == {
        "duplicates_suppressed": 0,
        "hand_back_refusals": 0,
        "agents_online_at_queue": None,
        "delivery_s": None,
    }


def test_the_build_keeps_the_reviews_and_appointments_of_the_timelines(world: World) -> None:
    with world.desk.database.session(write=True) as session:
        record = applications.create_application(
            session, mortgage_intake(), origin_channel="rest", origin_sender_id="web-1"
        )
    entries = [
        ("document_rejected", {"item": "payslips", "reason": "blurred: 07700 900123"}),
        ("document_uploaded", {"item": "payslips"}),
        ("document_accepted", {"item": "payslips"}),
        ("appointment_missed", {"branch": "leeds"}),
    ]
    with world.desk.database.session(write=True) as session:
        application_id = session.execute(
            select(MortgageApplication.id).where(MortgageApplication.reference == record.reference)
        ).scalar_one()
        for kind, detail in entries:
            session.add(
                ApplicationEvent(
                    application_id=application_id,
                    touchpoint="desk",
                    kind=kind,
                    detail=detail,
                    occurred_at=_at(START),
                )
            )
    world.build()
    world.build()  # idempotent
    with world.facts.session() as session:
        kept = session.execute(
            select(
                ApplicationOutcome.application_id, ApplicationOutcome.kind, ApplicationOutcome.item
            ).order_by(ApplicationOutcome.event_id)
        ).all()
    assert [tuple(row) for row in kept] == [
        (application_id, "document_rejected", "payslips"),
        (application_id, "document_accepted", "payslips"),
        (application_id, "appointment_missed", None),
    ]


def test_the_build_reads_the_handoffs_fmea_columns(world: World) -> None:
    queued = _at(START, 45)
    handoff = world.desk.handoff("web-f", queued_at=queued)
    world.desk.update(handoff, requested_at=_at(START))
    world.desk.event(handoff, "duplicate_suppressed", queued, reason_code="order_lost")
    world.desk.event(handoff, "hand_back_refused", queued, reason="declined")
    world.build()
    with world.facts.session() as session:
        fact = session.get(HandoffFact, handoff)
        assert fact is not None
        assert (fact.duplicates_suppressed, fact.hand_back_refusals, fact.delivery_s) == (
            1,
            1,
            45.0,
        )
        # The stand-in desk's queued entry does not say who was online.
        assert fact.agents_online_at_queue is None
