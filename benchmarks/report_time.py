"""Report generation from MLflow for 3 arms × 100 seeds (target ≤ 20 s on the 2-core CPU).

Runs the synthetic ``three_arms`` campaign once into a temporary store (not timed), then
times ``harness report`` (a fresh process: imports, MLflow reads incl. every run's
learning curves, statistics, figures, Markdown and HTML) several times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import REPORT, write_section

ROOT = REPORT.parents[1]
SUITE = Path(__file__).parent / "suites" / "three_arms.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target-s", type=float, default=20.0)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="report-time-"))
    env = {**os.environ, "HARNESS_RUNS_DIR": str(scratch / "runs"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("MLFLOW_TRACKING_URI", None)
    harness = [sys.executable, "-m", "harness"]
    reports = ["--reports-dir", str(scratch / "reports")]
    quiet = {"cwd": ROOT, "env": env, "check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*harness, "campaign", str(SUITE), *reports], **quiet)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        subprocess.run([*harness, "report", str(SUITE), *reports], **quiet)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    body = (
        f"`harness report` of a 3-arm × 100-seed campaign (300 runs with 20-epoch learning curves, 3 comparisons, "
        f"Markdown + HTML + figures) from MLflow's SQLite store: **{median:.1f} s** median of {args.repeats} "
        f"(runs: {', '.join(f'{t:.1f}' for t in times)} s; {'meets' if median <= args.target_s else 'MISSES'} "
        f"≤ {args.target_s:.0f} s)."
    )
    write_section("Report generation: 3 arms × 100 seeds", body)


if __name__ == "__main__":
    main()
