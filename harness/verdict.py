"""The verdict: how the measured effect's CI relates to 0 and to the claimed effect."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.stats import Estimate, seeds_for_decision


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

    Interval ends count as inside. ``seeds_needed`` is the number of paired seeds for
    a CI narrow enough to decide, given only when the verdict is inconclusive. With
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
    needed = seeds_for_decision(paired_sd, claimed) if label is Label.INCONCLUSIVE else None
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
    needed = seeds_for_decision(paired_sd, margin) if label is Label.INCONCLUSIVE else None
    return Verdict(label, _MEANING_DIRECTION_ONLY[label].format(margin=f"{margin:g}"), None, needed)
