"""The apology when the action server fails, against a real aiohttp server on loopback that
answers, fails, rejects, redirects forever or never answers, and against a closed port."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import rasa
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from assistant.action_failure import install_action_failure_apology
from assistant.apology import APOLOGY
from assistant.desk_events import mask_sender
from assistant.settings import TIMEOUT_VARIABLE

TOKEN = "act-s3cret-t0ken"
SENDER = "customer-4711"
TIMEOUT = 0.5


class ActionServer:
    """An action server on loopback whose answer each test chooses (`mode`)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.release = asyncio.Event()  # lets a hung request end when the test is over
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"query": dict(request.query), "body": await request.json()})
        if self.mode == "ok":
            return web.json_response(
                {
                    "events": [{"event": "slot", "name": "order_status", "value": "shipped"}],
                    "responses": [{"text": "Your order has shipped."}],
                }
            )
        if self.mode == "error":
            return web.Response(status=500, text="Internal Server Error")
        if self.mode == "reject":
            body = {"action_name": "validate_order_form", "error": "not mine"}
            return web.json_response(body, status=400)
        if self.mode == "invalid":
            return web.json_response({"events": "not a list"})
        if self.mode == "not_json":
            return web.Response(text="hello")
        if self.mode == "redirect_loop":
            raise web.HTTPTemporaryRedirect(f"/webhook?token={TOKEN}")
        await self.release.wait()  # "hang": answer only when the test ends
        return web.json_response({"events": [], "responses": []})

    async def __aenter__(self) -> ActionServer:
        app = web.Application()
        app.router.add_post("/webhook", self.webhook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[ActionServer]:
    async with ActionServer() as running:
        yield running


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The wrapper installed with a short timeout; Rasa's method is back afterwards."""
    monkeypatch.setattr(RemoteAction, "run", RemoteAction.run)
    assert install_action_failure_apology(timeout=TIMEOUT) is True
    yield


def closed_port_url() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}/webhook"


def turn(*events: Event) -> DialogueStateTracker:
    """A conversation whose customer just asked for their order."""
    return DialogueStateTracker.from_events(
        SENDER,
        [ActionExecuted("action_listen"), UserUttered("where is ORD-100002?"), *events],
    )


async def run(name: str, url: str, tracker: DialogueStateTracker | None = None) -> list[Event]:
    action = RemoteAction(name, EndpointConfig(url=url, token=TOKEN))
    return await action.run(
        CollectingOutputChannel(),
        TemplatedNaturalLanguageGenerator({}),
        tracker or turn(),
        Domain.empty(),
    )


def apology() -> BotUttered:
    return BotUttered(text=APOLOGY)


# --- Failures become the apology -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["error", "invalid", "not_json", "redirect_loop"])
async def test_an_action_server_error_becomes_the_apology(
    server: ActionServer, installed: None, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    server.mode = mode

    with caplog.at_level(logging.ERROR):
        events = await run("action_order_status", server.url)

    assert events == [apology()]
    assert server.requests[0]["query"] == {"token": TOKEN}  # the token really was sent
    assert "action action_order_status failed" in caplog.text
    assert mask_sender(SENDER) in caplog.text
    assert SENDER not in caplog.text
    assert TOKEN not in caplog.text


async def test_the_redirect_loops_error_names_the_url_but_not_the_token(
    server: ActionServer, installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's redirect error repeats the URL with its query, and Rasa copies it into its own
    error: the log keeps the URL and drops the token."""
    server.mode = "redirect_loop"

    with caplog.at_level(logging.ERROR):
        await run("action_order_status", server.url)

    assert f"127.0.0.1:{server.port}/webhook?token=<redacted>" in caplog.text
    assert TOKEN not in caplog.text


async def test_an_action_server_that_is_down_becomes_the_apology(
    installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        events = await run("action_order_status", closed_port_url())

    assert events == [apology()]
    assert "RasaException" in caplog.text


async def test_an_action_server_that_never_answers_is_cut_off_at_the_timeout(
    server: ActionServer, installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode = "hang"
    started = time.monotonic()

    with caplog.at_level(logging.ERROR):
        events = await run("action_order_status", server.url)

    assert events == [apology()]
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 2
    assert f"no answer within {TIMEOUT:g} s ({TIMEOUT_VARIABLE})" in caplog.text


async def test_without_the_wrapper_the_failure_reaches_rasas_processor(
    server: ActionServer,
) -> None:
    """What Rasa does on its own: the processor logs this and drops the events (silence)."""
    server.mode = "error"

    with pytest.raises(rasa.shared.exceptions.RasaException):
        await run("action_order_status", server.url)


# --- What still passes through -------------------------------------------------------------------


async def test_a_working_action_is_left_alone(server: ActionServer, installed: None) -> None:
    events = await run("action_order_status", server.url)

    assert [type(event) for event in events] == [BotUttered, SlotSet]
    assert isinstance(events[0], BotUttered) and events[0].text == "Your order has shipped."
    assert events[1] == SlotSet("order_status", "shipped")


async def test_a_rejection_still_reaches_the_form(server: ActionServer, installed: None) -> None:
    server.mode = "reject"

    with pytest.raises(ActionExecutionRejection):
        await run("validate_order_form", server.url)


# --- Forms and repeated failures ------------------------------------------------------------


async def test_a_failed_form_validation_clears_the_values_it_did_not_check(
    installed: None,
) -> None:
    """As the action server's own guard does: an order number never looked up must not
    complete the order form."""
    tracker = turn(
        ActionExecuted("action_extract_slots"),
        SlotSet("order_number", "ORD-100002"),
        ActionExecuted("order_form"),
        SlotSet("order_number", "ORD-100002"),
        SlotSet("email", "zoe@example.com"),
    )

    events = await run("validate_order_form", closed_port_url(), tracker)

    assert events == [apology(), SlotSet("email", None), SlotSet("order_number", None)]


async def test_an_ordinary_action_clears_no_slots(installed: None) -> None:
    tracker = turn(ActionExecuted("action_extract_slots"), SlotSet("order_number", "ORD-1"))

    events = await run("action_order_status", closed_port_url(), tracker)

    assert events == [apology()]


async def test_the_apology_is_said_once_per_turn(installed: None) -> None:
    tracker = turn(ActionExecuted("order_form"), apology(), ActionExecuted("action_listen"))

    assert await run("action_ask_order_number", closed_port_url(), tracker) == []

    tracker.update(UserUttered("hello?"))
    assert await run("action_ask_order_number", closed_port_url(), tracker) == [apology()]


# --- Installing ------------------------------------------------------------------------------


def test_installing_twice_wraps_rasas_method_once(monkeypatch: pytest.MonkeyPatch) -> None:
    original = RemoteAction.run
    monkeypatch.setattr(RemoteAction, "run", original)

    install_action_failure_apology(timeout=1)
    install_action_failure_apology(timeout=2)

    assert RemoteAction.run is not original
    assert RemoteAction.run.__wrapped__ is original


def test_another_rasa_version_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    original = RemoteAction.run
    monkeypatch.setattr(RemoteAction, "run", original)
    monkeypatch.setattr(rasa, "__version__", "3.7.0")

    assert install_action_failure_apology(timeout=1) is False
    assert RemoteAction.run is original
