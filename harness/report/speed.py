"""Speed claims in a report: every run's derived metrics, the targets, censoring, reach curves."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from harness import stats
from harness.derived import REACHED, TimeToTarget, compute, final_value
from harness.suites import Suite
from harness.tracking import TrialRecord
from harness.trial import DIVERGED, OK


def derive(
    suite: Suite, records: list[TrialRecord], expected: Callable[[str, int], str]
) -> tuple[list[TrialRecord], dict]:
    """Every finished run with the suite's derived metrics added (failed runs have none), and each
    time-to-target's target — a relative one from the current runs of its arm (``expected`` hashes)."""
    if not suite.derived:
        return records, {}
    current = [
        r
        for r in records
        if r.arm in suite.arms and r.status in (OK, DIVERGED) and expected(r.arm, r.seed_index) == r.params_hash
    ]
    targets = {name: _target(spec, current) for name, spec in suite.derived.items() if isinstance(spec, TimeToTarget)}
    out = []
    for record in records:
        if record.status not in (OK, DIVERGED):
            out.append(record)
            continue
        extra = {}
        for name, spec in suite.derived.items():
            found = compute(spec, record.history, record.metrics, targets.get(name, {}).get("value"))
            extra |= {name + suffix: value for suffix, value in found.items()}
        out.append(replace(record, metrics=record.metrics | extra))
    return out, targets


def _target(spec: TimeToTarget, current: list[TrialRecord]) -> dict:
    """The target's value, and for a relative one the mean final value it was taken from (with its CI)."""
    found = {"curve": spec.curve, "axis": spec.axis, "rises": "loss" not in spec.curve}
    target = spec.target
    if target.value is not None:
        return found | {"value": target.value, "relative_to": None}
    finals = [
        v for r in current if r.arm == target.relative_to and (v := final_value(r.history, spec.curve)) is not None
    ]
    runs = sum(r.arm == target.relative_to for r in current)
    mean = stats.t_ci(finals).as_dict() if len(finals) > 1 else None
    value = target.fraction * float(np.mean(finals)) if finals else None
    return found | {
        "value": value,
        "relative_to": target.relative_to,
        "fraction": target.fraction,
        "final_mean": mean,
        "n_runs": runs,
        "n_finite": len(finals),
    }


def arm_speed(times: list[float], reached: list[bool]) -> dict:
    """One arm's runs on a time to target: how many reached it, the censored share, median, reach curve."""
    n, hits = len(times), int(sum(reached))
    order = np.sort(np.where(reached, times, math.inf))
    median = float(np.median(order)) if n and hits * 2 > n else None  # None: half or more never reached
    return {
        "n": n,
        "reached": hits,
        "censored": stats.share(n - hits, n).as_dict() if n else None,
        "median": median,
        "reach": stats.reach_curve(times, reached) if n else None,
    }


def speed_summary(suite: Suite, by_arm: dict[str, dict[int, TrialRecord]], metric: str, target: dict) -> dict:
    """Per arm: the runs' times to the target on ``metric`` (censored ones at their budget)."""
    arms = {}
    for arm in suite.arms:
        runs = [r for r in by_arm.get(arm, {}).values() if r.status in (OK, DIVERGED) and metric in r.metrics]
        arms[arm] = arm_speed([r.metrics[metric] for r in runs], [bool(r.metrics[metric + REACHED]) for r in runs])
    return {"metric": metric, "target": target, "arms": arms}


def censored_pairs(base: list[TrialRecord], treat: list[TrialRecord], metric: str) -> dict:
    """How many pairs had a censored run: the baseline's only (the speed-up counted is a lower bound for
    that seed), the treatment's only (an upper bound), or both (counted as 1×)."""
    b = [not r.metrics[metric + REACHED] for r in base]
    t = [not r.metrics[metric + REACHED] for r in treat]
    return {
        "baseline_only": sum(x and not y for x, y in zip(b, t, strict=True)),
        "treatment_only": sum(y and not x for x, y in zip(b, t, strict=True)),
        "both": sum(x and y for x, y in zip(b, t, strict=True)),
    }
