"""Many web chats open at once: every message answered, and the tail of the reply time.

    python -m benchmarks.webchat_load [--sessions N] [--rate R] [--duration S]
                                      [--idle-seconds S] [--transports polling,websocket]
                                      [--model PATH] [--json PATH] [--keep-workdir]

(`python -m benchmarks.run` runs it last unless `--skip-webchat`, with `--webchat-sessions`,
`--webchat-rate`, `--webchat-duration`, `--webchat-idle-seconds`, `--webchat-transports`.)

Method
------
The isolated system of the turn benchmarks (harness/isolated_system.py: free loopback ports,
fresh SQLite databases, the recording endpoint as the desk, the Rasa server as
`python -m assistant run`, the web chat channel from credentials.yml). Rasa is warmed up with
a few REST turns first (the first predictions build TensorFlow's graphs).

The customers are the npm registry's socket.io-client (4.8.1, as web pages and rasa-webchat
use it) in ONE node process (benchmarks/webchat_clients.mjs): node holds a thousand sessions
in a few percent of a core, so the load generator stays off the critical path; its CPU share
is measured and reported beside Rasa's. For each transport in `--transports`, in turn, on the
same Rasa process:

1. open `--sessions` sessions (default 1,000), 50 at a time; each does Rasa's
   `session_request` -> `session_confirm`. The clients are forced onto the transport
   (`transports: ["polling"]` or `["websocket"]`); `default` is the client's default (polling,
   then the upgrade the server offers);
2. idle: nobody says anything for `--idle-seconds` (default 60, more than two of engine.io's
   25 s ping intervals). Measured: the Rasa process's CPU (% of one core, from /proc/<pid>/stat)
   and RSS, the clients' HTTP requests per second and the node process's CPU. This is the
   price of keeping the sessions open;
3. load: `--rate` messages a second in all (default 10) for `--duration` seconds (default 120),
   at random moments (exponential gaps, seeded), each from the next session with nothing in
   flight: "hi" (4 in 11), "bye" (3 in 11) and order lookups of orders the bot resolves
   alone (4 in 11: two action-server calls and a database lookup each). A message's time is
   from its emit to the first `bot_uttered` of its session, both taken in the node process.
   A message with no reply within 30 s after the last one was sent counts as unanswered.

Targets (issue 13): every message answered; p99 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from benchmarks.machine import cpu_snapshot, other_cpu_share
from benchmarks.stats import Summary, percentile, summarise
from benchmarks.turns import RestClient
from benchmarks.workdir import scratch_workdir
from harness.isolated_system import BenchEnvironment, create_environment
from launcher.stack import PROJECT_ROOT, ServiceFailedToStart, running_stack

CLIENTS_SCRIPT: Final = Path(__file__).resolve().parent / "webchat_clients.mjs"
CLIENTS_DIR: Final = PROJECT_ROOT / "tests" / "support" / "node"
DEFAULT_MODEL: Final = PROJECT_ROOT / "models" / "support-assistant.tar.gz"
DEFAULT_JSON: Final = PROJECT_ROOT / "var" / "bench" / "webchat.json"
TRANSPORTS: Final = ("polling", "websocket", "default")
DEFAULT_TRANSPORTS: Final = ("polling", "websocket")
#: The issue's targets: every message answered, and this 99th percentile.
TARGET_P99_MS: Final = 1000.0
#: Sessions opened at once, then the next batch (a page load storm, not a thousand at once).
OPEN_BATCH: Final = 50
#: How long a message may wait for its reply after the last one was sent.
REPLY_TIMEOUT_SECONDS: Final = 30.0
WARMUP_TURNS: Final = ("hi", "where is my order ORD-100002?", "bye")
WARMUP_ROUNDS: Final = 3
SEED: Final = 13


class LoadFailed(RuntimeError):
    """The clients could not run (node missing, no report, sessions not opened)."""


@dataclass(frozen=True)
class ProcessSample:
    """A process's CPU time (clock ticks) and resident memory at one moment."""

    wall_seconds: float
    cpu_ticks: int
    rss_bytes: int

    @classmethod
    def of(cls, pid: int) -> ProcessSample:
        """Read from /proc/<pid> (Linux)."""
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        rss_kb = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
        return cls(time.monotonic(), ticks, rss_kb * 1024)


