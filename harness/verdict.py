"""The verdict: how the measured effect's CI relates to 0 and to the claimed effect."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from harness import stats
from harness.stats import Estimate, seeds_for_equivalence, seeds_for_power


class Label(StrEnum):
    REPLICATED = "replicated"
    POSITIVE = "positive, size undetermined"
    LARGER = "larger than claimed"
    SMALLER = "smaller than claimed"
    NOT_REPLICATED = "not replicated"
    CONTRADICTED = "contradicted"
    INCONCLUSIVE = "inconclusive"
    UNDETERMINED = "undetermined"


MIN_PAIRS = 3  # with 2 pairs the interval rests on one degree of freedom: ±12.7 SE, the SD a single difference
PRECISION = 0.5  # "replicated" also needs the CI's lower end at or above this fraction of the claimed effect
ASSERTS_EFFECT = frozenset({Label.REPLICATED, Label.POSITIVE, Label.LARGER, Label.SMALLER, Label.CONTRADICTED})
DECIDED = frozenset({Label.REPLICATED, Label.LARGER, Label.SMALLER, Label.NOT_REPLICATED, Label.CONTRADICTED})


Show = Callable[[float], str]  # writes a margin's size in the metric's unit


def plain(size: float) -> str:
    """A difference's size as written when its unit is unknown (a report passes ``0.50 points``)."""
    return f"{size:g}"


_MEANING = {
    Label.REPLICATED: f"the CI excludes 0, contains the claimed effect and rules out effects below {PRECISION:.0%} "
    "of it",
    Label.POSITIVE: f"the CI excludes 0 and contains the claimed effect, but also effects below {PRECISION:.0%} of it",
    Label.LARGER: "the CI excludes 0 and lies entirely above the claimed effect",
    Label.SMALLER: "the CI excludes 0 but lies entirely below the claimed effect",
    Label.NOT_REPLICATED: "the CI contains 0 and excludes the claimed effect",
    Label.CONTRADICTED: "the CI lies entirely on the wrong side of 0",
    Label.INCONCLUSIVE: "the CI contains both 0 and the claimed effect",
}
_MEANING_DIRECTION_ONLY = {
    Label.REPLICATED: "the CI excludes 0 in the claimed direction and reaches beyond +{margin}, the smallest "
    "difference that matters",
    Label.NOT_REPLICATED: "the CI lies inside ±{margin}, the smallest difference that matters",
    Label.CONTRADICTED: "the CI lies entirely on the wrong side of 0 and reaches beyond −{margin}",
    Label.INCONCLUSIVE: "the CI contains 0 and reaches beyond ±{margin}, the smallest difference that matters",
}

_MEANING_SPEED = {  # the same verdicts, read from the interval of the log speed-up
    Label.REPLICATED: f"the CI excludes ×1 (no speed-up), contains the claimed speed-up and rules out speed-ups "
    f"below {PRECISION:.0%} of it (on the log scale)",
    Label.POSITIVE: f"the CI excludes ×1 and contains the claimed speed-up, but also speed-ups below {PRECISION:.0%} "
    "of it (on the log scale)",
    Label.LARGER: "the CI excludes ×1 and lies entirely above the claimed speed-up",
    Label.SMALLER: "the CI excludes ×1 but lies entirely below the claimed speed-up",
    Label.NOT_REPLICATED: "the CI contains ×1 and excludes the claimed speed-up",
    Label.CONTRADICTED: "the CI lies entirely below ×1: the treatment is slower",
    Label.INCONCLUSIVE: "the CI contains both ×1 and the claimed speed-up",
}
_MEANING_SPEED_DIRECTION = {
    Label.REPLICATED: "the CI excludes ×1 in the claimed direction and reaches beyond ×{high}, the smallest "
    "speed-up that matters",
    Label.NOT_REPLICATED: "the CI lies inside ×{low} to ×{high}, the smallest speed-up that matters",
    Label.CONTRADICTED: "the CI lies entirely below ×1 and reaches below ×{low}: the treatment is slower",
    Label.INCONCLUSIVE: "the CI contains ×1 and reaches beyond ×{low} to ×{high}, the smallest speed-up that matters",
}

_MEANING_NON_INFERIORITY = {  # "not worse than the baseline by more than the margin"
    Label.REPLICATED: "the CI's lower end lies above {worse}: not worse by more than the margin (one-sided test at "
    "{alpha})",
    Label.CONTRADICTED: "the CI lies entirely below {worse}: worse by more than the margin",
    Label.INCONCLUSIVE: "the CI reaches below {worse} but not entirely: neither non-inferiority nor a loss beyond "
    "the margin is shown",
}

