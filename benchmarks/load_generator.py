"""The load generator: the process that sends the REST load of `benchmarks/load.py`.

It runs in a process of its own so that its work (building requests, parsing replies, the
event loop) never shares a Python interpreter, a GIL or an event loop with the code that
starts servers and samples their memory, and so that its CPU time can be read on its own:
`cpu_seconds / wall_seconds` near 1.0 would mean the generator, not Rasa, set the pace.

    python -m benchmarks.load_generator < job.json > result.json

The job (one JSON object on stdin) is one of two kinds, both over the REST channel
(POST /webhooks/rest/webhook) with a sender id never used before for every message, so every
message starts a new conversation:

- `closed_loop`: `users` virtual users, each sending a message, waiting for the whole reply,
  then sending the next, for `warmup_seconds + seconds`; user i sends to
  `base_urls[i % len(base_urls)]` and cycles through `messages` starting at message i.
  After the deadline no user starts a new message; the ones in flight are awaited.
- `interleaved`: one user sending one message per probe per round, the probes in a freshly
  shuffled order every round (so machine noise falls on every probe alike), round after round
  until `seconds` have passed and at least `min_rounds` rounds are done.

The result (one JSON object on stdout) has every request as
`[key, started, finished, outcome]`, times in seconds since the job's start (`time.perf_counter`
taken right before the first request), outcome `ok` (the reply has the expected text),
`unexpected` (answered, but not as expected) or `error` (no answer: HTTP status not 200,
connection failure, timeout), plus the error messages counted, and the process's CPU and wall
seconds over the job. This format is private to the benchmark's two processes and defined only
here (`Job.from_json`, `JobResult.to_json` and `JobResult.from_json`).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

REST_WEBHOOK = "/webhooks/rest/webhook"
OK = "ok"
UNEXPECTED = "unexpected"
ERROR = "error"
CLOSED_LOOP = "closed_loop"
INTERLEAVED = "interleaved"


@dataclass(frozen=True)
class Message:
    """A message a new customer sends and a fragment the bot's reply must contain."""

    text: str
    expected_text: str


@dataclass(frozen=True)
class Probe:
    """One kind of turn of the interleaved job: a message to one server, under a key."""

    key: str
    base_url: str
    message: Message


