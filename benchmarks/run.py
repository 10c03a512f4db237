"""Measure the issue's speed targets and print them as a Markdown table for the README.

    python -m benchmarks.run [--train-runs N] [--turns N] [--warmup N] [--skip-train]
                             [--desk-rounds N] [--desk-warmup N] [--skip-desk]
                             [--mortgage-rounds N] [--mortgage-warmup N] [--skip-mortgage]
                             [--analytics-days N] [--analytics-conversations N]
                             [--analytics-handoffs N] [--analytics-reports N]
                             [--skip-analytics] [--planning-rounds N] [--skip-planning]
                             [--load-seconds S] [--soak-minutes N] [--skip-load]
                             [--scaled-users N] [--scaled-seconds S] [--skip-scaled]
                             [--webchat-sessions N] [--webchat-rate R] [--webchat-duration S]
                             [--webchat-idle-seconds S] [--webchat-transports LIST]
                             [--skip-webchat] [--model-load-pairs N] [--skip-model-load]
                             [--model PATH] [--json PATH] [--keep-workdir]

(`make bench` runs it after installing, training and seeding.) The exit code is 0 whether
or not the targets are met; a missed target is printed as MISSED. It is 1 only if the
benchmark itself could not run (training failed, a server did not start, the bot did not
behave as a scenario expects).

Method
------
Training
    `rasa train --force` of config.yml, domain.yml and data/ into a temporary directory
    (never models/), `--train-runs` times (default 2), one after the other. Each run gets an
    empty training cache of its own (RASA_CACHE_DIRECTORY), so every run is a cold, full
    training, and the shared .rasa/cache is not touched. The time is wall-clock and includes
    starting Python and importing Rasa and TensorFlow: what a developer waits for. Target:
    median <= 180 s on this 2-core machine.

Turns
    An isolated copy of the system, built like an end-to-end test builds one: free loopback
    ports, a fresh SQLite app database (migrated, demo orders seeded), a fresh SQLite tracker
    store, the recording endpoint standing in for the desk, random secrets and telemetry off.
    The Rasa server serves the model trained by this run (or `--model`; by default
    models/support-assistant.tar.gz with `--skip-train`).

    One client sends the turns one after another over a single keep-alive HTTP connection to
    the REST channel (POST /webhooks/rest/webhook). A turn's time is `time.perf_counter()`
    around the whole request, from sending to having read the reply. Every measured turn is
    the first message of a new conversation (a new sender id), so trackers never grow and
    every turn includes creating the tracker, the session start, NLU, the policies, any
    action-server calls and saving the tracker.

    Before measuring, each scenario is sent once and checked against the tracker (the exact
    actions Rasa ran) and the reply, then `--warmup` rounds (default 5) are sent and thrown
    away (the first predictions build TensorFlow's graphs). Then `--turns` rounds (default
    200): one turn of every scenario per round, in a freshly shuffled order each round, so
    machine noise falls on all scenarios alike. Scenarios:

    - bot_only: "hi" -> utter_greet. NLU and policies only, no action-server call.
      Target: p50 <= 30 ms.
    - order_lookup: "where is my order ORD-100002?" -> order_form (validate_order_form on
      the action server, with a database lookup) -> action_order_status (a second call),
      which also asks the bot-only rating's question and starts its form (no more calls).
      Target: p50 <= 60 ms.
    - long_message: 10,000 characters. The NLU screen cuts it to 1,000 characters before the
      costly components and it ends in action_nlu_fallback (one action-server call). For
      information: it shows the cost of long input stays bounded.
    - handoff: "where is my order ORD-100005?" (delayed) -> lookup, action_order_status and
      action_handoff, which builds the handoff context, stores it in the outbox and POSTs it
      to the desk stand-in. For information.

Load against stock Rasa
    After the turns (unless `--skip-load`), a second isolated copy of the system and, next to
    it, stock Rasa (the `rasa init` bot, `rasa run --enable-api`, in-memory tracker store),
    trained once per Rasa version into var/bench/ (benchmarks/stock_bot.py). Over the REST
    channel, a new sender per message, from a load generator in a process of its own, both
    bots interleaved in the same minutes: one user (bot-only "hi"/"bye" turns of both, the
    project's order lookup; `--load-seconds`, default 60 s, in all); 10 and 50 users in a
    closed loop (`--load-seconds` per bot per level, in A B B A halves); each Rasa server's
    RSS after the warm-up and after the load; then a soak of `--soak-minutes` (default 20; 0
    skips it) at 10 users on the project's Rasa alone with its RSS sampled every 10 s.
    Targets, as ratios to stock measured in the same run: bot-only p50 <= 1.0x; order lookup
    p50 <= 1.5x stock's bot-only p50; throughput >= 1.0x at 10 and 50 users; p99 <= 3x p50 at
    50 users; RSS <= 1.10x; no RSS growth in the soak. benchmarks/load.py describes the method;
    it also runs alone as `python -m benchmarks.load`.

Desk
    After the load (unless `--skip-desk`), a third isolated copy of the system, this time
    with the real desk in place of the recording endpoint, and two clients in this process:
    the customer's web chat over socket.io and an agent's console (logged in, its `/api/live`
    websocket open throughout). `--desk-warmup` discarded rounds (default 3), then
    `--desk-rounds` rounds (default 40), each a new conversation: the customer triggers a
    handoff, the agent claims it, writes to the customer and resolves it. Timed, from
    `time.perf_counter()` before the request to the arrival of its effect at the other end:

    - customer's "where is my order ORD-100005?" -> the chat in the agent console (the
      console's `queue_changed` and its follow-up GET /api/queues listing the handoff).
      Target: p95 <= 250 ms. The `queue_changed` arrival alone is reported for information;
    - agent's message (POST /api/handoffs/{id}/messages) -> the customer's `bot_uttered`.
      Target: p95 <= 100 ms;
    - hand-back (POST /api/handoffs/{id}/resolve) -> the bot's "Welcome back..."
      `bot_uttered` on the customer's page. Target: p95 <= 300 ms.

    benchmarks/desk_latency.py describes exactly where each t0 and t1 is taken.

Mortgage journey
    Right after the desk's rounds, in the same system (unless `--skip-desk` or
    `--skip-mortgage`): `--mortgage-warmup` discarded rounds (default 2), then
    `--mortgage-rounds` rounds (default 30), each a new application:

    - a customer's 5 MB PDF (POST /chat/uploads) -> the document in the advisor's screen-pop
      (the console's `application_changed` and its GET /api/cases/{ref}). Target: p95 <= 500 ms;
    - a returning customer's one-time code (a new conversation, REST channel) -> the bot's
      reply with where the application stands, the desk's verification included. Target:
      p95 <= 300 ms. A "hi" of a new conversation on the same connection in the same rounds is
      the baseline: their ratio is what verification and the record cost.

    benchmarks/mortgage_latency.py describes exactly where each t0 and t1 is taken.

Analytics
    Last (unless `--skip-analytics`), with no server: a synthetic history in the work
    directory (`--analytics-days` 30 days of `--analytics-conversations` 100,000 conversations,
    `--analytics-handoffs` 20,000 of them handed off; benchmarks/synthetic_history.py), the
    full build of the supervisors' facts from it, then an incremental build with nothing new
    and one with 1% new events; then the dashboard's report over the whole period, cut by
    journey and by week, `--analytics-reports` rounds (default 20). Targets: the build folds
    >= 20,000 tracker events per second; the report's p95 <= 1 s. Baselines in the same run:
    reading the same rows (SELECT and json.loads) and `SELECT 1` through a session.
    benchmarks/analytics_bench.py describes the method.

Planning views
    Then (unless `--skip-planning`) on the same facts: the journey map and the service
    blueprint of each journey over the whole period, `--planning-rounds` rounds (default 20),
    with the dashboard's report in the same rounds as the baseline. Target: p95 <= 2 s for a
    journey's map + blueprint. benchmarks/planning_bench.py describes the method.

Several Rasa processes
    Last (unless `--skip-scaled`): the scaled system (`make run-scaled`'s processes on
    PostgreSQL, Redis, RabbitMQ and HAProxy, isolated) under a closed loop of `--scaled-users`
    users (default 20) for `--scaled-seconds` (default 60) on one Rasa process, then on two
    behind the balancer; the throughput ratio is printed after the table and written to
    var/bench/scaled.json. benchmarks/scaled.py describes the method.
Web chats at once
    Last (unless `--skip-webchat`), a third isolated copy of the system: `--webchat-sessions`
    (1,000) socket.io web chats open at once, idle, then `--webchat-rate` (10) messages a
    second in all for `--webchat-duration` (120) seconds, over each of `--webchat-transports`
    (polling, websocket). Targets: every message answered, p99 <= 1 s.
    benchmarks/webchat_load.py describes the method.

Model load
    Rasa's own `RasaModel.load` against the quick load the Rasa server installs, each in a
    fresh process, `--model-load-pairs` of each (default 3) in A B B A order; medians, p95 and
    the ratio. Target: the quick median at most half of Rasa's. benchmarks/model_load.py
    describes the method.

Reading the numbers
-------------------
The turn targets are on the median (p50), the desk's on the 95th percentile (p95). p95 and
max show the tail: garbage collection, SQLite commits, the outbox relay waking up, other
processes on the machine. The ratio of the order-lookup median to the bot-only median is the
price of the two action-server calls and the lookup; since both are measured in the same
rounds it holds up even when the machine is busy, while the absolute numbers do not.

The benchmark's own processes keep the machine busy, so the load average says nothing about
outside noise. Instead the run reports the share of all CPUs that *other* processes used
during the trainings, the measured turns and the measured desk rounds (machine busy time
minus that of this process and its children, from /proc). Above a few percent (a warning is
printed from 5%), something else was running, e.g. another engineer's end-to-end tests, and
the numbers are pessimistic: run again on a quiet machine. Compare numbers only between runs
on the same machine. The JSON file (default var/bench/results.json) also has every raw sample.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiohttp
import requests

from analytics.settings import AnalyticsSettings
from benchmarks import scaled
from benchmarks.analytics_bench import AnalyticsResult, run_analytics
from benchmarks.desk_latency import run_desk_rounds
from benchmarks.load import (
    LoadGeneratorFailed,
    add_load_arguments,
    load_settings,
    run_load,
)
from benchmarks.machine import CpuSnapshot, cpu_snapshot, other_cpu_share
from benchmarks.model_load import ModelLoadFailed, run_model_loads
from benchmarks.mortgage_latency import run_mortgage_rounds
from benchmarks.planning_bench import PlanningResult, run_planning
from benchmarks.report import (
    DeskResult,
    MortgageResult,
    Results,
    ScenarioResult,
    TrainingResult,
    markdown_report,
    verdict_lines,
    write_json,
)
from benchmarks.stats import summarise
from benchmarks.stock_bot import StockBotFailed
from benchmarks.synthetic_history import HistorySize
from benchmarks.training import TrainingFailed, time_trainings
from benchmarks.turns import SCENARIOS, RestClient, Samples, UnexpectedBehaviour, measure, warm_up
from benchmarks.webchat_load import LoadFailed, add_arguments, options_from, run_webchat_load
from benchmarks.workdir import scratch_workdir
from harness.isolated_system import (
    BenchEnvironment,
    DeskEnvironment,
    create_desk_environment,
    create_environment,
)
from launcher.stack import PROJECT_ROOT, ServiceFailedToStart, running_stack

DEFAULT_MODEL = PROJECT_ROOT / "models" / "support-assistant.tar.gz"
DEFAULT_JSON = PROJECT_ROOT / "var" / "bench" / "results.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Time `rasa train`, REST turns and the desk's live handoff; print Markdown.",
    )
    parser.add_argument("--train-runs", type=_non_negative, default=2, metavar="N")
    parser.add_argument("--skip-train", action="store_true", help="do not time training")
    parser.add_argument(
        "--turns", type=_positive, default=200, metavar="N", help="measured turns per scenario"
    )
    parser.add_argument(
        "--warmup", type=_non_negative, default=5, metavar="N", help="discarded rounds"
    )
    parser.add_argument(
        "--desk-rounds",
        type=_positive,
        default=40,
        metavar="N",
        help="measured desk rounds (handoff, claim, message, hand-back)",
    )
    parser.add_argument(
        "--desk-warmup", type=_non_negative, default=3, metavar="N", help="discarded desk rounds"
    )
    parser.add_argument("--skip-desk", action="store_true", help="do not time the desk")
    parser.add_argument(
        "--model-load-pairs",
        type=_positive,
        default=3,
        metavar="N",
        help="model loads of each kind (Rasa's own, quick)",
    )
    parser.add_argument(
        "--skip-model-load", action="store_true", help="do not time the model loads"
    )
    parser.add_argument(
        "--mortgage-rounds",
        type=_positive,
        default=30,
        metavar="N",
        help="measured mortgage rounds (a 5 MB upload, a returning customer)",
    )
    parser.add_argument(
        "--mortgage-warmup", type=_non_negative, default=2, metavar="N", help="discarded rounds"
    )
    parser.add_argument(
        "--skip-mortgage", action="store_true", help="do not time the mortgage journey"
    )
    parser.add_argument(
        "--analytics-days", type=_positive, default=30, metavar="N", help="days of history"
    )
    parser.add_argument(
        "--analytics-conversations",
        type=_positive,
        default=100_000,
        metavar="N",
        help="synthetic conversations for the analytics",
    )
    parser.add_argument(
        "--analytics-handoffs",
        type=_non_negative,
        default=20_000,
        metavar="N",
        help="how many of them are handed off",
    )
    parser.add_argument(
        "--analytics-reports",
        type=_positive,
        default=20,
        metavar="N",
        help="measured rounds of the dashboard's report",
    )
    parser.add_argument("--skip-analytics", action="store_true", help="do not time the analytics")
    parser.add_argument(
        "--planning-rounds",
        type=_positive,
        default=20,
        metavar="N",
        help="measured rounds of the journey map and blueprint (on the analytics' facts)",
    )
    parser.add_argument(
        "--skip-planning", action="store_true", help="do not time the planning views"
    )
    add_load_arguments(parser)
    parser.add_argument(
        "--skip-load", action="store_true", help="do not measure the load against stock Rasa"
    )
    add_arguments(parser, prefix="webchat-")
    parser.add_argument(
        "--skip-webchat", action="store_true", help="do not open the thousand web chats"
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="model to serve (default: the one just trained, else models/support-assistant)",
    )
    parser.add_argument("--scaled-users", type=_positive, default=scaled.DEFAULT_USERS, metavar="N")
    parser.add_argument("--scaled-seconds", type=float, default=scaled.DEFAULT_SECONDS, metavar="S")
    parser.add_argument(
        "--skip-scaled", action="store_true", help="do not measure 1 against 2 Rasa processes"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH")
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the logs and databases of the run"
    )
    args = parser.parse_args(argv)
    if args.analytics_handoffs > args.analytics_conversations:
        parser.error("--analytics-handoffs cannot be more than --analytics-conversations")
    return args


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _training_env() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}


def run_training(runs: int, workdir: Path) -> tuple[TrainingResult, Path]:
    """Times the trainings; returns their result and the last model trained."""
    print(f"Timing {runs} forced trainings (rasa train --force, cold cache)...", flush=True)
    start = cpu_snapshot()
    trained = time_trainings(runs, workdir / "training", _training_env())
    other = other_cpu_share(start, cpu_snapshot())
    seconds = [run.seconds for run in trained]
    return TrainingResult(seconds, summarise(seconds), other), trained[-1].model


def run_turns(
    environment: BenchEnvironment, turns: int, warmup: int
) -> tuple[list[ScenarioResult], float | None]:
    """Starts the isolated system, warms it up and measures the scenarios' turns."""
    print(
        f"Starting the system (Rasa on port {environment.ports.rasa}, model "
        f"{environment.model})...",
        flush=True,
    )
    with running_stack(environment.services(), environment.log_dir, environment.variables()):
        client = RestClient(environment.rasa_url, environment.secrets.rasa_auth_token)
        try:
            print(f"Checking the scenarios and warming up ({warmup} rounds)...", flush=True)
            warm_up(client, SCENARIOS, warmup)
            print(f"Measuring {turns} rounds of {len(SCENARIOS)} turns...", flush=True)
            start = cpu_snapshot()
            samples = measure(client, SCENARIOS, turns)
            other = other_cpu_share(start, cpu_snapshot())
        finally:
            client.close()
    return _scenario_results(samples), other


