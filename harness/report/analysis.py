"""From finished trial records to every number a report shows (JSON-ready)."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np

from harness import stats
from harness.provenance import portable
from harness.report.checks import judge_checks
from harness.report.range_test import range_summary
from harness.report.results import SCHEMA_VERSION
from harness.report.speed import censored_pairs, speed_summary
from harness.report.stability import spread
from harness.report.torture import config_search, search_curve
from harness.report.units import Formatter
from harness.studies import PRUNED_AT, SEQUENTIAL_TAG
from harness.suites import Comparison, Protocol, Suite
from harness.tracking import TrialRecord
from harness.trial import DIVERGED, FAILED, OK
from harness.verdict import assess

MAX_MISSING_SHARE = 0.1  # a verdict with more of its pairs lost to failed runs is marked incomplete
SCHEDULE_AXIS = "schedule.at_updates"  # recorded with schedule.lr / schedule.momentum (harness.training)
CURVE_KEYS = ("val_accuracy", "epoch_test_accuracy", "loss", "pretrain_val_accuracy")
PROVENANCE_KEYS = (
    "git_commit",
    "keras_backend",
    "version.keras",
    "version.tensorflow",
    "version.tensorflow-cpu",
    "version.jax",
    "version.torch",
    "version.numpy",
    "version.scipy",
    "version.mlflow",
    "python",
    "platform",
    "cpu",
    "cpu_count",
    "cpu_features",
    "onednn",
    "threads",
    "gpu",
    "data_source",
    "data_digest",
    "suite_digest",
)


def tuning_summary(suite: Suite, profile: str, sweeps: list[TrialRecord]) -> dict:
    """Per arm: the sweep's trials, its best params (as Optuna chose them) and expected-max curve."""
    tuning, budget = suite.tuning, suite.profiles[profile].budget
    sign = 1 if tuning.higher_is_better else -1
    arms = {}
    for arm in suite.arms:
        runs = [r for r in sweeps if r.arm == arm]
        pruned = [r for r in runs if f"info.{PRUNED_AT}" in r.tags]
        complete = sorted(
            (
                r
                for r in runs
                if f"info.{PRUNED_AT}" not in r.tags
                and r.status in (OK, DIVERGED)
                and np.isfinite(r.metrics.get(tuning.objective, np.nan))
            ),
            key=lambda r: r.seed_index,
        )
        best = max(complete, key=lambda r: (sign * r.metrics[tuning.objective], -r.seed_index), default=None)
        values = [r.metrics[tuning.objective] for r in complete]
        trials = [  # every trial, a pruned one with no value (its settings still show where the search went)
            {
                "params": json.loads(r.tags["tuned_params"]),
                "value": None if f"info.{PRUNED_AT}" in r.tags else _objective(r, tuning.objective),
                "status": "pruned" if f"info.{PRUNED_AT}" in r.tags else r.status,
            }
            for r in sorted(runs, key=lambda r: r.seed_index)
            if "tuned_params" in r.tags
        ]
        arms[arm] = {
            "n_trials": len(runs),
            "n_complete": len(complete),
            "n_pruned": len(pruned),
            "n_failed": sum(r.status == FAILED for r in runs),
            "best_value": best.metrics[tuning.objective] if best else None,
            "best_params": json.loads(best.tags["tuned_params"]) if best else None,
            "search_space": {k: v.model_dump(exclude_defaults=True) for k, v in suite.search_space(arm).items()},
            "trials": trials,
            "expected_max": stats.expected_max_curve([sign * v for v in values]) if len(values) >= 2 else None,
        }
        if arms[arm]["expected_max"] and sign < 0:
            curve = arms[arm]["expected_max"]
            curve.update(
                mean=[-v for v in curve["mean"]], low=[-v for v in curve["high"]], high=[-v for v in curve["low"]]
            )
    return {
        "budget": budget,
        "tuned": budget > 0,
        "objective": tuning.objective,
        "higher_is_better": tuning.higher_is_better,
        "sampler": tuning.sampler.model_dump(),
        "pruner": tuning.pruner.model_dump(),
        "arms": arms,
    }


def _objective(record: TrialRecord, name: str) -> float | None:
    value = _score(record, name)
    return value if value is not None and np.isfinite(value) else None


