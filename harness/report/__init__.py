"""Reports rebuilt from MLflow: ``report.md``, ``results.json`` and PNG figures."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.console import Console
from harness.report.analysis import analyse
from harness.report.figures import curves_plot, effects_plot, paired_plot
from harness.report.markdown import Formatter, render
from harness.suites import Suite


def write_report(
    suite: Suite, profile: str, root_seed: int, *, reports_dir: Path, tracker=None, command: str, console: Console
) -> Path:
    """Read the campaign's trials from MLflow and write its report folder atomically per file."""
    from harness.campaign import campaign_key
    from harness.tracking import Tracker
    from harness.trial import settings_hash

    tracker = tracker or Tracker()
    experiment = tracker.experiment(suite.name)
    records = tracker.trial_records(experiment, campaign_key(suite, profile, root_seed))
    hashes = {arm: settings_hash(suite.settings(profile, arm).model_dump(mode="json")) for arm in suite.arms}
    results = analyse(suite, profile, records, hashes)
    results["report_command"] = command
    out = reports_dir / suite.name / profile
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    if results["comparison"]:
        paired_plot(results, out / "paired.png", Formatter(suite.claim.metric).scale)
        figures.append(
            ("paired.png", "Per-seed results and paired differences, with the mean's 95% CI and the claimed effect")
        )
    if effects_plot(results, out / "effects.png", Formatter(suite.claim.metric).scale):
        figures.append(("effects.png", "Every comparison under every protocol: mean paired difference and 95% CI"))
    if curves_plot(results, out / "curves.png"):
        figures.append(("curves.png", "Learning curves: mean per epoch with 95% t-interval bands across seeds"))
    _write(out / "results.json", json.dumps(results, indent=2, allow_nan=False))
    _write(out / "report.md", render(results, figures))
    console.info(f"report: {out / 'report.md'}")
    return out


def _write(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
