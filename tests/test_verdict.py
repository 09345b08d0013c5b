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
