"""`make eval`: how well the assistant understands customers, in two parts.

1. **NLU cross-validation** (`rasa test nlu --cross-validation`) on the training data: intent
   precision, recall and F1 per class, the confusion matrix as an image, and a table of each
   class's errors (which intents its examples were taken for).
2. **Behaviour** on the held-out set (`evaluation/phrasings.yml`, never trained on) against the
   trained model (`models/support-assistant.tar.gz`), on an isolated copy of the system: which
   journey each phrasing starts, which queue it reaches, and every misroute. The same for
   `evaluation/unseen.yml`, written after the first set had guided the training data: it is
   reported, and never tuned on.

Everything goes to `results/eval/` (`summary.md` first). The run fails (exit 1) on any misroute
or a behaviour accuracy under 95%, as `make test` does (tests/e2e/test_understanding.py).

    python -m evaluation [--folds 5] [--skip-cross-validation] [--out results/eval]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import requests

from evaluation.behaviour import PHRASINGS, UNSEEN, Report, evaluate, load_phrasings
from harness.isolated_system import create_environment
from launcher.stack import PROJECT_ROOT, running_stack

MODEL: Final = PROJECT_ROOT / "models" / "support-assistant.tar.gz"
#: The behaviour accuracy `make test` and `make eval` require on the held-out set.
REQUIRED_ACCURACY: Final = 0.95
REPLY_TIMEOUT_SECONDS: Final = 60


def cross_validate(out: Path, folds: int) -> Path:
    """Runs Rasa's NLU cross-validation into `out/nlu`; returns that folder."""
    folder = out / "nlu"
    rasa = Path(sys.executable).with_name("rasa")
    command = [str(rasa), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml"]
    command += ["--cross-validation", "--folds", str(folds), "--out", str(folder)]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True)
    return folder


def nlu_table(folder: Path) -> str:
    """Intent F1 overall, and per class: support, precision, recall, F1, errors and what the
    errors were taken for (from Rasa's intent_report.json and intent_errors.json)."""
    report: dict[str, Any] = json.loads((folder / "intent_report.json").read_text())
    errors: list[dict[str, Any]] = json.loads((folder / "intent_errors.json").read_text())
    taken_for: dict[str, Counter[str]] = {}
    for error in errors:
        predicted = (error.get("intent_prediction") or {}).get("name") or "none"
        taken_for.setdefault(error["intent"], Counter())[predicted] += 1
    weighted = report["weighted avg"]
    macro = report["macro avg"]
    lines = [
        f"Intent F1 ({len(errors)} errors on the test folds): weighted "
        f"**{weighted['f1-score']:.3f}**, macro {macro['f1-score']:.3f}, accuracy "
        f"{report['accuracy']:.3f}. Confusion matrix: `intent_confusion_matrix.png`.",
        "",
        "| intent | examples | precision | recall | F1 | errors | taken for |",
        "|---|---|---|---|---|---|---|",
    ]
    classes = {
        name: figures
        for name, figures in report.items()
        if isinstance(figures, dict) and "support" in figures and not name.endswith(" avg")
    }
    for name, figures in sorted(classes.items(), key=lambda item: item[1]["f1-score"]):
        confusions = taken_for.get(name, Counter())
        lines.append(
            f"| {name} | {figures['support']} | {figures['precision']:.2f} "
            f"| {figures['recall']:.2f} | {figures['f1-score']:.2f} | {sum(confusions.values())} "
            f"| {', '.join(f'{other} ({n})' for other, n in confusions.most_common(3))} |"
        )
    return "\n".join(lines)


def evaluate_behaviour(model: Path, sets: Sequence[Path]) -> list[Report]:
    """Each set against `model`, on one isolated copy of the system (Rasa, the action server
    and the desk's stand-in, on free loopback ports)."""
    with tempfile.TemporaryDirectory(prefix="eval-") as scratch:
        environment = create_environment(Path(scratch), model)
        http = requests.Session()
        url = environment.rasa_url
        token = environment.secrets.rasa_auth_token
        record_file = environment.workdir / "handoffs.jsonl"

        def say(sender: str, text: str) -> object:
            answer = http.post(
                f"{url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text},
                timeout=REPLY_TIMEOUT_SECONDS,
            )
            answer.raise_for_status()
            return answer.json()

        def tracker(sender: str) -> dict[str, Any]:
            answer = http.get(
                f"{url}/conversations/{sender}/tracker",
                params={"token": token},
                timeout=REPLY_TIMEOUT_SECONDS,
            )
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
            return found

        def handoffs() -> list[dict[str, Any]]:
            if not record_file.exists():
                return []
            lines = record_file.read_text(encoding="utf-8").splitlines()
            return [json.loads(line) for line in lines if line.strip()]

        with running_stack(environment.services(), environment.log_dir, environment.variables()):
            return [evaluate(load_phrasings(path), say, tracker, handoffs) for path in sets]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-cross-validation", action="store_true")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "eval")
    parser.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    if not args.model.exists():
        parser.error(f"no trained model at {args.model}: run `make train` first")
    args.out.mkdir(parents=True, exist_ok=True)

    sections = []
    if not args.skip_cross_validation:
        folder = cross_validate(args.out, args.folds)
        sections += [f"## NLU, {args.folds}-fold cross-validation", "", nlu_table(folder), ""]
    report, unseen = evaluate_behaviour(args.model, [PHRASINGS, UNSEEN])
    (args.out / "behaviour.json").write_text(json.dumps(report.as_json(), indent=2))
    (args.out / "behaviour-unseen.json").write_text(json.dumps(unseen.as_json(), indent=2))
    sections += ["## Behaviour on the held-out set", "", report.as_markdown(), ""]
    sections += [
        "## Behaviour on the unseen set (measured only, never tuned on)",
        "",
        unseen.as_markdown(),
        "",
    ]
    summary = "\n".join(sections)
    (args.out / "summary.md").write_text(summary, encoding="utf-8")
    print(summary)

    failures = []
    if report.misroutes:
        failures.append(f"{len(report.misroutes)} misroute(s)")
    if report.accuracy < REQUIRED_ACCURACY:
        failures.append(f"behaviour accuracy {report.accuracy:.1%} < {REQUIRED_ACCURACY:.0%}")
    if failures:
        print(f"FAILED: {'; '.join(failures)} (details in {args.out / 'summary.md'})")
        return 1
    print(f"Written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
