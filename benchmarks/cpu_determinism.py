"""Are CPU results bitwise reproducible across instruction sets? oneDNN's ISA cap and graph rewrites.

``python benchmarks/cpu_determinism.py [--suite fashion --arm transfer --profile quick --repeats 2]``
runs one trial (confirmation seed index 0, one thread, a fresh process each) under five settings,
interleaved. oneDNN supplies TensorFlow's CPU matrix-product kernels and picks them by the CPU's
best instruction set at run time; ``ONEDNN_MAX_CPU_ISA`` caps that choice, which is how a CPU with
fewer instruction sets is reproduced here (capped at AVX = an AVX-only CPU's kernels).
``TF_ENABLE_ONEDNN_OPTS=0`` turns off TensorFlow's oneDNN graph rewrites (not the matrix-product
kernels). Records whether each setting's metrics equal the harness default's bitwise and its time.
``--smoke``: the smoke profile, one repetition, printed only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from record import REPORT, smoke_option, write_section

ROOT = REPORT.parents[1]
TRIAL = """
import json, sys
from harness.seeds import confirmation_seed
from harness.suites import load
from harness.trial import TrialSpec, run_trial
suite, profile, arm = load(sys.argv[1]), sys.argv[2], sys.argv[3]
settings = suite.settings_dict(profile, arm)
spec = TrialSpec(suite.name, profile, arm, 0, confirmation_seed(suite.root_seed, 0), suite.workload.name, settings)
result = run_trial(spec, threads=1)
print(json.dumps({"status": result.status, "seconds": result.wall_time_s, "metrics": result.metrics}))
"""
SETTINGS = {
    "capped at AVX2 (the harness's default)": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "uncapped (this CPU's best instruction set)": {"ONEDNN_MAX_CPU_ISA": "ALL"},
    "capped at AVX (an older CPU's kernels)": {"ONEDNN_MAX_CPU_ISA": "AVX"},
    "oneDNN graph rewrites off, capped at AVX2": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "oneDNN graph rewrites off, capped at AVX": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX"},
}
TIMING_ONLY = ("train_images_per_s",)


def one(suite: str, profile: str, arm: str, extra: dict[str, str]) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}
    for name in ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA"):
        if name not in extra:
            env.pop(name, None)
    command = [sys.executable, "-c", TRIAL, suite, profile, arm]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="fashion")
    parser.add_argument("--arm", default="transfer")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--repeats", type=int, default=2)
    smoke_option(parser)
    args = parser.parse_args()
    profile, repeats = ("smoke", 1) if args.smoke else (args.profile, args.repeats)
    settings = dict(list(SETTINGS.items())[:2]) if args.smoke else SETTINGS
    runs = {name: [] for name in settings}
    for _ in range(repeats):
        for name, extra in settings.items():
            runs[name].append(one(args.suite, profile, args.arm, extra))
    default = next(iter(SETTINGS))
    reference = runs[default][0]["metrics"]

    def same(metrics: dict) -> bool:
        return all(metrics.get(k) == v for k, v in reference.items() if k not in TIMING_ONLY)

    default_s = statistics.median(r["seconds"] for r in runs[default])
    rows = []
    for name, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        metric = results[0]["metrics"].get("test_accuracy")
        rows.append(
            f"| {name} | {'yes' if all(same(r['metrics']) for r in results) else 'no'} | {metric!r} "
            f"| {seconds:.1f} s | {seconds / default_s:.2f} |"
        )
    body = (
        f"One `{args.suite}` {profile} trial (arm `{args.arm}`, seed index 0, one thread, a fresh process each), "
        f"{repeats} interleaved round(s) of {len(settings)} TensorFlow CPU settings.\n\n"
        "| setting | every metric bitwise equal to the default's | test_accuracy | median time | time / default |\n"
        "| --- | --- | --- | ---: | ---: |\n" + "\n".join(rows)
    )
    write_section(f"CPU determinism: the {args.suite} {args.arm} trial across kernel paths", body)


if __name__ == "__main__":
    main()
