"""Throughput of one Rasa process against two behind the balancer, on this machine.

    python -m benchmarks.scaled [--users N] [--seconds S] [--model PATH] [--json PATH]

(`make bench` runs it last, through `python -m benchmarks.run`; `--skip-scaled` leaves it
out there.) It needs PostgreSQL, Redis, RabbitMQ and HAProxy, like `make run-scaled`.

Method
------
One isolated copy of the scaled system (`harness.scaled_copy`: its own PostgreSQL databases,
Redis keys, RabbitMQ names and loopback ports, removed afterwards): two Rasa processes with
`endpoints.scaled.yml` (PostgreSQL tracker store, Redis lock store, RabbitMQ event broker),
two action servers, one desk consuming the events, HAProxy in front.

Load: `--users` virtual users (default 20) in a closed loop over the REST channel, each
message "hi" (bot-only: NLU and policies, no action server) from a sender never used before,
the next sent as soon as the reply has arrived; a reply must be a non-empty list of messages.
Each measurement starts with `WARMUP_SECONDS` not counted; throughput is the replies received
within the counted window over its length, latency the p50 and p99 of the messages sent in it.

- **1 process**: the load goes straight to Rasa #1 (Rasa #2 idles);
- **2 processes**: the load goes to the balancer's Rasa port, which spreads it round-robin.

Each gets `--seconds` (default 60) in two halves, in the order 1 2 2 1, so a steady drift of
the machine falls on both alike. The ratio is the 2-process throughput over the 1-process
throughput. The balancer's hop is counted against the 2-process side only, so the ratio errs
low. Everything (both Rasa processes, PostgreSQL, Redis, RabbitMQ, HAProxy, the action
servers, the desk and this load generator, which runs in this process) shares the machine's
CPUs: on a 2-core machine one Rasa process already has most of a core, so expect well under
2x. The generator's CPU share and the other processes' share of the CPUs are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import aiohttp

from benchmarks.machine import cpu_snapshot, other_cpu_share
from benchmarks.stats import percentile
from harness.scaled_copy import ServicesMissing, isolated_plan, running_scaled_copy
from launcher.envfile import PLACEHOLDER, parse_env
from launcher.scaled import ScaledPlan
from launcher.stack import PROJECT_ROOT, ServiceFailedToStart

DEFAULT_MODEL: Final = PROJECT_ROOT / "models" / "support-assistant.tar.gz"
DEFAULT_JSON: Final = PROJECT_ROOT / "var" / "bench" / "scaled.json"
DEFAULT_USERS: Final = 20
DEFAULT_SECONDS: Final = 60.0
WARMUP_SECONDS: Final = 3.0
REQUEST_TIMEOUT_SECONDS: Final = 30.0
MESSAGE: Final = "hi"


@dataclass(frozen=True)
class LoadWindow:
    """One closed-loop run: replies in the counted window and the latencies of its messages."""

    seconds: float
    answered: int
    errors: int
    milliseconds: tuple[float, ...]
    generator_cpu_share: float


@dataclass(frozen=True)
class Throughput:
    """One side (1 or 2 processes) over its halves."""

    processes: int
    users: int
    seconds: float
    answered: int
    errors: int
    per_second: float
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, processes: int, users: int, windows: Sequence[LoadWindow]) -> Throughput:
        seconds = sum(window.seconds for window in windows)
        answered = sum(window.answered for window in windows)
        samples = sorted(ms for window in windows for ms in window.milliseconds)
        return cls(
            processes=processes,
            users=users,
            seconds=seconds,
            answered=answered,
            errors=sum(window.errors for window in windows),
            per_second=answered / seconds if seconds else 0.0,
            p50_ms=percentile(samples, 0.50) if samples else float("nan"),
            p99_ms=percentile(samples, 0.99) if samples else float("nan"),
        )


@dataclass(frozen=True)
class ScaledResult:
    """Both sides, their ratio and how busy the machine was."""

    one: Throughput
    two: Throughput
    ratio: float
    generator_cpu_share: float
    other_cpu_share: float | None


async def closed_loop(urls: Sequence[str], users: int, seconds: float) -> LoadWindow:
    """`users` virtual users, user i on `urls[i % len(urls)]`, each message from a new
    sender; `WARMUP_SECONDS` first, then `seconds` counted."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    window_start, window_end = start + WARMUP_SECONDS, start + WARMUP_SECONDS + seconds
    answered, errors, latencies = 0, 0, []
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    connector = aiohttp.TCPConnector(limit=users)
    cpu_before = time.process_time()

    async def user(url: str, http: aiohttp.ClientSession) -> None:
        nonlocal answered, errors
        while loop.time() < window_end:
            sent = loop.time()
            body = {"sender": f"bench-scaled-{uuid.uuid4().hex}", "message": MESSAGE}
            try:
                async with http.post(f"{url}/webhooks/rest/webhook", json=body) as response:
                    replies = await response.json() if response.status == 200 else None
                ok = isinstance(replies, list) and bool(replies)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                ok = False
            done = loop.time()
            if window_start <= sent < window_end:
                if ok:
                    latencies.append((done - sent) * 1000)
                else:
                    errors += 1
            if ok and window_start <= done < window_end:
                answered += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(user(urls[i % len(urls)], http) for i in range(users)))
    wall = loop.time() - start
    return LoadWindow(
        seconds=seconds,
        answered=answered,
        errors=errors,
        milliseconds=tuple(latencies),
        generator_cpu_share=(time.process_time() - cpu_before) / wall,
    )


