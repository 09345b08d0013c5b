"""The torture meter: how large an effect a search over seeds, epochs or configurations would show.

Built only from runs already made. Each curve gives, for a search of size k, the expected
best effect it finds (Tang et al.'s unbiased expected max, with a 95% bootstrap band) and
the chance that its best reaches the claimed effect by luck.
"""

from __future__ import annotations

import numpy as np

from harness import stats


def search_curve(effects, claimed: float | None) -> dict | None:
    """Best of k of these effects, k = 1…n; None with fewer than 2."""
    values = [float(v) for v in effects if np.isfinite(v)]
    if len(values) < 2:
        return None
    curve = stats.expected_max_curve(values)
    if claimed is not None:
        curve["prob_reaches_claimed"] = stats.prob_best_of_k_reaches(values, claimed)
        reached = [k for k, m in zip(curve["k"], curve["mean"], strict=True) if m >= claimed]
        curve["k_expected_to_reach_claimed"] = reached[0] if reached else None
    curve["n"] = len(values)
    return curve


def config_search(
    treatment_sweep: list[float], baseline_mean: float, claimed: float | None, direction: int
) -> dict | None:
    """Best of m of the treatment's sweep configurations, each scored on the claim's metric,
    against the baseline's confirmed mean: what trying m settings of one's own method and
    keeping the best-looking one shows. The band covers the search, not the baseline's mean."""
    return search_curve([direction * (v - baseline_mean) for v in treatment_sweep], claimed)


def headline_curves(results: dict) -> list[tuple[str, dict]]:
    """The headline comparison's torture curves, labelled: best of k seeds per protocol, then sweep settings."""
    headline = results["comparison"]
    if not headline:
        return []
    same = ("baseline", "treatment", "claimed_effect", "torture_threshold", "axis")  # the claim's pair, scale, claim
    curves = [
        (f"best of k seeds, {c['protocol']}", c["torture"])
        for c in results["comparisons"]
        if all(c.get(key) == headline.get(key) for key in same) and c["torture"]
    ]
    if configs := results.get("torture_configs"):
        curves.append((f"best of k {configs['arm']} sweep settings, on test", configs))
    return curves
