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

from record import REPORT, smoke_option, write_section

ROOT = REPORT.parents[1]
SUITE = Path(__file__).parent / "suites" / "three_arms.yaml"


def _runs_file_time(scratch: Path) -> tuple[int, float]:
    """Seconds to build and write the campaign's runs.csv from its (already read) MLflow records."""
    os.environ["HARNESS_RUNS_DIR"] = str(scratch / "runs")
    from harness.report import runs
    from harness.studies import campaign_key
    from harness.suites import load
    from harness.tracking import Tracker

    suite = load(str(SUITE))
    tracker = Tracker()
    key = campaign_key(suite, suite.default_profile, suite.root_seed)
    records = tracker.trial_records(tracker.experiment(suite.name), key, with_history=False)
    start = time.perf_counter()
    text = runs.to_csv(runs.rows(suite.name, suite.default_profile, records, lambda record: True))
    (scratch / "runs.csv").write_text(text, encoding="utf-8")
    return len(records), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target-s", type=float, default=20.0)
    smoke_option(parser)
    args = parser.parse_args()
    seeds = ["--seeds", "5"] if args.smoke else []
    if args.smoke:
        args.repeats = 1
    scratch = Path(tempfile.mkdtemp(prefix="report-time-"))
    env = {**os.environ, "HARNESS_RUNS_DIR": str(scratch / "runs"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("MLFLOW_TRACKING_URI", None)
    harness = [sys.executable, "-m", "harness"]
    reports = ["--reports-dir", str(scratch / "reports")]
    quiet = {"cwd": ROOT, "env": env, "check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*harness, "campaign", str(SUITE), *seeds, *reports], **quiet)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        subprocess.run([*harness, "report", str(SUITE), *reports], **quiet)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    n_runs, runs_s = _runs_file_time(scratch)
    body = (
        f"`harness report` of a 3-arm × 100-seed campaign (300 runs with 20-epoch learning curves, 3 comparisons, "
        f"Markdown + HTML + figures) from MLflow's SQLite store: **{median:.1f} s** median of {args.repeats} "
        f"(runs: {', '.join(f'{t:.1f}' for t in times)} s; {'meets' if median <= args.target_s else 'MISSES'} "
        f"≤ {args.target_s:.0f} s). Of which writing `runs.csv` ({n_runs} rows, every metric, in process, records "
        f"already read): {runs_s * 1000:.0f} ms ({'meets' if runs_s <= 1 else 'MISSES'} ≤ 1 s)."
    )
    write_section("Report generation: 3 arms × 100 seeds", body)


if __name__ == "__main__":
    main()
