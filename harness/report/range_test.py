"""The learning-rate range test across seeds: each arm's curve with a 95% band, its suggested rates
on the log scale with 95% CIs, and in how many seeds each region appeared."""

from __future__ import annotations

import math

import numpy as np

from harness import stats
from harness.tracking import TrialRecord

CURVE = "range.smoothed"  # recorded with range.lr and range.loss (harness.workloads.supervised)
SUGGESTIONS = {
    "range_steepest_lr": "steepest descent",
    "range_min_loss_lr_over_10": "lowest loss ÷ 10",
    "range_min_loss_lr": "lowest loss",
}
REGIONS = {
    "range_flat_start": "flat start",
    "range_descends": "descent",
    "range_diverges": "divergence",
    "range_three_regions": "all three",
    "range_flagged": "flagged as broken",
}


def _on_log_scale(values: list[float]) -> dict | None:
    """Geometric mean with the 95% t interval of log10, back on the rate scale; SD of log10 in decades."""
    logs = np.log10([v for v in values if math.isfinite(v) and v > 0])
    if logs.size == 0:
        return None
    estimate = stats.t_ci(logs)
    return {
        "value": 10**estimate.value,
        "low": 10**estimate.low,
        "high": 10**estimate.high,
        "n": int(logs.size),
        "n_missing": len(values) - int(logs.size),
        "sd_log10": float(np.std(logs, ddof=1)) if logs.size > 1 else None,
    }


def range_summary(runs: list[TrialRecord]) -> dict | None:
    """An arm's range tests: the smoothed loss per step (mean, 95% band, n), the learning rate at each
    step (the same grid in every run; a test stopped early is shorter), the suggestions and the regions
    counted over the runs that recorded them; None if no run ran a range test."""
    tested = [r for r in runs if r.history.get(CURVE)]
    if not tested:
        return None
    rates = max((r.history["range.lr"] for r in tested), key=len)
    return {
        "lr": rates,
        "smoothed": stats.pointwise_band([r.history[CURVE] for r in tested]),
        "suggestions": {key: _on_log_scale([r.metrics.get(key, math.nan) for r in tested]) for key in SUGGESTIONS},
        "regions": {
            key: {"k": sum(r.metrics[key] == 1 for r in tested if key in r.metrics), "n": len(tested)}
            for key in REGIONS
        },
        "stopped_early": sum(len(r.history[CURVE]) < len(rates) for r in tested),
    }
