"""What issue 13's load benchmark measures and what its numbers mean: the messages sent to each
bot, the summaries (percentiles, throughput, ratios, memory, the soak's slope), the targets, and
the Markdown table, console lines and results-file part of `benchmarks/load.py`'s run.

Everything here is pure: it works on the requests the load generator recorded
(`benchmarks/load_generator.py`), so it is tested without a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.load_generator import ERROR, UNEXPECTED, JobResult, Message, Probe, Request
from benchmarks.memory import mib
from benchmarks.stats import least_squares_slope, percentile
from benchmarks.turns import BOT_ONLY, ORDER_LOOKUP, Scenario

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

    @property
    def bot_only_met(self) -> bool:
        """Whether the project's bot-only turn is as fast as stock's (p50)."""
        return self.bot_only_ratio <= BOT_ONLY_P50_RATIO_TARGET

    @property
    def order_lookup_met(self) -> bool:
        """Whether the order lookup stays within 1.5 of stock's bot-only turns (p50)."""
        return self.order_lookup_ratio <= ORDER_LOOKUP_RATIO_TARGET

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
            ("bot-only p50 vs stock (1 user)", self.single.bot_only_met),
            ("order-lookup p50 vs stock's bot-only p50", self.single.order_lookup_met),
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
            _verdict(single.bot_only_met),
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
            _verdict(single.order_lookup_met),
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
