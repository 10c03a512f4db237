"""The desk benchmark's helpers, and its agent console against a small stand-in desk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from benchmarks import desk_latency
from benchmarks.desk_latency import (
    AGENT_TO_CUSTOMER,
    DESK_MEASURES,
    HAND_BACK_TO_BOT,
    HANDOFF_TO_CONSOLE,
    HANDOFF_TO_QUEUE_CHANGED,
    AgentConsole,
    DeskSamples,
    RoundTimes,
    agent_text,
    both,
    is_queued_change,
    lists_handoff,
    milliseconds_between,
    status_is,
    step,
    text_contains,
    text_is,
)
from benchmarks.turns import UnexpectedBehaviour

HANDOFF_ID = "0282d80a-af2a-41c3-8086-0fceb3514aa6"
OTHER_ID = "24ed29f9-0269-46be-a8c0-07f5de29688d"


def queued(handoff_id: str = HANDOFF_ID, queue: str = "order_support") -> dict[str, Any]:
    return {"type": "queue_changed", "queue": queue, "handoff_id": handoff_id, "change": "queued"}


def queues_answer(*waiting_ids: str) -> dict[str, Any]:
    return {
        "queues": [
            {"name": "order_support", "team_name": "Order Support", "waiting": []},
            {
                "name": "general_support",
                "team_name": "Customer Service",
                "waiting": [{"handoff_id": handoff_id} for handoff_id in waiting_ids],
            },
        ]
    }


def times(value: float, stale: int = 0, wait_choices: int = 0) -> RoundTimes:
    return RoundTimes({m.key: value for m in DESK_MEASURES}, stale, wait_choices)


# --- Pure helpers ------------------------------------------------------------------------------


def test_only_a_new_handoff_in_the_queue_counts_as_queued() -> None:
    assert is_queued_change(queued(), "order_support")
    assert not is_queued_change(queued(queue="general_support"), "order_support")
    assert not is_queued_change({**queued(), "change": "claimed"}, "order_support")
    assert not is_queued_change({**queued(), "type": "customer_message"}, "order_support")
    assert not is_queued_change({**queued(), "handoff_id": None}, "order_support")


def test_a_queues_answer_lists_a_handoff_in_any_queue() -> None:
    assert lists_handoff(queues_answer(OTHER_ID, HANDOFF_ID), HANDOFF_ID)
    assert not lists_handoff(queues_answer(OTHER_ID), HANDOFF_ID)
    assert not lists_handoff({"queues": []}, HANDOFF_ID)
    assert not lists_handoff({}, HANDOFF_ID)


def test_every_round_says_something_different() -> None:
    texts = {agent_text(number) for number in range(-3, 41)}
    assert len(texts) == 44


def test_matchers_read_the_socket_io_payloads() -> None:
    assert text_is("Hi")({"text": "Hi"})
    assert not text_is("Hi")({"text": "Hi there"})
    assert not text_is("Hi")("Hi")
    assert text_contains("Welcome back")({"text": "Welcome back, you're chatting with..."})
    assert not text_contains("Welcome back")({"buttons": []})
    assert status_is("waiting")({"status": "waiting", "position": 1})
    assert not status_is("waiting")({"status": "agent_joined"})


def test_milliseconds_between_perf_counter_readings() -> None:
    assert milliseconds_between(10.0, 10.25) == pytest.approx(250.0)


def test_samples_keep_every_measure_in_round_order() -> None:
    samples = DeskSamples()
    samples.add(times(10.0, stale=1))
    samples.add(times(20.0, wait_choices=2))
    assert samples.rounds == 2
    assert set(samples.milliseconds) == {
        HANDOFF_TO_CONSOLE.key,
        HANDOFF_TO_QUEUE_CHANGED.key,
        AGENT_TO_CUSTOMER.key,
        HAND_BACK_TO_BOT.key,
    }
    assert samples.milliseconds[AGENT_TO_CUSTOMER.key] == [10.0, 20.0]
    assert (samples.stale_queue_fetches, samples.wait_choices) == (1, 2)


# --- Steps ---------------------------------------------------------------------------------------


async def test_a_step_that_times_out_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk_latency, "STEP_TIMEOUT_SECONDS", 0.01)
    with pytest.raises(UnexpectedBehaviour, match="the agent's message on the page"):
        await step("the agent's message on the page", asyncio.Event().wait())


async def test_both_returns_both_results() -> None:
    async def value(result: str) -> str:
        return result

    assert await both(value("posted"), value("shown")) == ("posted", "shown")


async def test_both_cancels_the_other_when_one_fails() -> None:
    never = asyncio.Event()
    waiting = asyncio.ensure_future(never.wait())

    async def fail() -> None:
        raise UnexpectedBehaviour("resolve: 503")

    with pytest.raises(UnexpectedBehaviour, match="503"):
        await both(fail(), waiting)
    assert waiting.cancelled()


# --- The agent console against a stand-in desk ---------------------------------------------------


class StandInDesk:
    """Login, the live websocket and GET /api/queues, enough for `AgentConsole`."""

    def __init__(self) -> None:
        self.live: list[web.WebSocketResponse] = []
        self.connected = asyncio.Event()
        #: What successive GET /api/queues answer (the last one repeats).
        self.answers: list[dict[str, Any]] = [queues_answer(HANDOFF_ID)]
        self.queue_fetches = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/login", self.login)
        app.router.add_get("/api/live", self.live_socket)
        app.router.add_get("/api/queues", self.queues)
        return app

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"username": "olivia", "password": "secret"}:
            return web.json_response({"error": "wrong"}, status=401)
        response = web.json_response({"username": "olivia"})
        response.set_cookie("desk_session", "token")
        return response

    async def live_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        if request.cookies.get("desk_session") != "token":
            await socket.close()
            return socket
        await socket.send_json({"type": "connected"})
        self.live.append(socket)
        self.connected.set()
        async for _ in socket:
            pass
        return socket

    async def queues(self, request: web.Request) -> web.Response:
        if request.cookies.get("desk_session") != "token":
            return web.json_response({"error": "log in first"}, status=401)
        answer = self.answers[min(self.queue_fetches, len(self.answers) - 1)]
        self.queue_fetches += 1
        return web.json_response(answer)

    async def push(self, message: dict[str, Any] | str) -> None:
        for socket in self.live:
            if isinstance(message, str):
                await socket.send_str(message)
            else:
                await socket.send_json(message)


@pytest.fixture
async def desk() -> AsyncIterator[tuple[StandInDesk, str]]:
    stand_in = StandInDesk()
    server = TestServer(stand_in.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield stand_in, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def console(desk: tuple[StandInDesk, str]) -> AsyncIterator[AgentConsole]:
    agent = AgentConsole(desk[1])
    await agent.open("olivia", "secret")
    yield agent
    await agent.close()


async def test_a_wrong_password_stops_the_benchmark(desk: tuple[StandInDesk, str]) -> None:
    agent = AgentConsole(desk[1])
    try:
        with pytest.raises(UnexpectedBehaviour, match="login as olivia: 401"):
            await agent.open("olivia", "wrong")
    finally:
        await agent.close()


async def test_the_console_waits_for_its_queue_and_skips_everything_else(
    desk: tuple[StandInDesk, str], console: AgentConsole
) -> None:
    stand_in, _ = desk
    await stand_in.connected.wait()
    await stand_in.push({"type": "queue_changed", "queue": "order_support", "change": "resolved"})
    await stand_in.push("pong")
    await stand_in.push(queued(OTHER_ID, queue="general_support"))
    await stand_in.push(queued())
    arrived, handoff_id = await asyncio.wait_for(console.next_queued("order_support"), 5)
    assert handoff_id == HANDOFF_ID
    assert arrived > 0


async def test_drain_forgets_what_came_before_the_round(
    desk: tuple[StandInDesk, str], console: AgentConsole
) -> None:
    stand_in, _ = desk
    console.received.put_nowait((1.0, queued(OTHER_ID)))
    console.received.put_nowait((2.0, {"type": "customer_message"}))
    console.drain()
    await stand_in.connected.wait()
    await stand_in.push(queued())
    _, handoff_id = await asyncio.wait_for(console.next_queued("order_support"), 5)
    assert handoff_id == HANDOFF_ID


async def test_the_queues_are_fetched_again_until_they_list_the_handoff(
    desk: tuple[StandInDesk, str], console: AgentConsole
) -> None:
    stand_in, _ = desk
    stand_in.answers = [queues_answer(), queues_answer(OTHER_ID), queues_answer(HANDOFF_ID)]
    listed_at, stale = await asyncio.wait_for(console.listed(HANDOFF_ID), 5)
    assert (stale, stand_in.queue_fetches) == (2, 3)
    assert listed_at > 0
