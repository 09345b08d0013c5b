"""Checks: facts every run must show (a bound on the worst run), not averages with intervals."""

from __future__ import annotations

import math
from collections.abc import Callable

from harness import stats
from harness.suites import Suite

MIN_SPREAD_RUNS = 5  # fewer runs than this: an SD's bootstrap interval decides nothing


def _passes(value: float, bound: float, below: bool) -> bool:
    return math.isfinite(value) and (value < bound if below else value > bound)


def judge_checks(suite: Suite, by_arm: dict, score: Callable) -> list[dict]:
    """Per check: every run of its arms against the bound, the worst run, the runs that fail it,
    and those with no value (failed runs: not checked, counted). A non-finite value fails."""
    found = []
    for name, check in suite.checks.items():
        below = check.below is not None
        bound = check.below if below else check.above
        values, unchecked = [], []
        for arm in check.arms or list(suite.arms):
            for index, record in sorted(by_arm.get(arm, {}).items()):
                value = score(record, check.metric)
                where = {"arm": arm, "seed_index": index, "seed": record.seed}
                if value is None:
                    unchecked.append(where | {"status": record.status})
                else:
                    values.append(where | {"value": float(value)})

        if check.of == "sd_across_seeds":
            judged = _spread_check(values, bound, below)
        else:
            judged = _each_run_check(values, bound, below)
        found.append(
            {
                "name": name,
                "metric": check.metric,
                "of": check.of,
                "bound": {"below" if below else "above": bound},
                "why": check.why,
                "n_runs": len(values),
                "unchecked": unchecked,
                **judged,
            }
        )
    return found


def _each_run_check(values: list[dict], bound: float, below: bool) -> dict:
    """Every run against the bound: the worst run (a non-finite value first) and the runs that fail it."""
    failing = [v for v in values if not _passes(v["value"], bound, below)]
    broken = [v for v in values if not math.isfinite(v["value"])]
    worst = broken[0] if broken else (max if below else min)(values, key=lambda v: v["value"], default=None)
    return {
        "n_pass": len(values) - len(failing),
        "worst": worst,
        "failing": failing[:10],
        "holds": None if not values else not failing,
    }


def _spread_check(values: list[dict], bound: float, below: bool) -> dict:
    """Each arm's SD across seeds (BCa 95% CI) against the bound: holds when the interval lies within it,
    fails when it lies entirely beyond, undecided (None) otherwise or below ``MIN_SPREAD_RUNS`` runs; a
    non-finite value fails its arm."""
    per_arm = []
    for arm in dict.fromkeys(v["arm"] for v in values):
        own = [v["value"] for v in values if v["arm"] == arm]
        if len(own) < MIN_SPREAD_RUNS or not all(math.isfinite(v) for v in own):
            broken = len(own) >= MIN_SPREAD_RUNS  # a non-finite value: no spread to bound
            per_arm.append({"arm": arm, "sd": None, "n": len(own), "holds": False if broken else None})
            continue
        sd = stats.sd_ci(own).as_dict()
        inside, beyond = (sd["high"] < bound, sd["low"] >= bound) if below else (sd["low"] > bound, sd["high"] <= bound)
        per_arm.append({"arm": arm, "sd": sd, "n": len(own), "holds": True if inside else False if beyond else None})
    verdicts = [a["holds"] for a in per_arm]
    holds = False if False in verdicts else (True if verdicts and all(verdicts) else None)
    return {"per_arm": per_arm, "holds": holds}
