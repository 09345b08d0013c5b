import math

import pytest
import scipy.stats as st

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
        (0.01, 0.02, Label.REPLICATED),  # claimed effect on the upper end, lower end at half of it
        (0.001, 0.02, Label.POSITIVE),  # contains the claim but also effects far below it
        (0.009, 0.05, Label.POSITIVE),
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


def test_seeds_needed_only_when_inconclusive_or_imprecise():
    assert _judge(-0.01, 0.03).seeds_needed >= 2
    assert _judge(0.001, 0.02).seeds_needed > 50  # 80% power to resolve half the claim at SD 0.03
    assert _judge(0.01, 0.03).seeds_needed is None


@pytest.mark.parametrize("claimed", [0.02, None])
def test_too_few_pairs_or_no_spread_is_undetermined(claimed):
    import numpy as np

    from harness.stats import t_ci

    no_spread = "without spread" if claimed else "reaches only p = 0.25"
    for differences, reason in (([0.5, 2.5], "at least 3"), ([2.5, 2.5], "at least 3"), ([0.01] * 3, no_spread)):
        effect = t_ci(np.array(differences))
        verdict = judge(effect, claimed, paired_sd=float(np.std(differences, ddof=1)), margin=0.005)
        assert verdict.label is Label.UNDETERMINED and reason in verdict.meaning


def test_replicated_does_not_reward_imprecision():
    """True effect half the claim (+1 vs +2, SD 2.2): "replicated" needs the CI to rule out
    effects below half the claim, which the truth itself sits on, so it is rare at every n."""
    import numpy as np

    from harness.stats import t_ci

    rng = np.random.default_rng(16)
    for n in (10, 20, 30):
        labels = [judge(t_ci(d), 2.0, float(np.std(d, ddof=1))).label for d in rng.normal(1.0, 2.2, (2000, n))]
        assert labels.count(Label.REPLICATED) / 2000 <= 0.025 + 0.009  # one-sided 2.5%, plus 2.5 SE
        assert Label.POSITIVE in labels


def test_direction_only_verdict_agrees_with_tost():
    import numpy as np

    from harness.stats import t_ci, tost

    rng = np.random.default_rng(5)
    many = rng.normal(0.1, 1.0, 200)  # significant, but far inside the margin: no difference that matters
    assert judge(t_ci(many), None, 1.0, margin=1.0).label is Label.NOT_REPLICATED
    for differences in rng.normal(0.0, 1.0, (300, 12)):
        verdict = judge(t_ci(differences), None, float(np.std(differences, ddof=1)), margin=0.8)
        assert (verdict.label is Label.NOT_REPLICATED) == tost(differences, 0.8)["equivalent"]


def test_claim_must_be_oriented_positive():
    with pytest.raises(ValueError, match="positive"):
        judge(Estimate(0, -1, 1, 3, "x"), -0.02, 0.01)


def _direction(low, high):
    return judge(Estimate((low + high) / 2, low, high, 20, "test"), None, paired_sd=0.01, margin=0.005)


