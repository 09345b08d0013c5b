import numpy as np
import pytest
from scipy import stats as st

from harness import stats


def test_mean_ci_matches_scipy_bca():
    values = np.random.default_rng(1).normal(0.9, 0.02, 40)
    estimate = stats.mean_ci(values, seed=7)
    reference = st.bootstrap(
        (values,), np.mean, method="BCa", n_resamples=stats.N_RESAMPLES, rng=np.random.default_rng(7)
    ).confidence_interval
    assert estimate.value == pytest.approx(values.mean())
    assert (estimate.low, estimate.high) == pytest.approx((reference.low, reference.high))
    assert estimate.n == 40 and estimate.low < estimate.value < estimate.high


def test_mean_ci_of_constant_sample_has_zero_width():
    estimate = stats.mean_ci([0.5, 0.5, 0.5])
    assert (estimate.value, estimate.low, estimate.high, estimate.method) == (0.5, 0.5, 0.5, "degenerate")


def test_bootstrap_is_reproducible_with_its_seed():
    values = np.arange(20.0) ** 1.5
    assert stats.mean_ci(values, seed=3) == stats.mean_ci(values, seed=3)


def test_prob_greater_counts_ties_as_half():
    treatment = np.array([1.0, 2.0, 3.0, 4.0])
    baseline = np.array([0.0, 2.0, 4.0, 3.0])  # better, tie, worse, better
    estimate = stats.prob_greater(treatment, baseline)
    assert estimate.value == pytest.approx((2 + 0.5) / 4)
    assert 0 <= estimate.low <= estimate.value <= estimate.high <= 1


def test_share_at_least_uses_exact_binomial_interval():
    values = [0.0, 0.01, 0.02, 0.03, 0.05]
    estimate = stats.share_at_least(values, 0.02)
    reference = st.binomtest(3, 5).proportion_ci(0.95, method="exact")
    assert estimate.value == pytest.approx(0.6)
    assert (estimate.low, estimate.high) == pytest.approx((reference.low, reference.high))


def test_seeds_for_decision_hand_computed():
    # target half-width 0.01 with paired SD 0.02: n = 17 gives t(.975, 16) * 0.02 / sqrt(17)
    # = 2.1199 * 0.004851 = 0.01028 > 0.01; n = 18 gives 2.1098 * 0.004714 = 0.00995.
    n = stats.seeds_for_decision(0.02, 0.02)
    assert n == 18
    half_width = st.t.ppf(0.975, n - 1) * 0.02 / np.sqrt(n)
    assert half_width <= 0.01
    assert st.t.ppf(0.975, n - 2) * 0.02 / np.sqrt(n - 1) > 0.01  # one fewer is not enough


def test_paired_differences_rejects_misaligned_or_non_finite():
    with pytest.raises(ValueError, match="differ in length"):
        stats.paired_differences([1, 2], [1])
    with pytest.raises(ValueError, match="finite"):
        stats.mean_ci([1.0, float("nan")])


def test_expected_max_curve_is_the_mean_best_of_k_subsets():
    import itertools

    from harness.stats import expected_max_curve

    scores = [0.3, 0.1, 0.7, 0.5, 0.2, 0.45]
    curve = expected_max_curve(scores, n_resamples=500)
    for k in range(1, len(scores) + 1):
        exact = np.mean([max(subset) for subset in itertools.combinations(scores, k)])
        assert curve["mean"][k - 1] == pytest.approx(exact)
        assert curve["low"][k - 1] <= curve["mean"][k - 1] <= curve["high"][k - 1] + 1e-12
    assert curve["mean"][0] == pytest.approx(np.mean(scores)) and curve["mean"][-1] == max(scores)