_MEANING_EQUIVALENCE = {  # the claim is "no difference that matters": the same labels, read against ±margin
    Label.REPLICATED: "the CI lies inside {margin}: no difference that matters (two one-sided tests)",
    Label.CONTRADICTED: "the CI lies entirely outside {margin}: the arms differ by more than the margin",
    Label.INCONCLUSIVE: "the CI reaches outside {margin} but not entirely: neither equivalence nor a difference "
    "that matters is shown",
}


@dataclass(frozen=True)
class Verdict:
    label: Label
    meaning: str
    claimed: float | None  # None: the claim is about direction only
    seeds_needed: int | None
    needed_for: str | None = None  # what ``seeds_needed`` paired seeds would decide (80% power)

    def as_dict(self) -> dict:
        return {
            "label": str(self.label),
            "meaning": self.meaning,
            "claimed": self.claimed,
            "seeds_needed": self.seeds_needed,
            "needed_for": self.needed_for,
        }


def _undetermined(effect: Estimate, claimed: float | None) -> Verdict | None:
    """A verdict that no interval can give: too few pairs, or differences without spread."""
    if effect.n < MIN_PAIRS:
        reason = f"only {effect.n} paired seed(s); a verdict needs at least {MIN_PAIRS}"
        return Verdict(Label.UNDETERMINED, reason, claimed, MIN_PAIRS, "the least a verdict reads")
    if effect.low == effect.high:
        reason = (
            f"all {effect.n} paired differences equal {effect.value:g}: without spread there is no interval "
            "(are the arms' runs identical or deterministic?)"
        )
        return Verdict(Label.UNDETERMINED, reason, claimed, None)
    return None


def judge(
    effect: Estimate,
    claimed: float | None,
    paired_sd: float,
    margin: float | None = None,
    sequential_max: int | None = None,
    speed: bool = False,
    equivalence: bool = False,
    non_inferiority: bool = False,
    show: Show = plain,
) -> Verdict:
    """Classify an effect oriented so that the claim is positive (``claimed > 0``).

    Interval ends count as inside. "Replicated" asks for precision as well as direction:
    the CI must also rule out effects below ``PRECISION`` × the claim, or the label is
    "positive, size undetermined". ``seeds_needed`` (inconclusive or imprecise verdicts)
    is the number of paired seeds with 80% power to decide at the observed paired SD. With
    ``claimed=None`` the claim is "better", of no stated size: ``margin`` is then the
    smallest difference that matters, and a CI inside ±margin means no difference.
    ``sequential_max``: ``effect`` is the confidence sequence of a campaign that added seeds
    until decided, at most this many; the seeds needed are then the sequence's. ``speed``: the
    effect is a log speed-up, and the verdict says so. ``equivalence``: the claim is that the arms do
    not differ by more than ±``margin`` (replicated when the CI lies inside it). ``non_inferiority``: the
    claim is that the treatment is not worse by more than ``margin`` (replicated when the CI's lower end
    lies above −margin). ``show`` writes a margin in the metric's unit.
    """
    if non_inferiority:
        return _judge_non_inferiority(effect, paired_sd, margin, sequential_max, speed, show)
    if equivalence:
        return _judge_equivalence(effect, paired_sd, margin, sequential_max, speed, show)
    if claimed is None:
        return _judge_direction(effect, paired_sd, margin, sequential_max, speed, show)
    if claimed <= 0:
        raise ValueError(f"claimed effect must be positive after orientation, got {claimed}")
    if undetermined := _undetermined(effect, claimed):
        return undetermined
    low, high, alpha = effect.low, effect.high, 1 - effect.confidence
    needed, needed_for = None, None
    if high < 0:
        label = Label.CONTRADICTED
    elif low > 0:
        if high < claimed:
            label = Label.SMALLER
        elif low > claimed:
            label = Label.LARGER
        elif low >= PRECISION * claimed:
            label = Label.REPLICATED
        else:
            label, needed = (
                Label.POSITIVE,
                seeds_for_power(paired_sd, (1 - PRECISION) * claimed, alpha=alpha, sequential_max=sequential_max),
            )
            needed_for = f"to rule out effects below {PRECISION:.0%} of the claim if the claim is true"
    else:
        label = Label.INCONCLUSIVE if high >= claimed else Label.NOT_REPLICATED
    if label is Label.INCONCLUSIVE:
        needed = seeds_for_power(paired_sd, claimed, alpha=alpha, sequential_max=sequential_max)
        needed_for = "to detect the claimed effect"
    return Verdict(label, (_MEANING_SPEED if speed else _MEANING)[label], claimed, needed, needed_for)


