"""How long the Rasa server takes to load the trained model: Rasa's own `RasaModel.load`
against the quick load the server installs (`assistant.performance.quick_model_load`).

Method: each load runs in a fresh Python process (`python -m benchmarks.model_load --one
stock|quick MODEL`), which imports Rasa first and then times `Agent.load` alone: the time
between "Starting Rasa server" and the server answering, most of a system start. The two kinds
alternate in A B B A order, so a machine that gets busier or quieter during the run weighs on
both alike. Reported: each kind's median and p95, and the ratio of the medians (quick / stock).
Target: the quick load's median at most half of Rasa's.

Runs alone as `python -m benchmarks.model_load [--pairs N] [--model PATH]`; `make bench` runs it
as one of its parts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from benchmarks.stats import Summary, summarise
from launcher.stack import PROJECT_ROOT

STOCK: Final = "stock"
QUICK: Final = "quick"
KINDS: Final = (STOCK, QUICK)
#: The quick load's median, as a share of Rasa's own, that meets the target.
TARGET_RATIO: Final = 0.5
DEFAULT_MODEL: Final = PROJECT_ROOT / "models" / "support-assistant.tar.gz"


class ModelLoadFailed(RuntimeError):
    """A load process failed; the message has the end of its output."""


@dataclass(frozen=True)
class ModelLoadResult:
    """The timed loads of both kinds (seconds), in the order they ran."""

    stock_seconds: list[float]
    quick_seconds: list[float]

    @property
    def stock(self) -> Summary:
        return summarise(self.stock_seconds)

    @property
    def quick(self) -> Summary:
        return summarise(self.quick_seconds)

    @property
    def ratio(self) -> float:
        """The quick load's median over Rasa's."""
        return self.quick.p50 / self.stock.p50

    @property
    def met(self) -> bool:
        return self.ratio <= TARGET_RATIO


def alternating(pairs: int) -> list[str]:
    """The kinds in A B B A order, `pairs` loads of each."""
    order: list[str] = []
    for pair in range(pairs):
        order += list(KINDS) if pair % 2 == 0 else list(reversed(KINDS))
    return order


def run_model_loads(
    model: Path, pairs: int, time_one: Callable[[str, Path], float] | None = None
) -> ModelLoadResult:
    """Times `pairs` loads of each kind, alternating."""
    timed: dict[str, list[float]] = {kind: [] for kind in KINDS}
    time_load = time_one or time_in_a_process
    for kind in alternating(pairs):
        timed[kind].append(time_load(kind, model))
    return ModelLoadResult(timed[STOCK], timed[QUICK])


def time_in_a_process(kind: str, model: Path) -> float:
    """One load of `kind` in a fresh Python process; its seconds."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.model_load", "--one", kind, "--model", str(model)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-20:])
        raise ModelLoadFailed(f"the {kind} load exited with {completed.returncode}:\n{tail}")
    return float(lines[-1])


def load_once(kind: str, model: Path) -> float:
    """Loads the model as `kind` in this process; the seconds `Agent.load` took."""
    from rasa.core.agent import Agent

    from assistant.performance import install_quick_model_load

    if kind == QUICK and not install_quick_model_load():
        raise ModelLoadFailed("the quick load is written for another Rasa version")
    started = time.perf_counter()
    Agent.load(str(model))
    return time.perf_counter() - started


def model_load_table(result: ModelLoadResult) -> str:
    """The two kinds and their ratio, as a Markdown table."""
    rows = [
        ["Measure", "Target", "p50 / median", "p95", "n"],
        ["---"] * 5,
        _row("Model load (`Agent.load`), Rasa's own `RasaModel.load`", "", result.stock),
        _row("Model load (`Agent.load`), quick (`python -m assistant`)", "", result.quick),
        [
            "Quick / Rasa's, medians",
            f"≤ {TARGET_RATIO:.2f}x",
            f"{result.ratio:.2f}x",
            "",
            "",
        ],
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _row(title: str, target: str, summary: Summary) -> list[str]:
    return [title, target, f"{summary.p50:.1f} s", f"{summary.p95:.1f} s", str(summary.count)]


def model_load_json(result: ModelLoadResult) -> dict[str, Any]:
    return {
        "stock_s": [round(s, 3) for s in result.stock_seconds],
        "quick_s": [round(s, 3) for s in result.quick_seconds],
        "stock_summary_s": result.stock.to_json(),
        "quick_summary_s": result.quick.to_json(),
        "quick_to_stock_p50_ratio": round(result.ratio, 3),
        "target_ratio": TARGET_RATIO,
        "met": result.met,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_load")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--pairs", type=int, default=3, help="loads of each kind")
    parser.add_argument("--one", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(f"{load_once(args.one, args.model):.3f}")
        return 0
    print(f"Timing {args.pairs} model loads of each kind (A B B A)...", flush=True)
    result = run_model_loads(args.model, args.pairs)
    print(model_load_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
