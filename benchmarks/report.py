"""The issue's speed targets, the Markdown tables of results and the JSON results file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.analytics_bench import (
    AnalyticsResult,
    analytics_json,
    analytics_lines,
    analytics_table,
)
from benchmarks.desk_latency import DESK_MEASURES, DeskMeasure, DeskSamples
from benchmarks.load_results import LoadResult, load_json, load_lines, load_table
from benchmarks.model_load import ModelLoadResult, model_load_json, model_load_table
from benchmarks.mortgage_latency import (
    BOT_ONLY_BASELINE,
    MORTGAGE_MEASURES,
    RETURNING_FIRST_REPLY,
    MortgageSamples,
)
from benchmarks.planning_bench import (
    PlanningResult,
    planning_json,
    planning_lines,
    planning_table,
)
from benchmarks.stats import Summary, summarise
from benchmarks.turns import Samples, Scenario
from benchmarks.webchat_load import WebchatResult, webchat_json, webchat_lines, webchat_table

#: Other processes using more than this share of the CPUs make the numbers pessimistic.
NOISE_WARNING_SHARE = 0.05
#: `rasa train` on a 2-core machine, median of the timed runs.
TRAIN_TARGET_SECONDS = 180.0
#: Median turn time over the REST channel, by scenario key; other scenarios are for information.
TURN_TARGETS_MS: Mapping[str, float] = {"bot_only": 30.0, "order_lookup": 60.0}
#: 95th percentile of the desk's paths, by measure key; other measures are for information.
DESK_TARGETS_P95_MS: Mapping[str, float] = {
    "handoff_to_console": 250.0,
    "agent_to_customer": 100.0,
    "hand_back_to_bot": 300.0,
    "upload_to_screen_pop": 500.0,
    "returning_first_reply": 300.0,
}

PASS = "PASS"
MISSED = "MISSED"
INFO = "info"


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario's samples and their summary."""

    scenario: Scenario
    samples: Samples
    summary: Summary

    @property
    def target_ms(self) -> float | None:
        """The p50 target, if the issue sets one for this scenario."""
        return TURN_TARGETS_MS.get(self.scenario.key)

    @property
    def met(self) -> bool | None:
        """Whether the median meets the target (None: no target)."""
        target = self.target_ms
        return None if target is None else self.summary.p50 <= target


@dataclass(frozen=True)
class TrainingResult:
    """The timed trainings and their summary (seconds)."""

    seconds: list[float]
    summary: Summary
    #: Share of all CPUs other processes used meanwhile (None: unknown).
    other_cpu_share: float | None

    @property
    def met(self) -> bool:
        """Whether the median training time meets the target."""
        return self.summary.p50 <= TRAIN_TARGET_SECONDS


@dataclass(frozen=True)
class DeskMeasureResult:
    """One desk path's samples (milliseconds) and their summary."""

    measure: DeskMeasure
    samples_ms: list[float]
    summary: Summary

    @property
    def target_ms(self) -> float | None:
        """The p95 target, if the issue sets one for this path."""
        return DESK_TARGETS_P95_MS.get(self.measure.key)

    @property
    def met(self) -> bool | None:
        """Whether the 95th percentile meets the target (None: no target)."""
        target = self.target_ms
        return None if target is None else self.summary.p95 <= target


def _measure_results(
    measures: Sequence[DeskMeasure], milliseconds: Mapping[str, list[float]]
) -> list[DeskMeasureResult]:
    return [
        DeskMeasureResult(measure, milliseconds[measure.key], summarise(milliseconds[measure.key]))
        for measure in measures
    ]


@dataclass(frozen=True)
class DeskResult:
    """The desk benchmark's measured rounds."""

    measures: list[DeskMeasureResult]
    warmup_rounds: int
    #: `GET /api/queues` answers that did not list the new handoff yet (fetched again).
    stale_queue_fetches: int
    #: "Keep waiting / leave a message" offers the customers got (the agent not online).
    wait_choices: int
    #: Share of all CPUs other processes used during the rounds (None: unknown).
    other_cpu_share: float | None

    @classmethod
    def of(
        cls, samples: DeskSamples, warmup_rounds: int, other_cpu_share: float | None
    ) -> DeskResult:
        """Summarise every measure of the rounds."""
        measures = _measure_results(DESK_MEASURES, samples.milliseconds)
        return cls(
            measures,
            warmup_rounds,
            samples.stale_queue_fetches,
            samples.wait_choices,
            other_cpu_share,
        )

    @property
    def rounds(self) -> int:
        """How many rounds were measured."""
        return self.measures[0].summary.count if self.measures else 0

    @property
    def missed(self) -> list[str]:
        """The paths that miss their target."""
        return [result.measure.title for result in self.measures if result.met is False]


