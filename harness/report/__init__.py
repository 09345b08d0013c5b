"""Reports rebuilt from MLflow: ``report.md``, ``results.json`` and PNG figures."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from harness.console import Console
from harness.report import runs
from harness.report.analysis import analyse, one_backend, sweep_torture, tuning_summary
from harness.report.figures import (
    budget_plot,
    curves_plot,
    effects_plot,
    grid_plot,
    landscape_plot,
    paired_plot,
    range_plot,
    schedule_plot,
    speed_plot,
    stability_plot,
    torture_plot,
)
from harness.report.html import to_html, write_text_atomic
from harness.report.index import write_index
from harness.report.markdown import headline_sentence, render
from harness.report.results import dump
from harness.report.speed import derive
from harness.report.stability import robustness
from harness.report.units import Formatter
from harness.suites import Suite

FORMATS = ("md", "html")
RUNS_FILE = "runs.csv"
COMMITTED = Path("reports")  # the reports kept in git: evidence, never overwritten by a plumbing run


def reports_home(suite: Suite, profile: str) -> Path:
    """Where a profile's report goes unless the user says: ``reports/``, or ``runs/reports`` for plumbing."""
    from harness.suites import PLUMBING
    from harness.tracking import runs_dir

    return runs_dir() / "reports" if suite.role(profile) == PLUMBING else COMMITTED


def expected_hashes(suite: Suite, profile: str, tuning: dict, variant: str) -> Callable[[str, int], str]:
    """The settings hash a current trial of (arm, run index) must carry: today's suite file, at the sweep's
    best settings for the tuned variant."""
    from harness.studies import TUNED
    from harness.trial import settings_hash

    tuned = {arm: (tuning["arms"][arm]["best_params"] or {}) if variant == TUNED else {} for arm in suite.arms}

    @cache
    def expected(arm: str, index: int) -> str:
        return settings_hash(suite.settings_dict(profile, arm, index, tuned[arm]))

    return expected


def is_current(suite: Suite, profile: str, tuning: dict) -> Callable:
    """Whether a trial is one the report reads: a confirmation run of today's settings, a sweep trial of
    today's suite file (older runs of the same campaign stay in the store and in runs.csv, marked)."""
    from harness.studies import UNTUNED
    from harness.tracking import KIND_SWEEP

    hashes = cache(lambda variant: expected_hashes(suite, profile, tuning, variant))

    def current(record) -> bool:
        if record.tags.get("kind") == KIND_SWEEP:
            return record.tags.get("suite_digest") == suite.digest
        variant = record.tags.get("variant", UNTUNED)
        return record.arm in suite.arms and hashes(variant)(record.arm, record.seed_index) == record.params_hash

    return current


def in_progress(campaign_run, suite: Suite, records: list) -> dict | None:
    """Planned and finished confirmation runs per arm while the campaign's MLflow run is RUNNING; else None."""
    if campaign_run.info.status != "RUNNING":
        return None
    finished = {arm: sum(r.arm == arm for r in records) for arm in suite.arms}
    return {"planned_per_arm": int(campaign_run.data.params.get("seeds", 0)), "finished": finished}


