"""Small hand-built histories for the analytics: a Rasa tracker store and a desk database in
temporary SQLite files, written the way Rasa and the desk write them, and a facts database."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import Engine

from analytics.build import Builder, BuildReport
from analytics.report import build_report
from analytics.settings import AnalyticsSettings
from analytics.sources import EVENTS, TRACKER
from analytics.store.database import FactsDatabase
from contract.analytics_report import Report, ReportQuery
from desk.store.database import Database as DeskDatabase
from desk.store.models import Agent, Handoff, HandoffEvent

#: A Tuesday morning in London (UTC+0 in November).
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc)


class Tracker:
    """Writes Rasa `events` rows as Rasa 3.6's SQLTrackerStore does (name in action_name)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        TRACKER.create_all(engine)

    def _row(
        self, sender: str, kind: str, at: datetime, data: dict[str, Any], **columns: Any
    ) -> None:
        data = {"event": kind, "timestamp": at.timestamp(), **data}
        with self.engine.begin() as connection:
            connection.execute(
                insert(EVENTS),
                {
                    "sender_id": sender,
                    "type_name": kind,
                    "timestamp": at.timestamp(),
                    "intent_name": columns.get("intent_name"),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                },
            )

    def raw(self, **columns: Any) -> None:
        """A row exactly as given (broken ones included)."""
        with self.engine.begin() as connection:
            connection.execute(insert(EVENTS), columns)

    def session(self, sender: str, at: datetime) -> None:
        self._row(sender, "action", at, {"name": "action_session_start"})
        self._row(sender, "session_started", at, {})
        self._row(sender, "action", at, {"name": "action_listen"})

    def user(
        self,
        sender: str,
        at: datetime,
        intent: str,
        *,
        channel: str = "socketio",
        below: str | None = None,
        text: str = "(customer text)",
    ) -> None:
        ranking = [{"name": intent, "confidence": 0.9}]
        if below:
            ranking = [
                {"name": "nlu_fallback", "confidence": 0.7},
                {"name": below, "confidence": 0.4},
            ]
        parse = {"intent": {"name": intent, "confidence": 0.9}, "intent_ranking": ranking}
        self._row(
            sender,
            "user",
            at,
            {"text": text, "parse_data": parse, "input_channel": channel},
            intent_name=intent,
        )

    def action(self, sender: str, at: datetime, name: str) -> None:
        self._row(sender, "action", at, {"name": name})

    def bot(self, sender: str, at: datetime) -> None:
        self._row(sender, "bot", at, {"text": "(bot text)"})

    def notice(self, sender: str, at: datetime, kind: str) -> None:
        """A desk notice (an agent joined, left, ...)."""
        self._row(sender, "bot", at, {"text": "(notice)", "metadata": {"desk_notice": kind}})

    def agent(self, sender: str, at: datetime, text: str) -> None:
        """An agent's message, as the desk writes it into the tracker."""
        metadata = {"handoff_agent": {"id": 7, "name": "Olivia"}}
        self._row(sender, "bot", at, {"text": text, "metadata": metadata})

    def resume(self, sender: str, at: datetime) -> None:
        """The desk hands the conversation back to the bot."""
        self._row(sender, "resume", at, {})

    def slot(self, sender: str, at: datetime, name: str, value: Any) -> None:
        self._row(sender, "slot", at, {"name": name, "value": value})

    def loop(self, sender: str, at: datetime, name: str | None) -> None:
        self._row(sender, "active_loop", at, {"name": name})

    def handoff(self, sender: str, at: datetime, handoff_id: str) -> None:
        """The bot hands off: action_handoff, then the slot with the new handoff's id."""
        self.action(sender, at, "action_handoff")
        self.slot(sender, at, "handoff_id", handoff_id)