@dataclass(frozen=True)
class MortgageResult:
    """The mortgage journey's measured rounds (uploads and returning customers)."""

    measures: list[DeskMeasureResult]
    warmup_rounds: int
    #: `GET /api/cases/{ref}` answers after application_changed without the document yet.
    stale_case_fetches: int
    #: Share of all CPUs other processes used during the rounds (None: unknown).
    other_cpu_share: float | None

    @classmethod
    def of(
        cls, samples: MortgageSamples, warmup_rounds: int, other_cpu_share: float | None
    ) -> MortgageResult:
        """Summarise every measure of the rounds."""
        measures = _measure_results(MORTGAGE_MEASURES, samples.milliseconds)
        return cls(measures, warmup_rounds, samples.stale_case_fetches, other_cpu_share)

    def measure(self, key: str) -> DeskMeasureResult:
        """The result of the measure with this key."""
        return next(result for result in self.measures if result.measure.key == key)

    @property
    def returning_to_bot_only_ratio(self) -> float:
        """Median returning customer's first reply over the same run's median bot-only turn."""
        returning = self.measure(RETURNING_FIRST_REPLY.key).summary.p50
        return returning / self.measure(BOT_ONLY_BASELINE.key).summary.p50

    @property
    def missed(self) -> list[str]:
        """The paths that miss their target."""
        return [result.measure.title for result in self.measures if result.met is False]


@dataclass(frozen=True)
class Results:
    """Everything one benchmark run measured."""

    training: TrainingResult | None
    turns: list[ScenarioResult]
    #: Share of all CPUs other processes used while the turns were measured (None: unknown).
    turns_other_cpu_share: float | None
    context: dict[str, Any]
    #: The desk benchmark (None: skipped).
    desk: DeskResult | None = None
    #: The mortgage journey's benchmark (None: skipped).
    mortgage: MortgageResult | None = None
    #: The analytics' build and report over a synthetic month (None: skipped).
    analytics: AnalyticsResult | None = None
    #: The journey map and blueprint on the analytics' facts (None: skipped).
    planning: PlanningResult | None = None
    #: REST load on this project and stock Rasa side by side (None: skipped).
    load: LoadResult | None = None
    #: The thousand web chats open at once (None: skipped).
    webchat: WebchatResult | None = None
    #: Rasa's model load against the quick one (None: skipped).
    model_load: ModelLoadResult | None = None

    def turn(self, key: str) -> ScenarioResult:
        """The result of the scenario with this key."""
        return next(result for result in self.turns if result.scenario.key == key)

    @property
    def order_to_bot_ratio(self) -> float:
        """Median order-lookup turn over median bot-only turn."""
        return self.turn("order_lookup").summary.p50 / self.turn("bot_only").summary.p50

    @property
    def missed(self) -> list[str]:
        """The measures that miss their target."""
        missed = [r.scenario.title for r in self.turns if r.met is False]
        if self.training is not None and not self.training.met:
            missed.insert(0, "rasa train")
        if self.desk is not None:
            missed += self.desk.missed
        if self.mortgage is not None:
            missed += self.mortgage.missed
        if self.analytics is not None:
            missed += self.analytics.missed
        if self.planning is not None:
            missed += self.planning.missed
        if self.load is not None:
            missed += [f"load: {title}" for title in self.load.missed]
        if self.webchat is not None:
            missed += self.webchat.missed
        if self.model_load is not None and not self.model_load.met:
            missed.append("model load")
        return missed


def _verdict(met: bool | None) -> str:
    return INFO if met is None else PASS if met else MISSED


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _training_row(training: TrainingResult) -> list[str]:
    runs = ", ".join(f"{seconds:.0f} s" for seconds in training.seconds)
    return [
        f"`rasa train --force`, cold cache (runs: {runs})",
        f"median ≤ {TRAIN_TARGET_SECONDS:.0f} s",
        f"{training.summary.p50:.1f} s",
        "",
        f"{training.summary.max:.1f} s",
        str(training.summary.count),
        _verdict(training.met),
    ]


