"""Quick-profile trial wall time before and after a code change, interleaved (e.g. the supervised migration).

``python benchmarks/migration_speed.py --old PATH --suite cifar --arm sgd --repeats 2`` runs one
quick trial of ``--suite``/``--arm`` (the claim's own settings, confirmation seed 0, one thread) in a
fresh process on the checkout at ``--old`` (a ``git worktree`` of the earlier commit) and on this
one, alternating, and records the median time of each side and the median of the paired ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from migration_check import RENAMED
from record import REPORT, smoke_option, write_section

ROOT = REPORT.parents[1]
TRIAL = """
import json, sys, time
from harness.seeds import confirmation_seed
from harness.suites import load
from harness.trial import TrialSpec, run_trial
suite = load(sys.argv[1])
arm = sys.argv[2]
if hasattr(suite, "settings_dict"):
    settings = suite.settings_dict(sys.argv[3], arm)
else:  # the code before the supervised workload
    settings = suite.settings(sys.argv[3], arm).model_dump(mode="json")
spec = TrialSpec(suite.name, sys.argv[3], arm, 0, confirmation_seed(suite.root_seed, 0), suite.workload.name, settings)
result = run_trial(spec, threads=1)
print(json.dumps({"status": result.status, "seconds": result.wall_time_s, "metrics": result.metrics}))
"""


def one(checkout: str, suite: str, arm: str, profile: str = "quick") -> dict:
    env = {**os.environ, "PYTHONPATH": checkout, "TF_CPP_MIN_LOG_LEVEL": "3"}
    suite_path = os.path.join(checkout, "suites", f"{suite}.yaml")
    done = subprocess.run(
        [sys.executable, "-c", TRIAL, suite_path, arm, profile], env=env, cwd=checkout, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old", help="a checkout of the earlier commit (--smoke: this one)")
    parser.add_argument("--suite", default="fashion")
    parser.add_argument("--arm", default="scratch")
    parser.add_argument("--repeats", type=int, default=2)
    smoke_option(parser)
    args = parser.parse_args()
    profile = "smoke" if args.smoke else "quick"
    if args.smoke:
        args.old, args.repeats = args.old or str(ROOT), 1
    elif not args.old:
        parser.error("--old is required (a checkout of the earlier commit)")
    old_commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.old, capture_output=True, text=True)
    old, new = [], []
    for _ in range(args.repeats):
        old.append(one(os.path.abspath(args.old), args.suite, args.arm, profile))
        new.append(one(str(ROOT), args.suite, args.arm, profile))
    ratios = [n["seconds"] / o["seconds"] for o, n in zip(old, new, strict=True)]
    renamed = RENAMED.get(args.suite, {})  # the old code's metric names → the supervised workload's
    same = all(
        n["metrics"].get(renamed.get(name, name)) == value
        for o, n in zip(old, new, strict=True)
        for name, value in o["metrics"].items()
        if name != "train_images_per_s"
    )
    body = (
        f"One `{args.suite}` quick trial (arm `{args.arm}`, seed index 0, one thread, a fresh process each), "
        f"before (commit `{old_commit.stdout.strip()}`) and after, alternating, {args.repeats} pairs.\n\n"
        "| before (median) | after (median) | after / before (median of pairs) | range | same test accuracy |\n"
        "| ---: | ---: | ---: | --- | --- |\n"
        f"| {statistics.median(o['seconds'] for o in old):.1f} s "
        f"| {statistics.median(n['seconds'] for n in new):.1f} s "
        f"| {statistics.median(ratios):.3f} | {min(ratios):.3f} to {max(ratios):.3f} | {'yes' if same else 'NO'} |"
    )
    write_section(f"Before and after: the {args.suite} quick trial", body)


if __name__ == "__main__":
    main()
