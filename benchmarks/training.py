"""Timing `rasa train --force` of the project's config, domain and data."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from launcher.stack import BIN, PROJECT_ROOT
from logsupport.private_files import open_private

MODEL_NAME = "bench"


class TrainingFailed(RuntimeError):
    """`rasa train` exited with an error; the message shows its log tail."""


@dataclass(frozen=True)
class TrainRun:
    """One timed training and the model it produced."""

    seconds: float
    model: Path


def train_argv(out_dir: Path) -> list[str]:
    """`rasa train` of the project's inputs, forced (no fingerprint skip) into `out_dir`."""
    return [
        str(BIN / "rasa"),
        "train",
        "--force",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(out_dir),
        "--fixed-model-name",
        MODEL_NAME,
    ]


def _log_tail(log_path: Path, lines: int = 30) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def time_training(run_dir: Path, env: Mapping[str, str]) -> TrainRun:
    """Trains once into `run_dir`, with an empty training cache of its own, and times it.

    The wall-clock time includes starting Python and importing Rasa/TensorFlow, as a
    developer typing `rasa train` experiences it.
    """
    run_dir.mkdir(parents=True)
    log_path = run_dir / "train.log"
    # A private, empty cache: the run is cold and never touches the shared .rasa/cache.
    train_env = {**env, "RASA_CACHE_DIRECTORY": str(run_dir / "cache")}
    with open_private(log_path) as log:
        start = time.perf_counter()
        completed = subprocess.run(
            train_argv(run_dir / "model"),
            cwd=PROJECT_ROOT,
            env=train_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
        seconds = time.perf_counter() - start
    model = run_dir / "model" / f"{MODEL_NAME}.tar.gz"
    if completed.returncode != 0 or not model.exists():
        raise TrainingFailed(
            f"rasa train exited with {completed.returncode}:\n{_log_tail(log_path)}"
        )
    return TrainRun(seconds, model)


def time_trainings(runs: int, root: Path, env: Mapping[str, str]) -> list[TrainRun]:
    """`runs` timed trainings, one after the other, each in its own directory under `root`."""
    results = []
    for number in range(1, runs + 1):
        print(f"  training {number}/{runs}...", flush=True)
        result = time_training(root / f"train-{number}", env)
        print(f"  training {number}/{runs}: {result.seconds:.1f} s", flush=True)
        results.append(result)
    return results
