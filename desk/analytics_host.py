"""The analytics inside the desk: the timer that folds new events into the facts, and the
report the supervisors' routes ask for.

`AnalyticsHost` owns the facts database (ANALYTICS_DATABASE_URL) and a `Builder` on Rasa's
tracker store and the desk's own database. The build and the report are synchronous SQL work:
both run in the desk's database thread pool, never on the event loop; one build at a time.
The timer (`Periodic`, every ANALYTICS_INTERVAL_SECONDS) starts with the application; a failed
build is logged and the next one still comes.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from datetime import date, datetime

from analytics.build import Builder, BuildReport
from analytics.fmea import ClaimLevels, fmea
from analytics.report import build_report
from analytics.settings import AnalyticsSettings
from analytics.store.database import FactsDatabase
from contract.analytics_report import Fmea, Report, ReportQuery
from desk.background import Periodic


class AnalyticsHost:
    """The desk's analytics: its facts, its builder, its timer."""

    def __init__(
        self,
        settings: AnalyticsSettings,
        executor: Executor,
        *,
        service_levels: ClaimLevels | None = None,
    ) -> None:
        """Open (lazily) the facts database and the sources the settings name; the FMEA
        compares waits with `service_levels` (default: the desk's file)."""
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

        def read() -> Report:
            with self.facts.session() as session:
                return build_report(
                    session,
                    query,
                    timezone=self.settings.timezone,
                    durable_days=self.settings.durable_days,
                    now=now,
                )

        return await asyncio.get_running_loop().run_in_executor(self._executor, read)

    async def fmea(self, start: date, end: date, now: datetime) -> Fmea:
        """The handoff FMEA of the period from the facts as they are."""

        def read() -> Fmea:
            with self.facts.session() as session:
                return fmea(
                    session,
                    start,
                    end,
                    timezone=self.settings.timezone,
                    service_levels=self.service_levels,
                    now=now,
                )

        return await asyncio.get_running_loop().run_in_executor(self._executor, read)

    def close(self) -> None:
        """Close the databases."""
        self.builder.dispose()
        self.facts.dispose()
