"""`python -m desk`: migrate the desk database, then serve on DESK_HOST:DESK_PORT."""

from __future__ import annotations

import logging

from aiohttp import web

from analytics.settings import AnalyticsSettings
from analytics.store.database import FactsDatabase
from desk.app import create_app
from desk.settings import DeskSettings
from desk.store.database import Database
from logsupport.masking import install_log_masking


def main() -> None:
    """Read the settings (failing fast on a missing secret), migrate, serve."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = DeskSettings.from_env()
    # Every record masked, aiohttp's access log included (logsupport.masking).
    install_log_masking([settings.handoff_secret, settings.rasa_auth_token, settings.metrics_token])
    analytics = AnalyticsSettings.from_env()
    for database in (Database(settings.database_url), FactsDatabase(analytics.database_url)):
        try:
            database.migrate()
        finally:
            database.dispose()
    web.run_app(
        create_app(settings, analytics=analytics),
        host=settings.host,
        port=settings.port,
        print=lambda message: print(message, flush=True),
    )


if __name__ == "__main__":
    main()