def cpu_percent(start: ProcessSample, end: ProcessSample) -> float:
    """The process's CPU use between two samples, in % of one core."""
    seconds = end.wall_seconds - start.wall_seconds
    if seconds <= 0:
        return 0.0
    return 100.0 * (end.cpu_ticks - start.cpu_ticks) / os.sysconf("SC_CLK_TCK") / seconds


@dataclass(frozen=True)
class IdleFigures:
    """The cost of the open sessions while nobody says anything."""

    seconds: float
    rasa_cpu_percent: float
    rasa_rss_mb: float
    requests_per_second: float
    clients_cpu_percent: float


@dataclass(frozen=True)
class LoadFigures:
    """The messages sent under load and their reply times."""

    sent: int
    answered: int
    samples_ms: list[float]
    kinds: list[str]
    sending_seconds: float
    rasa_cpu_percent: float
    rasa_rss_mb: float
    clients_cpu_percent: float
    disconnects: int
    disconnect_reasons: dict[str, int]
    skipped_busy: int
    generator_late_p99_ms: float
    transports_at_end: dict[str, int]
    #: Share of all CPUs other processes (not this benchmark's) used meanwhile (None: unknown).
    other_cpu_share: float | None = None

    @property
    def summary(self) -> Summary | None:
        """p50, p95, extremes of the answered messages (None: none answered)."""
        return summarise(self.samples_ms) if self.samples_ms else None

    @property
    def p99_ms(self) -> float | None:
        """The 99th percentile of the answered messages."""
        return percentile(self.samples_ms, 0.99) if self.samples_ms else None

    @property
    def rate(self) -> float:
        """Messages sent per second."""
        return self.sent / self.sending_seconds if self.sending_seconds else 0.0


@dataclass(frozen=True)
class TransportResult:
    """One transport's sessions: opening them, idle, under load."""

    transport: str
    sessions: int
    confirmed: int
    failed: int
    first_error: str | None
    open_seconds: float
    transports_open: dict[str, int]
    idle: IdleFigures
    load: LoadFigures

    @property
    def all_answered(self) -> bool:
        """Every session opened and every message got its reply."""
        return self.confirmed == self.sessions and self.load.answered == self.load.sent

    @property
    def met(self) -> bool:
        """The issue's target: every message answered and p99 <= 1 s."""
        p99 = self.load.p99_ms
        return self.all_answered and p99 is not None and p99 <= TARGET_P99_MS


@dataclass(frozen=True)
class WebchatResult:
    """The web chat load benchmark: the settings and each transport's figures."""

    sessions: int
    rate: float
    duration: float
    idle_seconds: float
    rasa_rss_before_mb: float
    transports: list[TransportResult] = field(default_factory=list)

    @property
    def missed(self) -> list[str]:
        """The transports that miss the target (a result for each one measured)."""
        return [
            f"{self.sessions:,} web chats over {result.transport}"
            for result in self.transports
            if not result.met
        ]


