"""The load generator: its job and result format, reply checks, and its loops against a small
REST server on loopback (in this process; nothing is timed)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from benchmarks.load_generator import (
    CLOSED_LOOP,
    ERROR,
    INTERLEAVED,
    OK,
    UNEXPECTED,
    Job,
    JobResult,
    Message,
    Probe,
    Request,
    answered_as_expected,
    check_job,
    main,
    run_job,
)

HI = Message("hi", "Hello")
BYE = Message("bye", "Goodbye")


def test_a_job_survives_the_trip_through_json() -> None:
    closed = Job(
        kind=CLOSED_LOOP,
        base_urls=("http://127.0.0.1:1", "http://127.0.0.1:2"),
        users=50,
        messages=(HI, BYE),
        seconds=30.0,
        warmup_seconds=3.0,
    )
    interleaved = Job(
        kind=INTERLEAVED,
        probes=(Probe("stock:hi", "http://127.0.0.1:1", HI),),
        seconds=0.0,
        min_rounds=10,
        seed=7,
    )
    for job in (closed, interleaved):
        assert Job.from_json(json.loads(json.dumps(job.to_json()))) == job


def test_a_result_survives_the_trip_through_json() -> None:
    result = JobResult(
        [Request("a", 0.1, 0.15, OK), Request("b", 0.2, 1.2, ERROR)],
        cpu_seconds=0.5,
        wall_seconds=2.0,
    )
    result.errors["HTTP 500"] += 1
    back = JobResult.from_json(json.loads(json.dumps(result.to_json())))
    assert back == result
    assert back.cpu_share == 0.25
    assert back.requests[1].milliseconds == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("job", "problem"),
    [
        (Job(kind=CLOSED_LOOP, base_urls=("u",), users=0, messages=(HI,), seconds=1), "users"),
        (Job(kind=CLOSED_LOOP, users=1, messages=(HI,), seconds=1), "base URLs"),
        (Job(kind=CLOSED_LOOP, base_urls=("u",), users=1, messages=(HI,)), "seconds"),
        (Job(kind=INTERLEAVED, min_rounds=1), "probes"),
        (Job(kind=INTERLEAVED, probes=(Probe("k", "u", HI),)), "rounds or seconds"),
        (Job(kind="open_loop"), "unknown job kind 'open_loop'"),
    ],
)
def test_a_job_that_cannot_run_is_refused(job: Job, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_job(job)


def test_a_bad_job_on_stdin_exits_2_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"kind": "closed_loop"}'))
    assert main([]) == 2
    assert "load generator: bad job:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ([{"recipient_id": "x", "text": "Hello there"}], True),
        ([{"text": "Hi"}, {"text": "Hello"}], True),
        ([{"image": "https://example.org/cat.png"}], False),
        ([], False),
        ({"text": "Hello"}, False),
        (None, False),
    ],
)
def test_a_reply_is_as_expected_when_a_bot_message_has_the_fragment(
    reply: object, expected: bool
) -> None:
    assert answered_as_expected(reply, "Hello") is expected


@dataclass
class FakeRest:
    """A REST channel stand-in: "hi" gets "Hello", "bye" gets something else, "boom" a 500.

    The first replies are held until `gate_at` requests are in flight at once (or 5 s have
    passed), so a generator that sends fewer at a time shows in `most_in_flight`.
    """

    gate_at: int = 1
    senders: list[str] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.senders.append(body["sender"])
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.in_flight >= self.gate_at:
            self.gate.set()
        try:
            try:
                await asyncio.wait_for(self.gate.wait(), timeout=5.0)
            except asyncio.TimeoutError:
                self.gate.set()  # fewer arrived at once: let everything through
            if body["message"] == "boom":
                return web.Response(status=500)
            text = "Hello!" if body["message"] == "hi" else "See you"
            return web.json_response([{"recipient_id": body["sender"], "text": text}])
        finally:
            self.in_flight -= 1


@pytest.fixture
async def rest_server() -> AsyncIterator[tuple[str, FakeRest]]:
    fake = FakeRest()
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", fake.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", fake
    finally:
        await runner.cleanup()


async def test_the_closed_loop_keeps_every_user_busy_with_new_senders(
    rest_server: tuple[str, FakeRest],
) -> None:
    url, fake = rest_server
    fake.gate_at = 4
    job = Job(kind=CLOSED_LOOP, base_urls=(url,), users=4, messages=(HI, BYE), seconds=0.3)
    result = await run_job(job)

    assert len(result.requests) == len(fake.senders) >= 8
    assert len(set(fake.senders)) == len(fake.senders)  # a new conversation every message
    assert fake.most_in_flight == 4  # every user waits for its reply, and no one else does
    outcomes = {r.outcome for r in result.requests}
    assert outcomes == {OK, UNEXPECTED}  # "hi" as expected, "bye" not (the fake says "See you")
    assert all(r.key == url for r in result.requests)
    assert all(r.finished > r.started for r in result.requests)
    assert result.wall_seconds >= 0.3
    assert result.cpu_seconds > 0


async def test_failures_are_counted_not_raised(rest_server: tuple[str, FakeRest]) -> None:
    url, _ = rest_server
    closed_port = "http://127.0.0.1:9"  # discard: nothing listens
    job = Job(
        kind=INTERLEAVED,
        probes=(
            Probe("boom", url, Message("boom", "")),
            Probe("nobody", closed_port, HI),
        ),
        min_rounds=2,
    )
    result = await run_job(job)
    assert [r.outcome for r in result.requests] == [ERROR] * 4
    assert result.errors["HTTP 500"] == 2
    assert sum(count for message, count in result.errors.items() if "HTTP" not in message) == 2


async def test_interleaved_rounds_send_each_probe_once_per_round_in_shuffled_orders(
    rest_server: tuple[str, FakeRest],
) -> None:
    url, fake = rest_server
    probes = tuple(Probe(f"p{number}", url, HI) for number in range(4))
    result = await run_job(Job(kind=INTERLEAVED, probes=probes, min_rounds=6, seed=3))

    keys = [r.key for r in result.requests]
    rounds = [keys[i : i + 4] for i in range(0, len(keys), 4)]
    assert len(rounds) == 6
    assert all(sorted(one) == ["p0", "p1", "p2", "p3"] for one in rounds)
    assert len({tuple(one) for one in rounds}) > 1  # not the same order every round
    assert fake.most_in_flight == 1  # one user: one message at a time
    assert {r.outcome for r in result.requests} == {OK}
