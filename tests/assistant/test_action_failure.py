"""The apology when the action server fails, against a real aiohttp server on loopback that
answers, fails, rejects, redirects forever or never answers, and against a closed port; and the
end of a turn Rasa's circuit breaker stopped."""

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
from rasa.core.processor import MAX_NUMBER_OF_PREDICTIONS, MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    Event,
    FollowupAction,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from assistant.action_failure import (
    closing_tripped_turns,
    install_action_failure_apology,
    tripped,
)
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
    """The wrapper installed with a short timeout; Rasa's methods are back afterwards."""
    monkeypatch.setattr(RemoteAction, "run", RemoteAction.run)
    loop = MessageProcessor._run_prediction_loop
    monkeypatch.setattr(MessageProcessor, "_run_prediction_loop", loop)
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


def listen() -> FollowupAction:
    """The end of the turn: Rasa's next action is `action_listen`."""
    return FollowupAction("action_listen")


# --- Failures become the apology -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["error", "invalid", "not_json", "redirect_loop"])
async def test_an_action_server_error_becomes_the_apology(
    server: ActionServer, installed: None, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    server.mode = mode

    with caplog.at_level(logging.ERROR):
        events = await run("action_order_status", server.url)

    assert events == [apology(), listen()]
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

    assert events == [apology(), listen()]
    assert "RasaException" in caplog.text


async def test_an_action_server_that_never_answers_is_cut_off_at_the_timeout(
    server: ActionServer, installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode = "hang"
    started = time.monotonic()

    with caplog.at_level(logging.ERROR):
        events = await run("action_order_status", server.url)

    assert events == [apology(), listen()]
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

    assert events == [apology(), SlotSet("email", None), SlotSet("order_number", None), listen()]


async def test_an_ordinary_action_clears_no_slots(installed: None) -> None:
    tracker = turn(ActionExecuted("action_extract_slots"), SlotSet("order_number", "ORD-1"))

    events = await run("action_order_status", closed_port_url(), tracker)

    assert events == [apology(), listen()]


async def test_the_apology_is_said_once_per_turn(installed: None) -> None:
    tracker = turn(ActionExecuted("order_form"), apology(), ActionExecuted("action_listen"))

    assert await run("action_ask_order_number", closed_port_url(), tracker) == [listen()]

    tracker.update(UserUttered("hello?"))
    assert await run("action_ask_order_number", closed_port_url(), tracker) == [
        apology(),
        listen(),
    ]


# --- Turns Rasa's circuit breaker stopped -------------------------------------------------------

#: What a failing custom action leaves in the tracker each time Rasa runs it.
FAILED_FALLBACK = ActionExecuted("action_nlu_fallback")


class Processor:
    """Rasa's `MessageProcessor` as the closing wrapper uses it: its own breaker test and
    limit, and the side effects recorded on a collecting channel."""

    max_number_of_predictions = MAX_NUMBER_OF_PREDICTIONS
    domain = Domain.empty()
    is_action_limit_reached = MessageProcessor.is_action_limit_reached
    should_predict_another_action = staticmethod(MessageProcessor.should_predict_another_action)
    _should_handle_message = staticmethod(MessageProcessor._should_handle_message)

    async def execute_side_effects(
        self, events: list[Event], tracker: DialogueStateTracker, output: CollectingOutputChannel
    ) -> None:
        await MessageProcessor._send_bot_messages(events, tracker, output)


async def close_turn(
    tracker: DialogueStateTracker, *done_by_rasa: Event
) -> tuple[list[str], list[Event]]:
    """Rasa's loop (replaced by the events it leaves) with the closing wrapper: the texts sent
    and the events the wrapper added."""
    rasa_ended_at = 0

    async def rasa_loop(self: Any, output: Any, tracker: DialogueStateTracker) -> None:
        nonlocal rasa_ended_at
        tracker.update_with_events(list(done_by_rasa), None)
        rasa_ended_at = len(tracker.events)

    output = CollectingOutputChannel()
    await closing_tripped_turns(rasa_loop)(Processor(), output, tracker)  # type: ignore[arg-type]
    return [message["text"] for message in output.messages], list(tracker.events)[rasa_ended_at:]


async def test_a_turn_the_breaker_stopped_ends_with_the_apology_and_listening() -> None:
    tracker = turn()
    breaker = (FAILED_FALLBACK,) * MAX_NUMBER_OF_PREDICTIONS

    sent, added = await close_turn(tracker, *breaker)

    assert sent == [APOLOGY]
    assert added == [apology(), ActionExecuted("action_listen")]
    tracker.update_with_events(
        [UserUttered("thanks"), ActionExecuted("action_extract_slots")], None
    )
    assert not tripped(Processor(), tracker)  # type: ignore[arg-type]  # the next turn runs


async def test_a_turn_that_apologised_before_the_breaker_apologises_once() -> None:
    tracker = turn()
    breaker = (ActionExecuted("action_order_status"), apology())
    breaker += (FAILED_FALLBACK,) * (MAX_NUMBER_OF_PREDICTIONS - 1)

    sent, added = await close_turn(tracker, *breaker)

    assert (sent, added) == ([], [ActionExecuted("action_listen")])


async def test_a_conversation_stuck_by_an_earlier_breaker_answers_again() -> None:
    """Stopped before this wrapper existed, a conversation trips at once on every turn: Rasa
    counts the earlier turn's actions, which no `action_listen` closed."""
    tracker = turn(*(FAILED_FALLBACK,) * MAX_NUMBER_OF_PREDICTIONS, UserUttered("thanks"))
    tracker.update(ActionExecuted("action_extract_slots"))

    sent, added = await close_turn(tracker)  # Rasa's breaker trips before any action

    assert sent == [APOLOGY]
    assert added == [apology(), ActionExecuted("action_listen")]


@pytest.mark.parametrize(
    "done_by_rasa",
    [
        (ActionExecuted("utter_greet"), BotUttered("Hi!"), ActionExecuted("action_listen")),
        (FAILED_FALLBACK,) * (MAX_NUMBER_OF_PREDICTIONS - 1) + (ActionExecuted("action_listen"),),
        (ActionExecuted("action_handoff"), ConversationPaused()),
        (FAILED_FALLBACK,) * MAX_NUMBER_OF_PREDICTIONS + (ConversationPaused(),),
    ],
    ids=["ended-normally", "listened-at-the-limit", "paused", "paused-at-the-limit"],
)
async def test_other_turns_are_left_as_rasa_ended_them(done_by_rasa: tuple[Event, ...]) -> None:
    """A turn that listened is over; a paused one belongs to a person, and the bot stays
    silent."""
    sent, added = await close_turn(turn(), *done_by_rasa)

    assert (sent, added) == ([], [])


# --- Installing ------------------------------------------------------------------------------


def test_installing_twice_wraps_rasas_methods_once(monkeypatch: pytest.MonkeyPatch) -> None:
    original = RemoteAction.run
    monkeypatch.setattr(RemoteAction, "run", original)
    loop = MessageProcessor._run_prediction_loop
    monkeypatch.setattr(MessageProcessor, "_run_prediction_loop", loop)

    install_action_failure_apology(timeout=1)
    closing = MessageProcessor._run_prediction_loop
    install_action_failure_apology(timeout=2)

    assert RemoteAction.run is not original
    assert RemoteAction.run.__wrapped__ is original
    assert closing is not loop
    assert MessageProcessor._run_prediction_loop is closing


def test_another_rasa_version_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    original = RemoteAction.run
    monkeypatch.setattr(RemoteAction, "run", original)
    loop = MessageProcessor._run_prediction_loop
    monkeypatch.setattr(MessageProcessor, "_run_prediction_loop", loop)
    monkeypatch.setattr(rasa, "__version__", "3.7.0")

    assert install_action_failure_apology(timeout=1) is False
    assert RemoteAction.run is original
    assert MessageProcessor._run_prediction_loop is loop