def _turn_row(result: ScenarioResult) -> list[str]:
    target = result.target_ms
    summary = result.summary
    return [
        result.scenario.title,
        "—" if target is None else f"p50 ≤ {target:.0f} ms",
        _ms(summary.p50),
        _ms(summary.p95),
        _ms(summary.max),
        str(summary.count),
        _verdict(result.met),
    ]


def _desk_row(result: DeskMeasureResult) -> list[str]:
    target = result.target_ms
    summary = result.summary
    return [
        result.measure.title,
        "—" if target is None else f"p95 ≤ {target:.0f} ms",
        _ms(summary.p50),
        _ms(summary.p95),
        _ms(summary.max),
        str(summary.count),
        _verdict(result.met),
    ]


def desk_table(desk: DeskResult) -> str:
    """The desk's paths as a Markdown table for the README."""
    return _paths_table("Desk (live handoff)", desk.measures)


def mortgage_table(mortgage: MortgageResult) -> str:
    """The mortgage journey's paths as a Markdown table for the README."""
    table = _paths_table("Mortgage journey", mortgage.measures)
    ratio = f"{mortgage.returning_to_bot_only_ratio:.2f}x"
    row = ["Returning customer's reply p50 / bot-only p50 (same run)", "—", ratio]
    return table + "\n" + _table_line([*row, "", "", "", INFO])


def _paths_table(title: str, measures: Sequence[DeskMeasureResult]) -> str:
    header = [title, "Target", "p50 / median", "p95", "max", "n", "Result"]
    lines = [_table_line(header), _table_line(["---"] * len(header))]
    lines += [_table_line(_desk_row(result)) for result in measures]
    return "\n".join(lines)


def markdown_report(results: Results) -> str:
    """The turns' table and, when measured, the load against stock Rasa, the desk's, the
    mortgage journey's and the analytics' below it."""
    report = markdown_table(results)
    if results.load is not None:
        report += "\n\n" + load_table(results.load)
    if results.desk is not None:
        report += "\n\n" + desk_table(results.desk)
    if results.mortgage is not None:
        report += "\n\n" + mortgage_table(results.mortgage)
    if results.analytics is not None:
        report += "\n\n" + analytics_table(results.analytics)
    if results.planning is not None:
        report += "\n\n" + planning_table(results.planning)
    if results.webchat is not None:
        report += "\n\n" + webchat_table(results.webchat)
    if results.model_load is not None:
        report += "\n\n" + model_load_table(results.model_load)
    return report


def markdown_table(results: Results) -> str:
    """The results as a Markdown table for the README."""
    header = ["Measure", "Target", "p50 / median", "p95", "max", "n", "Result"]
    rows: list[list[str]] = []
    if results.training is not None:
        rows.append(_training_row(results.training))
    rows += [_turn_row(result) for result in results.turns]
    ratio = f"{results.order_to_bot_ratio:.2f}x"
    rows.append(["Order lookup p50 / bot-only p50", "—", ratio, "", "", "", INFO])
    lines = [_table_line(header), _table_line(["---"] * len(header))]
    lines += [_table_line(row) for row in rows]
    return "\n".join(lines)


def _table_line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _noise_line(what: str, share: float | None) -> str:
    if share is None:
        return f"Other processes' CPU use during {what}: unknown (no /proc)."
    line = f"Other processes used {share:.0%} of the CPUs during {what}."
    if share >= NOISE_WARNING_SHARE:
        line = f"WARNING: {line} The numbers are pessimistic; run again on a quiet machine."
    return line


def verdict_lines(results: Results) -> list[str]:
    """The overall verdict and any warnings, for the console."""
    lines = []
    if results.training is not None:
        lines.append(_noise_line("the trainings", results.training.other_cpu_share))
    lines.append(_noise_line("the measured turns", results.turns_other_cpu_share))
    for result in results.turns:
        if result.samples.unexpected_replies:
            lines.append(
                f"WARNING: {result.scenario.key}: {result.samples.unexpected_replies} turns "
                f"did not get the expected reply ({result.scenario.expected_text!r})"
            )
    if results.load is not None:
        lines += load_lines(results.load)
    if results.desk is not None:
        lines += _desk_lines(results.desk)
    if results.mortgage is not None:
        lines.append(_noise_line("the mortgage rounds", results.mortgage.other_cpu_share))
        if results.mortgage.stale_case_fetches:
            lines.append(
                f"WARNING: mortgage: {results.mortgage.stale_case_fetches} GET /api/cases "
                "answers after application_changed did not list the document yet (time included)"
            )
    if results.analytics is not None:
        lines += analytics_lines(results.analytics)[:-1]  # its verdict is in the one below
    if results.planning is not None:
        lines += planning_lines(results.planning)[:-1]
    if results.webchat is not None:
        lines += webchat_lines(results.webchat)[:-1]
    if results.missed:
        lines.append("MISSED: " + "; ".join(results.missed))
    else:
        lines.append("All targets met.")
    return lines


