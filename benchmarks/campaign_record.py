"""Wall time of a campaign that already ran: read from its MLflow runs (no re-run).

The campaign's parent run gives the whole command's wall time (its start to its end: for
a campaign that was interrupted and resumed, that span includes the pause); the trial
runs give the time per trial. Only the trials the report reads count: where the store also
holds the same campaign's runs of an older suite file (the parent run is then older too), the
time runs from the first current trial's start instead, and the record says so. Use it for
campaigns too long to repeat just to time them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from record import REPORT, smoke_option, write_section

from harness.report import is_current
from harness.report.analysis import tuning_summary
from harness.studies import campaign_key
from harness.suites import load
from harness.tracking import KIND_SWEEP, Tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suite", nargs="?", default="fashion")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--target-min", type=float, default=60.0, help="0: no target (e.g. a tuned profile)")
    parser.add_argument("--note", default="", help="conditions of the run worth knowing (e.g. other load)")
    smoke_option(parser)
    args = parser.parse_args()
    if args.smoke:  # a synthetic campaign of the test suites, run here into a scratch store, then read back
        scratch = Path(tempfile.mkdtemp(prefix="campaign-record-"))
        os.environ.update(HARNESS_RUNS_DIR=str(scratch), HARNESS_SUITES_DIR=str(REPORT.parents[1] / "tests" / "suites"))
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        run = [sys.executable, "-m", "harness", "campaign", "synthetic", "--reports-dir", str(scratch / "reports")]
        subprocess.run(run, check=True, capture_output=True, cwd=scratch)
        args.suite, args.profile = "synthetic", "smoke"
    suite = load(args.suite)
    profile, spec = suite.profile(args.profile)
    tracker = Tracker()
    experiment = tracker.experiment(suite.name)
    key = campaign_key(suite, profile, suite.root_seed)
    parents = tracker.client.search_runs([experiment], f"tags.`harness.campaign` = '{key}'")
    parent = next(p for p in parents if p.data.tags.get("harness.kind") == "campaign")
    per_arm: dict[str, list[float]] = defaultdict(list)
    every_sweep = tracker.trial_records(experiment, key, with_history=False, kind=KIND_SWEEP)
    current = is_current(suite, profile, tuning_summary(suite, profile, every_sweep))
    everything = tracker.trial_records(experiment, key, with_history=False) + every_sweep
    confirmations = [r for r in everything if current(r) and r.tags.get("kind") != KIND_SWEEP]
    sweeps = [r for r in every_sweep if current(r)]
    start, since = parent.info.start_time, "from start to report"
    if older := len(everything) - len(confirmations) - len(sweeps):
        start = min(tracker.client.get_run(r.run_id).info.start_time for r in confirmations + sweeps)
        since = (
            f"from its first current trial's start to the report ({older} older trials of the same campaign, from "
            "an earlier suite file, stay in the store: not counted)"
        )
    wall = (parent.info.end_time - start) / 1000
    for record in confirmations + sweeps:
        per_arm[record.arm].append(record.wall_time_s)
    trials = len(confirmations) + len(sweeps)
    rows = "\n".join(
        f"| `{arm}` | {len(times)} | {statistics.median(times):.0f} s | {min(times):.0f}–{max(times):.0f} s |"
        for arm, times in per_arm.items()
    )
    busy = sum(sum(times) for times in per_arm.values())
    judged = (
        f" ({'meets' if wall / 60 <= args.target_min else 'MISSES'} ≤ {args.target_min:.0f} min)"
        if args.target_min > 0
        else ""
    )
    body = (
        f"The real campaign `{parent.data.tags.get('harness.command', '?')}`: {trials} trials "
        f"({len(sweeps)} sweep trials, then {spec.seeds} paired seeds × {len(suite.arms)} arms; {spec.jobs} at a time "
        "on this machine). "
        f"**Whole campaign: {wall / 60:.1f} min** {since}{judged}. "
        f"Sum of the trials' own times: {busy / 60:.0f} min, {busy / spec.jobs / 60:.0f} min at {spec.jobs} at a time "
        f"with no pause. Read from its MLflow runs (parent run `{parent.info.run_id}`). {args.note}\n\n"
        "| arm | trials (sweep and confirmation) | median time per trial | range |\n"
        "| --- | ---: | ---: | --- |\n" + rows
    )
    write_section(f"Campaign wall time: {suite.name} / {profile}", body)


if __name__ == "__main__":
    main()
