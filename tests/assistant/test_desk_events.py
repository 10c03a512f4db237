"""The desk event broker and forwarder, against a real HTTP server on loopback.

`RecordingDesk` stands in for the desk's `POST /api/conversation-events`: it checks the Bearer
secret, records what it accepts, and can fail (the next POSTs, or every POST of one message),
stall or stop listening on purpose. The web chat tests use it as well.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from assistant import desk_events
from assistant.desk_events import (
    MAX_SERVER_ERROR_ATTEMPTS,
    DeskEventBroker,
    DeskEventForwarder,
    desk_event,
    mask_sender,
)
from contract.conversation_events import EVENTS_PATH
from harness.stand_in import LoopbackStandIn

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET = "desk-s3cret"


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Waits until `condition()` holds (checked every 10 ms), failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.01)


@dataclass(frozen=True)
class DeskPost:
    """One POST the recording desk answered."""

    authorization: str | None
    body: Any
    status: int

    @property
    def sender_id(self) -> str:
        return str(self.body["sender_id"])

    @property
    def event(self) -> dict[str, Any]:
        return dict(self.body["event"])


class RecordingDesk(LoopbackStandIn):
    """A real aiohttp server on 127.0.0.1 answering the desk's conversation-events route."""

    name = "recording desk"

    def __init__(self, secret: str = SECRET, port: int = 0) -> None:
        super().__init__(port=port)
        self.secret = secret
        self.posts: list[DeskPost] = []
        self.arrivals = 0
        self._scripted: list[tuple[int, dict[str, str]]] = []
        self._poisoned: dict[str, int] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(EVENTS_PATH, self._post)

    def recorded(self) -> str:
        return f"got {self.posts}"

    @property
    def url(self) -> str:
        """The desk's base URL (what DESK_URL holds)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def accepted(self) -> list[DeskPost]:
        """The POSTs answered 202."""
        return [post for post in self.posts if post.status == 202]

    def events_for(self, sender_id: str) -> list[dict[str, Any]]:
        """The accepted events of one conversation, in arrival order."""
        return [post.event for post in self.accepted if post.sender_id == sender_id]

    def fail_next(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next POSTs with these statuses (and headers), in order."""
        self._scripted.extend((status, headers or {}) for status in statuses)

    def poison(self, text: str, status: int = 500) -> None:
        """Answer every POST of a message with this text with `status` (a desk bug about it)."""
        self._poisoned[text] = status

    def texts(self, status: int | None = None) -> list[str]:
        """The texts of the events POSTed (answered `status`), in arrival order."""
        return [p.event["text"] for p in self.posts if status is None or p.status == status]

    async def wait_for_accepted(self, count: int, timeout: float = 5.0) -> list[DeskPost]:
        await self.wait_until(lambda: len(self.accepted) >= count, timeout, f"{count} accepted")
        return self.accepted

    def _count_arrival(self) -> None:
        self.arrivals += 1

    async def _post(self, request: web.Request) -> web.Response:
        text = await request.text()
        await self.record(self._count_arrival)
        await self.answering()
        authorization = request.headers.get("Authorization")
        headers: dict[str, str] = {}
        if self._scripted:
            status, headers = self._scripted.pop(0)
        elif authorization != f"Bearer {self.secret}":
            status = 401
        else:
            status = 202
        try:
            body = json.loads(text)
        except ValueError:
            body, status = text, 400
        event = body.get("event") if isinstance(body, dict) else None
        if isinstance(event, dict) and event.get("text") in self._poisoned:
            status = self._poisoned[event["text"]]
        await self.record(lambda: self.posts.append(DeskPost(authorization, body, status)))
        return web.json_response({"status": status}, status=status, headers=headers)


@pytest.fixture
async def desk() -> AsyncIterator[RecordingDesk]:
    async with RecordingDesk() as running:
        yield running


def user_event(text: str, sender_id: str = "conv-1", **extra: Any) -> dict[str, Any]:
    """What Rasa's tracker store publishes for a user message."""
    event = UserUttered(
        text,
        intent={"name": "greet", "confidence": 0.97},
        entities=[{"entity": "email", "value": "ann@example.com"}],
        parse_data={
            "intent": {"name": "greet", "confidence": 0.97},
            "entities": [{"entity": "email", "value": "ann@example.com"}],
            "intent_ranking": [{"name": "greet", "confidence": 0.97}],
            "text": text,
        },
        input_channel="socketio",
        message_id="m-1",
        metadata={"page": "/orders"},
    ).as_dict()
    return {"sender_id": sender_id, **event, **extra}


