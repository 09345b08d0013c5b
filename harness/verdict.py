"""The verdict: how the measured effect's CI relates to 0 and to the claimed effect."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from harness import stats
from harness.stats import Estimate, seeds_for_power


class Label(StrEnum):
    REPLICATED = "replicated"
    LARGER = "larger than claimed"
    SMALLER = "smaller than claimed"
    NOT_REPLICATED = "not replicated"
    CONTRADICTED = "contradicted"
    INCONCLUSIVE = "inconclusive"


_MEANING = {
    Label.REPLICATED: "the CI excludes 0 in the claimed direction and contains the claimed effect",
    Label.LARGER: "the CI excludes 0 and lies entirely above the claimed effect",
    Label.SMALLER: "the CI excludes 0 but lies entirely below the claimed effect",
    Label.NOT_REPLICATED: "the CI contains 0 and excludes the claimed effect",
    Label.CONTRADICTED: "the CI lies entirely on the wrong side of 0",
    Label.INCONCLUSIVE: "the CI contains both 0 and the claimed effect",
}
_MEANING_DIRECTION_ONLY = {
    Label.REPLICATED: "the CI excludes 0 in the claimed direction (the claim gives no size)",
    Label.NOT_REPLICATED: "the CI lies inside ±{margin}, the smallest difference that matters",
    Label.CONTRADICTED: "the CI lies entirely on the wrong side of 0",
    Label.INCONCLUSIVE: "the CI contains 0 and reaches beyond ±{margin}, the smallest difference that matters",
}


@dataclass(frozen=True)
class Verdict:
    label: Label
    meaning: str
    claimed: float | None  # None: the claim is about direction only
    seeds_needed: int | None

    def as_dict(self) -> dict:
        return {
            "label": str(self.label),
            "meaning": self.meaning,
            "claimed": self.claimed,
            "seeds_needed": self.seeds_needed,
        }


def judge(effect: Estimate, claimed: float | None, paired_sd: float, margin: float | None = None) -> Verdict:
    """Classify an effect oriented so that the claim is positive (``claimed > 0``).

    Interval ends count as inside. ``seeds_needed``, given only when the verdict is
    inconclusive, is the number of paired seeds with 80% power to detect the claimed
    effect (or the margin) at the observed paired SD. With
    ``claimed=None`` the claim is "better", of no stated size: ``margin`` is then the
    smallest difference that matters, and a CI inside ±margin means no difference.
    """
    if claimed is None:
        return _judge_direction(effect, paired_sd, margin)
    if claimed <= 0:
        raise ValueError(f"claimed effect must be positive after orientation, got {claimed}")
    low, high = effect.low, effect.high
    if high < 0:
        label = Label.CONTRADICTED
    elif low > 0:
        label = Label.SMALLER if high < claimed else Label.LARGER if low > claimed else Label.REPLICATED
    else:
        label = Label.INCONCLUSIVE if high >= claimed else Label.NOT_REPLICATED
    needed = seeds_for_power(paired_sd, claimed) if label is Label.INCONCLUSIVE else None
    return Verdict(label, _MEANING[label], claimed, needed)


def _judge_direction(effect: Estimate, paired_sd: float, margin: float | None) -> Verdict:
    if margin is None or margin <= 0:
        raise ValueError(f"a direction-only claim needs a positive margin, got {margin}")
    if effect.high < 0:
        label = Label.CONTRADICTED
    elif effect.low > 0:
        label = Label.REPLICATED
    else:
        label = Label.NOT_REPLICATED if -margin < effect.low and effect.high < margin else Label.INCONCLUSIVE
    needed = seeds_for_power(paired_sd, margin) if label is Label.INCONCLUSIVE else None
    return Verdict(label, _MEANING_DIRECTION_ONLY[label].format(margin=f"{margin:g}"), None, needed)


def assess(baseline, treatment, claimed: float | None, margin: float | None, *, higher_is_better: bool = True) -> dict:
    """Every statistic of one paired comparison, oriented so that an improvement is positive.

    The verdict rests on the paired t interval (nominal coverage at these n; the BCa
    bootstrap interval is shown beside it). ``p`` is the sign-flip permutation test's.
    """
    direction = 1 if higher_is_better else -1
    b, t = direction * np.asarray(baseline, dtype=float), direction * np.asarray(treatment, dtype=float)
    oriented = stats.paired_differences(t, b)
    effect = stats.t_ci(oriented)
    paired_sd = float(np.std(oriented, ddof=1))
    d_z = stats.cohens_dz(oriented) if np.ptp(oriented) > 0 else None
    prob = stats.prob_greater(t, b)
    target = claimed if claimed is not None else margin
    return {
        "n_pairs": int(oriented.size),
        "effect": effect.as_dict(),
        "effect_bca": stats.bootstrap_ci(oriented, method="BCa").as_dict(),
        "paired_sd": paired_sd,
        "p_value": stats.sign_flip_p(oriented),
        "prob_treatment_better": prob.as_dict(),
        "outperforming": stats.outperforming(prob),
        "d_z": d_z.as_dict() if d_z else None,
        "g_z": stats.hedges_gz(d_z).as_dict() if d_z else None,
        "equivalence": stats.tost(oriented, margin) if margin else None,
        "seeds_for_power": stats.seeds_for_power(paired_sd, target) if target else None,
        "share_at_least_claimed": stats.share_at_least(oriented, claimed).as_dict() if claimed else None,
        "verdict": judge(effect, claimed, paired_sd, margin).as_dict(),
    }


def spread_verdict(low: float | None, high: float | None) -> str:
    """Is the treatment's spread across seeds lower? Judged on the 95% CI of SD(treatment) / SD(baseline)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "undetermined (the ratio's interval is undefined)"
    if high < 1:
        return "lower spread (the ratio's CI is below 1)"
    if low > 1:
        return "higher spread (the ratio's CI is above 1)"
    return "no difference shown (the ratio's CI includes 1)"
