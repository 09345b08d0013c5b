"""A suite's quick trial under each Keras backend on this CPU, and what the backend work costs TensorFlow.

One trial = one arm of the suite's ``quick`` profile at its untuned settings (default:
fashion's transfer arm, the book's protocol: model A pre-training + model B), the same
seed, one CPU thread (the quick profiles run two such trials side by side), each in a
fresh interpreter. ``--before PATH`` also times TensorFlow with the code of another
checkout (e.g. ``git worktree add /tmp/before <commit before the backend work>``), runs
alternating, to measure what the backend abstraction adds. Data from ``$HARNESS_DATA_DIR``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from record import REPORT, smoke_option, write_section

from harness.suites import load

ROOT = REPORT.parents[1]
TRIAL = """
import json, sys
from harness.suites import load
from harness.trial import TrialSpec, run_trial
suite, arm, profile = load(sys.argv[1]), sys.argv[2], sys.argv[3]
settings = suite.settings_dict(profile, arm)
result = run_trial(TrialSpec(suite.name, profile, arm, 0, 1234, suite.workload.name, settings), threads=1)
print(json.dumps({"status": result.status, "seconds": result.wall_time_s, "accuracy": result.metrics["test_accuracy"]}))
"""
BACKENDS = ("tensorflow", "jax", "torch")


def _trial(backend: str, tree: Path, suite_file: Path, arm: str, profile: str = "quick") -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(tree), "HARNESS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", TRIAL, str(suite_file), arm, profile],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", default="fashion")
    parser.add_argument("--arm", default="transfer", help="the arm whose quick trial is timed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a checkout whose code TensorFlow is also timed with")
    smoke_option(parser)
    args = parser.parse_args()
    profile, backends = "quick", BACKENDS
    if args.smoke:  # the smoke profile, on the backends installed here
        args.repeats, profile = 1, "smoke"
        backends = tuple(name for name in BACKENDS if importlib.util.find_spec(name))
    suite_file = ROOT / "suites" / f"{args.suite}.yaml"
    times: dict[str, list[float]] = {name: [] for name in backends}
    before: list[float] = []
    accuracy = {}
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit every column alike
        for name in backends:
            found = _trial(name, ROOT, suite_file, args.arm, profile)
            times[name].append(found["seconds"])
            accuracy[name] = found["accuracy"]
        if args.before:
            before.append(_trial("tensorflow", args.before, suite_file, args.arm)["seconds"])
    tf = statistics.median(times["tensorflow"])
    rows = [
        f"| {name} | {statistics.median(t):.1f} s | {min(t):.1f}–{max(t):.1f} s | {statistics.median(t) / tf:.2f}× "
        f"| {accuracy[name]:.4f} |"
        for name, t in times.items()
    ]
    quick = load(suite_file).profiles["quick"].description
    body = (
        f"The {args.suite} `quick` trial ({quick}; arm `{args.arm}`, seed 1234, one thread, {args.repeats} runs "
        "per backend, interleaved): wall time inside the trial, data loading, training and evaluation."
        "\n\n| backend | median | range | vs TensorFlow | test accuracy |\n"
        "| --- | ---: | ---: | ---: | ---: |\n" + "\n".join(rows)
    )
    if before:
        old = statistics.median(before)
        body += (
            f"\n\nTensorFlow with the code of `{args.before}` (before the backend work): median {old:.1f} s "
            f"(range {min(before):.1f}–{max(before):.1f} s); now {tf:.1f} s: the backend abstraction changes "
            f"a TensorFlow trial's wall time by {100 * (tf / old - 1):+.1f}% (target ≤ +2%)."
        )
    write_section(f"Keras backends on the CPU: the {args.suite} quick trial", body)


if __name__ == "__main__":
    main()
