"""Stability claims: spread across seeds (SD ratio) and robustness across the tuning grid."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from harness import stats
from harness.suites import Suite
from harness.verdict import spread_verdict


def _finite(estimate: stats.Estimate) -> dict:
    """JSON-ready: an undefined bound becomes None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in estimate.as_dict().items()}


def spread(suite: Suite, per_seed: Callable[[str], dict[str, dict[int, float]]]) -> list[dict]:
    """Per stability pair: each arm's SD across seeds of its metric (``per_seed(metric)``: arm →
    seed index → value), the SD ratio on seeds both finished, the Pitman–Morgan test, the
    verdict, and what the source reported."""
    found = []
    for pair in suite.stability:
        metric = pair.metric or suite.claim.metric
        values = per_seed(metric)
        base, treat = values.get(pair.baseline, {}), values.get(pair.treatment, {})
        seeds = sorted(base.keys() & treat.keys())
        if len(seeds) < 3:
            continue
        b, t = [base[i] for i in seeds], [treat[i] for i in seeds]
        ratio = stats.sd_ratio(t, b)
        reported = pair.reported_sd
        reported_ratio = (
            reported[pair.treatment] / reported[pair.baseline]
            if {pair.baseline, pair.treatment} <= reported.keys() and reported[pair.baseline] > 0
            else None
        )
        found.append(
            {
                "baseline": pair.baseline,
                "treatment": pair.treatment,
                "metric": metric,
                "why": pair.why,
                "n_pairs": len(seeds),
                "sd": {pair.baseline: _finite(stats.sd_ci(b)), pair.treatment: _finite(stats.sd_ci(t))},
                "ratio": _finite(ratio),
                "pitman_morgan_p": stats.pitman_morgan_p(t, b),
                "verdict": spread_verdict(ratio.low, ratio.high),
                "reported_sd": dict(reported),
                "reported_ratio": reported_ratio,
            }
        )
    return found


def robustness(suite: Suite, tuning: dict) -> list[dict]:
    """Per stability pair: each arm's tuning objective at every grid point both arms tried, and the
    treatment's mean advantage across those points (t interval over points, one seed per point)."""
    found = []
    for pair in suite.stability:
        points = {arm: _points(tuning["arms"].get(arm, {})) for arm in (pair.baseline, pair.treatment)}
        shared = sorted(points[pair.baseline].keys() & points[pair.treatment].keys())
        if len(shared) < 2:
            continue
        sign = 1 if tuning["higher_is_better"] else -1
        rows = [
            {
                "params": json.loads(key),
                pair.baseline: points[pair.baseline][key],
                pair.treatment: points[pair.treatment][key],
            }
            for key in shared
        ]
        rows.sort(key=lambda row: [str(v) if not isinstance(v, (int, float)) else v for v in row["params"].values()])
        gaps = [sign * (row[pair.treatment] - row[pair.baseline]) for row in rows]
        found.append(
            {
                "baseline": pair.baseline,
                "treatment": pair.treatment,
                "objective": tuning["objective"],
                "points": rows,
                "advantage": stats.t_ci(gaps).as_dict(),
                "worst": {arm: _worst([row[arm] for row in rows], sign) for arm in (pair.baseline, pair.treatment)},
                "range": {
                    arm: max(row[arm] for row in rows) - min(row[arm] for row in rows)
                    for arm in (pair.baseline, pair.treatment)
                },
            }
        )
    return found


def _worst(values: list[float], sign: int) -> float:
    return min(values) if sign > 0 else max(values)


def _points(arm: dict) -> dict[str, float]:
    """A sweep's finished trials by their params (JSON key); a repeated point keeps its mean."""
    collected: dict[str, list[float]] = {}
    for trial in arm.get("trials", []):
        if trial["value"] is not None:
            collected.setdefault(json.dumps(trial["params"], sort_keys=True), []).append(trial["value"])
    return {key: sum(values) / len(values) for key, values in collected.items()}
