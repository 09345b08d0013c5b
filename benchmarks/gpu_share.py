"""How many trials can share one GPU: images/s per trial and GPU utilisation for 1, 2, 4, … concurrent trials.

Each trial is the supervised workload in its own process (as a campaign's workers are): the
suite's ``paper`` settings of ``cifar`` (ResNet-18, mixed precision) for a few epochs on a
slice of the training set — or smaller settings given with ``--set dotted.key=value``. Worker
processes share the GPU as the harness's workers do (memory growth / no preallocation).
``nvidia-smi`` is sampled every 0.5 s while the trials run; the figure for a level is the
median of the samples after the first quarter of its wall time (start-up and compilation). Records
to ``reports/benchmarks.md`` with the GPU and the Keras backend named.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

from record import REPORT, smoke_option, write_section

from harness.backends import selected

ROOT = REPORT.parents[1]
TRIAL = """
import json, sys
from harness.suites import load
from harness.trial import TrialSpec, run_trial
suite = load("cifar")
settings = suite.settings_dict("paper", "sgd", 0, json.loads(sys.argv[1]))
result = run_trial(TrialSpec("cifar", "paper", "sgd", 0, int(sys.argv[2]), "supervised", settings))
print(json.dumps({"status": result.status, "reason": result.reason, "metrics": result.metrics,
                  "epoch_time_s": result.history.get("epoch_time_s", [])}))
"""


def _gpu_name() -> str:
    if not shutil.which("nvidia-smi"):
        return "none (nvidia-smi not found)"
    out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _sample_utilisation(samples: list[float], stop: threading.Event) -> None:
    while not stop.wait(0.5):
        if not shutil.which("nvidia-smi"):
            return
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
        )
        samples.append(float(out.stdout.split()[0]) if out.stdout.strip() else float("nan"))


def _level(count: int, overrides: dict) -> tuple[list[dict], float | None, float]:
    """Run ``count`` trials at once; their results, median GPU utilisation, wall time."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    samples: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_utilisation, args=(samples, stop))
    start = time.perf_counter()
    sampler.start()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TRIAL, json.dumps(overrides), str(1000 + i)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    results = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode:
            raise SystemExit(f"a trial process failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    steady = samples[len(samples) // 4 :]  # skip start-up and compilation
    return results, (statistics.median(steady) if steady else None), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="1,2,4,8", help="numbers of concurrent trials")
    parser.add_argument("--set", action="append", default=[], help="setting override key=JSON value, repeatable")
    smoke_option(parser)
    args = parser.parse_args()
    if args.smoke:  # one trial of a few images, on whatever device there is (a CPU in CI)
        args.levels = "1"
        small = ["data.limit_train=128", "data.limit_test=128", 'data.validation={"size": 128}', "training.epochs=2"]
        args.set = [*args.set, *small, "training.mixed_precision=false"]
    overrides = {
        "training.epochs": 3,
        "training.test_each_epoch": False,
        "data.limit_train": 20000,
        "vars": {"d1": 100, "d2": 100, "d3": 100},  # no decay within the run
    }
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    rows, baseline, kept_at = [], None, {}
    for count in (int(n) for n in args.levels.split(",")):
        results, utilisation, wall = _level(count, overrides)
        bad = [r for r in results if r["status"] != "ok"]
        if bad:
            raise SystemExit(f"{len(bad)} trial(s) did not finish: {bad[0]['reason']}")
        per_trial = statistics.median(r["metrics"]["train_examples_per_s"] for r in results)
        baseline = baseline or per_trial
        kept = per_trial / baseline
        kept_at[count] = kept
        shown = "n/a" if utilisation is None else f"{utilisation:.0f}%"
        rows.append(f"| {count} | {per_trial:,.0f} | {per_trial * count:,.0f} | {kept:.0%} | {shown} | {wall:.0f} s |")
    sharing = [count for count, _ in itertools.takewhile(lambda level: level[1] >= 0.8, kept_at.items())]
    body = (
        f"GPU: {_gpu_name()}; Keras backend: **{selected()}**. Each trial: `cifar` `paper` settings "
        f"(ResNet-18, batch 128, mixed precision) with {json.dumps(overrides)}; images/s per trial = training "
        "images over the median epoch time after the first (which compiles), validation pass included.\n\n"
        "| trials at once | images/s per trial | images/s in all | per trial vs alone | GPU utilisation | wall |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: |\n" + "\n".join(rows) + "\n\n"
        f"At the first level's rate a 50,000-image training epoch takes {50_000 / baseline:.1f} s (issue 7's "
        f"target: ≤ 15 s on an H100). Up to {max(sharing, default=1)} trials at once kept ≥ 80% of the "
        "first level's images/s per trial."
    )
    write_section("GPU: concurrent trials on one GPU", body)


if __name__ == "__main__":
    main()