class NodeClients:
    """The node process holding the sessions (benchmarks/webchat_clients.mjs)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, config: dict[str, Any]) -> NodeClients:
        """Starts node with `config`; `LoadFailed` if node or socket.io-client is missing."""
        if shutil.which("node") is None:
            raise LoadFailed("node is not installed (the web chat benchmark's clients run in it)")
        if not (CLIENTS_DIR / "node_modules" / "socket.io-client").is_dir():
            raise LoadFailed("socket.io-client is not installed: run `make node-clients`")
        process = await asyncio.create_subprocess_exec(
            "node",
            str(CLIENTS_SCRIPT),
            json.dumps({**config, "clientsDir": str(CLIENTS_DIR)}),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,  # the report carries every sample on one line
        )
        return cls(process)

    @property
    def pid(self) -> int:
        """The node process's id."""
        return self.process.pid

    async def send(self, **command: Any) -> None:
        """One command line (see webchat_clients.mjs)."""
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def next(self, event: str, timeout: float) -> dict[str, Any]:
        """The next line reporting `event` (others are skipped); `LoadFailed` after `timeout`."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(), max(remaining, 0))
            except asyncio.TimeoutError:
                raise LoadFailed(f"the clients reported no {event} in {timeout:.0f} s") from None
            if not line:
                raise LoadFailed(f"the clients exited ({self.process.returncode}) before {event}")
            message: dict[str, Any] = json.loads(line)
            if message.get("event") == event:
                return message

    async def stats(self) -> dict[str, Any]:
        """The clients' request count, transports and connected sessions now."""
        await self.send(stats=True)
        return await self.next("stats", 30)

    async def close(self) -> None:
        """Disconnects every session and ends the process."""
        if self.process.returncode is None:
            try:
                await self.send(close=True)
                await asyncio.wait_for(self.process.wait(), 30)
            except (ConnectionError, asyncio.TimeoutError):
                self.process.kill()
                await self.process.wait()


def _mb(sample: ProcessSample) -> float:
    return sample.rss_bytes / (1024 * 1024)


async def measure_transport(
    rasa_url: str, rasa_pid: int, transport: str, args: argparse.Namespace
) -> TransportResult:
    """Opens the sessions on `transport`, measures them idle, then under load."""
    config = {
        "url": rasa_url,
        "sessions": args.sessions,
        "transports": transport,
        "prefix": f"bench-{transport}-{uuid.uuid4().hex[:8]}",
        "rate": args.rate,
        "duration": args.duration,
        "replyTimeout": REPLY_TIMEOUT_SECONDS,
        "seed": SEED,
        "batch": OPEN_BATCH,
    }
    print(f"  {transport}: opening {args.sessions:,} sessions...", flush=True)
    clients = await NodeClients.start(config)
    try:
        ready = await clients.next("ready", timeout=max(120.0, args.sessions * 0.5))
        print(
            f"  {transport}: {ready['confirmed']:,} confirmed, {ready['failed']:,} failed in "
            f"{ready['seconds']:.1f} s ({ready['transports']})",
            flush=True,
        )
        if ready["confirmed"] == 0:  # nothing to measure: reported as opened by none
            return refused_result(transport, ready)
        print(f"  {transport}: idle for {args.idle_seconds:.0f} s...", flush=True)
        before = await clients.stats()
        rasa_start, node_start = ProcessSample.of(rasa_pid), ProcessSample.of(clients.pid)
        await asyncio.sleep(args.idle_seconds)  # the measurement window, not a wait for an event
        rasa_end, node_end = ProcessSample.of(rasa_pid), ProcessSample.of(clients.pid)
        after = await clients.stats()
        idle_seconds = rasa_end.wall_seconds - rasa_start.wall_seconds
        idle = IdleFigures(
            seconds=idle_seconds,
            rasa_cpu_percent=cpu_percent(rasa_start, rasa_end),
            rasa_rss_mb=_mb(rasa_end),
            requests_per_second=(after["requests"] - before["requests"]) / idle_seconds,
            clients_cpu_percent=cpu_percent(node_start, node_end),
        )
        print(
            f"  {transport}: idle Rasa {idle.rasa_cpu_percent:.1f}% CPU, "
            f"{idle.rasa_rss_mb:.0f} MB, {idle.requests_per_second:.1f} requests/s; "
            f"load {args.rate:g} msg/s for {args.duration:.0f} s...",
            flush=True,
        )
        rasa_start, node_start = ProcessSample.of(rasa_pid), ProcessSample.of(clients.pid)
        machine_start = cpu_snapshot()
        await clients.send(load=True)
        report = await clients.next("report", timeout=args.duration + REPLY_TIMEOUT_SECONDS + 120.0)
        rasa_end, node_end = ProcessSample.of(rasa_pid), ProcessSample.of(clients.pid)
        others = other_cpu_share(machine_start, cpu_snapshot())
    finally:
        await clients.close()
    samples = [sample for sample in report["samples"] if sample["ms"] is not None]
    load = LoadFigures(
        sent=report["sent"],
        answered=report["answered"],
        samples_ms=[float(sample["ms"]) for sample in samples],
        kinds=[str(sample["kind"]) for sample in samples],
        sending_seconds=report["sendingSeconds"],
        rasa_cpu_percent=cpu_percent(rasa_start, rasa_end),
        rasa_rss_mb=_mb(rasa_end),
        clients_cpu_percent=cpu_percent(node_start, node_end),
        disconnects=report["disconnects"],
        disconnect_reasons=report["disconnectReasons"],
        skipped_busy=report["skippedBusy"],
        generator_late_p99_ms=report["generatorLateP99Ms"],
        transports_at_end=report["transports"],
        other_cpu_share=others,
    )
    return TransportResult(
        transport=transport,
        sessions=ready["sessions"],
        confirmed=ready["confirmed"],
        failed=ready["failed"],
        first_error=ready["firstError"],
        open_seconds=ready["seconds"],
        transports_open=ready["transports"],
        idle=idle,
        load=load,
    )