def run_desk(
    environment: DeskEnvironment, args: argparse.Namespace
) -> tuple[DeskResult, MortgageResult | None]:
    """Starts the isolated system with the real desk and times the live handoff's paths, then
    (unless skipped) the mortgage journey's."""
    rounds, warmup = args.desk_rounds, args.desk_warmup
    print(
        f"Starting the system with the desk (desk on port {environment.system.ports.desk}, "
        f"Rasa on port {environment.system.ports.rasa})...",
        flush=True,
    )
    with running_stack(environment.services(), environment.log_dir, environment.variables()):
        print(f"Desk: {warmup} warm-up rounds, then {rounds} measured rounds...", flush=True)
        starts: list[CpuSnapshot | None] = []  # taken after the warm-up
        samples = run_desk_rounds(
            environment.desk_url,
            environment.rasa_url,
            environment.demo_password,
            rounds,
            warmup,
            on_measuring=lambda: starts.append(cpu_snapshot()),
        )
        other = other_cpu_share(starts[0] if starts else None, cpu_snapshot())
        mortgage = None if args.skip_mortgage else run_mortgage(environment, args)
    return DeskResult.of(samples, warmup, other), mortgage


def run_mortgage(environment: DeskEnvironment, args: argparse.Namespace) -> MortgageResult:
    """Times the mortgage journey's paths in the running system (see the module doc)."""
    rounds, warmup = args.mortgage_rounds, args.mortgage_warmup
    print(f"Mortgage: {warmup} warm-up rounds, then {rounds} measured rounds...", flush=True)
    starts: list[CpuSnapshot | None] = []
    samples = run_mortgage_rounds(
        environment.desk_url,
        environment.rasa_url,
        environment.demo_password,
        environment.system.secrets.handoff_secret,
        environment.codes_file,
        rounds,
        warmup,
        on_measuring=lambda: starts.append(cpu_snapshot()),
    )
    other = other_cpu_share(starts[0] if starts else None, cpu_snapshot())
    return MortgageResult.of(samples, warmup, other)