def _desk_lines(desk: DeskResult) -> list[str]:
    lines = [_noise_line("the desk rounds", desk.other_cpu_share)]
    if desk.stale_queue_fetches:
        lines.append(
            f"WARNING: desk: {desk.stale_queue_fetches} GET /api/queues answers after "
            "queue_changed did not list the new handoff yet (fetched again, time included)"
        )
    if desk.wait_choices:
        lines.append(
            f"WARNING: desk: customers were offered the wait choice {desk.wait_choices} times "
            "(the agent was not counted as online)"
        )
    return lines


def _measures_json(measures: Sequence[DeskMeasureResult]) -> dict[str, Any]:
    return {
        result.measure.key: {
            "title": result.measure.title,
            "target_p95_ms": result.target_ms,
            "met": result.met,
            "summary_ms": result.summary.to_json(),
            "samples_ms": [round(value, 3) for value in result.samples_ms],
        }
        for result in measures
    }


def mortgage_json(mortgage: MortgageResult) -> dict[str, Any]:
    """The mortgage benchmark's part of the results file, with every raw sample."""
    return {
        "rounds": mortgage.measures[0].summary.count if mortgage.measures else 0,
        "warmup_rounds": mortgage.warmup_rounds,
        "stale_case_fetches": mortgage.stale_case_fetches,
        "other_processes_cpu_share": _rounded(mortgage.other_cpu_share),
        "returning_to_bot_only_p50_ratio": round(mortgage.returning_to_bot_only_ratio, 3),
        "measures": _measures_json(mortgage.measures),
    }


def desk_json(desk: DeskResult) -> dict[str, Any]:
    """The desk benchmark's part of the results file, with every raw sample."""
    return {
        "rounds": desk.rounds,
        "warmup_rounds": desk.warmup_rounds,
        "stale_queue_fetches": desk.stale_queue_fetches,
        "wait_choices": desk.wait_choices,
        "other_processes_cpu_share": _rounded(desk.other_cpu_share),
        "measures": _measures_json(desk.measures),
    }


def to_json(results: Results) -> dict[str, Any]:
    """The results, with every raw sample, for the results file."""
    training = None
    if results.training is not None:
        training = {
            "target_median_s": TRAIN_TARGET_SECONDS,
            "runs_s": [round(seconds, 2) for seconds in results.training.seconds],
            "summary_s": results.training.summary.to_json(),
            "met": results.training.met,
            "other_processes_cpu_share": _rounded(results.training.other_cpu_share),
        }
    turns = {
        result.scenario.key: {
            "title": result.scenario.title,
            "message_characters": len(result.scenario.message),
            "target_p50_ms": result.target_ms,
            "met": result.met,
            "summary_ms": result.summary.to_json(),
            "unexpected_replies": result.samples.unexpected_replies,
            "samples_ms": [round(value, 3) for value in result.samples.milliseconds],
        }
        for result in results.turns
    }
    return {
        **results.context,
        "training": training,
        "turns": turns,
        "turns_other_processes_cpu_share": _rounded(results.turns_other_cpu_share),
        "order_lookup_to_bot_only_p50_ratio": round(results.order_to_bot_ratio, 3),
        "desk": None if results.desk is None else desk_json(results.desk),
        "mortgage": None if results.mortgage is None else mortgage_json(results.mortgage),
        "analytics": None if results.analytics is None else analytics_json(results.analytics),
        "planning": None if results.planning is None else planning_json(results.planning),
        "load": None if results.load is None else load_json(results.load),
        "webchat": None if results.webchat is None else webchat_json(results.webchat),
        "model_load": None if results.model_load is None else model_load_json(results.model_load),
        "missed": results.missed,
    }


def _rounded(share: float | None) -> float | None:
    return None if share is None else round(share, 3)


def write_json(results: Results, path: Path) -> None:
    """Writes the results file, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(results), indent=2, ensure_ascii=False) + "\n")
