"""The analytics inside the desk: the timer that folds new events into the facts, and the
report the supervisors' routes ask for.

`AnalyticsHost` owns the facts database (ANALYTICS_DATABASE_URL) and a `Builder` on Rasa's
tracker store and the desk's own database. The build and the report are synchronous SQL work:
both run in the desk's database thread pool, never on the event loop; one build at a time.
The planning views (the journey map, the service blueprint with the FMEA catalog's modes on
its steps) are read the same way. The timer (`Periodic`, every ANALYTICS_INTERVAL_SECONDS)
starts with the application; a failed build is logged and the next one still comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from analytics.blueprint import blueprint
from analytics.build import Builder, BuildReport
from analytics.fmea import ClaimLevels, fmea
from analytics.fmea_catalog import fmea_catalog
from analytics.journey_map import journey_map
from analytics.report import build_report
from analytics.settings import AnalyticsSettings
from analytics.store.database import FactsDatabase
from contract.analytics_report import (
    Blueprint,
    Fmea,
    JourneyMap,
    PlanningQuery,
    Report,
    ReportQuery,
)
from desk.background import Periodic

T = TypeVar("T")


class AnalyticsHost:
    """The desk's analytics: its facts, its builder, its timer."""

    def __init__(
        self,
        settings: AnalyticsSettings,
        executor: Executor,
        *,
        service_levels: ClaimLevels,
    ) -> None:
        """Open (lazily) the facts database and the sources the settings name; the FMEA
        compares waits with `service_levels` (the desk's)."""
        self.settings = settings
        self.service_levels = service_levels
        self.facts = FactsDatabase(settings.database_url)
        self.builder = Builder.from_settings(settings, self.facts)
        self._executor = executor
        self._building = asyncio.Lock()
        self.timer = Periodic(self.build, settings.interval_seconds, "analytics build")

    def migrate(self) -> None:
        """Create or upgrade the fact tables."""
        self.facts.migrate()

    async def build(self) -> BuildReport:
        """Fold what is new into the facts (one build at a time)."""
        async with self._building:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self.builder.run)

    async def report(self, query: ReportQuery, now: datetime) -> Report:
        """The report for `query` from the facts as they are."""

        return await self._read(
            lambda session: build_report(
                session,
                query,
                timezone=self.settings.timezone,
                durable_days=self.settings.durable_days,
                now=now,
            )
        )

    async def journey_map(self, query: PlanningQuery) -> JourneyMap:
        """The journey map for `query`."""
        return await self._read(
            lambda session: journey_map(session, query, timezone=self.settings.timezone)
        )

    async def blueprint(self, query: PlanningQuery) -> Blueprint:
        """The service blueprint for `query`, with the FMEA catalog's modes on its steps."""

        # The FMEA catalog (content/handoff_fmea.yml) pins its modes to blueprint steps.
        modes = fmea_catalog().modes_by_step()
        return await self._read(
            lambda session: blueprint(
                session, query, timezone=self.settings.timezone, modes_by_step=modes
            )
        )

    async def fmea(self, start: date, end: date, now: datetime) -> Fmea:
        """The handoff FMEA of the period from the facts as they are."""
        return await self._read(
            lambda session: fmea(
                session,
                start,
                end,
                timezone=self.settings.timezone,
                service_levels=self.service_levels,
                now=now,
            )
        )

    async def _read(self, work: Callable[[Session], T]) -> T:
        """`work` on a session of the facts, in the thread pool."""

        def read() -> T:
            with self.facts.session() as session:
                return work(session)

        return await asyncio.get_running_loop().run_in_executor(self._executor, read)

    def close(self) -> None:
        """Close the databases."""
        self.builder.dispose()
        self.facts.dispose()