def sweep_torture(suite: Suite, sweeps: list[TrialRecord], results: dict) -> dict | None:
    """The best of m of the treatment's sweep configurations, judged on the claim's (test) metric,
    against the baseline's confirmed mean — the search an author tuning only their own method makes."""
    claim, headline = suite.claim, results["comparison"]
    baseline = results["arms"][claim.baseline.arm]["metric"]
    if not headline or not baseline:
        return None
    scores = [
        r.metrics[claim.metric]
        for r in sorted(sweeps, key=lambda r: r.seed_index)
        if r.arm == claim.treatment.arm and f"info.{PRUNED_AT}" not in r.tags and _score(r, claim.metric) is not None
    ]
    curve = config_search(scores, baseline["value"], headline["torture_threshold"], claim.direction)
    return curve and curve | {"arm": claim.treatment.arm, "baseline_mean": baseline["value"]}


def grid_summary(suite: Suite, profile: str, comparison: dict | None) -> dict | None:
    """Torture profiles: the headline effect per grid point, their spread, and the best one found."""
    points = suite.profiles[profile].grid_points()
    if len(points) < 2 or not comparison:
        return None
    runs = [(row["seed_index"], row["effect"]) for row in comparison["per_seed"]]
    groups: dict[int, list[float]] = defaultdict(list)
    for index, effect in runs:
        groups[index % len(points)].append(effect)
    per_point = [
        {
            "point": points[g],
            "effect": (
                stats.t_ci(values)
                if len(values) > 1
                else stats.Estimate(values[0], values[0], values[0], 1, "single run")
            ).as_dict(),
        }
        for g, values in groups.items()
    ]
    per_point.sort(key=lambda p: -p["effect"]["value"])
    effects = np.array([e for _, e in runs])
    best_index, best_effect = max(runs, key=lambda run: run[1])
    claimed = comparison["claimed_effect"]
    return {
        "trend": _grid_trend(points, runs),
        "settings": list(suite.profiles[profile].grid),
        "n_points": len(points),
        "points": points,
        "n_runs": len(runs),
        "per_point": per_point,
        "quantiles": dict(
            zip(
                ("min", "p10", "median", "p90", "max"),
                np.percentile(effects, [0, 10, 50, 90, 100]).tolist(),
                strict=True,
            )
        ),
        "best_run": {"point": points[best_index % len(points)], "seed_index": best_index, "effect": best_effect},
        "share_reaching_claim": stats.share_at_least(effects, claimed).as_dict() if claimed else None,
        "share_negative": stats.share_at_least(-effects, np.nextafter(0.0, 1.0)).as_dict(),
    }


def _grid_trend(points: list[dict], runs: list[tuple[int, float]]) -> dict | None:
    """A grid over one numeric setting: the per-run effect's least-squares slope per doubling of the
    setting (its log2; the raw value if any is not positive), with a 95% CI and p; else None."""
    values = [next(iter(p.values())) for p in points] if all(len(p) == 1 for p in points) else []
    if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    doubling = all(v > 0 for v in values)
    x = [math.log2(values[i % len(points)]) if doubling else values[i % len(points)] for i, _ in runs]
    if len(set(x)) < 2 or len(x) < 3:
        return None
    return {"setting": next(iter(points[0])), "per": "doubling" if doubling else "unit"} | stats.trend(
        x, [effect for _, effect in runs]
    )


class NoResults(LookupError):
    """No finished trials match the suite's current definition."""


class MixedBackends(NoResults):
    """The runs come from several Keras backends and the user did not ask to pool them."""


def one_backend(records: list[TrialRecord], backend: str | None, pool: bool) -> tuple[list[TrialRecord], str]:
    """The runs of one Keras backend (``backend``, or the only one present), or all of them if
    ``pool``; with a description for the report. Runs of different backends are never pooled silently."""
    counts = Counter(r.tags.get("keras_backend", "tensorflow") for r in records)
    listed = ", ".join(f"{name} ({n} runs)" for name, n in sorted(counts.items()))
    if backend:
        if backend not in counts:
            raise NoResults(f"no runs on Keras backend '{backend}' here; the runs found: {listed or 'none'}")
        return [r for r in records if r.tags.get("keras_backend", "tensorflow") == backend], backend
    if len(counts) > 1 and not pool:
        raise MixedBackends(
            f"the runs come from several Keras backends: {listed}; numbers from different backends are not "
            "pooled silently — report one with --backend NAME, or pool them with --pool-backends (the report says so)"
        )
    return records, (f"pooled across backends: {listed}" if len(counts) > 1 else next(iter(counts), "none"))


def _schedule(runs: list[TrialRecord]) -> dict[str, list[float]] | None:
    """The arm's learning-rate (and momentum) schedule over its updates, from its first run that has one
    (a schedule is exact, the same for every seed of an untuned arm)."""
    found = next((r.history for r in sorted(runs, key=lambda r: r.seed_index) if r.history.get(SCHEDULE_AXIS)), None)
    return (
        {key.removeprefix("schedule."): found[key] for key in found if key.startswith("schedule.")} if found else None
    )


