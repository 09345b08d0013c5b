"""Wall time of a whole campaign from a fresh store (fashion quick, 50 paired seeds: target ≤ 30 min).

Runs ``harness campaign`` in a new process with its own runs/ and reports/ folders in a
temporary directory, so nothing is resumed, and times the whole command.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import REPORT, smoke_option, write_section

ROOT = REPORT.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", default="fashion")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--target-min", type=float, default=30.0)
    smoke_option(parser)
    args = parser.parse_args()
    name = args.suite
    if args.smoke:  # the synthetic test suite: the whole command's plumbing in seconds
        args.suite, name, args.profile, args.seeds = (
            str(ROOT / "tests" / "suites" / "synthetic.yaml"),
            "synthetic",
            "smoke",
            2,
        )
    scratch = Path(tempfile.mkdtemp(prefix="campaign-time-"))
    env = {**os.environ, "HARNESS_RUNS_DIR": str(scratch / "runs"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        sys.executable,
        "-m",
        "harness",
        "campaign",
        args.suite,
        "--profile",
        args.profile,
        "--seeds",
        str(args.seeds),
        "--reports-dir",
        str(scratch / "reports"),
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    results = json.loads((scratch / "reports" / name / args.profile / "results.json").read_text())
    trials = sum(arm["n_runs"] for arm in results["arms"].values())
    body = (
        f"`harness campaign {args.suite} --profile {args.profile} --seeds {args.seeds}` from a fresh store "
        f"(TensorFlow import, MLflow store creation, {trials} trials, report): **{wall / 60:.1f} min** wall time "
        f"({'meets' if wall / 60 <= args.target_min else 'MISSES'} ≤ {args.target_min:.0f} min). "
        f"Sum of the trials' own times: {results['total_wall_time_s'] / 60:.1f} min, run with the profile's "
        f"parallel jobs. Verdict of that run: {results['comparison']['verdict']['label']}."
    )
    write_section(f"Campaign wall time: {args.suite} / {args.profile}, {args.seeds} seeds", body)


if __name__ == "__main__":
    main()
