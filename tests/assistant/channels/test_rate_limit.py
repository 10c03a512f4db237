"""The web chat's per-connection limit (`assistant.channels.rate_limit`)."""

from __future__ import annotations

from typing import Any

import pytest
from socketio import AsyncServer

from assistant.channels.rate_limit import ConnectionLimits, Verdict, limit_events
from assistant.settings import AssistantSettings
from contract.slow_down import SLOW_DOWN_EVENT, SlowDownNotice


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits(clock: Clock, **settings: Any) -> ConnectionLimits:
    return ConnectionLimits(
        **{"events_per_second": 5.0, "burst": 3, "dropped_before_disconnect": 10, **settings},
        clock=clock,
    )


def test_a_burst_is_handled_and_the_next_event_dropped_with_a_notice() -> None:
    clock = Clock()
    limit = limits(clock)

    verdicts = [limit.judge("a") for _ in range(5)]

    assert verdicts == [Verdict.HANDLE] * 3 + [Verdict.DROP_AND_NOTIFY, Verdict.DROP]
    assert limit.dropped("a") == 2
    assert limit.retry_after("a") == pytest.approx(0.2)


def test_tokens_come_back_at_the_rate() -> None:
    clock = Clock()
    limit = limits(clock)
    for _ in range(3):
        limit.judge("a")

    clock.now += 0.2  # one token at 5 a second
    assert limit.judge("a") is Verdict.HANDLE
    assert limit.judge("a") is Verdict.DROP_AND_NOTIFY
    clock.now += 10.0  # never more than the burst
    assert [limit.judge("a") for _ in range(4)][-1] is not Verdict.HANDLE


def test_a_person_typing_never_meets_the_limit() -> None:
    clock = Clock()
    limit = limits(clock, events_per_second=5.0, burst=20)
    verdicts = []
    for _ in range(200):  # a message and a typing signal a second, for 200 seconds
        verdicts += [limit.judge("customer"), limit.judge("customer")]
        clock.now += 1.0

    assert set(verdicts) == {Verdict.HANDLE}


def test_typing_signals_never_spend_the_messages_allowance() -> None:
    """A page answering a form at machine speed sends, per message, a typing start, a typing
    stop and the message: 3 events. The messages keep their own allowance of `burst`."""
    clock = Clock()
    limit = limits(clock, events_per_second=5.0, burst=20)
    messages = []
    for _ in range(20):
        limit.judge("page", "user_typing")
        limit.judge("page", "user_typing")
        messages.append(limit.judge("page", "user_uttered"))
        clock.now += 0.05

    assert set(messages) == {Verdict.HANDLE}
    assert limit.dropped("page") > 0  # the typing signals over the limit were the ones dropped
    assert limit.retry_after("page", "user_uttered") == 0.0
    assert limit.retry_after("page", "user_typing") > 0


def test_the_dropped_events_of_every_kind_count_towards_the_disconnect() -> None:
    clock = Clock()
    limit = limits(clock)  # burst 3, disconnect at 10 dropped
    verdicts = []
    for event in ("user_uttered", "user_typing", "session_request"):
        verdicts += [limit.judge("a", event) for _ in range(6)]  # 3 handled, 3 dropped each

    assert limit.dropped("a") == 9
    assert Verdict.DISCONNECT not in verdicts
    assert limit.judge("a", "user_uttered") is Verdict.DISCONNECT


def test_connections_have_their_own_buckets() -> None:
    clock = Clock()
    limit = limits(clock)
    for _ in range(10):
        limit.judge("flood")

    assert limit.judge("other") is Verdict.HANDLE
    limit.forget("flood")
    assert limit.connections == 1


def test_the_notice_comes_at_most_once_a_second() -> None:
    clock = Clock()
    limit = limits(clock, dropped_before_disconnect=1000, events_per_second=0.01)
    verdicts = []
    for _ in range(40):
        verdicts.append(limit.judge("a"))
        clock.now += 0.1

    assert verdicts.count(Verdict.DROP_AND_NOTIFY) == 4


def test_sustained_abuse_ends_in_a_disconnect() -> None:
    clock = Clock()
    limit = limits(clock)

    verdicts = [limit.judge("a") for _ in range(13)]

    assert verdicts[-1] is Verdict.DISCONNECT
    assert Verdict.DISCONNECT not in verdicts[:-1]


def test_the_settings_come_from_the_environment() -> None:
    settings = AssistantSettings.from_env(
        {
            "WEBCHAT_EVENTS_PER_SECOND": "2.5",
            "WEBCHAT_EVENT_BURST": "7",
            "WEBCHAT_DROPPED_BEFORE_DISCONNECT": "50",
        }
    )

    limit = settings.connection_limits()

    assert (limit.events_per_second, limit.burst, limit.dropped_before_disconnect) == (2.5, 7, 50)
    defaults = AssistantSettings.from_env({}).connection_limits()
    assert (defaults.events_per_second, defaults.burst) == (5.0, 20)


class RecordingServer(AsyncServer):
    """A socket.io server that records what it would emit and whom it would disconnect."""

    def __init__(self) -> None:
        super().__init__(async_mode="asgi")
        self.emitted: list[tuple[str, Any, str]] = []
        self.disconnected: list[str] = []

    async def emit(self, event: str, data: Any = None, to: Any = None, **_: Any) -> None:
        self.emitted.append((event, data, to))

    async def disconnect(self, sid: str, namespace: str | None = None, **_: Any) -> None:
        self.disconnected.append(sid)


async def test_the_limit_sits_in_front_of_every_handler_but_the_lifecycle() -> None:
    sio = RecordingServer()
    handled: list[tuple[str, Any]] = []
    ended: list[str] = []

    @sio.on("user_uttered")
    async def uttered(sid: str, data: Any) -> None:
        handled.append((sid, data))

    @sio.on("connect")
    async def connect(sid: str, environ: Any) -> None:
        handled.append((sid, "connect"))

    @sio.on("disconnect")
    def disconnect(sid: str) -> None:  # python-socketio also takes plain functions
        ended.append(sid)

    limit = limits(Clock(), burst=2, dropped_before_disconnect=4)
    limit_events(sio, None, limit)
    handlers = sio.handlers["/"]

    for number in range(6):
        await handlers["user_uttered"]("a", {"message": number})
    for _ in range(3):
        await handlers["connect"]("a", {})

    assert handled == [("a", {"message": 0}), ("a", {"message": 1})] + [("a", "connect")] * 3
    (notice,) = [(event, body, to) for event, body, to in sio.emitted]
    assert notice[0] == SLOW_DOWN_EVENT and notice[2] == "a"
    assert SlowDownNotice.parse_obj(notice[1]).event == "user_uttered"
    assert "at most 5 a second" in notice[1]["error"]
    assert sio.disconnected == ["a"]
    await handlers["disconnect"]("b")
    assert ended == ["b"]