def _compare(
    suite: Suite, by_arm: dict, comparison: Comparison, protocol: str, metric: str, judging: dict
) -> dict | None:
    """One comparison on one protocol's metric over the seeds finished in both arms, its verdict read
    as ``judging`` says (``assess``'s ``confidence`` and ``sequential_max``); None if < 2."""
    base, treat, direction = comparison.baseline, comparison.treatment, suite.direction(comparison, metric)
    seeds = sorted(
        i
        for i in by_arm.get(base, {})
        if i in by_arm.get(treat, {}) and all(_score(by_arm[a][i], metric) is not None for a in (base, treat))
    )
    if len(seeds) < 2:
        return None
    speed = suite.is_speed(metric)
    shape = np.log if speed else np.asarray  # a speed-up is judged as its log ratio
    b = np.array([_score(by_arm[base][i], metric) for i in seeds])
    t = np.array([_score(by_arm[treat][i], metric) for i in seeds])
    claimed, margin = suite.claimed_effect(comparison), suite.margin(comparison)
    equivalence, non_inferiority = suite.is_equivalence(comparison), suite.is_non_inferiority(comparison)
    # what a search over seeds is scored against: the claimed effect; for a direction, the margin beyond 0
    threshold = claimed if claimed is not None else (None if equivalence or non_inferiority else margin)
    show = Formatter(metric).magnitude  # a margin in the metric's unit (a speed-up's verdict writes ×)
    judging = judging | {"speed": speed, "equivalence": equivalence, "non_inferiority": non_inferiority, "show": show}
    assessed = assess(shape(b), shape(t), claimed, margin, higher_is_better=direction == 1, **judging)
    oriented = direction * (shape(t) - shape(b))
    best = int(np.argmax(oriented))
    missing = _missing_pairs(by_arm, (base, treat), seeds, metric)
    pairs = [(by_arm[base][i], by_arm[treat][i]) for i in seeds]
    return {
        "baseline": base,
        "treatment": treat,
        "protocol": protocol,
        "metric": metric,
        "higher_is_better": direction == 1,
        "axis": suite.derived[metric].axis if speed else None,
        "why": comparison.why,
        "claimed_effect": claimed,
        "margin": suite.margin(comparison),
        "equivalence_claim": equivalence,
        "non_inferiority_claim": non_inferiority,
        **assessed,
        "best_seed": {"seed_index": seeds[best], "effect": float(oriented[best])},
        "torture": search_curve(oriented, threshold),
        "torture_threshold": threshold,
        "missing_pairs": missing,
        "incomplete": len(missing) > MAX_MISSING_SHARE * (len(seeds) + len(missing)),
        "sensitivity": _worst_case(by_arm, (base, treat), seeds, missing, metric, direction, claimed, margin, judging),
        "per_seed": [
            {"seed_index": i, "seed": by_arm[base][i].seed, base: float(bv), treat: float(tv), "effect": float(e)}
            for i, bv, tv, e in zip(seeds, b, t, oriented, strict=True)
        ],
        "censored_pairs": censored_pairs(*zip(*pairs, strict=True), metric) if speed else None,
    }


def _missing_pairs(by_arm: dict, arms: tuple[str, str], seeds: list[int], metric: str) -> list[dict]:
    """Seeds where a run of either arm exists but the pair has no score: what each arm's run was."""
    indices = sorted((set(by_arm.get(arms[0], {})) | set(by_arm.get(arms[1], {}))) - set(seeds))
    found = []
    for i in indices:
        states = {}
        for arm in arms:
            record = by_arm.get(arm, {}).get(i)
            if record is None:
                states[arm] = "not run yet"
            elif record.status == FAILED:
                states[arm] = f"failed: {record.reason or 'no reason recorded'}"
            else:
                states[arm] = f"{record.status}, no {metric}" if _score(record, metric) is None else record.status
        if any(state.startswith("failed") or ", no " in state for state in states.values()):
            found.append({"seed_index": i, **states})
    return found