@pytest.mark.parametrize(
    ("low", "high", "label"),
    [
        (0.0001, 0.006, Label.REPLICATED),  # any size counts when the claim gives none ...
        (0.0001, 0.002, Label.NOT_REPLICATED),  # ... unless the CI is inside ±margin: checked first
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


def test_assess_golden_result_set():
    """A fixed 10-seed result set: every statistic against a literal expected number."""
    from harness.verdict import assess

    baseline = [0.912, 0.905, 0.921, 0.899, 0.915, 0.908, 0.917, 0.903, 0.910, 0.914]
    treatment = [0.925, 0.911, 0.919, 0.915, 0.930, 0.912, 0.922, 0.916, 0.913, 0.929]
    result = assess(baseline, treatment, claimed=0.02, margin=0.005)
    # differences: .013 .006 -.002 .016 .015 .004 .005 .013 .003 .015 → mean .0088, SD .0063210
    assert result["n_pairs"] == 10
    assert result["effect"]["value"] == pytest.approx(0.0088)
    assert result["paired_sd"] == pytest.approx(0.00632104)
    assert (result["effect"]["low"], result["effect"]["high"]) == pytest.approx((0.0042782, 0.0133218), abs=1e-7)
    assert result["p_value"] == pytest.approx(4 / 1024)  # exact: 4 of the 2^10 sign patterns are as extreme
    assert result["prob_treatment_better"]["value"] == pytest.approx(0.9)  # 9 of 10 seeds improve
    assert result["outperforming"] == "meaningful"
    assert result["d_z"]["value"] == pytest.approx(1.3921758)
    assert (result["d_z"]["low"], result["d_z"]["high"]) == pytest.approx((0.488097, 2.259879), abs=1e-5)
    assert result["g_z"]["value"] == pytest.approx(1.3921758 * (1 - 3 / 35))
    assert result["equivalence"]["equivalent"] is False
    assert result["equivalence"]["p"] == pytest.approx(0.955132, abs=1e-6)
    assert result["seeds_for_power"] == 4
    assert result["share_at_least_claimed"]["value"] == 0.0
    assert result["verdict"]["label"] == "smaller than claimed"


def test_assess_orients_lower_is_better_metrics():
    from harness.verdict import assess

    loss_before, loss_after = [1.0, 1.2, 0.9, 1.1], [0.8, 1.0, 0.85, 0.9]
    result = assess(loss_before, loss_after, claimed=0.1, margin=None, higher_is_better=False)
    assert result["effect"]["value"] == pytest.approx(0.1625)
    assert result["prob_treatment_better"]["value"] == 1.0
    assert result["equivalence"] is None


def test_sequential_assessment_reads_the_confidence_sequence_and_stays_json_safe():
    import json

    from harness.stats import t_confidence_sequence
    from harness.verdict import assess

    baseline = [0.912, 0.905, 0.921, 0.899, 0.915, 0.908, 0.917, 0.903, 0.910, 0.914]
    treatment = [0.925, 0.911, 0.919, 0.915, 0.930, 0.912, 0.922, 0.916, 0.913, 0.929]
    fixed = assess(baseline, treatment, claimed=0.02, margin=0.005)
    result = assess(baseline, treatment, claimed=0.02, margin=0.005, sequential_max=20)
    sequence = t_confidence_sequence([t - b for t, b in zip(treatment, baseline, strict=True)], sequential_max=20)
    assert result["verdict"]["interval"]["low"] == pytest.approx(sequence.low) and sequence.low < fixed["effect"]["low"]
    assert result["effect"] == fixed["effect"]  # the fixed-n interval is still shown beside it
    assert result["equivalence"] == {"margin": 0.005, "p": None, "p_not_worse": None, "equivalent": False, "n": 10}
    assert result["seeds_for_power"] > fixed["seeds_for_power"]
    early = assess(baseline[:3], treatment[:3], claimed=0.02, margin=0.005, sequential_max=20)
    assert early["verdict"]["interval"]["low"] is None and early["verdict"]["label"] == "inconclusive"
    json.dumps(early, allow_nan=False)  # an unbounded sequence is written as null, not as Infinity


def test_stopping_when_the_sequence_decides_keeps_false_effects_at_5_percent():
    """A/A, seeds added in rounds of 5 up to 30, stopping at the first verdict that asserts an effect."""
    import numpy as np

    from harness.stats import t_confidence_sequence
    from harness.verdict import ASSERTS_EFFECT

    rng = np.random.default_rng(9)
    asserted = 0
    for differences in rng.normal(0.0, 1.0, (400, 30)):
        for n in range(5, 31, 5):
            estimate = t_confidence_sequence(differences[:n], sequential_max=30)
            if judge(estimate, 0.5, float(np.std(differences[:n], ddof=1))).label in ASSERTS_EFFECT:
                asserted += 1
                break
    assert asserted / 400 <= 0.05


@pytest.mark.parametrize(
    ("low", "high", "label"),
    [
        (-0.002, 0.0025, Label.REPLICATED),  # inside ±0.003: no difference that matters
        (0.001, 0.002, Label.REPLICATED),  # a real but negligible difference is still equivalence
        (-0.004, 0.001, Label.INCONCLUSIVE),  # across the edge
        (0.0031, 0.01, Label.CONTRADICTED),  # entirely beyond the margin
        (-0.02, -0.0035, Label.CONTRADICTED),
    ],
)
def test_an_equivalence_claim_is_read_against_its_margin(low, high, label):
    verdict = judge(
        Estimate((low + high) / 2, low, high, 20, "t"), None, paired_sd=0.004, margin=0.003, equivalence=True
    )
    assert verdict.label is label
    assert (verdict.seeds_needed is not None) == (label is Label.INCONCLUSIVE)


@pytest.mark.parametrize(
    ("low", "high", "label"),
    [
        (-0.002, 0.0025, Label.REPLICATED),  # lower end above −0.003: not worse by more than the margin
        (0.01, 0.03, Label.REPLICATED),  # clearly better is not worse (an equivalence claim would be contradicted)
        (-0.004, 0.001, Label.INCONCLUSIVE),  # across −0.003
        (-0.02, -0.0035, Label.CONTRADICTED),  # worse by more than the margin
    ],
)
def test_a_non_inferiority_claim_reads_only_the_lower_end_against_its_margin(low, high, label):
    verdict = judge(
        Estimate((low + high) / 2, low, high, 20, "t"), None, paired_sd=0.004, margin=0.003, non_inferiority=True
    )
    assert verdict.label is label
    assert (verdict.seeds_needed is not None) == (label is Label.INCONCLUSIVE)
    assert "−0.003" in verdict.meaning


def test_a_non_inferiority_assessment_gives_its_one_sided_p_and_a_speed_bound():
    from harness.verdict import assess

    baseline = [0.60, 0.58, 0.59, 0.61, 0.57, 0.60]
    treatment = [0.62, 0.60, 0.60, 0.63, 0.60, 0.61]  # better by ~2 points in every seed
    result = assess(baseline, treatment, None, 0.01, non_inferiority=True)
    assert result["verdict"]["label"] == "replicated"
    differences = [t - b for t, b in zip(treatment, baseline, strict=True)]
    expected = st.ttest_1samp(differences, -0.01, alternative="greater").pvalue
    assert result["equivalence"]["p_not_worse"] == pytest.approx(expected)
    assert result["equivalence"]["equivalent"] is False  # the TOST would call it a difference beyond ±1 point
    slower = judge(Estimate(-0.5, -0.6, -0.4, 10, "t"), None, 0.1, math.log(1.25), non_inferiority=True, speed=True)
    assert slower.label is Label.CONTRADICTED and "×0.8" in slower.meaning


def test_identical_paired_differences_decide_equivalence_and_direction_but_not_a_claimed_size():
    same = Estimate(0.0, 0.0, 0.0, 20, "degenerate")
    assert judge(same, None, paired_sd=0.0, margin=0.003, equivalence=True).label is Label.REPLICATED
    apart = Estimate(0.01, 0.01, 0.01, 20, "degenerate")
    assert judge(apart, None, paired_sd=0.0, margin=0.003, equivalence=True).label is Label.CONTRADICTED
    assert judge(same, None, paired_sd=0.0, margin=0.003).label is Label.NOT_REPLICATED
    assert judge(apart, None, paired_sd=0.0, margin=0.003).label is Label.REPLICATED  # p = 2 / 2^20
    wrong = Estimate(-1.0, -1.0, -1.0, 10, "degenerate")  # a pass/fail flag that fails in every seed
    verdict = judge(wrong, None, paired_sd=0.0, margin=0.5)
    assert verdict.label is Label.CONTRADICTED and "p = 0.00195" in verdict.meaning
    five = Estimate(1.0, 1.0, 1.0, 5, "degenerate")  # 2 / 2^5 = 0.0625: five agreeing signs are not enough
    verdict = judge(five, None, paired_sd=0.0, margin=0.5)
    assert verdict.label is Label.UNDETERMINED and verdict.seeds_needed == 6
    assert judge(Estimate(1.0, 1.0, 1.0, 6, "degenerate"), None, paired_sd=0.0, margin=0.5).label is Label.REPLICATED
    assert judge(apart, 0.02, paired_sd=0.0).label is Label.UNDETERMINED  # a point says nothing of a claimed size
    few = Estimate(0.0, 0.0, 0.0, 2, "degenerate")
    assert judge(few, None, paired_sd=0.0, margin=0.003, equivalence=True).label is Label.UNDETERMINED


@pytest.mark.parametrize("kind", ["direction", "equivalence", "non_inferiority"])
def test_a_margin_is_written_in_the_unit_the_caller_gives(kind):
    points = lambda size: f"{size * 100:.2f} points"  # noqa: E731
    across = Estimate(0.001, -0.004, 0.006, 10, "t")  # across every edge: inconclusive, with seeds needed
    flags = {"equivalence": kind == "equivalence", "non_inferiority": kind == "non_inferiority"}
    verdict = judge(across, None, paired_sd=0.005, margin=0.003, show=points, **flags)
    assert verdict.label is Label.INCONCLUSIVE
    assert "0.30 points" in verdict.meaning + verdict.needed_for and "0.003" not in verdict.meaning + verdict.needed_for