def _judge_direction(
    effect: Estimate, paired_sd: float, margin: float | None, sequential_max: int | None, speed: bool, show: Show
) -> Verdict:
    """The margin first (the same 95% interval as the TOST in the report), then the direction."""
    if margin is None or margin <= 0:
        raise ValueError(f"a direction-only claim needs a positive margin, got {margin}")
    if effect.n >= MIN_PAIRS and effect.low == effect.high:
        return _identical_direction(effect, margin, speed, show)
    if undetermined := _undetermined(effect, None):
        return undetermined
    needed, needed_for = None, None
    if -margin < effect.low and effect.high < margin:
        label = Label.NOT_REPLICATED
    elif effect.high < 0:
        label = Label.CONTRADICTED
    elif effect.low > 0:
        label = Label.REPLICATED
    else:
        label = Label.INCONCLUSIVE
        needed = max(
            seeds_for_power(paired_sd, margin, alpha=1 - effect.confidence, sequential_max=sequential_max),
            seeds_for_equivalence(paired_sd, margin, confidence=effect.confidence, sequential_max=sequential_max),
        )
        needed_for = f"to detect a difference of {show(margin)} or to show none beyond ±{show(margin)}"
    if speed:
        bounds = {"low": f"{math.exp(-margin):.3g}", "high": f"{math.exp(margin):.3g}"}
        return Verdict(label, _MEANING_SPEED_DIRECTION[label].format(**bounds), None, needed, needed_for)
    return Verdict(label, _MEANING_DIRECTION_ONLY[label].format(margin=show(margin)), None, needed, needed_for)


def _margin_text(margin: float, speed: bool, show: Show) -> str:
    """The band of no difference that matters: ±margin, or for a log speed-up its ×low to ×high."""
    return f"×{math.exp(-margin):.3g} to ×{math.exp(margin):.3g}" if speed else f"±{show(margin)}"


def _identical_direction(effect: Estimate, margin: float, speed: bool, show: Show) -> Verdict:
    """Every paired difference the same (a pass/fail flag, say): no t interval, but the exact
    sign-flip test still reads the direction: all n signs agreeing has p = 2 / 2^n."""
    value, n = effect.value, effect.n
    shown = _margin_text(margin, speed, show)
    same = f"all {n} paired differences equal {value:g}"
    if abs(value) < margin:
        return Verdict(
            Label.NOT_REPLICATED, f"{same}, inside {shown}, the smallest difference that matters", None, None
        )
    p = 2.0 ** (1 - n)
    if p > 1 - effect.confidence:
        needed = math.ceil(1 - math.log2(1 - effect.confidence))
        reason = (
            f"{same} (no spread: no t interval), beyond {shown}, but with {n} pairs the exact sign-flip "
            f"test reaches only p = {p:.3g}"
        )
        alpha = f"{1 - effect.confidence:.3g}"
        return Verdict(Label.UNDETERMINED, reason, None, needed, f"for identical differences to reach p ≤ {alpha}")
    label = Label.REPLICATED if value > 0 else Label.CONTRADICTED
    side = "in the claimed direction" if value > 0 else "on the wrong side of 0"
    meaning = f"{same}, {side} and beyond {shown}: the exact sign-flip test gives p = {p:.3g}"
    return Verdict(label, meaning, None, None)


def _judge_equivalence(
    effect: Estimate, paired_sd: float, margin: float | None, sequential_max: int | None, speed: bool, show: Show
) -> Verdict:
    """An equivalence claim: the CI inside ±margin (TOST at the interval's level), beyond it, or across its edge."""
    if margin is None or margin <= 0:
        raise ValueError(f"an equivalence claim needs a positive margin, got {margin}")
    shown = _margin_text(margin, speed, show)
    if effect.n >= MIN_PAIRS and effect.low == effect.high:  # identical differences: equivalence needs no spread
        inside = abs(effect.value) < margin
        where = "inside" if inside else "outside"
        meaning = f"all {effect.n} paired differences equal {effect.value:g}, {where} {shown}"
        return Verdict(Label.REPLICATED if inside else Label.CONTRADICTED, meaning, None, None)
    if undetermined := _undetermined(effect, None):
        return undetermined
    needed, needed_for = None, None
    if -margin < effect.low and effect.high < margin:
        label = Label.REPLICATED
    elif effect.low > margin or effect.high < -margin:
        label = Label.CONTRADICTED
    else:
        label = Label.INCONCLUSIVE
        needed = seeds_for_equivalence(paired_sd, margin, confidence=effect.confidence, sequential_max=sequential_max)
        needed_for = f"to show no difference beyond {shown} if there is none"
    return Verdict(label, _MEANING_EQUIVALENCE[label].format(margin=shown), None, needed, needed_for)