def refused_result(transport: str, ready: dict[str, Any]) -> TransportResult:
    """The result for a transport on which no session opened (e.g. a server without it)."""
    idle = IdleFigures(0.0, 0.0, 0.0, 0.0, 0.0)
    load = LoadFigures(0, 0, [], [], 0.0, 0.0, 0.0, 0.0, 0, {}, 0, 0.0, ready["transports"])
    return TransportResult(
        transport=transport,
        sessions=ready["sessions"],
        confirmed=0,
        failed=ready["failed"],
        first_error=ready["firstError"],
        open_seconds=ready["seconds"],
        transports_open=ready["transports"],
        idle=idle,
        load=load,
    )


def warm_up(environment: BenchEnvironment) -> None:
    """A few REST turns, so the sessions do not pay for TensorFlow's first graphs."""
    client = RestClient(environment.rasa_url, environment.secrets.rasa_auth_token)
    try:
        for round_number in range(WARMUP_ROUNDS):
            sender = f"webchat-warmup-{round_number}-{uuid.uuid4().hex[:8]}"
            for text in WARMUP_TURNS:
                client.send(sender, text)
    finally:
        client.close()


def run_webchat_load(workdir: Path, model: Path, args: argparse.Namespace) -> WebchatResult:
    """Starts the isolated system and measures each transport in turn (see the module doc)."""
    environment = create_environment(workdir, model)
    print(
        f"Web chat load: {args.sessions:,} sessions, {args.rate:g} msg/s for "
        f"{args.duration:.0f} s, over {', '.join(args.transports)} (Rasa on port "
        f"{environment.ports.rasa})...",
        flush=True,
    )
    with running_stack(
        environment.services(), environment.log_dir, environment.variables()
    ) as stack:
        rasa_pid = stack.running["rasa"].process.pid
        warm_up(environment)
        rss_before = _mb(ProcessSample.of(rasa_pid))
        results = [
            asyncio.run(measure_transport(environment.rasa_url, rasa_pid, transport, args))
            for transport in args.transports
        ]
    return WebchatResult(
        sessions=args.sessions,
        rate=args.rate,
        duration=args.duration,
        idle_seconds=args.idle_seconds,
        rasa_rss_before_mb=rss_before,
        transports=results,
    )