def write_report(
    suite: Suite,
    profile: str,
    root_seed: int,
    *,
    reports_dir: Path,
    tracker=None,
    command: str,
    console: Console,
    formats: tuple[str, ...] = FORMATS,
    backend: str | None = None,
    pool_backends: bool = False,
    in_campaign: bool = False,
) -> Path:
    """Read the campaign's trials from MLflow; write its report folder (each file atomically) and the index.

    ``formats``: ``md`` (report.md) and/or ``html`` (report.html, self-contained). The
    figures and ``results.json`` are always written. Runs of one Keras backend are reported
    (``backend``, or the only one present); ``pool_backends`` pools several, and the report says so.
    A report made while the campaign still runs (not by the campaign itself: ``in_campaign``) is
    marked provisional, with its finished and planned runs per arm.
    """
    from harness.studies import TUNED, UNTUNED, campaign_key
    from harness.tracking import KIND_SWEEP, Tracker

    tracker = tracker or Tracker()
    experiment = tracker.experiment(suite.name)
    key = campaign_key(suite, profile, root_seed)
    records, backends = one_backend(tracker.trial_records(experiment, key), backend, pool_backends)
    sweeps, _ = one_backend(tracker.trial_records(experiment, key, False, kind=KIND_SWEEP), backend, pool_backends)
    tuning = tuning_summary(suite, profile, sweeps)

    @cache  # one settings-hash table per variant, shared by the derived metrics and the analysis
    def hashes(variant: str) -> Callable[[str, int], str]:
        return expected_hashes(suite, profile, tuning, variant)

    derived = {  # per variant: its runs with the suite's derived metrics, and its targets
        variant: derive(suite, [r for r in records if r.tags.get("variant", UNTUNED) == variant], hashes(variant))
        for variant in (TUNED, UNTUNED)
    }

    def of(variant: str) -> list:
        return derived[variant][0]

    main = TUNED if tuning["tuned"] else UNTUNED
    results = analyse(suite, profile, of(main), hashes(main), derived[main][1])
    results["tuning"] = tuning
    results["keras_backend"] = backends
    results["robustness"] = robustness(suite, tuning) if tuning["tuned"] else []
    results["torture_configs"] = sweep_torture(suite, sweeps, results) if tuning["tuned"] else None
    results["variant"] = main
    if main == TUNED:
        results["settings"] = {
            arm: suite.settings_dict(profile, arm, 0, tuning["arms"][arm]["best_params"] or {}) for arm in suite.arms
        }
    if main == TUNED and suite.profiles[profile].compare_untuned and of(UNTUNED):
        untuned = analyse(suite, profile, of(UNTUNED), hashes(UNTUNED), derived[UNTUNED][1])
        results["untuned"] = {key: untuned[key] for key in ("comparisons", "arms", "speed", "ranking")}
    results["report_command"] = command
    results["role"] = suite.role(profile)
    campaign_run = tracker.find_campaign_run(experiment, key)
    if campaign_run:
        results["mlflow"] = {"experiment_id": experiment, "campaign_run_id": campaign_run}
        if not in_campaign:
            results["in_progress"] = in_progress(tracker.client.get_run(campaign_run), suite, of(main))

    table = runs.rows(suite.name, profile, [*of(TUNED), *of(UNTUNED), *sweeps], is_current(suite, profile, tuning))
    out = reports_dir / suite.name / profile
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    scale = Formatter.of(results).scale
    if speed_plot(results, out / "speed.png"):
        figures.append(("speed.png", "Share of seeds that reached the target by each time, per arm (exact 95% bands)"))
    if results["comparison"] and not results.get("scale"):
        paired_plot(results, out / "paired.png", scale)
        figures.append(
            ("paired.png", "Per-seed results and paired differences, with the mean's 95% CI and the claimed effect")
        )
    if effects_plot(results, out / "effects.png", scale):
        figures.append(("effects.png", "Every comparison under every protocol: mean paired difference and 95% CI"))
    if landscape_plot(results, out / "landscape.png"):
        figures.append(
            (
                "landscape.png",
                "Each arm's sweep over its two tuned settings, coloured by the tuning objective (grey crosses: "
                "trials the pruner stopped)",
            )
        )
    if budget_plot(results, out / "budget.png"):
        figures.append(
            ("budget.png", "Expected best validation score after k tuning trials per arm, with 95% bootstrap bands")
        )
    if torture_plot(results, out / "torture.png", scale):
        figures.append(
            (
                "torture.png",
                "The torture meter: what keeping the best of a search of size k reports, "
                "and how often it reaches the claim",
            )
        )
    if grid_plot(results, out / "grid.png", scale):
        figures.append(("grid.png", "The author's search run in full: every run's effect per setting, and the mean"))
    if stability_plot(results, out / "stability.png", scale):
        figures.append(
            ("stability.png", "Stability: SD across seeds per arm (95% CI), and the tuning objective across the grid")
        )
    if curves_plot(results, out / "curves.png"):
        figures.append(("curves.png", "Learning curves: mean per epoch with 95% t-interval bands across seeds"))
    if range_plot(results, out / "range_test.png"):
        figures.append(("range_test.png", "The learning-rate range test: smoothed loss per arm across seeds"))
    if schedule_plot(results, out / "schedules.png"):
        caption = "Each arm's learning-rate (and momentum) schedule over its planned updates"
        if any(arm.get("range_test") for arm in results["arms"].values()):
            caption += " (its first seed's: a rate set by a run's own range test differs from seed to seed)"
        figures.append(("schedules.png", caption))
    write_text_atomic(out / "results.json", dump(results))
    write_text_atomic(out / RUNS_FILE, runs.to_csv(table))
    markdown = render(results, figures)
    if "md" in formats:
        write_text_atomic(out / "report.md", markdown)
    if "html" in formats:
        write_text_atomic(out / "report.html", to_html(markdown, out, results["title"]))
    write_index(reports_dir)
    if campaign_run:
        tracker.record_result(campaign_run, results, headline_sentence(results), out)
    for name in formats:
        console.info(f"report: {out / f'report.{name}'}")
    return out