def measure(plan: ScaledPlan, users: int, seconds: float) -> ScaledResult:
    """The 1 2 2 1 schedule against a running copy (see the module doc)."""
    one_url, balanced_url = [plan.rasa_process_url(0)], [plan.balancer.rasa_url]
    asyncio.run(closed_loop(balanced_url, users, 2.0))  # both processes warmed up
    start = cpu_snapshot()
    halves: dict[int, list[LoadWindow]] = {1: [], 2: []}
    for processes in (1, 2, 2, 1):
        urls = one_url if processes == 1 else balanced_url
        print(f"  {processes} Rasa process(es), {users} users, {seconds / 2:.0f} s...", flush=True)
        halves[processes].append(asyncio.run(closed_loop(urls, users, seconds / 2)))
    other = other_cpu_share(start, cpu_snapshot())
    one = Throughput.of(1, users, halves[1])
    two = Throughput.of(2, users, halves[2])
    generator = max(w.generator_cpu_share for windows in halves.values() for w in windows)
    ratio = two.per_second / one.per_second if one.per_second else float("nan")
    return ScaledResult(one, two, ratio, generator, other)


def run_scaled(workdir: Path, model: Path, users: int, seconds: float) -> ScaledResult:
    """Starts an isolated scaled copy under `workdir`, measures, stops it."""
    token = secrets.token_urlsafe(24)
    plan = isolated_plan(token, model, rasa_processes=2, desks=1)
    env = _process_environment(token)
    print("Starting the scaled system (2 Rasa, 2 action servers, 1 desk, HAProxy)...", flush=True)
    with running_scaled_copy(plan, workdir, env, secrets.token_urlsafe(16)):
        return measure(plan, users, seconds)


def _process_environment(rasa_auth_token: str) -> dict[str, str]:
    """The documented defaults, random secrets and telemetry off (like the other benchmarks'
    isolated copies), never the developer's .env."""
    defaults = parse_env((PROJECT_ROOT / ".env.example").read_text(encoding="utf-8"))
    secret = {
        key: secrets.token_urlsafe(24) for key, value in defaults.items() if value == PLACEHOLDER
    }
    return {
        **os.environ,
        **defaults,
        **secret,
        "RASA_AUTH_TOKEN": rasa_auth_token,
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }


def markdown(result: ScaledResult) -> str:
    """The README's table."""
    rows = [
        "| Rasa processes | users | replies/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for side in (result.one, result.two):
        rows.append(
            f"| {side.processes} | {side.users} | {side.per_second:.1f} | {side.p50_ms:.0f} | "
            f"{side.p99_ms:.0f} | {side.errors} |"
        )
    rows.append("")
    rows.append(
        f"Throughput ratio, 2 processes / 1: **{result.ratio:.2f}x** (load generator "
        f"{result.generator_cpu_share:.0%} of a core; other processes "
        f"{_share(result.other_cpu_share)} of the CPUs)."
    )
    return "\n".join(rows)


def _share(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0%}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scaled",
        description="Throughput of one Rasa process against two behind HAProxy.",
    )
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, metavar="N")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, metavar="S")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH")
    args = parser.parse_args(argv)
    if args.users < 1 or args.seconds <= 0:
        parser.error("--users must be 1 or more and --seconds more than 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark; 1 if it could not run."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="support-assistant-scaled-") as workdir:
        try:
            result = run_scaled(Path(workdir), args.model.resolve(), args.users, args.seconds)
        except (ServicesMissing, ServiceFailedToStart) as error:
            print(f"Scaled benchmark failed: {error}", file=sys.stderr)
            return 1
    print()
    print(markdown(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
    print(f"Results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
