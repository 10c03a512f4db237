"""The desk's aiohttp application.

`create_app(settings)` builds one application with its own `Database` (and thread pool for
units of work), disposed when the application shuts down; there is no global state, so tests
can run several apps side by side. Migrations are not run here: `python -m desk` migrates
before serving, tests migrate their own databases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Final

from aiohttp import web
from sqlalchemy import text

from analytics.settings import AnalyticsSettings
from desk.analytics_host import AnalyticsHost
from desk.api import analytics as analytics_routes
from desk.api import (
    applications,
    appointments,
    bot,
    branch,
    callbacks,
    cases,
    console,
    documents,
    floor,
    live,
    metrics,
    pages,
    resume,
    sessions,
)
from desk.api.documents import DOCUMENT_STORE
from desk.api.floor import FLOOR
from desk.api.metrics import METRICS
from desk.api.middleware import auth_middleware, error_middleware, public
from desk.api.runtime import (
    ANALYTICS,
    APPLICATION_EXPIRY,
    BOT_SYNC,
    BUS,
    CUSTOMER,
    DATABASE,
    DESK,
    EXECUTOR,
    LIVE,
    PRESENCE,
    RASA,
    SETTINGS,
    SHARED,
    TASKS,
    UNITS,
    WAITING_ROOM,
    in_unit,
)
from desk.application_timeline import ApplicationTimeline
from desk.background import BackgroundTasks, Periodic
from desk.bot_sync import BotSync
from desk.code_sender import CodeSender, LogCodeSender
from desk.console_hub import ConsoleFeed, LiveHub
from desk.customer_link import CustomerLink
from desk.document_store import LocalDiskStore
from desk.event_queue import consume_event_queue
from desk.floor import LiveFloor
from desk.prometheus import DeskMetrics
from desk.rasa_client import RasaClient, RasaHandBack
from desk.services.conversations import SeenMessages
from desk.services.handoffs import HandBack
from desk.services.service_levels import load_service_levels
from desk.settings import DeskSettings
from desk.shared_state import shared_state
from desk.store.database import Database, UnitRunner
from desk.store.types import utcnow
from desk.waiting_room import WaitingRoom
from desk.workflows.applications import expire_idle
from desk.workflows.context import Desk

# The largest body any route accepts; a handoff context with a long transcript stays well below.
MAX_BODY_BYTES: Final = 1024 * 1024
DB_THREADS: Final = 16
#: How often idle applications are looked for (their idleness is counted in days).
EXPIRY_INTERVAL_SECONDS: Final = 3600.0


def create_app(
    settings: DeskSettings,
    *,
    hand_back: HandBack | None = None,
    code_sender: CodeSender | None = None,
    analytics: AnalyticsSettings | None = None,
) -> web.Application:
    """Build the desk application.

    Args:
        settings: The desk's configuration.
        hand_back: Gives resolved conversations back to the bot; by default through Rasa's
            HTTP API at RASA_URL (`RasaHandBack`). Unit tests may pass a stand-in.
        code_sender: Sends resume codes to customers; by default the demo's log outbox
            (`LogCodeSender`, also writing DESK_DEMO_CODES_FILE when set).
        analytics: Where the analytics' facts and sources are; by default read from the
            environment (`AnalyticsSettings`). The facts database must be migrated.

    Raises:
        ServiceLevelFileError: DESK_SERVICE_LEVELS names a file that is missing or wrong.
    """
    # Read first, so a broken service level file stops the desk before anything is opened.
    levels = load_service_levels(settings.service_levels_path)
    app = web.Application(
        middlewares=[error_middleware, auth_middleware], client_max_size=MAX_BODY_BYTES
    )
    app[SETTINGS] = settings
    app[DATABASE] = Database(settings.database_url)
    app[EXECUTOR] = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="desk-db")
    app[UNITS] = UnitRunner(app[DATABASE], app[EXECUTOR])
    app[RASA] = RasaClient.from_settings(settings)
    app[TASKS] = BackgroundTasks()
    app[DOCUMENT_STORE] = LocalDiskStore(settings.documents_dir)
    app[LIVE] = LiveHub()
    # One process, or one of several sharing Redis (DESK_BUS_URL): desk/shared_state.py.
    app[SHARED] = shared_state(settings, app[LIVE])
    app[BUS] = app[SHARED].bus
    app[PRESENCE] = app[SHARED].presence
    app[BOT_SYNC] = BotSync(app[UNITS], app[RASA], app[TASKS])
    app[CUSTOMER] = CustomerLink(
        app[RASA], average_handle_seconds=settings.average_handle_seconds, owed=app[BOT_SYNC]
    )
    app[WAITING_ROOM] = WaitingRoom(
        app[UNITS],
        app[LIVE],
        app[CUSTOMER],
        app[TASKS],
        claim_timeout_seconds=settings.claim_timeout_seconds,
        told=app[SHARED].told,
        presence=app[PRESENCE],
    )
    app[FLOOR] = LiveFloor(app[UNITS], app[LIVE], levels, app[TASKS], presence=app[PRESENCE])
    app[METRICS] = DeskMetrics(app[DATABASE], app[LIVE].agents_online, app[EXECUTOR])
    # Subscribers of one event run in this order: the customer hears an agent join before the
    # consoles reload, and the places in the queue are told after both. Each says how far an
    # event reaches it (`desk.bus.Reach`): the consoles and the live strip in every desk
    # process, the rest once, where the event was published.
    app[CUSTOMER].subscribe(app[BUS])
    ConsoleFeed(app[LIVE]).subscribe(app[BUS])
    app[WAITING_ROOM].subscribe(app[BUS])
    app[BOT_SYNC].subscribe(app[BUS])
    app[FLOOR].subscribe(app[BUS])
    app[DESK] = Desk(
        units=app[UNITS],
        bus=app[BUS],
        rasa=app[RASA],
        hand_back=hand_back or RasaHandBack(app[RASA]),
        customer=app[CUSTOMER],
        tasks=app[TASKS],
        seen=SeenMessages(),
    )
    app[resume.CODE_SENDER] = code_sender or LogCodeSender(settings.demo_codes_file)
    # After the others: a mortgage handoff's entries on its application's timeline.
    ApplicationTimeline(app[DESK]).subscribe(app[BUS])
    app[ANALYTICS] = AnalyticsHost(
        analytics or AnalyticsSettings.from_env(), app[EXECUTOR], service_levels=levels
    )
    app[APPLICATION_EXPIRY] = Periodic(
        _expiring(app[DESK], timedelta(days=settings.application_idle_days)),
        EXPIRY_INTERVAL_SECONDS,
        "expire idle applications",
    )
    # aiohttp 3.9's stubs type the signal's callbacks wrongly.
    app.on_startup.append(_start_waiting_room)  # type: ignore[arg-type]
    consume_event_queue(app, app[DESK], settings)  # with DESK_EVENT_QUEUE_URL only
    app.on_shutdown.append(_close_live)  # type: ignore[arg-type]
    app.on_cleanup.append(_close)  # type: ignore[arg-type]
    app.router.add_get("/health", health)
    bot.add_routes(app)
    applications.add_routes(app)
    appointments.add_routes(app)
    resume.add_routes(app)
    cases.add_routes(app)
    sessions.add_routes(app)
    console.add_routes(app)
    callbacks.add_routes(app)
    branch.add_routes(app)
    live.add_routes(app)
    documents.add_routes(app)
    floor.add_routes(app)
    metrics.add_routes(app)
    analytics_routes.add_routes(app)
    pages.add_routes(app)
    return app


@public
async def health(request: web.Request) -> web.Response:
    """200 when the desk can reach its database, 503 otherwise."""
    try:
        await in_unit(request, lambda s: s.execute(text("SELECT 1")).scalar_one())
    except Exception as error:  # any database failure means "not healthy"
        return web.json_response({"status": "unavailable", "error": str(error)}, status=503)
    return web.json_response({"status": "ok"})


def _expiring(desk: Desk, idle: timedelta) -> Callable[[], Awaitable[list[str]]]:
    async def expire() -> list[str]:
        return await expire_idle(desk, now=utcnow(), idle=idle)

    return expire


async def _start_waiting_room(app: web.Application) -> None:
    await app[SHARED].start()
    app[WAITING_ROOM].start()
    app[BOT_SYNC].start()
    app[APPLICATION_EXPIRY].start()
    app[ANALYTICS].timer.start()
    app[FLOOR].start()


async def _close_live(app: web.Application) -> None:
    await app[WAITING_ROOM].stop()
    await app[BOT_SYNC].stop()
    await app[APPLICATION_EXPIRY].stop()
    await app[ANALYTICS].timer.stop()
    await app[FLOOR].stop()
    await app[LIVE].close_all()


async def _close(app: web.Application) -> None:
    await app[TASKS].close()
    # After the background work, which may still publish or tell places through Redis.
    await app[SHARED].stop()
    await app[RASA].close()
    app[EXECUTOR].shutdown(wait=True)
    app[ANALYTICS].close()
    app[DATABASE].dispose()
