"""Issue 13's REST load against stock Rasa in the same run: latency, throughput, memory, soak.

    python -m benchmarks.load [--load-seconds S] [--soak-minutes N] [--model PATH]
                              [--json PATH] [--keep-workdir]

(`make bench` runs it as part of `python -m benchmarks.run`; `--skip-load` leaves it out
there.) Quick run of this part alone: `python -m benchmarks.load --load-seconds 20
--soak-minutes 0`.

Method
------
Two servers run side by side for the whole measurement:

- **stock Rasa**: the `rasa init` bot, `rasa run --enable-api`, its in-memory tracker store, no
  broker, no action server (`benchmarks/stock_bot.py`, which trains it once per Rasa version);
- **this project**: the isolated copy of the system `benchmarks/run.py` measures turns on (real
  Rasa through `python -m assistant run`, SQLite tracker store, the action server, the
  recording endpoint standing in for the desk; `benchmarks/environment.py`).

All load goes over the REST channel (POST /webhooks/rest/webhook) from the load generator, a
process of its own (`benchmarks/load_generator.py`), with a sender id never used before for
every message: each message is the first turn of a new conversation. A message's time is from
sending the request to having read the whole reply. The bot-only messages are "hi"
(utter_greet) and "bye" (utter_goodbye): in both bots NLU and the policies answer them, with no
action-server call. Before anything is measured each bot's handling of each message is checked
against its tracker (the exact actions Rasa ran), then `WARMUP_ROUNDS` interleaved rounds of
every probe are thrown away.

1. **One user** (`--load-seconds`, default 60 s, in all): one message at a time, round after
   round; a round is stock "hi", stock "bye", project "hi", project "bye" and the project's
   order lookup ("where is my order ORD-100002?": form validation and `action_order_status`,
   two action-server calls and a database lookup) in a freshly shuffled order, so machine
   noise falls on both bots alike. Targets: the project's bot-only p50 <= 1.0x stock's
   bot-only p50; the project's order-lookup p50 <= 1.5x stock's bot-only p50.
2. **10 and 50 users**, closed loop: every virtual user sends a bot-only message, waits for the
   reply, sends the next. Per level each bot gets `--load-seconds` in two halves, in the order
   A B B A (stock first at 10 users, the project first at 50), so a steady drift of the machine
   falls on both equally. Each half starts with `LEVEL_WARMUP_SECONDS` that are not counted
   (all users start at once). Throughput: replies received within the counted window over its
   length. Latency: p50, p95, p99 of the messages sent within the window (the ones still in
   flight at its end are awaited and counted: a starved request shows in p99). Targets: the
   project's throughput >= 1.0x stock's at 10 and at 50 users; the project's p99 <= 3x its p50
   at 50 users (no starvation).
3. **Memory**: the resident set (RSS, `VmRSS` of the process and any children) of each Rasa
   server after the warm-up and again after the load. Target: project <= 1.10x stock at both
   points. Stock Rasa keeps every conversation in memory (its tracker store), so its RSS
   after the load includes the thousands of conversations the load made; the project's are in
   SQLite.
4. **Soak** (`--soak-minutes`, default 20; 0 skips): after the levels, stock Rasa is stopped
   and the project's Rasa gets `SOAK_USERS` users of steady bot-only load; its RSS is sampled
   every `SOAK_SAMPLE_SECONDS` s and the straight line fitted by least squares gives the
   growth in MiB per minute. Target ("no growth"): the fitted growth over the whole soak is at
   most `SOAK_GROWTH_LIMIT` (1%) of the RSS at its start.

Both servers and the generator share this 2-core machine, as in production a server shares
its host; the generator's CPU use is reported (its CPU seconds over wall seconds; 1.0 would be
a whole core and mean the generator, not Rasa, set the pace), and so is the share of the CPUs
other processes used meanwhile (above 5%: run again on a quiet machine). Compare the ratios,
which are measured in the same minutes; the absolute numbers drift by up to 3x between days
on this machine.

Reusing the load
----------------
`measure_throughput(base_urls, users, seconds)` runs one closed-loop level against any
server(s) and `LevelStats.of([run])` summarises it: the hook for the benchmarks of two Rasa
processes and of the web chat.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import requests

from benchmarks.environment import BenchEnvironment, create_environment
from benchmarks.load_generator import (
    CLOSED_LOOP,
    ERROR,
    INTERLEAVED,
    UNEXPECTED,
    Job,
    JobResult,
    Message,
    Probe,
    Request,
)
from benchmarks.machine import cpu_snapshot, other_cpu_share
from benchmarks.memory import mib, process_tree_rss_kib
from benchmarks.stats import least_squares_slope, percentile
from benchmarks.stock_bot import (
    StockBotFailed,
    new_auth_token,
    prepare_stock_bot,
    stock_rasa_server,
    stock_variables,
)
from benchmarks.turns import BOT_ONLY, ORDER_LOOKUP, RestClient, Scenario, UnexpectedBehaviour
from benchmarks.turns import verify as verify_scenario
from harness.loopback import free_ports
from launcher.stack import PROJECT_ROOT, ServiceFailedToStart, Stack, running_stack

STOCK = "stock"
PROJECT = "project"
TARGET_TITLES: Mapping[str, str] = {STOCK: "stock Rasa", PROJECT: "this project"}

#: The stock bot's bot-only turns (the `rasa init` moodbot's rules).
STOCK_HI = Scenario(
    "stock_hi", 'Stock "hi"', "hi", ("utter_greet", "action_listen"), "Hey! How are you?"
)
STOCK_BYE = Scenario("stock_bye", 'Stock "bye"', "bye", ("utter_goodbye", "action_listen"), "Bye")
#: The project's bot-only turns ("hi" is the turn benchmark's bot-only scenario).
PROJECT_BYE = Scenario(
    "bye", '"bye" -> utter_goodbye', "bye", ("utter_goodbye", "action_listen"), "Goodbye!"
)
BOT_ONLY_SCENARIOS: Mapping[str, tuple[Scenario, ...]] = {
    STOCK: (STOCK_HI, STOCK_BYE),
    PROJECT: (BOT_ONLY, PROJECT_BYE),
}

#: Interleaved rounds of every probe sent and thrown away before anything is measured.
WARMUP_ROUNDS = 10
#: The closed-loop levels (concurrent users).
LEVELS = (10, 50)
#: The level whose p99/p50 is the starvation target.
STARVATION_LEVEL = 50
#: Seconds at the start of each closed-loop half that are not counted (all users start at once).
LEVEL_WARMUP_SECONDS = 3.0
SOAK_USERS = 10
SOAK_SAMPLE_SECONDS = 10.0
DEFAULT_LOAD_SECONDS = 60.0
DEFAULT_SOAK_MINUTES = 20.0

#: Targets (issue 13), all as ratios measured in the same run.
BOT_ONLY_P50_RATIO_TARGET = 1.0
ORDER_LOOKUP_RATIO_TARGET = 1.5
THROUGHPUT_RATIO_TARGET = 1.0
TAIL_RATIO_TARGET = 3.0
RSS_RATIO_TARGET = 1.10
#: "No growth": the fitted growth over the soak, as a share of the RSS at its start.
SOAK_GROWTH_LIMIT = 0.01
#: Above this share of one core the generator may be what limits the throughput.
GENERATOR_CPU_WARNING = 0.7

PASS = "PASS"
MISSED = "MISSED"
INFO = "info"


def bot_only_messages(target: str) -> tuple[Message, ...]:
    """The bot-only messages of a bot ("hi", "bye") with the reply each must get."""
    return tuple(_message(scenario) for scenario in BOT_ONLY_SCENARIOS[target])


def _message(scenario: Scenario) -> Message:
    return Message(scenario.message, scenario.expected_text)


class LoadGeneratorFailed(RuntimeError):
    """The load generator exited with an error or did not finish in time."""


# --- Running the generator -------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRun:
    """One closed-loop run: its users, its counted window and every request."""

    users: int
    warmup_seconds: float
    seconds: float
    result: JobResult

    @property
    def window_end(self) -> float:
        """When the counted window closes (seconds since the run's start)."""
        return self.warmup_seconds + self.seconds

    def measured(self) -> list[Request]:
        """The requests sent within the counted window (their latency counts)."""
        return [
            r for r in self.result.requests if self.warmup_seconds <= r.started < self.window_end
        ]

    def answered_in_window(self) -> int:
        """Replies (expected or not) received within the counted window (the throughput)."""
        return sum(
            1
            for r in self.result.requests
            if r.outcome != ERROR and self.warmup_seconds <= r.finished < self.window_end
        )


def _generator_argv() -> list[str]:
    return [sys.executable, "-m", "benchmarks.load_generator"]


def run_generator(
    job: Job,
    *,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = SOAK_SAMPLE_SECONDS,
) -> JobResult:
    """Runs `job` in a new load-generator process and returns its result.

    `on_tick` is called every `tick_seconds` while the generator runs (the soak samples memory
    with it).
    """
    expected = job.warmup_seconds + job.seconds + job.request_timeout_seconds
    if job.kind == INTERLEAVED:
        expected += job.min_rounds * len(job.probes) * job.request_timeout_seconds
    deadline_seconds = expected + 60.0
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with tempfile.TemporaryFile() as job_file:
        job_file.write(json.dumps(job.to_json()).encode())
        job_file.seek(0)
        process = subprocess.Popen(
            _generator_argv(),
            cwd=PROJECT_ROOT,
            env=env,
            stdin=job_file,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    try:
        stdout, stderr = _wait_for(process, deadline_seconds, on_tick, tick_seconds)
    except BaseException:
        process.kill()  # interrupted, or out of time: no load keeps running behind our back
        process.communicate()
        raise
    if process.returncode != 0:
        raise LoadGeneratorFailed(
            f"the load generator exited with {process.returncode}: "
            f"{stderr.decode(errors='replace')[-2000:]}"
        )
    return JobResult.from_json(json.loads(stdout))


def _wait_for(
    process: subprocess.Popen[bytes],
    deadline_seconds: float,
    on_tick: Callable[[], None] | None,
    tick_seconds: float,
) -> tuple[bytes, bytes]:
    deadline = time.monotonic() + deadline_seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LoadGeneratorFailed(
                f"the load generator did not finish in {deadline_seconds:.0f} s"
            )
        step = min(tick_seconds, remaining) if on_tick is not None else remaining
        try:
            return process.communicate(timeout=step)
        except subprocess.TimeoutExpired:
            if on_tick is not None:
                on_tick()


def measure_throughput(
    base_urls: Sequence[str],
    users: int,
    seconds: float,
    messages: Sequence[Message] = bot_only_messages(PROJECT),
    *,
    warmup_seconds: float = LEVEL_WARMUP_SECONDS,
    on_tick: Callable[[], None] | None = None,
) -> LoadRun:
    """A closed loop of `users` virtual users against the REST channel of `base_urls`.

    The hook for every throughput benchmark of issue 13 (one against two Rasa processes, the
    web chat's): user i sends to `base_urls[i % len(base_urls)]`, each message from a new
    sender, the next as soon as the reply has arrived, cycling through `messages` (default: the
    project's "hi" and "bye"; pass `bot_only_messages(STOCK)` for stock Rasa). The first
    `warmup_seconds` are not counted, then `seconds` are. The load comes from a process of its
    own. Summarise with `LevelStats.of([run])` (throughput, p50/p95/p99, errors); several runs
    of one server (e.g. the halves of an A B B A schedule) combine in one `LevelStats.of`.
    """
    job = Job(
        kind=CLOSED_LOOP,
        base_urls=tuple(base_urls),
        users=users,
        messages=tuple(messages),
        seconds=seconds,
        warmup_seconds=warmup_seconds,
    )
    return LoadRun(users, warmup_seconds, seconds, run_generator(job, on_tick=on_tick))


# --- Summaries -----------------------------------------------------------------------------------


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator; infinite when the denominator is 0 (nothing to compare with)."""
    return numerator / denominator if denominator else float("inf")


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds: median and tail of a set of messages."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, milliseconds: Sequence[float]) -> LatencyStats:
        """The percentiles (linear interpolation between closest ranks)."""
        if not milliseconds:
            raise ValueError("no messages were answered")
        return cls(
            len(milliseconds),
            percentile(milliseconds, 0.50),
            percentile(milliseconds, 0.95),
            percentile(milliseconds, 0.99),
            max(milliseconds),
        )

    @property
    def tail_ratio(self) -> float:
        """p99 / p50: how much longer the unluckiest 1% wait than the typical message."""
        return ratio(self.p99, self.p50)

    def to_json(self) -> dict[str, Any]:
        """Rounded for the results file."""
        return {
            "count": self.count,
            "p50": round(self.p50, 3),
            "p95": round(self.p95, 3),
            "p99": round(self.p99, 3),
            "max": round(self.max, 3),
            "p99_over_p50": round(self.tail_ratio, 3),
        }


@dataclass(frozen=True)
class LevelStats:
    """One server's closed-loop load at one number of users."""

    users: int
    #: Replies received within the counted windows.
    answered: int
    #: Length of the counted windows, in all.
    seconds: float
    latency: LatencyStats
    #: Messages sent within the windows that got no answer (timeout, HTTP error).
    errors: int
    #: Messages sent within the windows answered with something else than expected.
    unexpected: int
    #: The generator's CPU seconds over its wall seconds (the highest of the runs).
    generator_cpu_share: float
    samples_ms: tuple[float, ...] = ()

    @classmethod
    def of(cls, runs: Sequence[LoadRun]) -> LevelStats:
        """Combines runs of one server at one number of users (e.g. the two halves)."""
        if not runs or len({run.users for run in runs}) != 1:
            raise ValueError("combine one or more runs with the same number of users")
        measured = [request for run in runs for request in run.measured()]
        answered = [r.milliseconds for r in measured if r.outcome != ERROR]
        return cls(
            users=runs[0].users,
            answered=sum(run.answered_in_window() for run in runs),
            seconds=sum(run.seconds for run in runs),
            latency=LatencyStats.of(answered),
            errors=sum(1 for r in measured if r.outcome == ERROR),
            unexpected=sum(1 for r in measured if r.outcome == UNEXPECTED),
            generator_cpu_share=max(run.result.cpu_share for run in runs),
            samples_ms=tuple(answered),
        )

    @property
    def throughput(self) -> float:
        """Replies per second within the counted windows."""
        return self.answered / self.seconds

    def to_json(self) -> dict[str, Any]:
        """The level's numbers and every answered message's time."""
        return {
            "users": self.users,
            "answered": self.answered,
            "seconds": round(self.seconds, 3),
            "throughput_per_s": round(self.throughput, 3),
            "latency_ms": self.latency.to_json(),
            "errors": self.errors,
            "unexpected_replies": self.unexpected,
            "generator_cpu_share": round(self.generator_cpu_share, 3),
            "samples_ms": [round(value, 3) for value in self.samples_ms],
        }


def level_schedule(levels: Sequence[int]) -> list[tuple[int, str]]:
    """The halves of the closed-loop levels, in the order A B B A per level, alternating which
    bot goes first (stock at the first level), so a steady drift falls on both alike."""
    schedule = []
    for number, users in enumerate(levels):
        first, second = (STOCK, PROJECT) if number % 2 == 0 else (PROJECT, STOCK)
        schedule += [(users, first), (users, second), (users, second), (users, first)]
    return schedule


@dataclass(frozen=True)
class LevelComparison:
    """Both bots at one number of users."""

    users: int
    stock: LevelStats
    project: LevelStats

    @property
    def throughput_ratio(self) -> float:
        """The project's throughput over stock's."""
        return ratio(self.project.throughput, self.stock.throughput)

    @property
    def throughput_met(self) -> bool:
        """Whether the project keeps up with stock Rasa."""
        return self.throughput_ratio >= THROUGHPUT_RATIO_TARGET

    @property
    def tail_met(self) -> bool | None:
        """At the starvation level, whether the project's p99 is within 3x its p50."""
        if self.users != STARVATION_LEVEL:
            return None
        return self.project.latency.tail_ratio <= TAIL_RATIO_TARGET


#: The 1-user probe keys: (bot, message key).
SINGLE_USER_PROBES: tuple[tuple[str, Scenario], ...] = (
    (STOCK, STOCK_HI),
    (STOCK, STOCK_BYE),
    (PROJECT, BOT_ONLY),
    (PROJECT, PROJECT_BYE),
    (PROJECT, ORDER_LOOKUP),
)


def probe_key(target: str, scenario: Scenario) -> str:
    """The key of a 1-user probe, e.g. "project:order_lookup"."""
    return f"{target}:{scenario.key}"


def single_user_probes(base_urls: Mapping[str, str]) -> tuple[Probe, ...]:
    """The interleaved probes of the 1-user measure, against each bot's base URL."""
    return tuple(
        Probe(probe_key(target, scenario), base_urls[target], _message(scenario))
        for target, scenario in SINGLE_USER_PROBES
    )


@dataclass(frozen=True)
class SingleUser:
    """The 1-user interleaved turns."""

    result: JobResult

    def _answered_ms(self, keys: Sequence[str]) -> list[float]:
        return [
            r.milliseconds for r in self.result.requests if r.key in keys and r.outcome != ERROR
        ]

    def bot_only(self, target: str) -> LatencyStats:
        """A bot's "hi" and "bye" turns together."""
        keys = [probe_key(target, scenario) for scenario in BOT_ONLY_SCENARIOS[target]]
        return LatencyStats.of(self._answered_ms(keys))

    @property
    def order_lookup(self) -> LatencyStats:
        """The project's order-lookup turns."""
        return LatencyStats.of(self._answered_ms([probe_key(PROJECT, ORDER_LOOKUP)]))

    @property
    def bot_only_ratio(self) -> float:
        """The project's bot-only p50 over stock's."""
        return ratio(self.bot_only(PROJECT).p50, self.bot_only(STOCK).p50)

    @property
    def order_lookup_ratio(self) -> float:
        """The project's order-lookup p50 over stock's bot-only p50."""
        return ratio(self.order_lookup.p50, self.bot_only(STOCK).p50)

    def outcomes(self, outcome: str) -> dict[str, int]:
        """How many turns of each probe ended so (e.g. ERROR), where any did."""
        counts: dict[str, int] = {}
        for request in self.result.requests:
            if request.outcome == outcome:
                counts[request.key] = counts.get(request.key, 0) + 1
        return counts


@dataclass(frozen=True)
class MemoryReading:
    """Both Rasa servers' RSS at one moment, in KiB."""

    stock_kib: int
    project_kib: int

    @property
    def ratio(self) -> float:
        """The project's RSS over stock's."""
        return ratio(self.project_kib, self.stock_kib)

    @property
    def met(self) -> bool:
        """Whether the project stays within stock + 10%."""
        return self.ratio <= RSS_RATIO_TARGET


@dataclass(frozen=True)
class SoakResult:
    """Steady load on the project's Rasa with its RSS sampled."""

    minutes: float
    #: (seconds since the soak started, RSS in KiB)
    rss_samples: tuple[tuple[float, int], ...]
    load: LevelStats

    @property
    def slope_mib_per_minute(self) -> float:
        """The least-squares growth of the RSS."""
        return least_squares_slope([(t / 60, mib(kib)) for t, kib in self.rss_samples])

    @property
    def start_mib(self) -> float:
        """RSS at the start of the soak."""
        return mib(self.rss_samples[0][1])

    @property
    def end_mib(self) -> float:
        """RSS at the end of the soak."""
        return mib(self.rss_samples[-1][1])

    @property
    def fitted_growth_share(self) -> float:
        """The fitted line's growth over the soak, as a share of the starting RSS."""
        span_minutes = (self.rss_samples[-1][0] - self.rss_samples[0][0]) / 60
        return self.slope_mib_per_minute * span_minutes / self.start_mib

    @property
    def met(self) -> bool:
        """Whether the RSS did not grow ("no growth": within 1% of the start over the soak)."""
        return self.fitted_growth_share <= SOAK_GROWTH_LIMIT


@dataclass(frozen=True)
class LoadResult:
    """Everything the load benchmark measured."""

    load_seconds: float
    single: SingleUser
    levels: tuple[LevelComparison, ...]
    after_warmup: MemoryReading
    after_load: MemoryReading
    soak: SoakResult | None
    #: Share of all CPUs other processes used during the load and during the soak.
    other_cpu_share: float | None
    soak_other_cpu_share: float | None = None

    @property
    def generator_cpu_share(self) -> float:
        """The load generator's highest CPU share of one core over all its runs."""
        shares = [self.single.result.cpu_share]
        shares += [
            s.generator_cpu_share for level in self.levels for s in (level.stock, level.project)
        ]
        if self.soak is not None:
            shares.append(self.soak.load.generator_cpu_share)
        return max(shares)

    @property
    def missed(self) -> list[str]:
        """The targets missed, by title."""
        return [title for title, met in self.verdicts() if met is False]

    def verdicts(self) -> list[tuple[str, bool | None]]:
        """Each target's title and whether it is met."""
        verdicts: list[tuple[str, bool | None]] = [
            (
                "bot-only p50 vs stock (1 user)",
                self.single.bot_only_ratio <= BOT_ONLY_P50_RATIO_TARGET,
            ),
            (
                "order-lookup p50 vs stock's bot-only p50",
                self.single.order_lookup_ratio <= ORDER_LOOKUP_RATIO_TARGET,
            ),
        ]
        for level in self.levels:
            verdicts.append((f"throughput vs stock at {level.users} users", level.throughput_met))
            if level.tail_met is not None:
                verdicts.append((f"p99 / p50 at {level.users} users", level.tail_met))
        verdicts.append(("Rasa RSS vs stock after warm-up", self.after_warmup.met))
        verdicts.append(("Rasa RSS vs stock after the load", self.after_load.met))
        if self.soak is not None:
            verdicts.append(("no RSS growth in the soak", self.soak.met))
        return verdicts


# --- Report ------------------------------------------------------------------------------------


def _verdict(met: bool | None) -> str:
    return INFO if met is None else PASS if met else MISSED


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _x(value: float) -> str:
    return f"{value:.2f}x"


def _mib(kib: float) -> str:
    return f"{mib(kib):.0f} MiB"


def _latencies(stats: LatencyStats) -> str:
    return f"{stats.p50:.0f} / {stats.p95:.0f} / {stats.p99:.0f} ms"


def load_table(result: LoadResult) -> str:
    """The load benchmark as a Markdown table for the README: both bots side by side."""
    header = ["Load (REST, new sender per message)", "Target", "stock Rasa", "this project",
              "project / stock", "Result"]  # fmt: skip
    single = result.single
    stock_bot, project_bot = single.bot_only(STOCK), single.bot_only(PROJECT)
    rows = [
        [
            f"bot-only turn, 1 user, p50 (n = {stock_bot.count} / {project_bot.count})",
            f"≤ {BOT_ONLY_P50_RATIO_TARGET:.1f}x stock",
            _ms(stock_bot.p50),
            _ms(project_bot.p50),
            _x(single.bot_only_ratio),
            _verdict(single.bot_only_ratio <= BOT_ONLY_P50_RATIO_TARGET),
        ],
        [
            "bot-only turn, 1 user, p95",
            "—",
            _ms(stock_bot.p95),
            _ms(project_bot.p95),
            _x(ratio(project_bot.p95, stock_bot.p95)),
            INFO,
        ],
        [
            f"order-lookup turn, 1 user, p50 (n = {single.order_lookup.count}), "
            "vs stock's bot-only p50",
            f"≤ {ORDER_LOOKUP_RATIO_TARGET:.1f}x stock",
            _ms(stock_bot.p50),
            f"{_ms(single.order_lookup.p50)} (p95 {_ms(single.order_lookup.p95)})",
            _x(single.order_lookup_ratio),
            _verdict(single.order_lookup_ratio <= ORDER_LOOKUP_RATIO_TARGET),
        ],
    ]
    for level in result.levels:
        stock, project = level.stock, level.project
        rows.append(
            [
                f"{level.users} users: throughput (replies / {stock.seconds:.0f} s counted)",
                f"≥ {THROUGHPUT_RATIO_TARGET:.1f}x stock",
                f"{stock.throughput:.1f} msg/s",
                f"{project.throughput:.1f} msg/s",
                _x(level.throughput_ratio),
                _verdict(level.throughput_met),
            ]
        )
        rows.append(
            [
                f"{level.users} users: p50 / p95 / p99",
                "—",
                _latencies(stock.latency),
                _latencies(project.latency),
                _x(ratio(project.latency.p50, stock.latency.p50)) + " (p50)",
                INFO,
            ]
        )
        tail_target = f"≤ {TAIL_RATIO_TARGET:.0f} (project)" if level.tail_met is not None else "—"
        rows.append(
            [
                f"{level.users} users: p99 / p50",
                tail_target,
                f"{stock.latency.tail_ratio:.2f}",
                f"{project.latency.tail_ratio:.2f}",
                "",
                _verdict(level.tail_met),
            ]
        )
    for title, reading in (
        ("Rasa RSS after warm-up", result.after_warmup),
        ("Rasa RSS after the load", result.after_load),
    ):
        rows.append(
            [
                title,
                f"≤ {RSS_RATIO_TARGET:.2f}x stock",
                _mib(reading.stock_kib),
                _mib(reading.project_kib),
                _x(reading.ratio),
                _verdict(reading.met),
            ]
        )
    if result.soak is not None:
        soak = result.soak
        rows.append(
            [
                f"soak: {soak.minutes:g} min at {soak.load.users} users ("
                f"{soak.load.throughput:.1f} msg/s, p50 / p95 / p99 "
                f"{_latencies(soak.load.latency)}); RSS every {SOAK_SAMPLE_SECONDS:.0f} s, "
                "least-squares slope",
                f"growth ≤ {SOAK_GROWTH_LIMIT:.0%} of start",
                "—",
                f"{soak.start_mib:.0f} → {soak.end_mib:.0f} MiB, "
                f"{soak.slope_mib_per_minute:+.2f} MiB/min",
                f"{soak.fitted_growth_share:+.1%} fitted",
                _verdict(soak.met),
            ]
        )
    lines = [_table_line(header), _table_line(["---"] * len(header))]
    lines += [_table_line(row) for row in rows]
    return "\n".join(lines)


def _table_line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _share_line(what: str, share: float | None) -> str:
    if share is None:
        return f"Other processes' CPU use during {what}: unknown (no /proc)."
    line = f"Other processes used {share:.0%} of the CPUs during {what}."
    if share >= 0.05:
        line = f"WARNING: {line} The numbers are pessimistic; run again on a quiet machine."
    return line


def load_lines(result: LoadResult) -> list[str]:
    """The noise, the generator's CPU and any failed or unexpected replies, for the console."""
    lines = [_share_line("the load", result.other_cpu_share)]
    if result.soak is not None:
        lines.append(_share_line("the soak", result.soak_other_cpu_share))
    share = result.generator_cpu_share
    line = f"The load generator used at most {share:.0%} of one CPU (its own process)."
    if share >= GENERATOR_CPU_WARNING:
        line = f"WARNING: {line} It may have limited the throughput."
    lines.append(line)
    for outcome, what in ((ERROR, "got no answer"), (UNEXPECTED, "got an unexpected answer")):
        counts = result.single.outcomes(outcome)
        if counts:
            lines.append(f"WARNING: 1 user: turns that {what}: {counts}")
    named: list[tuple[str, LevelStats]] = [
        (f"{level.users} users, {TARGET_TITLES[target]}", stats)
        for level in result.levels
        for target, stats in ((STOCK, level.stock), (PROJECT, level.project))
    ]
    if result.soak is not None:
        named.append(("soak", result.soak.load))
    for name, stats in named:
        if stats.errors or stats.unexpected:
            lines.append(
                f"WARNING: {name}: {stats.errors} messages got no answer, "
                f"{stats.unexpected} an unexpected one"
            )
    return lines


def load_json(result: LoadResult) -> dict[str, Any]:
    """The load benchmark's part of the results file, with every sample."""
    single = result.single
    return {
        "load_seconds": result.load_seconds,
        "warmup_rounds": WARMUP_ROUNDS,
        "level_warmup_seconds": LEVEL_WARMUP_SECONDS,
        "other_processes_cpu_share": _rounded(result.other_cpu_share),
        "generator_cpu_share": round(result.generator_cpu_share, 3),
        "single_user": {
            "stock_bot_only_ms": single.bot_only(STOCK).to_json(),
            "project_bot_only_ms": single.bot_only(PROJECT).to_json(),
            "project_order_lookup_ms": single.order_lookup.to_json(),
            "bot_only_p50_ratio": round(single.bot_only_ratio, 3),
            "order_lookup_to_stock_bot_only_p50_ratio": round(single.order_lookup_ratio, 3),
            "errors": single.outcomes(ERROR),
            "unexpected_replies": single.outcomes(UNEXPECTED),
            "samples_ms": {
                probe_key(target, scenario): [
                    round(r.milliseconds, 3)
                    for r in single.result.requests
                    if r.key == probe_key(target, scenario) and r.outcome != ERROR
                ]
                for target, scenario in SINGLE_USER_PROBES
            },
        },
        "levels": {
            str(level.users): {
                "stock": level.stock.to_json(),
                "project": level.project.to_json(),
                "throughput_ratio": round(level.throughput_ratio, 3),
                "throughput_met": level.throughput_met,
                "tail_met": level.tail_met,
            }
            for level in result.levels
        },
        "rss_kib": {
            "after_warmup": {
                "stock": result.after_warmup.stock_kib,
                "project": result.after_warmup.project_kib,
            },
            "after_load": {
                "stock": result.after_load.stock_kib,
                "project": result.after_load.project_kib,
            },
        },
        "soak": None
        if result.soak is None
        else {
            "minutes": result.soak.minutes,
            "rss_samples_kib": [[round(t, 1), kib] for t, kib in result.soak.rss_samples],
            "slope_mib_per_minute": round(result.soak.slope_mib_per_minute, 4),
            "fitted_growth_share": round(result.soak.fitted_growth_share, 5),
            "met": result.soak.met,
            "load": result.soak.load.to_json(),
            "other_processes_cpu_share": _rounded(result.soak_other_cpu_share),
        },
        "verdicts": {title: met for title, met in result.verdicts()},
        "missed": result.missed,
    }


def _rounded(share: float | None) -> float | None:
    return None if share is None else round(share, 3)


# --- Orchestration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSettings:
    """How long each part runs."""

    load_seconds: float = DEFAULT_LOAD_SECONDS
    soak_minutes: float = DEFAULT_SOAK_MINUTES


def _stock_port(environment: BenchEnvironment) -> int:
    taken = {environment.ports.rasa, environment.ports.actions, environment.ports.desk}
    while True:
        (port,) = free_ports(1)
        if port not in taken:
            return port


def verify_bots(base_urls: Mapping[str, str], tokens: Mapping[str, str]) -> None:
    """Sends each measured message once to its bot and checks the actions it ran and its reply
    (raises `UnexpectedBehaviour`)."""
    for target, base_url in base_urls.items():
        client = RestClient(base_url, tokens[target])
        try:
            for scenario in {scenario for t, scenario in SINGLE_USER_PROBES if t == target}:
                verify_scenario(client, scenario)
        finally:
            client.close()


def _rss(stacks: Mapping[str, Stack]) -> MemoryReading:
    stock = stacks[STOCK].running["stock-rasa"].process.pid
    project = stacks[PROJECT].running["rasa"].process.pid
    return MemoryReading(process_tree_rss_kib(stock), process_tree_rss_kib(project))


def _levels(base_urls: Mapping[str, str], load_seconds: float) -> tuple[LevelComparison, ...]:
    runs: dict[tuple[int, str], list[LoadRun]] = {}
    half = load_seconds / 2
    for users, target in level_schedule(LEVELS):
        print(f"  {users} users against {TARGET_TITLES[target]} for {half:g} s...", flush=True)
        run = measure_throughput([base_urls[target]], users, half, bot_only_messages(target))
        runs.setdefault((users, target), []).append(run)
    return tuple(
        LevelComparison(
            users, LevelStats.of(runs[users, STOCK]), LevelStats.of(runs[users, PROJECT])
        )
        for users in LEVELS
    )


def _soak(base_url: str, rasa_pid: int, minutes: float) -> SoakResult:
    samples: list[tuple[float, int]] = []
    start = time.monotonic()

    def sample() -> None:
        samples.append((time.monotonic() - start, process_tree_rss_kib(rasa_pid)))

    sample()
    run = measure_throughput(
        [base_url],
        SOAK_USERS,
        minutes * 60,
        bot_only_messages(PROJECT),
        warmup_seconds=0.0,
        on_tick=sample,
    )
    sample()
    return SoakResult(minutes, tuple(samples), LevelStats.of([run]))


def _interleaved(base_urls: Mapping[str, str], seconds: float, rounds: int) -> JobResult:
    probes = single_user_probes(base_urls)
    return run_generator(Job(kind=INTERLEAVED, probes=probes, seconds=seconds, min_rounds=rounds))


def run_load(environment: BenchEnvironment, settings: LoadSettings) -> LoadResult:
    """Starts stock Rasa next to the project's isolated system and measures both (see the
    module docstring); stock Rasa is trained first if this Rasa version has no bot yet."""
    bot = prepare_stock_bot()
    stock_port = _stock_port(environment)
    base_urls = {STOCK: f"http://127.0.0.1:{stock_port}", PROJECT: environment.rasa_url}
    tokens = {STOCK: new_auth_token(), PROJECT: environment.secrets.rasa_auth_token}
    print(
        f"Starting stock Rasa (port {stock_port}) and this project (Rasa on port "
        f"{environment.ports.rasa}, model {environment.model})...",
        flush=True,
    )
    stock_stack = Stack(environment.log_dir, stock_variables())
    soak, soak_other = None, None
    try:
        # Both servers load their models at the same time: stock's is started, not awaited.
        stock_stack.start(stock_rasa_server(bot, stock_port, tokens[STOCK]))
        with running_stack(
            environment.services(), environment.log_dir, environment.variables()
        ) as project_stack:
            stock_stack.wait_healthy("stock-rasa")
            stacks = {STOCK: stock_stack, PROJECT: project_stack}
            print(
                f"Checking both bots' replies, then {WARMUP_ROUNDS} warm-up rounds...", flush=True
            )
            verify_bots(base_urls, tokens)
            _interleaved(base_urls, 0.0, WARMUP_ROUNDS)
            after_warmup = _rss(stacks)
            start = cpu_snapshot()
            print(f"1 user, both bots interleaved, {settings.load_seconds:g} s...", flush=True)
            single = SingleUser(_interleaved(base_urls, settings.load_seconds, 1))
            print(f"Closed-loop levels {LEVELS} (A B B A halves)...", flush=True)
            levels = _levels(base_urls, settings.load_seconds)
            after_load = _rss(stacks)
            other = other_cpu_share(start, cpu_snapshot())
            stock_stack.stop_all()
            if settings.soak_minutes > 0:
                print(
                    f"Soak: {settings.soak_minutes:g} min at {SOAK_USERS} users on this "
                    "project's Rasa...",
                    flush=True,
                )
                start = cpu_snapshot()
                rasa_pid = project_stack.running["rasa"].process.pid
                soak = _soak(environment.rasa_url, rasa_pid, settings.soak_minutes)
                soak_other = other_cpu_share(start, cpu_snapshot())
    finally:
        stock_stack.stop_all()
    return LoadResult(
        settings.load_seconds, single, levels, after_warmup, after_load, soak, other, soak_other
    )


# --- Command line --------------------------------------------------------------------------------


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value >= 2:
        raise argparse.ArgumentTypeError("must be 2 seconds or more")
    return value


def _non_negative_minutes(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more (0 skips the soak)")
    return value


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The load's options, shared by `benchmarks.run` and this module's own command line."""
    parser.add_argument(
        "--load-seconds",
        type=_positive_seconds,
        default=DEFAULT_LOAD_SECONDS,
        metavar="S",
        help="the 1-user turns in all, and each bot's counted time per level of users",
    )
    parser.add_argument(
        "--soak-minutes",
        type=_non_negative_minutes,
        default=DEFAULT_SOAK_MINUTES,
        metavar="N",
        help=f"steady load ({SOAK_USERS} users) on this project's Rasa; 0 skips it",
    )


def load_settings(args: argparse.Namespace) -> LoadSettings:
    """The settings the parsed options ask for."""
    return LoadSettings(args.load_seconds, args.soak_minutes)


DEFAULT_MODEL = PROJECT_ROOT / "models" / "support-assistant.tar.gz"
DEFAULT_JSON = PROJECT_ROOT / "var" / "bench" / "load.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """This module's own command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description="REST load on this project's Rasa and stock Rasa, side by side.",
    )
    add_load_arguments(parser)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the project's model")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH")
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and databases")
    return parser.parse_args(argv)


#: What makes the benchmark unable to run (exit code 1), as opposed to a missed target.
RUN_FAILURES: tuple[type[BaseException], ...] = (
    ServiceFailedToStart,
    StockBotFailed,
    LoadGeneratorFailed,
    UnexpectedBehaviour,
    ProcessLookupError,
    requests.RequestException,
    FileNotFoundError,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the load benchmark alone; 0 even when a target is missed, 1 if it could not run."""
    args = parse_args(argv)
    model = args.model.resolve()
    if not model.is_file():
        print(f"No model at {model}: run `make train` or pass --model", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="support-assistant-load-"))
    keep = args.keep_workdir
    try:
        result = run_load(create_environment(workdir / "system", model), load_settings(args))
    except RUN_FAILURES as error:
        keep = True
        print(f"Load benchmark failed: {error}\nLogs and databases: {workdir}", file=sys.stderr)
        return 1
    finally:
        if keep:
            print(f"Work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(load_table(result))
    print()
    for line in load_lines(result):
        print(line)
    missed = result.missed
    print("MISSED: " + "; ".join(missed) if missed else "Load: all targets met.")
    context = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"rasa": version("rasa")},
        "model": str(model),
        "cpus": os.cpu_count(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**context, **load_json(result)}, indent=2) + "\n")
    print(f"Results (with every sample): {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