# --- Report ------------------------------------------------------------------------------------


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def webchat_table(result: WebchatResult) -> str:
    """The figures as a Markdown table for the README, a column per transport."""
    header = [
        f"{result.sessions:,} web chats, {result.rate:g} msg/s for {result.duration:.0f} s",
        *(f"{r.transport}" for r in result.transports),
    ]
    lines = [_row(header), _row(["---"] * len(header))]

    def add(label: str, cell: Any) -> None:
        lines.append(_row([label, *(cell(r) for r in result.transports)]))

    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:,.0f} ms"

    add("sessions confirmed / failed", lambda r: f"{r.confirmed:,} / {r.failed:,}")
    add("time to open them (50 at a time)", lambda r: f"{r.open_seconds:.1f} s")
    add(
        f"idle ({result.idle_seconds:.0f} s): Rasa CPU, % of one core",
        lambda r: f"{r.idle.rasa_cpu_percent:.1f}%",
    )
    add(
        f"idle: Rasa RSS (before the sessions: {result.rasa_rss_before_mb:.0f} MB)",
        lambda r: f"{r.idle.rasa_rss_mb:.0f} MB",
    )
    add(
        "idle: HTTP requests per second (all clients)",
        lambda r: f"{r.idle.requests_per_second:.1f}",
    )
    add("idle: clients' CPU (node, one process)", lambda r: f"{r.idle.clients_cpu_percent:.1f}%")
    add("messages sent / answered", lambda r: f"{r.load.sent:,} / {r.load.answered:,}")
    add("reply time p50", lambda r: ms(r.load.summary.p50 if r.load.summary else None))
    add("reply time p95", lambda r: ms(r.load.summary.p95 if r.load.summary else None))
    add("reply time p99 (target ≤ 1,000 ms)", lambda r: ms(r.load.p99_ms))
    add("reply time max", lambda r: ms(r.load.summary.max if r.load.summary else None))
    add("under load: Rasa CPU", lambda r: f"{r.load.rasa_cpu_percent:.1f}%")
    add("under load: clients' CPU", lambda r: f"{r.load.clients_cpu_percent:.1f}%")
    add(
        "under load: other processes' share of all CPUs (noise)",
        lambda r: "—" if r.load.other_cpu_share is None else f"{r.load.other_cpu_share:.0%}",
    )
    add("Result", lambda r: "PASS" if r.met else "MISSED")
    return "\n".join(lines)


def webchat_lines(result: WebchatResult) -> list[str]:
    """Warnings and the verdict, for the console."""
    lines = []
    for r in result.transports:
        if r.failed:
            lines.append(f"WARNING: {r.transport}: {r.failed} sessions failed: {r.first_error}")
        if r.load.disconnects:
            lines.append(
                f"WARNING: {r.transport}: {r.load.disconnects} disconnects under load "
                f"({r.load.disconnect_reasons})"
            )
        if r.load.skipped_busy:
            lines.append(
                f"WARNING: {r.transport}: {r.load.skipped_busy} moments had no free session"
            )
        if r.load.generator_late_p99_ms > 50:
            lines.append(
                f"WARNING: {r.transport}: the clients sent late (p99 "
                f"{r.load.generator_late_p99_ms:.0f} ms behind schedule): they are overloaded"
            )
    missed = result.missed
    lines.append("MISSED: " + "; ".join(missed) if missed else "Web chat: all targets met.")
    return lines


