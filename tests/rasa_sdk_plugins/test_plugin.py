"""The action server's extensions, attached through rasa-sdk's own plugin hook.

A request against a running action server is the end-to-end suite's job; here the Sanic app is
inspected, and the registered middleware and listeners are called directly.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from rasa.utils.endpoints import read_endpoint_config
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic
from sanic.compat import Header
from sanic.models.protocol_types import TransportProtocol
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.signals import Event

import rasa_sdk_plugins
from actions.handoff.delivery import desk_client
from actions.handoff.routing import load_router
from actions.settings import get_settings
from actions.store.database import Database, get_database
from actions.wiring import handoff_services
from rasa_sdk_plugins import (
    AUTHORIZATION,
    PUBLIC_PATHS,
    attach_sanic_app_extensions,
    token_is_valid,
)
from settingsupport.environment import MissingSettingError
from tests.support.log_records import KeepingHandler

TOKEN = "s3cret-action-token"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: What else the endpoints files name (their values do not matter here, only that they are set).
ENDPOINTS_VARIABLES = (
    "TRACKER_STORE_URL",
    "DESK_URL",
    "HANDOFF_SECRET",
    "LOCK_STORE_HOST",
    "LOCK_STORE_PORT",
    "LOCK_STORE_DB",
    "LOCK_STORE_PASSWORD",
    "LOCK_STORE_KEY_PREFIX",
    "EVENT_BROKER_HOST",
    "EVENT_BROKER_PORT",
    "EVENT_BROKER_USERNAME",
    "EVENT_BROKER_PASSWORD",
    "DESK_EVENT_EXCHANGE",
    "DESK_EVENT_QUEUE",
)


def _clear_caches() -> None:
    if get_database.cache_info().currsize:
        get_database().dispose()
    for cached in (get_settings, get_database, handoff_services, load_router, desk_client):
        cached.cache_clear()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The action server's settings, with a migrated database of this test's own."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    Database(url).migrate()
    for name, value in {
        "APP_DATABASE_URL": url,
        "HANDOFF_URL": "http://127.0.0.1:9/api/handoffs",
        "HANDOFF_SECRET": "desk-secret",
        "ACTION_SERVER_TOKEN": TOKEN,
        "OUTBOX_INTERVAL_SECONDS": "60",
    }.items():
        monkeypatch.setenv(name, value)
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    """The records logged during the test; the log masking it installs is removed after."""
    factory = logging.getLogRecordFactory()
    records: list[logging.LogRecord] = []
    handler = KeepingHandler(records)
    logging.getLogger().addHandler(handler)
    yield records
    logging.getLogger().removeHandler(handler)
    logging.setLogRecordFactory(factory)
    logging.captureWarnings(False)


@pytest.fixture
def app() -> Sanic:
    """A fresh Sanic app (names are global in Sanic)."""
    return Sanic(f"action_server_{uuid.uuid4().hex[:8]}")


def listeners(app: Sanic, event: Event) -> list[Callable[..., Any]]:
    """Server listeners of an event (Sanic 21.12 keeps them as signal handlers)."""
    return [
        route.handler.keywords["listener"]
        for route in app.signal_router.routes
        if route.name == event.value
    ]


def request(app: Sanic, target: str, headers: dict[str, str] | None = None) -> Request:
    """A request as Sanic builds it (no connection is needed to read its path and headers)."""
    no_transport = cast("TransportProtocol", None)
    return Request(target.encode(), Header(headers or {}), "1.1", "POST", no_transport, app)


# --- token_is_valid ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("presented", "valid"),
    [
        (TOKEN, True),
        (TOKEN + "x", False),
        (TOKEN[:-1], False),
        (TOKEN.upper(), False),
        ("", False),
        (None, False),
    ],
)
def test_token_is_valid(presented: str | None, valid: bool) -> None:
    assert token_is_valid(presented, TOKEN) is valid


def test_token_is_valid_compares_non_ascii_tokens() -> None:
    assert token_is_valid("pässwörd-✓", "pässwörd-✓")
    assert not token_is_valid("passwort-✓", "pässwörd-✓")


# --- Attaching the extensions -------------------------------------------------------------------


@pytest.mark.usefixtures("settings_env", "log_records")
def test_rasa_sdk_discovers_the_plugin_and_attaches_everything(app: Sanic) -> None:
    manager = plugin_manager()

    manager.hook.attach_sanic_app_extensions(app=app)

    assert manager.is_registered(rasa_sdk_plugins)
    assert [middleware.__name__ for middleware in app.request_middleware] == ["require_token"]
    assert [listener.__name__ for listener in listeners(app, Event.SERVER_INIT_AFTER)] == [
        "start_outbox_relay"
    ]
    assert [listener.__name__ for listener in listeners(app, Event.SERVER_SHUTDOWN_BEFORE)] == [
        "stop_outbox_relay"
    ]


@pytest.mark.usefixtures("settings_env")
def test_personal_data_and_the_tokens_are_masked_in_the_logs(
    app: Sanic, log_records: list[logging.LogRecord]
) -> None:
    attach_sanic_app_extensions(app)

    logging.getLogger("sanic.error").error(
        "call from jane@example.com to /webhook failed: %s", f"Bearer-less {TOKEN}"
    )

    [record] = [r for r in log_records if r.name == "sanic.error"]
    assert (
        record.getMessage() == "call from j***@e***.com to /webhook failed: Bearer-less <redacted>"
    )


@pytest.mark.usefixtures("settings_env", "log_records")
@pytest.mark.parametrize(
    ("target", "headers", "refused"),
    [
        ("/webhook", {"Authorization": f"Bearer {TOKEN}"}, False),
        ("/webhook", {"authorization": f"bearer {TOKEN}"}, False),
        ("/webhook", {"Authorization": "Bearer guess"}, True),
        ("/webhook", {"Authorization": f"Basic {TOKEN}"}, True),
        ("/webhook", {"Authorization": f"Bearer{TOKEN}"}, True),
        ("/webhook", {"Authorization": "Bearer "}, True),
        ("/webhook", {}, True),
        # The query parameter Rasa used to send is no longer accepted: it ended up in logs.
        (f"/webhook?token={TOKEN}", {}, True),
        ("/actions", {}, True),
        ("/health", {}, False),
    ],
)
async def test_the_middleware_requires_the_bearer_token_except_for_health(
    app: Sanic, target: str, headers: dict[str, str], refused: bool
) -> None:
    attach_sanic_app_extensions(app)
    [middleware] = app.request_middleware
    require_token = cast(Callable[[Request], Awaitable[HTTPResponse | None]], middleware)

    response = await require_token(request(app, target, headers))

    if refused:
        assert response is not None
        assert response.status == 401
        assert b"missing or invalid action server token" in (response.body or b"")
    else:
        assert response is None


@pytest.mark.parametrize("path", ["endpoints.yml", "endpoints.scaled.yml"])
def test_rasa_sends_the_token_in_the_header_the_action_server_reads(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENDPOINTS_VARIABLES:
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", TOKEN)

    endpoint = read_endpoint_config(str(PROJECT_ROOT / path), "action_endpoint")

    assert endpoint is not None
    assert endpoint.token is None and endpoint.params == {}, "nothing secret in the URL"
    assert endpoint.headers == {AUTHORIZATION: f"Bearer {TOKEN}"}


def test_only_the_health_check_is_public() -> None:
    assert frozenset({"/health"}) == PUBLIC_PATHS


@pytest.mark.usefixtures("settings_env", "log_records")
async def test_the_listeners_start_and_stop_the_outbox_relay(app: Sanic) -> None:
    attach_sanic_app_extensions(app)
    [start] = listeners(app, Event.SERVER_INIT_AFTER)
    [stop] = listeners(app, Event.SERVER_SHUTDOWN_BEFORE)
    relay = handoff_services().relay

    try:
        await start(app, None)
        assert relay.running
        await stop(app, None)
        assert not relay.running
    finally:
        await relay.stop()
        await handoff_services().dispatcher._client.close()  # the one shared client


def test_a_missing_secret_stops_the_server_before_anything_is_attached(
    app: Sanic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOFF_URL", "http://127.0.0.1:9/api/handoffs")
    monkeypatch.setenv("HANDOFF_SECRET", "desk-secret")
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    _clear_caches()
    try:
        with pytest.raises(MissingSettingError, match="ACTION_SERVER_TOKEN is not set"):
            attach_sanic_app_extensions(app)
    finally:
        _clear_caches()

    assert len(app.request_middleware) == 0
    assert listeners(app, Event.SERVER_INIT_AFTER) == []