def _worst_case(
    by_arm: dict,
    arms: tuple[str, str],
    seeds: list[int],
    missing: list[dict],
    metric: str,
    direction: int,
    claimed: float | None,
    margin: float | None,
    judging: dict,
) -> dict | None:
    """The verdict with every failed run scored as the worst outcome of its arm (both arms run); ``judging``:
    :func:`assess`'s keywords."""
    shape = np.log if judging.get("speed") else np.asarray
    scored = {arm: [_score(by_arm[arm][i], metric) for i in seeds] for arm in arms}
    worst = {arm: (min if direction == 1 else max)(values) for arm, values in scored.items()}
    filled = [
        [_score(by_arm[arm][m["seed_index"]], metric) if m[arm] in (OK, DIVERGED) else worst[arm] for arm in arms]
        for m in missing
        if "not run yet" not in (m[arms[0]], m[arms[1]])
    ]
    if not filled:
        return None
    b = shape(np.array(scored[arms[0]] + [pair[0] for pair in filled]))
    t = shape(np.array(scored[arms[1]] + [pair[1] for pair in filled]))
    assessed = assess(b, t, claimed, margin, higher_is_better=direction == 1, **judging)
    return {"n_filled": len(filled), "effect": assessed["effect"], "verdict": assessed["verdict"]}


def _score(record: TrialRecord, metric: str) -> float | None:
    """A run's number on ``metric``: finished and diverged runs count, failed runs have none."""
    return record.metrics.get(metric) if record.status in (OK, DIVERGED) else None


def _test_selection_inflation(runs: dict[int, TrialRecord], protocols: dict[str, Protocol]) -> dict | None:
    """Per run: the test-selected number minus the honest one, for the first protocol selecting on test."""
    honest = next(iter(protocols.values())).metric
    selected = next((p.metric for p in protocols.values() if p.selects_on_test), None)
    pairs = [(_score(r, selected), _score(r, honest)) for r in runs.values()] if selected else []
    gaps = [a - b for a, b in pairs if a is not None and b is not None]
    return stats.mean_ci(gaps).as_dict() if gaps else None


def _ranking(suite: Suite, values: dict[str, dict[int, float]]) -> dict:
    """Every arm's mean of the ranking metric (95% t CI), best first."""
    direction = suite.metric_direction(suite.ranking)
    arms = [
        {"arm": arm, "mean": stats.mean_ci(list(values[arm].values())).as_dict()}
        for arm in suite.arms
        if values.get(arm)
    ]
    arms.sort(key=lambda row: -direction * row["mean"]["value"])
    return {"metric": suite.ranking, "higher_is_better": direction == 1, "arms": arms}


def sequential_maximum(records: list[TrialRecord]) -> int | None:
    """The campaign's ``--until-decided`` maximum (a tag of each of its runs), or None for a fixed-n campaign."""
    found = {r.tags[SEQUENTIAL_TAG] for r in records if r.tags.get(SEQUENTIAL_TAG)}
    if len(found) > 1:
        raise NoResults(f"the runs come from campaigns with different --until-decided maxima: {sorted(found)}")
    return int(found.pop()) if found else None


def _mode(sequential_max: int | None) -> dict:
    """How the verdicts' intervals were made, for the report."""
    if sequential_max is None:
        return {"kind": "fixed", "interval": "paired t interval"}
    return {
        "kind": "sequential",
        "max_seeds": sequential_max,
        "interval": f"t-mixture confidence sequence (Lai), tightest at {sequential_max} pairs; valid at every number "
        "of seeds however often it was read",
    }