def _scenario_results(samples: dict[str, Samples]) -> list[ScenarioResult]:
    return [
        ScenarioResult(
            scenario, samples[scenario.key], summarise(samples[scenario.key].milliseconds)
        )
        for scenario in SCENARIOS
    ]


def _git_commit() -> str | None:
    try:
        completed = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return completed.stdout.strip()


def _context(args: argparse.Namespace, model: Path) -> dict[str, Any]:
    return {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": _git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {"rasa": version("rasa"), "rasa_sdk": version("rasa-sdk")},
        "method": {
            "model": str(model),
            "turns": args.turns,
            "warmup_rounds": args.warmup,
            "desk_rounds": None if args.skip_desk else args.desk_rounds,
            "desk_warmup_rounds": None if args.skip_desk else args.desk_warmup,
            "mortgage_rounds": None
            if args.skip_desk or args.skip_mortgage
            else args.mortgage_rounds,
            "analytics_reports": None if args.skip_analytics else args.analytics_reports,
            "load_seconds": None if args.skip_load else args.load_seconds,
            "soak_minutes": None if args.skip_load else args.soak_minutes,
            "model_load_pairs": None if args.skip_model_load else args.model_load_pairs,
            "planning_rounds": None
            if args.skip_analytics or args.skip_planning
            else args.planning_rounds,
        },
    }


