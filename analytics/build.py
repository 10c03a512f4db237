"""The incremental build: fold what is new in the sources into the facts, from watermarks.

Each source has a watermark, the id of the last row folded in (`watermarks`). A build reads the
rows above it in batches; each batch is one transaction on the facts database that writes the
facts and moves the watermark together, so a build that stops half-way leaves consistent facts
and the next one carries on, and a second build with nothing new changes nothing (idempotent).
Concurrent builds (the desk's timer, `make analytics`) queue on the facts database's write lock
(SQLite) or on the watermark row (`FOR UPDATE`, PostgreSQL).

A row the build cannot read is recorded in `unparseable_events` (source, id, reason; never the
content) and counted in the build's report: it never stops the build.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy import bindparam, delete, func, insert, inspect, select, update
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from analytics.conversations import Conversation, ConversationFold, field_rows, stage_rows
from analytics.handoffs import HistoryEntry, handoff_fact
from analytics.settings import AnalyticsSettings
from analytics.sources import AGENTS, APPLICATION_EVENTS, EVENTS, HANDOFF_EVENTS, HANDOFFS
from analytics.stages import APPLICATION, StageCatalog, stage_catalog
from analytics.store.database import FactsDatabase
from analytics.store.models import (
    BuildRun,
    ConversationFact,
    FailurePoint,
    HandlePart,
    HandoffFact,
    HandoffField,
    StageChange,
    StageFact,
    UnparseableEvent,
    Watermark,
)
from analytics.tracker import Unparseable, parse_row
from contract.conversation_marks import NO_JOURNEY
from sqlsupport.types import utcnow

LOGGER = logging.getLogger(__name__)

TRACKER_SOURCE: Final = "tracker_events"
HANDOFF_SOURCE: Final = "handoff_events"
STAGE_SOURCE: Final = "application_events"
#: Rows per IN (...) list (SQLite allows 999 parameters).
CHUNK: Final = 500
#: Handoff history rows per batch.
HANDOFF_BATCH: Final = 5000
#: What `parse_row` takes of a tracker row, in its order.
_EVENT_COLUMNS: Final = (
    EVENTS.c.id,
    EVENTS.c.sender_id,
    EVENTS.c.type_name,
    EVENTS.c.timestamp,
    EVENTS.c.intent_name,
    EVENTS.c.action_name,
    EVENTS.c.data,
)

T = TypeVar("T")


@dataclass
class BuildReport:
    """What one build read and wrote."""

    tracker_events: int = 0
    conversations: int = 0
    handoffs: int = 0
    stage_changes: int = 0
    unparseable: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Tracker events folded per second of the build."""
        return self.tracker_events / self.seconds if self.seconds > 0 else 0.0


def source_engine(url: str) -> Engine:
    """An engine for a source the build only reads (no pool kept between builds)."""
    return create_engine(url, future=True, poolclass=NullPool)