@dataclass(frozen=True)
class Job:
    """What the generator is asked to do (see the module docstring)."""

    kind: str
    #: closed_loop: the servers, the users, their messages and the measured window.
    base_urls: tuple[str, ...] = ()
    users: int = 0
    messages: tuple[Message, ...] = ()
    seconds: float = 0.0
    warmup_seconds: float = 0.0
    #: interleaved: the probes and the fewest rounds (`seconds` is the least time).
    probes: tuple[Probe, ...] = ()
    min_rounds: int = 0
    seed: int = 0
    request_timeout_seconds: float = 120.0

    def to_json(self) -> dict[str, Any]:
        """The job as the generator reads it on stdin."""
        return {
            "kind": self.kind,
            "base_urls": list(self.base_urls),
            "users": self.users,
            "messages": [_message_json(message) for message in self.messages],
            "seconds": self.seconds,
            "warmup_seconds": self.warmup_seconds,
            "probes": [
                {"key": p.key, "base_url": p.base_url, "message": _message_json(p.message)}
                for p in self.probes
            ],
            "min_rounds": self.min_rounds,
            "seed": self.seed,
            "request_timeout_seconds": self.request_timeout_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        """The job written by `to_json`."""
        return cls(
            kind=str(data["kind"]),
            base_urls=tuple(str(url) for url in data["base_urls"]),
            users=int(data["users"]),
            messages=tuple(_message(item) for item in data["messages"]),
            seconds=float(data["seconds"]),
            warmup_seconds=float(data["warmup_seconds"]),
            probes=tuple(
                Probe(str(p["key"]), str(p["base_url"]), _message(p["message"]))
                for p in data["probes"]
            ),
            min_rounds=int(data["min_rounds"]),
            seed=int(data["seed"]),
            request_timeout_seconds=float(data["request_timeout_seconds"]),
        )


def _message_json(message: Message) -> dict[str, str]:
    return {"text": message.text, "expected_text": message.expected_text}


def _message(data: dict[str, Any]) -> Message:
    return Message(str(data["text"]), str(data["expected_text"]))


@dataclass(frozen=True)
class Request:
    """One sent message: its probe key (closed loop: the base URL), when, and how it ended."""

    key: str
    started: float
    finished: float
    outcome: str

    @property
    def milliseconds(self) -> float:
        """How long the customer waited for the whole reply."""
        return (self.finished - self.started) * 1000


@dataclass
class JobResult:
    """Every request of a job, the errors by message, and the generator's own CPU use."""

    requests: list[Request] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def cpu_share(self) -> float:
        """The generator's CPU time over the job's wall time (1.0 = one core kept busy)."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The result as the generator writes it on stdout."""
        return {
            "requests": [
                [r.key, round(r.started, 6), round(r.finished, 6), r.outcome] for r in self.requests
            ],
            "errors": dict(self.errors),
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        """The result written by `to_json`."""
        return cls(
            [Request(str(k), float(s), float(f), str(o)) for k, s, f, o in data["requests"]],
            Counter({str(k): int(v) for k, v in data["errors"].items()}),
            float(data["cpu_seconds"]),
            float(data["wall_seconds"]),
        )


def new_sender() -> str:
    """A sender id never used before: every message starts a new conversation."""
    return f"load-{uuid.uuid4().hex}"


def answered_as_expected(reply: Any, expected_text: str) -> bool:
    """Whether the REST reply (a JSON list of bot messages) has a text with the fragment."""
    if not isinstance(reply, list):
        return False
    return any(
        isinstance(item, dict) and expected_text in str(item.get("text", "")) for item in reply
    )


class _Sender:
    """Sends one message and times it, on a shared keep-alive connection pool."""

    def __init__(self, session: aiohttp.ClientSession, start: float, result: JobResult) -> None:
        self._session = session
        self._start = start
        self._result = result

    async def send(self, key: str, base_url: str, message: Message) -> None:
        body = {"sender": new_sender(), "message": message.text}
        started = time.perf_counter()
        try:
            async with self._session.post(base_url + REST_WEBHOOK, json=body) as response:
                payload = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            outcome = ERROR
            self._result.errors[f"{type(error).__name__}: {error}"[:200]] += 1
        else:
            if status != 200:
                outcome = ERROR
                self._result.errors[f"HTTP {status}"] += 1
            else:
                outcome = (
                    OK
                    if answered_as_expected(_json(payload), message.expected_text)
                    else (UNEXPECTED)
                )
        finished = time.perf_counter()
        self._result.requests.append(
            Request(key, started - self._start, finished - self._start, outcome)
        )


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None


async def _closed_loop(job: Job, sender: _Sender, start: float) -> None:
    deadline = start + job.warmup_seconds + job.seconds

    async def user(number: int) -> None:
        base_url = job.base_urls[number % len(job.base_urls)]
        sent = 0
        while time.perf_counter() < deadline:
            message = job.messages[(number + sent) % len(job.messages)]
            await sender.send(base_url, base_url, message)
            sent += 1

    await asyncio.gather(*(user(number) for number in range(job.users)))


async def _interleaved(job: Job, sender: _Sender, start: float) -> None:
    order = list(job.probes)
    shuffler = random.Random(job.seed)
    rounds = 0
    while rounds < job.min_rounds or time.perf_counter() - start < job.seconds:
        shuffler.shuffle(order)
        for probe in order:
            await sender.send(probe.key, probe.base_url, probe.message)
        rounds += 1


def check_job(job: Job) -> None:
    """Refuses a job that cannot run, with the reason."""
    if job.kind == CLOSED_LOOP:
        if job.users < 1 or not job.base_urls or not job.messages or job.seconds <= 0:
            raise ValueError("a closed loop needs users >= 1, base URLs, messages and seconds > 0")
    elif job.kind == INTERLEAVED:
        if not job.probes or (job.min_rounds < 1 and job.seconds <= 0):
            raise ValueError("an interleaved job needs probes and rounds or seconds")
    else:
        raise ValueError(f"unknown job kind {job.kind!r}")


async def run_job(job: Job) -> JobResult:
    """Runs the job in this process and returns every request."""
    check_job(job)
    result = JobResult()
    # At least one connection per user, so no user ever waits for a free connection here.
    connector = aiohttp.TCPConnector(limit=max(job.users, len(job.probes), 1) + 10)
    timeout = aiohttp.ClientTimeout(total=job.request_timeout_seconds)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        cpu_start = time.process_time()
        start = time.perf_counter()
        sender = _Sender(session, start, result)
        if job.kind == CLOSED_LOOP:
            await _closed_loop(job, sender, start)
        else:
            await _interleaved(job, sender, start)
        result.wall_seconds = time.perf_counter() - start
        result.cpu_seconds = time.process_time() - cpu_start
    result.requests.sort(key=lambda request: request.started)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Reads the job on stdin, runs it, writes the result on stdout."""
    del argv  # no options: the job says everything
    try:
        job = Job.from_json(json.load(sys.stdin))
        check_job(job)
    except (ValueError, KeyError, TypeError) as error:
        print(f"load generator: bad job: {error}", file=sys.stderr)
        return 2
    result = asyncio.run(run_job(job))
    json.dump(result.to_json(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