def run(args: argparse.Namespace, workdir: Path) -> Results:
    """Everything the benchmark measures, in a scratch directory."""
    training = None
    model: Path | None = args.model
    if not args.skip_train and args.train_runs > 0:
        training, trained_model = run_training(args.train_runs, workdir)
        model = model or trained_model
    model = (model or DEFAULT_MODEL).resolve()
    if not model.is_file():
        raise FileNotFoundError(f"no model at {model}: run `make train` or pass --model")
    model_load = None
    if not args.skip_model_load:
        print(f"Timing {args.model_load_pairs} model loads of each kind (A B B A)...", flush=True)
        model_load = run_model_loads(model, args.model_load_pairs)
    environment = create_environment(workdir / "system", model)
    turns, other = run_turns(environment, args.turns, args.warmup)
    load = None
    if not args.skip_load:
        load_environment = create_environment(workdir / "load-system", model)
        load = run_load(load_environment, load_settings(args))
    desk, mortgage = None, None
    if not args.skip_desk:
        desk_environment = create_desk_environment(workdir / "desk-system", model)
        desk, mortgage = run_desk(desk_environment, args)
    analytics = None
    if not args.skip_analytics:
        size = HistorySize(
            args.analytics_days, args.analytics_conversations, args.analytics_handoffs
        )
        analytics = run_analytics(workdir / "analytics", size, args.analytics_reports)
    planning = None
    if analytics is not None and not args.skip_planning:
        planning = run_planning_on(analytics, args.planning_rounds)
    webchat = None
    if not args.skip_webchat:
        options = options_from(args, prefix="webchat-")
        webchat = run_webchat_load(workdir / "webchat-system", model, options)
    return Results(
        training,
        turns,
        other,
        _context(args, model),
        desk,
        mortgage,
        analytics,
        planning,
        load=load,
        webchat=webchat,
        model_load=model_load,
    )


