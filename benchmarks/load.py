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
  recording endpoint standing in for the desk; `harness/isolated_system.py`).

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
server(s) and `LevelStats.of([run])` (benchmarks/load_results.py) summarises it: throughput,
p50/p95/p99, errors. It is the hook for the benchmarks of two Rasa processes and of the web
chat. What the numbers mean, the targets and the report are in benchmarks/load_results.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import requests

from benchmarks.load_generator import (
    CLOSED_LOOP,
    INTERLEAVED,
    Job,
    JobResult,
    Message,
)
from benchmarks.load_results import (
    DEFAULT_LOAD_SECONDS,
    DEFAULT_SOAK_MINUTES,
    LEVEL_WARMUP_SECONDS,
    LEVELS,
    PROJECT,
    SINGLE_USER_PROBES,
    SOAK_SAMPLE_SECONDS,
    SOAK_USERS,
    STOCK,
    TARGET_TITLES,
    WARMUP_ROUNDS,
    LevelComparison,
    LevelStats,
    LoadResult,
    LoadRun,
    MemoryReading,
    SingleUser,
    SoakResult,
    bot_only_messages,
    level_schedule,
    load_json,
    load_lines,
    load_table,
    single_user_probes,
)
from benchmarks.machine import cpu_snapshot, other_cpu_share
from benchmarks.memory import process_tree_rss_kib
from benchmarks.stock_bot import (
    StockBotFailed,
    new_auth_token,
    prepare_stock_bot,
    stock_rasa_server,
    stock_variables,
)
from benchmarks.turns import RestClient, UnexpectedBehaviour
from benchmarks.turns import verify as verify_scenario
from benchmarks.workdir import scratch_workdir
from harness.isolated_system import BenchEnvironment, create_environment
from harness.loopback import free_ports
from launcher.stack import (
    PROJECT_ROOT,
    Service,
    ServiceFailedToStart,
    Stack,
    running_stack,
)

#: How long a server may take to load its model here (the launcher allows 3 minutes).
START_TIMEOUT_SECONDS = 600.0


class LoadGeneratorFailed(RuntimeError):
    """The load generator exited with an error or did not finish in time."""


# --- Running the generator -------------------------------------------------------------------


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


def patient(service: Service) -> Service:
    """The service with `START_TIMEOUT_SECONDS` to become healthy: a benchmark measures
    turns, not start-up, and must not fail because other work slowed a model's loading."""
    return replace(service, startup_timeout=max(service.startup_timeout, START_TIMEOUT_SECONDS))


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
        # One after the other: two Rasa servers loading TensorFlow at once on a busy 2-core
        # machine took longer than the launcher's 3 minutes.
        stock_stack.start_all([patient(stock_rasa_server(bot, stock_port, tokens[STOCK]))])
        with running_stack(
            [patient(service) for service in environment.services()],
            environment.log_dir,
            environment.variables(),
        ) as project_stack:
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
    try:
        with scratch_workdir("support-assistant-load-", args.keep_workdir) as workdir:
            environment = create_environment(workdir / "system", model)
            result = run_load(environment, load_settings(args))
    except RUN_FAILURES as error:
        print(f"Load benchmark failed: {error}", file=sys.stderr)
        return 1
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