class Builder:
    """Builds the facts of one facts database from Rasa's tracker store and the desk's DB.

    Args:
        facts: The analytics database (migrated).
        tracker: Rasa's tracker store; None to skip it.
        desk: The desk's database; None to skip it.
        settings: The reporting zone and batch size.
        catalog: The journeys' stages (default: the designers' file).
    """

    def __init__(
        self,
        facts: FactsDatabase,
        tracker: Engine | None,
        desk: Engine | None,
        settings: AnalyticsSettings,
        catalog: StageCatalog | None = None,
    ) -> None:
        self.facts = facts
        self.tracker = tracker
        self.desk = desk
        self.settings = settings
        self.zone = settings.zone
        self.catalog = catalog or stage_catalog()

    @classmethod
    def from_settings(cls, settings: AnalyticsSettings, facts: FactsDatabase) -> Builder:
        """A builder on the databases the settings name."""
        return cls(
            facts,
            source_engine(settings.tracker_store_url),
            source_engine(settings.desk_database_url),
            settings,
        )

    def dispose(self) -> None:
        """Close the source engines."""
        for engine in (self.tracker, self.desk):
            if engine is not None:
                engine.dispose()

    def run(self) -> BuildReport:
        """Fold everything new into the facts; the report says how much."""
        started = utcnow()
        clock = time.perf_counter()
        report = BuildReport()
        if self.tracker is not None and _has(self.tracker, EVENTS.name):
            while self._tracker_batch(report):
                pass
        if self.desk is not None and _has(self.desk, HANDOFF_EVENTS.name):
            while self._handoff_batch(report):
                pass
        if self.desk is not None and _has(self.desk, APPLICATION_EVENTS.name, "stage"):
            while self._stage_batch(report):
                pass
        report.seconds = time.perf_counter() - clock
        with self.facts.session(write=True) as session:
            session.add(
                BuildRun(
                    started_at=started,
                    finished_at=utcnow(),
                    tracker_events=report.tracker_events,
                    handoffs=report.handoffs,
                    stage_changes=report.stage_changes,
                    unparseable=report.unparseable,
                )
            )
        return report

    # --- tracker events → conversations and failure points -------------------------------

    def _tracker_batch(self, report: BuildReport) -> bool:
        assert self.tracker is not None
        limit = self.settings.batch_events
        with self.facts.session(write=True) as session:
            mark = _watermark(session, TRACKER_SOURCE)
            with self.tracker.connect() as source:
                rows = source.execute(
                    select(*_EVENT_COLUMNS)
                    .where(EVENTS.c.id > mark)
                    .order_by(EVENTS.c.id)
                    .limit(limit)
                ).all()
            if not rows:
                return False
            fold = ConversationFold(self.zone, self.catalog)
            # Rows unpacked in the columns' order: a SQLAlchemy Row's attribute access costs
            # ten times more, which shows at millions of events.
            senders = {row[1] for row in rows if row[1]}
            open_by_sender = _open_conversations(session, senders)
            touched: dict[int, Conversation] = {}
            bad: list[tuple[int, str]] = []
            feed = fold.feed
            for row_id, sender_id, kind, timestamp, intent, action, data in rows:
                try:
                    event = parse_row(row_id, sender_id, kind, timestamp, intent, action, data)
                except Unparseable as error:
                    bad.append((row_id, str(error)))
                    continue
                if event is None:
                    continue
                conversation = feed(open_by_sender.get(event.sender_id), event)
                open_by_sender[event.sender_id] = conversation
                touched[id(conversation)] = conversation
            self._store_conversations(session, list(touched.values()), fold)
            _record_unparseable(session, TRACKER_SOURCE, bad)
            _move(session, TRACKER_SOURCE, rows[-1][0])
        report.tracker_events += len(rows)
        report.conversations += len(touched)
        report.unparseable += len(bad)
        return len(rows) == limit

    def _store_conversations(
        self, session: Session, conversations: list[Conversation], fold: ConversationFold
    ) -> None:
        table = ConversationFact.__table__
        _journeys_of_handoffs(session, conversations)
        returns: list[Conversation] = []
        for conversation in conversations:
            if conversation.durable_key and not conversation.state.get("durable_marked"):
                conversation.state["durable_marked"] = True
                returns.append(conversation)
        # Split by id before new ones get theirs (identity, not the dataclass's field-wise
        # equality: `c not in new` was quadratic and compared every field).
        new = [c for c in conversations if c.id is None]
        old = [c for c in conversations if c.id is not None]
        if new:
            next_id = (session.execute(select(func.max(table.c.id))).scalar() or 0) + 1
            for offset, conversation in enumerate(new):
                conversation.id = next_id + offset
            session.execute(insert(table), [c.row() for c in new])
        if old:
            rows = [{**c.row(), "b_id": c.id} for c in old]
            columns = {name: bindparam(name) for name in rows[0] if name not in ("id", "b_id")}
            session.execute(
                update(table).where(table.c.id == bindparam("b_id")).values(columns), rows
            )
        if returns:
            returns.sort(key=lambda c: c.id or 0)
            session.execute(
                update(table)
                .where(
                    table.c.sender_id == bindparam("b_sender"),
                    table.c.journey == bindparam("b_journey"),
                    table.c.engaged.is_(True),
                    table.c.returned_at.is_(None),
                    table.c.id < bindparam("b_id"),
                )
                .values(returned_at=bindparam("b_at"), returned_ts=bindparam("b_ts")),
                [
                    {
                        "b_sender": c.sender_id,
                        "b_journey": c.journey,
                        "b_id": c.id,
                        "b_at": c.engaged_at or c.started_at,
                        "b_ts": (c.engaged_at or c.started_at).timestamp(),
                    }
                    for c in returns
                ],
            )
        _copy_to_handoffs(session, conversations)
        _replace(
            session,
            StageFact,
            StageFact.unit,
            [f"c{c.id}" for c in fold.staged.values()],
            [row for c in fold.staged.values() for row in stage_rows(c, self.zone)],
        )
        _replace(
            session,
            HandoffField,
            HandoffField.handoff_id,
            sorted({h for c in fold.watched.values() for h in c.state.get("watches", {})}),
            [row for c in fold.watched.values() for row in field_rows(c)],
        )
        if fold.failures:
            session.execute(
                insert(FailurePoint.__table__),
                [
                    {
                        "event_id": f.event_id,
                        "kind": f.kind,
                        "seq": f.seq,
                        "conversation_id": f.conversation.id,
                        "day": f.day,
                        "subject": f.subject,
                        "helped": f.helped,
                    }
                    for f in fold.failures
                ],
            )

    # --- desk handoffs → handoff facts and handle parts -----------------------------------

    def _handoff_batch(self, report: BuildReport) -> bool:
        assert self.desk is not None
        with self.facts.session(write=True) as session:
            mark = _watermark(session, HANDOFF_SOURCE)
            with self.desk.connect() as source:
                changed = source.execute(
                    select(HANDOFF_EVENTS.c.id, HANDOFF_EVENTS.c.handoff_id)
                    .where(HANDOFF_EVENTS.c.id > mark)
                    .order_by(HANDOFF_EVENTS.c.id)
                    .limit(HANDOFF_BATCH)
                ).all()
                if not changed:
                    return False
                ids = sorted({row.handoff_id for row in changed})
                facts, parts, bad = self._handoff_facts(source, ids)
            for chunk in _chunks(ids):
                session.execute(
                    delete(HandoffFact.__table__).where(HandoffFact.handoff_id.in_(chunk))
                )
                session.execute(
                    delete(HandlePart.__table__).where(HandlePart.handoff_id.in_(chunk))
                )
            if facts:
                _copy_from_conversations(session, facts)
                session.execute(insert(HandoffFact.__table__), facts)
                # A conversation the tracker could not place in a journey is in its handoff's.
                conversations = ConversationFact.__table__
                session.execute(
                    update(conversations)
                    .where(
                        conversations.c.handoff_id == bindparam("b_handoff"),
                        conversations.c.journey == NO_JOURNEY,
                    )
                    .values(journey=bindparam("b_journey")),
                    [{"b_handoff": f["handoff_id"], "b_journey": f["journey"]} for f in facts],
                )
            if parts:
                session.execute(insert(HandlePart.__table__), parts)
            _record_unparseable(session, HANDOFF_SOURCE, bad)
            _move(session, HANDOFF_SOURCE, changed[-1].id)
        report.handoffs += len(facts)
        report.unparseable += len(bad)
        return len(changed) == HANDOFF_BATCH

    def _handoff_facts(
        self, source: Connection, ids: Sequence[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[int, str]]]:
        handoffs: list[Any] = []
        history: dict[str, list[HistoryEntry]] = defaultdict(list)
        first_event: dict[str, int] = {}
        for chunk in _chunks(ids):
            handoffs += source.execute(
                select(HANDOFFS).where(HANDOFFS.c.handoff_id.in_(chunk))
            ).all()
            for row in source.execute(
                select(HANDOFF_EVENTS)
                .where(HANDOFF_EVENTS.c.handoff_id.in_(chunk))
                .order_by(HANDOFF_EVENTS.c.occurred_at, HANDOFF_EVENTS.c.id)
            ):
                first_event.setdefault(row.handoff_id, row.id)
                history[row.handoff_id].append(
                    HistoryEntry(row.kind, row.occurred_at, row.actor_agent_id, row.detail or {})
                )
        agent_ids = {e.agent_id for entries in history.values() for e in entries if e.agent_id}
        names: dict[int, str] = {}
        for agent_chunk in _chunks(sorted(agent_ids)):
            names.update(
                source.execute(
                    select(AGENTS.c.id, AGENTS.c.display_name).where(AGENTS.c.id.in_(agent_chunk))
                ).all()
            )
        facts: list[dict[str, Any]] = []
        parts: list[dict[str, Any]] = []
        bad: list[tuple[int, str]] = []
        for handoff in handoffs:
            row = handoff._mapping
            entries = history[row["handoff_id"]]
            try:
                fact, its_parts = handoff_fact(row, entries, names, self._day)
            except Unparseable as error:
                bad.append((first_event.get(row["handoff_id"], 0), str(error)))
                fact, its_parts = handoff_fact({**row, "context": "{}"}, entries, names, self._day)
            facts.append(fact)
            parts += its_parts
        return facts, parts, bad

    # --- mortgage timelines → stage changes -------------------------------------------------

    def _stage_batch(self, report: BuildReport) -> bool:
        assert self.desk is not None
        with self.facts.session(write=True) as session:
            mark = _watermark(session, STAGE_SOURCE)
            with self.desk.connect() as source:
                rows = source.execute(
                    select(APPLICATION_EVENTS)
                    .where(APPLICATION_EVENTS.c.id > mark)
                    .order_by(APPLICATION_EVENTS.c.id)
                    .limit(HANDOFF_BATCH)
                ).all()
                if not rows:
                    return False
                last_stage = self._stages_before(source, {r.application_id for r in rows}, mark)
            changes = []
            for row in rows:
                if row.stage is None:
                    continue
                before = last_stage.get(row.application_id)
                if row.stage != before:
                    changes.append(
                        {
                            "event_id": row.id,
                            "application_id": row.application_id,
                            "from_stage": before,
                            "to_stage": row.stage,
                            "kind": row.kind,
                            "touchpoint": row.touchpoint,
                            "occurred_at": row.occurred_at,
                            "day": self._day(row.occurred_at),
                        }
                    )
                last_stage[row.application_id] = row.stage
            if changes:
                session.execute(insert(StageChange.__table__), changes)
            self._application_stages(session, rows, changes)
            _move(session, STAGE_SOURCE, rows[-1].id)
        report.stage_changes += len(changes)
        return len(rows) == HANDOFF_BATCH

    def _application_stages(
        self, session: Session, rows: Sequence[Any], changes: Sequence[dict[str, Any]]
    ) -> None:
        """The journey stages applications reached (`stage_facts`, units `a<id>`): each
        timeline entry's kind, and each stage it moved the application to, as marks."""
        journeys = self.catalog.for_unit(APPLICATION)
        if not journeys:
            return
        journey = journeys[0]
        moved = {change["event_id"]: change["to_stage"] for change in changes}
        reached: dict[int, list[list[Any]]] = {}
        units = sorted({f"a{row.application_id}" for row in rows})
        for chunk in _chunks(units):
            for unit, stage, at in session.execute(
                select(StageFact.unit, StageFact.stage, StageFact.reached_at)
                .where(StageFact.unit.in_(chunk))
                .order_by(StageFact.unit, StageFact.position)
            ):
                reached.setdefault(int(unit[1:]), []).append([stage, at])
        touched: set[int] = set()
        for row in rows:
            marks = [("event", row.kind)]
            if row.id in moved:
                marks.append(("stage", moved[row.id]))
            stage = journey.stage(marks)
            path = reached.setdefault(row.application_id, [])
            if stage is not None and all(s != stage for s, _ in path):
                path.append([stage, row.occurred_at])
                touched.add(row.application_id)
        facts = []
        for application_id in sorted(touched):
            path = reached[application_id]
            day = self._day(path[0][1])
            for position, (stage, at) in enumerate(path):
                following = path[position + 1] if position + 1 < len(path) else None
                facts.append(
                    {
                        "unit": f"a{application_id}",
                        "stage": stage,
                        "journey": journey.journey,
                        "position": position,
                        "reached_at": at,
                        "day": day,
                        "next_stage": following[0] if following else None,
                        "seconds_to_next": (
                            (following[1] - at).total_seconds() if following else None
                        ),
                        "sentiment_sum": 0.0,
                        "sentiment_turns": 0,
                        "conversation_id": None,
                        "application_id": application_id,
                    }
                )
        _replace(
            session,
            StageFact,
            StageFact.unit,
            [f"a{application_id}" for application_id in sorted(touched)],
            facts,
        )

    @staticmethod
    def _stages_before(
        source: Connection, applications: Iterable[int], mark: int
    ) -> dict[int, str]:
        """Each application's stage after its last entry already folded in."""
        stages: dict[int, str] = {}
        t = APPLICATION_EVENTS
        for chunk in _chunks(sorted(applications)):
            last = (
                select(t.c.application_id, func.max(t.c.id).label("id"))
                .where(t.c.application_id.in_(chunk), t.c.id <= mark, t.c.stage.is_not(None))
                .group_by(t.c.application_id)
                .subquery()
            )
            stages.update(
                source.execute(
                    select(t.c.application_id, t.c.stage).join(last, t.c.id == last.c.id)
                ).all()
            )
        return stages

    def _day(self, at: datetime) -> Any:
        return at.astimezone(self.zone).date()