def broker_for(desk: RecordingDesk, **kwargs: Any) -> DeskEventBroker:
    return DeskEventBroker(desk.url, SECRET, **kwargs)


# --- What is forwarded ----------------------------------------------------------------------------


def test_user_events_keep_text_time_and_intent_only() -> None:
    event = user_event("hi there")

    forwarded = desk_event(event)

    assert forwarded == {
        "event": "user",
        "timestamp": event["timestamp"],
        "text": "hi there",
        "message_id": "m-1",
        "input_channel": "socketio",
        "parse_data": {"intent": {"name": "greet", "confidence": 0.97}},
    }


@pytest.mark.parametrize(
    "event",
    [
        ActionExecuted("action_listen"),
        SlotSet("email", "ann@example.com"),
        BotUttered("Your order ORD-100005 is delayed, Ann."),
        ConversationPaused(),
        SessionStarted(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_events_are_not_forwarded(event: Any) -> None:
    assert desk_event({"sender_id": "c", **event.as_dict()}) is None


def test_senders_are_masked_stably_in_logs() -> None:
    assert mask_sender("customer-42") == mask_sender("customer-42")
    assert "customer-42" not in mask_sender("customer-42")
    assert mask_sender("a") != mask_sender("b")
    assert mask_sender("\ud800") != mask_sender("\udc00")  # not text, yet loggable


# --- Delivery -------------------------------------------------------------------------------------


async def test_events_reach_the_desk_in_order_with_the_secret(desk: RecordingDesk) -> None:
    broker = broker_for(desk)
    for number in range(20):
        broker.publish(user_event(f"message {number}"))
    broker.publish({"sender_id": "conv-1", "event": "action", "name": "action_listen"})

    posts = await desk.wait_for_accepted(20)
    await broker.close()

    assert [post.event["text"] for post in posts] == [f"message {n}" for n in range(20)]
    assert {post.authorization for post in posts} == {f"Bearer {SECRET}"}
    assert {post.sender_id for post in posts} == {"conv-1"}
    assert len(desk.posts) == 20  # the action event was filtered out


async def test_publish_returns_at_once_while_the_desk_stalls(desk: RecordingDesk) -> None:
    broker = broker_for(desk)
    desk.stall()

    started = time.perf_counter()
    for number in range(50):
        broker.publish(user_event(f"message {number}"))
    elapsed = time.perf_counter() - started

    await desk.wait_until(lambda: desk.arrivals >= 1, what="the first POST arrives")
    assert elapsed < 0.05  # 50 publishes: memory work only
    desk.resume()
    await desk.wait_for_accepted(50)
    await broker.close()


async def test_a_desk_that_is_down_gets_the_events_when_it_is_back(desk: RecordingDesk) -> None:
    await desk.down()
    broker = broker_for(desk)
    for number in range(3):
        broker.publish(user_event(f"message {number}"))
    await eventually(lambda: broker.forwarder.desk_down, "a refused attempt while the desk is down")

    await desk.up()
    posts = await desk.wait_for_accepted(3, timeout=10)
    await broker.close()

    assert [post.event["text"] for post in posts] == ["message 0", "message 1", "message 2"]
    assert broker.forwarder.dropped == 0


async def test_when_the_queue_is_full_the_oldest_events_are_dropped(desk: RecordingDesk) -> None:
    await desk.down()
    broker = broker_for(desk, max_queue=3)
    for number in range(5):
        broker.publish(user_event(f"message {number}"))

    await desk.up()
    await desk.wait_for_accepted(3, timeout=10)
    await broker.close()  # sends anything still queued, so a 4th event would show below

    texts = [post.event["text"] for post in desk.accepted]
    assert broker.forwarder.dropped == 2
    assert texts == ["message 2", "message 3", "message 4"]


async def test_busy_answers_are_retried_and_rejections_are_not(desk: RecordingDesk) -> None:
    desk.fail_next(503, 429, 422)
    broker = broker_for(desk)
    broker.publish(user_event("first"))  # 503, 429, then 422: given up
    broker.publish(user_event("second"))

    await desk.wait_for_accepted(1, timeout=10)
    await broker.close()

    assert [post.status for post in desk.posts] == [503, 429, 422, 202]
    assert desk.accepted[0].event["text"] == "second"
    assert broker.forwarder.rejected == 1


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-off in milliseconds, so tests that retry many times stay fast."""
    monkeypatch.setattr(desk_events, "RETRY_INITIAL_SECONDS", 0.005)
    monkeypatch.setattr(desk_events, "RETRY_MAX_SECONDS", 0.02)


async def test_a_poison_event_is_set_aside_reported_and_the_rest_delivered(
    desk: RecordingDesk, fast_retries: None, caplog: pytest.LogCaptureFixture
) -> None:
    desk.poison("my card is 4111 1111")
    broker = broker_for(desk)
    broker.publish(user_event("before", sender_id="customer-1"))
    broker.publish(user_event("my card is 4111 1111", sender_id="customer-7"))
    for number in range(3):
        broker.publish(user_event(f"after {number}", sender_id=f"customer-{number + 2}"))

    await desk.wait_for_accepted(4)
    await broker.close()

    forwarder = broker.forwarder
    assert desk.texts(202) == ["before", "after 0", "after 1", "after 2"]
    assert desk.texts(500) == ["my card is 4111 1111"] * MAX_SERVER_ERROR_ATTEMPTS
    assert (forwarder.set_aside, forwarder.dropped, forwarder.pending) == (1, 0, 0)
    (set_aside,) = forwarder.set_aside_events
    assert (set_aside.sender_id, set_aside.event["text"]) == ("customer-7", "my card is 4111 1111")
    assert (set_aside.status, set_aside.attempts) == (500, MAX_SERVER_ERROR_ATTEMPTS)
    assert set_aside.error == 'HTTP 500: {"status": 500}'
    (report,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert mask_sender("customer-7") in report.getMessage()
    assert "'user' event" in report.getMessage() and "HTTP 500" in report.getMessage()
    assert "customer-7" not in caplog.text and "4111" not in caplog.text


async def test_a_poison_event_holding_nothing_up_is_retried_until_something_waits(
    desk: RecordingDesk, fast_retries: None
) -> None:
    desk.poison("poison")
    broker = broker_for(desk)
    broker.publish(user_event("poison"))
    await desk.wait_until(lambda: len(desk.posts) >= MAX_SERVER_ERROR_ATTEMPTS + 2)
    assert (broker.forwarder.set_aside, broker.forwarder.pending) == (0, 1)

    broker.publish(user_event("next"))
    await desk.wait_for_accepted(1)
    await broker.close()

    assert desk.texts(202) == ["next"]
    assert broker.forwarder.set_aside == 1


async def test_a_desk_failing_every_event_keeps_them_all_in_order(
    desk: RecordingDesk, fast_retries: None
) -> None:
    # The first event fails until it is held aside, the next fails too: the desk is at fault.
    desk.fail_next(*[500] * (MAX_SERVER_ERROR_ATTEMPTS + 1))
    broker = broker_for(desk)
    for number in range(3):
        broker.publish(user_event(f"message {number}"))

    await desk.wait_for_accepted(3)
    await broker.close()

    assert desk.texts(500) == ["message 0"] * MAX_SERVER_ERROR_ATTEMPTS + ["message 1"]
    assert desk.texts(202) == ["message 0", "message 1", "message 2"]
    assert (broker.forwarder.set_aside, broker.forwarder.dropped) == (0, 0)


@pytest.mark.parametrize(
    ("status", "headers"),
    [(503, {"Retry-After": "0"}), (429, {}), (502, {}), (504, {})],
    ids=["503 retry-after", "429", "502 gateway", "504 gateway"],
)
async def test_a_busy_or_unreachable_desk_never_sets_an_event_aside(
    desk: RecordingDesk, fast_retries: None, status: int, headers: dict[str, str]
) -> None:
    desk.fail_next(*[status] * (MAX_SERVER_ERROR_ATTEMPTS * 2), headers=headers)
    broker = broker_for(desk)
    broker.publish(user_event("first"))
    broker.publish(user_event("second"))

    await desk.wait_for_accepted(2)
    await broker.close()

    assert desk.texts(status) == ["first"] * (MAX_SERVER_ERROR_ATTEMPTS * 2)
    assert desk.texts(202) == ["first", "second"]
    assert broker.forwarder.set_aside == 0


async def test_a_wrong_secret_is_rejected_and_not_retried(desk: RecordingDesk) -> None:
    broker = DeskEventBroker(desk.url, "wrong")
    broker.publish(user_event("hello"))

    await desk.wait_until(lambda: len(desk.posts) == 1)
    await broker.close()  # a retry would still be queued, and close() would send it

    assert [post.status for post in desk.posts] == [401]
    assert broker.forwarder.rejected == 1


async def test_close_sends_what_is_queued(desk: RecordingDesk) -> None:
    broker = broker_for(desk)
    for number in range(10):
        broker.publish(user_event(f"message {number}"))

    await broker.close()

    assert len(desk.accepted) == 10
    broker.publish(user_event("after close"))
    assert broker.forwarder.pending == 0  # not even queued
    assert len(desk.posts) == 10


async def test_close_gives_up_after_the_drain_timeout(desk: RecordingDesk) -> None:
    desk.stall()
    broker = broker_for(desk, drain_timeout=0.3)
    broker.publish(user_event("stuck"))
    broker.publish(user_event("behind it"))

    started = time.monotonic()
    await broker.close()

    assert time.monotonic() - started < 2.0
    assert broker.forwarder.pending == 0
    assert broker.forwarder.dropped == 2
    desk.resume()


async def test_publish_from_another_thread_reaches_the_desk(desk: RecordingDesk) -> None:
    broker = broker_for(desk)
    broker.publish(user_event("from the loop"))  # binds the broker to this loop
    thread = threading.Thread(target=broker.publish, args=(user_event("from a thread"),))
    thread.start()
    thread.join()

    posts = await desk.wait_for_accepted(2)
    await broker.close()

    assert [post.event["text"] for post in posts] == ["from the loop", "from a thread"]


async def test_publish_never_raises() -> None:
    broker = DeskEventBroker("http://127.0.0.1:9", SECRET)  # nothing listens on port 9
    broker.publish({"event": "user"})  # no sender_id
    broker.publish({"sender_id": 7, "event": "user"})
    broker.publish("not a dict")  # type: ignore[arg-type]
    broker.publish(user_event("unreachable"))

    await broker.close()


def test_a_forwarder_needs_room_for_one_event() -> None:
    with pytest.raises(ValueError):
        DeskEventForwarder("http://127.0.0.1:9", SECRET, max_queue=0)


# --- Loaded and driven by Rasa's own code ------------------------------------------------------


async def test_rasa_loads_the_broker_from_the_projects_endpoints_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "ACTION_SERVER_URL": "http://127.0.0.1:9/webhook",
        "ACTION_SERVER_TOKEN": "t",
        "TRACKER_STORE_URL": "sqlite:///x.db",
        "DESK_URL": "http://127.0.0.1:8080/",
        "HANDOFF_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    config = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "event_broker")

    broker = await EventBroker.create(config)

    assert isinstance(broker, DeskEventBroker)
    assert broker.forwarder.url == "http://127.0.0.1:8080/api/conversation-events"
    await broker.close()


async def test_rasa_loads_the_broker_by_module_path_with_options() -> None:
    config = EndpointConfig(
        url="http://127.0.0.1:9",
        type="assistant.desk_events.DeskEventBroker",
        secret=SECRET,
        timeout=0.5,
        max_queue=10,
    )

    broker = await EventBroker.create(config)

    assert isinstance(broker, DeskEventBroker)
    await broker.close()


async def test_a_broker_without_a_secret_is_refused() -> None:
    config = EndpointConfig(url="http://127.0.0.1:9", type="assistant.desk_events.DeskEventBroker")

    with pytest.raises(ValueError, match="secret"):
        await EventBroker.create(config)


async def test_the_sql_tracker_store_streams_a_turn_to_the_desk(
    desk: RecordingDesk, tmp_path: Path
) -> None:
    broker = broker_for(desk)
    store = SQLTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"), event_broker=broker)
    tracker = DialogueStateTracker.from_events(
        "sql-conv",
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered("where is my order?", intent={"name": "order_status", "confidence": 0.9}),
            BotUttered("Let me check."),
            ConversationPaused(),
        ],
    )

    await store.save(tracker)
    await desk.wait_for_accepted(1)
    await broker.close()

    events = desk.events_for("sql-conv")
    assert [event["event"] for event in events] == ["user"]  # the rest the desk does not need
    assert events[0]["text"] == "where is my order?"
    assert events[0]["parse_data"]["intent"]["name"] == "order_status"
