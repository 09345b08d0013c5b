import pytest

from harness.stats import Estimate
from harness.verdict import Label, judge

CLAIMED = 0.02


def _judge(low, high):
    return judge(Estimate((low + high) / 2, low, high, 50, "test"), CLAIMED, paired_sd=0.03)


@pytest.mark.parametrize(
    ("low", "high", "label"),
    [
        (0.01, 0.03, Label.REPLICATED),
        (0.02, 0.03, Label.REPLICATED),  # claimed effect on the lower end: inside
        (0.001, 0.02, Label.REPLICATED),  # claimed effect on the upper end: inside
        (0.001, 0.019, Label.SMALLER),
        (0.021, 0.05, Label.LARGER),
        (-0.01, 0.019, Label.NOT_REPLICATED),
        (0.0, 0.019, Label.NOT_REPLICATED),  # 0 on the lower end: CI contains 0
        (-0.01, 0.03, Label.INCONCLUSIVE),
        (-0.01, 0.02, Label.INCONCLUSIVE),
        (-0.03, -0.001, Label.CONTRADICTED),
        (-0.03, 0.0, Label.NOT_REPLICATED),  # 0 on the upper end: not entirely on the wrong side
    ],
)
def test_every_boundary(low, high, label):
    assert _judge(low, high).label is label


def test_seeds_needed_only_when_inconclusive():
    assert _judge(-0.01, 0.03).seeds_needed >= 2
    assert _judge(0.01, 0.03).seeds_needed is None


def test_claim_must_be_oriented_positive():
    with pytest.raises(ValueError, match="positive"):
        judge(Estimate(0, -1, 1, 3, "x"), -0.02, 0.01)


def _direction(low, high):
    return judge(Estimate((low + high) / 2, low, high, 20, "test"), None, paired_sd=0.01, margin=0.005)


@pytest.mark.parametrize(
    ("low", "high", "label"),
    [
        (0.0001, 0.002, Label.REPLICATED),  # any size counts when the claim gives none
        (-0.004, 0.004, Label.NOT_REPLICATED),  # inside ±margin: no difference that matters
        (-0.005, 0.004, Label.INCONCLUSIVE),  # touches the margin: could still matter
        (-0.002, 0.008, Label.INCONCLUSIVE),
        (-0.008, -0.001, Label.CONTRADICTED),
    ],
)
def test_direction_only_claims(low, high, label):
    verdict = _direction(low, high)
    assert verdict.label is label and verdict.claimed is None
    assert (verdict.seeds_needed is not None) == (label is Label.INCONCLUSIVE)
    if label is Label.NOT_REPLICATED:
        assert "±0.005" in verdict.meaning


def test_direction_only_claim_needs_a_margin():
    with pytest.raises(ValueError, match="margin"):
        judge(Estimate(0, -1, 1, 3, "x"), None, 0.01)