def _judge_non_inferiority(
    effect: Estimate, paired_sd: float, margin: float | None, sequential_max: int | None, speed: bool, show: Show
) -> Verdict:
    """A non-inferiority claim: the CI's lower end above −margin (a one-sided test at half the interval's
    alpha), its upper end below −margin (worse by more than the margin), or across it."""
    if margin is None or margin <= 0:
        raise ValueError(f"a non-inferiority claim needs a positive margin, got {margin}")
    worse = f"×{math.exp(-margin):.3g}" if speed else f"−{show(margin)}"
    if effect.n >= MIN_PAIRS and effect.low == effect.high:  # identical differences: the side needs no spread
        label = Label.REPLICATED if effect.value > -margin else Label.CONTRADICTED
        side = "above" if label is Label.REPLICATED else "at or below"
        return Verdict(label, f"all {effect.n} paired differences equal {effect.value:g}, {side} {worse}", None, None)
    if undetermined := _undetermined(effect, None):
        return undetermined
    needed, needed_for = None, None
    if effect.low > -margin:
        label = Label.REPLICATED
    elif effect.high < -margin:
        label = Label.CONTRADICTED
    else:
        label = Label.INCONCLUSIVE
        alpha = 1 - effect.confidence
        needed = seeds_for_power(paired_sd, margin, alpha=alpha, sequential_max=sequential_max)
        needed_for = f"to show the treatment not worse by more than {show(margin)} if the arms do not differ"
    alpha = f"{(1 - effect.confidence) / 2:.3g}"
    return Verdict(label, _MEANING_NON_INFERIORITY[label].format(worse=worse, alpha=alpha), None, needed, needed_for)


def assess(
    baseline,
    treatment,
    claimed: float | None,
    margin: float | None,
    *,
    higher_is_better: bool = True,
    confidence: float = stats.CONFIDENCE,
    sequential_max: int | None = None,
    speed: bool = False,
    equivalence: bool = False,
    non_inferiority: bool = False,
    show: Show = plain,
) -> dict:
    """Every statistic of one paired comparison, oriented so that an improvement is positive
    (``speed``: the values are log times, and the verdict speaks of speed-ups).

    The verdict rests on the paired t interval (nominal coverage at these n; the BCa
    bootstrap interval is shown beside it) at ``confidence``: 95%, or a simultaneous level
    for a report's secondary comparisons (``effect`` stays the 95% interval; the verdict's
    own interval is ``verdict.interval``). ``p`` is the sign-flip permutation test's. With
    ``sequential_max`` (a campaign that added seeds until decided, at most that many) the
    verdict and the equivalence test read the t-mixture confidence sequence instead, which
    stays valid however many times it was looked at. ``show`` writes a margin in the metric's unit.
    """
    direction = 1 if higher_is_better else -1
    b, t = direction * np.asarray(baseline, dtype=float), direction * np.asarray(treatment, dtype=float)
    oriented = stats.paired_differences(t, b)
    effect = stats.t_ci(oriented)
    if sequential_max is not None:
        judged = stats.t_confidence_sequence(oriented, sequential_max=sequential_max, confidence=confidence)
    elif confidence == stats.CONFIDENCE:
        judged = effect
    else:
        judged = stats.t_ci(oriented, confidence=confidence)
    paired_sd = float(np.std(oriented, ddof=1)) if oriented.size > 1 else math.nan
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
        "equivalence": _equivalence(oriented, margin, judged, sequential_max) if margin else None,
        "seeds_for_power": stats.seeds_for_power(paired_sd, target, sequential_max=sequential_max)
        if target and paired_sd > 0
        else None,
        "share_at_least_claimed": stats.share_at_least(oriented, claimed).as_dict() if claimed else None,
        "verdict": judge(
            judged, claimed, paired_sd, margin, sequential_max, speed, equivalence, non_inferiority, show
        ).as_dict()
        | {"interval": _bounded(judged)},
    }


def _bounded(estimate: Estimate) -> dict:
    """An estimate for JSON: an unbounded end (a young confidence sequence's) becomes None."""
    return {k: None if v in (-math.inf, math.inf) else v for k, v in estimate.as_dict().items()}


def _equivalence(oriented: np.ndarray, margin: float, judged: Estimate, sequential_max: int | None) -> dict:
    """TOST at the verdict's level; in sequential mode, whether the confidence sequence lies inside ±margin."""
    if sequential_max is None:
        return stats.tost(oriented, margin, judged.confidence)
    decided = judged.method != "degenerate" and judged.n >= 2
    inside = -margin < judged.low and judged.high < margin
    return {"margin": margin, "p": None, "p_not_worse": None, "equivalent": inside if decided else None, "n": judged.n}


def spread_verdict(low: float | None, high: float | None) -> str:
    """Is the treatment's spread across seeds lower? Judged on the 95% CI of SD(treatment) / SD(baseline)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "undetermined (the ratio's interval is undefined)"
    if high < 1:
        return "lower spread (the ratio's CI is below 1)"
    if low > 1:
        return "higher spread (the ratio's CI is above 1)"
    return "no difference shown (the ratio's CI includes 1)"