def _has(engine: Engine, table: str, column: str | None = None) -> bool:
    """Whether the source has the table (and column): a fresh store has none yet, and a desk
    database before revision 0007 keeps no stage per timeline entry."""
    inspector = inspect(engine)
    if not inspector.has_table(table):
        return False
    return column is None or column in {c["name"] for c in inspector.get_columns(table)}


def _watermark(session: Session, source: str) -> int:
    """The source's watermark, locked for this transaction (created at 0 the first time)."""
    row = session.execute(
        select(Watermark).where(Watermark.source == source).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        session.add(Watermark(source=source, last_id=0, updated_at=utcnow()))
        session.flush()
        return 0
    return int(row.last_id)


def _move(session: Session, source: str, last_id: int) -> None:
    session.execute(
        update(Watermark)
        .where(Watermark.source == source)
        .values(last_id=last_id, updated_at=utcnow())
    )


def _record_unparseable(session: Session, source: str, bad: Sequence[tuple[int, str]]) -> None:
    if not bad:
        return
    LOGGER.warning("%d %s rows could not be read (see unparseable_events)", len(bad), source)
    now = utcnow()
    session.execute(
        insert(UnparseableEvent.__table__),
        [{"source": source, "source_id": i, "reason": r[:200], "seen_at": now} for i, r in bad],
    )


def _open_conversations(session: Session, senders: set[str]) -> dict[str, Conversation]:
    """Each sender's latest conversation (the one new events may still belong to)."""
    table = ConversationFact.__table__
    found: dict[str, Conversation] = {}
    for chunk in _chunks(sorted(senders)):
        latest = (
            select(func.max(table.c.id))
            .where(table.c.sender_id.in_(chunk))
            .group_by(table.c.sender_id)
            .scalar_subquery()
        )
        for row in session.execute(select(table).where(table.c.id.in_(latest))):
            conversation = Conversation.of_row(row._mapping)
            found[conversation.sender_id] = conversation
    return found


def _copy_to_handoffs(session: Session, conversations: Sequence[Conversation]) -> None:
    """Give each conversation's first handoff the conversation's channel and the bot's turns
    before it (the report then reads handoffs without a join)."""
    linked = [c for c in conversations if c.handoff_id]
    if not linked:
        return
    table = HandoffFact.__table__
    session.execute(
        update(table)
        .where(table.c.handoff_id == bindparam("b_handoff"))
        .values(channel=bindparam("b_channel"), turns_before_handoff=bindparam("b_turns")),
        [
            {"b_handoff": c.handoff_id, "b_channel": c.channel, "b_turns": c.turns_before_handoff}
            for c in linked
        ],
    )


def _copy_from_conversations(session: Session, facts: Sequence[dict[str, Any]]) -> None:
    """The same, for handoff facts built after their conversation."""
    table = ConversationFact.__table__
    by_id = {fact["handoff_id"]: fact for fact in facts}
    for chunk in _chunks(sorted(by_id)):
        for handoff_id, channel, turns in session.execute(
            select(table.c.handoff_id, table.c.channel, table.c.turns_before_handoff).where(
                table.c.handoff_id.in_(chunk)
            )
        ):
            by_id[handoff_id]["channel"] = channel
            by_id[handoff_id]["turns_before_handoff"] = turns


def _journeys_of_handoffs(session: Session, conversations: Sequence[Conversation]) -> None:
    """Put a handed-off conversation the tracker could not place in a journey in its
    handoff's journey (its `flow`)."""
    unplaced = {c.handoff_id: c for c in conversations if c.handoff_id and c.journey == NO_JOURNEY}
    for chunk in _chunks(sorted(unplaced)):
        for handoff_id, journey in session.execute(
            select(HandoffFact.handoff_id, HandoffFact.journey).where(
                HandoffFact.handoff_id.in_(chunk)
            )
        ):
            unplaced[handoff_id].journey = journey


def _replace(
    session: Session, model: Any, key: Any, keys: Sequence[Any], rows: Sequence[dict[str, Any]]
) -> None:
    """Replace the rows of `model` whose `key` is in `keys` with `rows`."""
    for chunk in _chunks(sorted(keys)):
        session.execute(delete(model.__table__).where(key.in_(chunk)))
    if rows:
        session.execute(insert(model.__table__), list(rows))


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def rebuild(facts: FactsDatabase) -> None:
    """Forget every fact and watermark, so the next build reads the sources from the start."""
    with facts.session(write=True) as session:
        for model in (
            ConversationFact,
            FailurePoint,
            HandoffFact,
            HandlePart,
            HandoffField,
            StageChange,
            StageFact,
            UnparseableEvent,
            Watermark,
        ):
            session.execute(delete(model.__table__))