def run_planning_on(analytics: AnalyticsResult, rounds: int) -> PlanningResult:
    """Times the planning views on the facts the analytics benchmark built."""
    assert analytics.facts_url and analytics.first_day and analytics.last_day
    settings = AnalyticsSettings.from_env({"ANALYTICS_DATABASE_URL": analytics.facts_url})
    return run_planning(
        analytics.facts_url, settings, analytics.first_day, analytics.last_day, rounds
    )


def report(results: Results, json_path: Path) -> None:
    """Prints the table and the verdict and writes the results file."""
    print()
    print(markdown_report(results))
    print()
    for line in verdict_lines(results):
        print(line)
    write_json(results, json_path)
    print(f"Results (with every sample): {json_path}")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark; 0 even when a target is missed, 1 if it could not run."""
    args = parse_args(argv)
    try:
        with scratch_workdir("support-assistant-bench-", args.keep_workdir) as workdir:
            results = run(args, workdir)
    except (
        ServiceFailedToStart,
        TrainingFailed,
        UnexpectedBehaviour,
        StockBotFailed,
        LoadGeneratorFailed,
        ProcessLookupError,
        requests.RequestException,
        aiohttp.ClientError,
        FileNotFoundError,
        LoadFailed,
        ModelLoadFailed,
    ) as error:
        print(f"Benchmark failed: {error}", file=sys.stderr)
        return 1
    report(results, args.json)
    if args.skip_scaled:
        return 0
    return scaled.main(
        [
            "--model",
            str((args.model or DEFAULT_MODEL).resolve()),
            "--users",
            str(args.scaled_users),
            "--seconds",
            str(args.scaled_seconds),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