class Desk:
    """Writes the desk's handoffs and their history through its own models."""

    def __init__(self, database: DeskDatabase) -> None:
        self.database = database
        self.agents: dict[str, int] = {}

    def agent(self, name: str) -> int:
        if name not in self.agents:
            with self.database.session(write=True) as session:
                agent = Agent(
                    username=name.lower(), display_name=name, password_hash="x", role="agent"
                )
                session.add(agent)
                session.flush()
                self.agents[name] = agent.id
        return self.agents[name]

    def handoff(
        self,
        sender: str,
        *,
        queued_at: datetime,
        trigger_at: datetime | None = None,
        queue: str = "order_support",
        reason: str = "order_delayed",
        flow: str = "order_status",
        **values: Any,
    ) -> str:
        handoff_id = str(uuid.uuid4())
        transcript = (
            [{"speaker": "customer", "text": "x", "timestamp": trigger_at.isoformat()}]
            if trigger_at
            else []
        )
        with self.database.session(write=True) as session:
            session.add(
                Handoff(
                    handoff_id=handoff_id,
                    sender_id=sender,
                    queue=queue,
                    priority="normal",
                    priority_rank=2,
                    reason_code=reason,
                    trigger_type="business_rule",
                    flow=flow,
                    context=json.dumps({"transcript": transcript}),
                    requested_at=queued_at,
                    queued_at=queued_at,
                    **values,
                )
            )
            session.flush()
            self._event(session, handoff_id, "queued", queued_at)
        return handoff_id

    def event(
        self, handoff_id: str, kind: str, at: datetime, agent: str | None = None, **detail: Any
    ) -> None:
        agent_id = self.agent(agent) if agent else None
        with self.database.session(write=True) as session:
            self._event(session, handoff_id, kind, at, agent_id, detail)

    def update(self, handoff_id: str, **values: Any) -> None:
        with self.database.session(write=True) as session:
            handoff = session.get(Handoff, handoff_id)
            for name, value in values.items():
                setattr(handoff, name, value)

    @staticmethod
    def _event(
        session: Any,
        handoff_id: str,
        kind: str,
        at: datetime,
        agent_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            HandoffEvent(
                handoff_id=handoff_id,
                kind=kind,
                occurred_at=at,
                actor_agent_id=agent_id,
                detail=detail or {},
            )
        )


class World:
    """A tracker store, a desk database and the facts, with a builder over them."""

    def __init__(self, directory: Path, templates: Path) -> None:
        self.settings = AnalyticsSettings(
            database_url=f"sqlite:///{directory / 'facts.db'}",
            tracker_store_url=f"sqlite:///{directory / 'tracker.db'}",
            desk_database_url=f"sqlite:///{directory / 'desk.db'}",
            timezone="Europe/London",
            durable_days=7,
        )
        self.tracker_engine = create_engine(self.settings.tracker_store_url, future=True)
        self.tracker = Tracker(self.tracker_engine)
        for name in ("desk.db", "facts.db"):
            shutil.copyfile(templates / name, directory / name)
        self.desk = Desk(DeskDatabase(self.settings.desk_database_url))
        self.facts = FactsDatabase(self.settings.database_url)
        self.builder = Builder.from_settings(self.settings, self.facts)

    def build(self) -> BuildReport:
        return self.builder.run()

    def report(
        self, start: datetime | None = None, days: int = 7, now: datetime | None = None, **cuts: Any
    ) -> Report:
        first = (start or T0).date()
        query = ReportQuery(start=first, end=first + timedelta(days=days - 1), **cuts)
        with self.facts.session() as session:
            return build_report(
                session,
                query,
                timezone=self.settings.timezone,
                durable_days=self.settings.durable_days,
                now=now or T0 + timedelta(days=30),
            )

    def close(self) -> None:
        self.builder.dispose()
        self.facts.dispose()
        self.desk.database.dispose()
        self.tracker_engine.dispose()


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Freshly migrated desk and facts databases, copied by each test (migrating is slow)."""
    directory = tmp_path_factory.mktemp("analytics-templates")
    for database in (
        DeskDatabase(f"sqlite:///{directory / 'desk.db'}"),
        FactsDatabase(f"sqlite:///{directory / 'facts.db'}"),
    ):
        database.migrate()
        database.dispose()
    return directory


@pytest.fixture
def world(tmp_path: Path, migrated: Path) -> Iterator[World]:
    built = World(tmp_path, migrated)
    yield built
    built.close()


def kpi(report: Report, key: str) -> Any:
    """The value of one tile."""
    return next(tile for tile in report.kpis if tile.key == key).value
