"""Checks: facts every run must show (a bound on the worst run), not averages with intervals."""

from __future__ import annotations

import math
from collections.abc import Callable

from harness.suites import Suite


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

        failing = [v for v in values if not _passes(v["value"], bound, below)]
        broken = [v for v in values if not math.isfinite(v["value"])]
        worst = broken[0] if broken else (max if below else min)(values, key=lambda v: v["value"], default=None)
        found.append(
            {
                "name": name,
                "metric": check.metric,
                "bound": {"below" if below else "above": bound},
                "why": check.why,
                "n_runs": len(values),
                "n_pass": len(values) - len(failing),
                "worst": worst,
                "failing": failing[:10],
                "unchecked": unchecked,
                "holds": None if not values else not failing,
            }
        )
    return found