def analyse(
    suite: Suite,
    profile: str,
    records: list[TrialRecord],
    expected: Callable[[str, int], str],
    targets: dict | None = None,
) -> dict:
    """Summaries per arm, every comparison under every protocol with its verdict, learning curves;
    for speed metrics (records with derived metrics, ``targets`` from :func:`harness.report.speed.derive`)
    the times to target per arm."""
    claim, metric = suite.claim, suite.claim.metric
    protocols = suite.all_protocols()
    current = [r for r in records if r.arm in suite.arms and expected(r.arm, r.seed_index) == r.params_hash]
    if not current:
        raise NoResults(
            f"no finished trials of suite '{suite.name}', profile '{profile}' match the suite file's "
            f"current settings ({len(records)} trial(s) of earlier settings found); run the campaign first"
        )
    by_arm: dict[str, dict[int, TrialRecord]] = defaultdict(dict)
    for record in sorted(current, key=lambda r: r.status != FAILED):  # a finished run wins over a failed one
        by_arm[record.arm][record.seed_index] = record

    arms = {}
    for arm in suite.arms:
        runs = by_arm.get(arm, {})
        scored = [r for r in runs.values() if _score(r, metric) is not None]
        by_protocol = {}
        for name, protocol in protocols.items():
            values = [v for r in runs.values() if (v := _score(r, protocol.metric)) is not None]
            by_protocol[name] = stats.mean_ci(values).as_dict() if values else None
        arms[arm] = {
            "description": suite.arms[arm].description,
            "n_runs": len(runs),
            "n_ok": sum(r.status == OK for r in runs.values()),
            "n_diverged": sum(r.status == DIVERGED for r in runs.values()),
            "n_failed": sum(r.status == FAILED for r in runs.values()),
            "failures": sorted({r.reason for r in runs.values() if r.status == FAILED}),
            "metric": by_protocol[next(iter(protocols))],
            "protocols": by_protocol,
            "test_selection_inflation": _test_selection_inflation(runs, protocols),
            "wall_time_s": float(np.mean([r.wall_time_s for r in runs.values()])) if runs else None,
            "curves": {
                key: stats.pointwise_band([r.history[key] for r in scored if r.history.get(key)])
                for key in CURVE_KEYS
                if any(r.history.get(key) for r in scored)
            },
            "schedule": _schedule(scored),
            "range_test": range_summary(list(runs.values())),
        }

    family = sum(len(suite.judged_on(comparison)) for comparison in suite.all_comparisons())
    simultaneous = 1 - (1 - stats.CONFIDENCE) / family  # Bonferroni over the report's comparisons × protocols
    sequential_max = sequential_maximum(current)

    def judging(comparison: Comparison, metric_name: str) -> dict:
        own = (comparison.baseline, comparison.treatment) == (claim.baseline.arm, claim.treatment.arm)
        confidence = stats.CONFIDENCE if own and metric_name == metric else simultaneous
        return {"confidence": confidence, "sequential_max": sequential_max}

    comparisons = [
        found
        for comparison in suite.all_comparisons()
        for name, judged in suite.judged_on(comparison)
        if (found := _compare(suite, by_arm, comparison, name, judged, judging(comparison, judged)))
    ]
    for comparison, adjusted in zip(
        comparisons, stats.benjamini_hochberg([c["p_value"] for c in comparisons]), strict=True
    ):
        comparison["p_adjusted"] = adjusted
    headline = next(
        (
            c
            for c in comparisons
            if (c["baseline"], c["treatment"]) == (claim.baseline.arm, claim.treatment.arm) and c["metric"] == metric
        ),
        None,
    )

    grid = grid_summary(suite, profile, headline)
    speed = {  # every time to target the suite declares, judged or not: its target and each arm's times
        name: speed_summary(suite, by_arm, name, (targets or {}).get(name, {}))
        for name in suite.derived
        if suite.is_speed(name)
    }

    def per_seed(name: str) -> dict[str, dict[int, float]]:
        return {
            arm: {i: v for i, r in runs.items() if (v := _score(r, name)) is not None} for arm, runs in by_arm.items()
        }

    provenance: dict[str, list[str]] = defaultdict(list)
    for record in current:
        for key in PROVENANCE_KEYS:
            value = record.tags.get(key)
            if value and value not in provenance[key]:
                provenance[key].append(value)
    commands = list(  # as typed, without this machine's folders (campaigns run before commands were recorded so)
        dict.fromkeys(
            portable(r.tags["command"]) for r in sorted(current, key=lambda r: r.seed_index) if r.tags.get("command")
        )
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "campaign_commands": commands,
        "suite": suite.name,
        "title": suite.title,
        "profile": profile,
        "profile_description": suite.profiles[profile].description,
        "changes_protocol": suite.profiles[profile].changes_protocol,
        "claim": claim.model_dump(mode="json") | {"claimed_effect": claim.claimed_effect},
        "settings": {arm: suite.settings_dict(profile, arm) for arm in suite.arms},
        "root_seed": next(iter(r.tags.get("root_seed") for r in current), None),
        "seeds": {str(i): seed for i, seed in sorted({(r.seed_index, r.seed) for r in current})},
        "protocols": {name: p.model_dump(mode="json") for name, p in protocols.items()},
        "arms": arms,
        "comparison": headline,
        "comparisons": comparisons,
        "multiplicity": {
            "method": "Bonferroni: simultaneous intervals for every comparison but the claim's own",
            "family": family,
            "confidence": simultaneous,
        },
        "mode": _mode(sequential_max),
        "scale": {"kind": "log_ratio", "axis": suite.derived[metric].axis} if suite.is_speed(metric) else None,
        "speed": speed or None,
        "grid": grid,
        "stability": spread(suite, per_seed),
        "checks": judge_checks(suite, by_arm, _score),
        "ranking": _ranking(suite, per_seed(suite.ranking)) if suite.ranking else None,
        "provenance": dict(provenance),
        "total_wall_time_s": float(sum(r.wall_time_s for r in current)),
    }