def webchat_json(result: WebchatResult) -> dict[str, Any]:
    """The benchmark's part of the results file, with every sample."""
    return {
        "sessions": result.sessions,
        "rate_per_s": result.rate,
        "duration_s": result.duration,
        "idle_s": result.idle_seconds,
        "target_p99_ms": TARGET_P99_MS,
        "rasa_rss_before_mb": round(result.rasa_rss_before_mb, 1),
        "transports": {
            r.transport: {
                "confirmed": r.confirmed,
                "failed": r.failed,
                "first_error": r.first_error,
                "open_s": round(r.open_seconds, 2),
                "transports_open": r.transports_open,
                "idle": {key: round(value, 3) for key, value in asdict(r.idle).items()},
                "sent": r.load.sent,
                "answered": r.load.answered,
                "rate_per_s": round(r.load.rate, 3),
                "summary_ms": None if r.load.summary is None else r.load.summary.to_json(),
                "p99_ms": None if r.load.p99_ms is None else round(r.load.p99_ms, 3),
                "load_rasa_cpu_percent": round(r.load.rasa_cpu_percent, 2),
                "load_rasa_rss_mb": round(r.load.rasa_rss_mb, 1),
                "load_clients_cpu_percent": round(r.load.clients_cpu_percent, 2),
                "disconnects": r.load.disconnects,
                "disconnect_reasons": r.load.disconnect_reasons,
                "skipped_busy": r.load.skipped_busy,
                "generator_late_p99_ms": round(r.load.generator_late_p99_ms, 3),
                "transports_at_end": r.load.transports_at_end,
                "other_processes_cpu_share": r.load.other_cpu_share,
                "met": r.met,
                "samples_ms": [round(value, 3) for value in r.load.samples_ms],
                "sample_kinds": r.load.kinds,
            }
            for r in result.transports
        },
        "missed": result.missed,
    }


# --- Command line ------------------------------------------------------------------------------


def transports_arg(text: str) -> list[str]:
    """A comma-separated list of transports, each one of TRANSPORTS."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in TRANSPORTS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(TRANSPORTS)}; got {text!r}"
        )
    return names


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The benchmark's options (`prefix` "webchat-" inside benchmarks.run)."""
    parser.add_argument(
        f"--{prefix}sessions", type=_positive_int, default=1000, metavar="N",
        help="web chat sessions open at once (default 1000)",
    )  # fmt: skip
    parser.add_argument(
        f"--{prefix}rate", type=_positive_float, default=10.0, metavar="R",
        help="messages per second in all (default 10)",
    )  # fmt: skip
    parser.add_argument(
        f"--{prefix}duration", type=_positive_float, default=120.0, metavar="S",
        help="seconds of load (default 120)",
    )  # fmt: skip
    parser.add_argument(
        f"--{prefix}idle-seconds", type=_positive_float, default=60.0, metavar="S",
        help="seconds the sessions are measured idle (default 60)",
    )  # fmt: skip
    parser.add_argument(
        f"--{prefix}transports", type=transports_arg, default=list(DEFAULT_TRANSPORTS),
        metavar="LIST", help="comma-separated: polling, websocket, default (default "
        "polling,websocket)",
    )  # fmt: skip


def options_from(args: argparse.Namespace, prefix: str = "") -> argparse.Namespace:
    """This benchmark's options out of a namespace that has them under `prefix`."""
    key = prefix.replace("-", "_")
    return argparse.Namespace(
        **{
            name: getattr(args, key + name)
            for name in ("sessions", "rate", "duration", "idle_seconds", "transports")
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the web chat load benchmark alone and prints its table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.webchat_load",
        description="Open many socket.io web chats on the Rasa server and time their replies.",
    )
    add_arguments(parser)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH")
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and databases")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"no model at {args.model}: run `make train` or pass --model", file=sys.stderr)
        return 1
    try:
        with scratch_workdir("support-assistant-webchat-", args.keep_workdir) as workdir:
            result = run_webchat_load(workdir, args.model.resolve(), args)
    except (LoadFailed, ServiceFailedToStart) as error:
        print(f"Benchmark failed: {error}", file=sys.stderr)
        return 1
    print()
    print(webchat_table(result))
    print()
    for line in webchat_lines(result):
        print(line)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(webchat_json(result), indent=2) + "\n")
    print(f"Results (with every sample): {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
