import itertools

import numpy as np
import pytest
from scipy import stats as st

from harness import stats


def test_bca_and_percentile_match_scipy():
    values = np.random.default_rng(1).normal(0.9, 0.02, 40)
    for method in ("BCa", "percentile"):
        estimate = stats.bootstrap_ci(values, method=method, seed=7)
        reference = st.bootstrap(
            (values,), np.mean, method=method, n_resamples=stats.N_RESAMPLES, rng=np.random.default_rng(7)
        ).confidence_interval
        assert estimate.value == pytest.approx(values.mean())
        assert (estimate.low, estimate.high) == pytest.approx((reference.low, reference.high))
        assert estimate.n == 40 and estimate.low < estimate.value < estimate.high


def test_t_ci_hand_computed_and_equal_to_scipy_paired_t():
    # mean 3, SD sqrt(2.5), SE sqrt(0.5); t(.975, 4) = 2.7764451 → half-width 1.9632432
    estimate = stats.t_ci([1, 2, 3, 4, 5])
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx((3, 1.0367568, 4.9632432))
    treatment, baseline = np.array([0.91, 0.93, 0.90, 0.95, 0.92]), np.array([0.90, 0.90, 0.91, 0.92, 0.90])
    paired = stats.mean_ci(stats.paired_differences(treatment, baseline))
    reference = st.ttest_rel(treatment, baseline).confidence_interval()
    assert (paired.low, paired.high) == pytest.approx((reference.low, reference.high))


def test_mean_ci_of_constant_sample_has_zero_width():
    estimate = stats.mean_ci([0.5, 0.5, 0.5])
    assert (estimate.value, estimate.low, estimate.high, estimate.method) == (0.5, 0.5, 0.5, "degenerate")


def test_bootstrap_is_reproducible_with_its_seed():
    values = np.arange(20.0) ** 1.5
    assert stats.mean_ci(values, seed=3) == stats.mean_ci(values, seed=3)


def test_prob_greater_counts_ties_as_half_with_an_exact_interval():
    treatment = np.array([1.0, 2.0, 3.0, 4.0])
    baseline = np.array([0.0, 2.0, 4.0, 3.0])  # better, tie, worse, better
    estimate = stats.prob_greater(treatment, baseline)
    assert estimate.value == pytest.approx((2 + 0.5) / 4)
    assert estimate.low == pytest.approx(st.binomtest(2, 4).proportion_ci(method="exact").low)  # tie as a loss
    assert estimate.high == pytest.approx(st.binomtest(3, 4).proportion_ci(method="exact").high)  # tie as a win


def test_prob_greater_cannot_be_significant_at_tiny_n():
    """Every sign agreeing at n = 2 or 3 is no evidence: under A/A that happens 50% / 25% of the time."""
    assert stats.MIN_PAIRS_FOR_SIGNIFICANCE == 6  # 0.025^(1/n) > 0.5 first at n = 6
    for n in (2, 3, 5):
        sweep = stats.prob_greater(np.ones(n), np.zeros(n))
        assert sweep.value == 1.0 and sweep.low < 0.5
        assert stats.outperforming(sweep).startswith("undetermined")
    assert stats.outperforming(stats.prob_greater(np.ones(6), np.zeros(6))) == "meaningful"


def test_prob_greater_is_rarely_significant_under_a_over_a():
    rng = np.random.default_rng(11)
    for n in (2, 3, 6, 10):
        calls = [
            stats.outperforming(stats.prob_greater(rng.normal(size=n), rng.normal(size=n)))
            in ("meaningful", "significant, not meaningful")
            for _ in range(2000)
        ]
        assert np.mean(calls) <= 0.05 + 0.012  # exact intervals: at most α, plus 2.5 SE of simulation


def test_share_at_least_uses_exact_binomial_interval():
    values = [0.0, 0.01, 0.02, 0.03, 0.05]
    estimate = stats.share_at_least(values, 0.02)
    reference = st.binomtest(3, 5).proportion_ci(0.95, method="exact")
    assert estimate.value == pytest.approx(0.6)
    assert (estimate.low, estimate.high) == pytest.approx((reference.low, reference.high))


def test_seeds_for_power_matches_published_tables():
    # G*Power, paired t, two-sided α = .05, power .80: d_z 0.2 → 199, 0.5 → 34, 0.8 → 15 pairs
    assert [stats.seeds_for_power(1.0, d) for d in (0.2, 0.5, 0.8)] == [199, 34, 15]
    assert stats.seeds_for_power(0.02, -0.01) == 34  # sign does not matter, only |effect| / SD
    n = stats.seeds_for_power(0.02, 0.01)
    assert stats.paired_t_power(n, 0.01, 0.02) >= 0.8 > stats.paired_t_power(n - 1, 0.01, 0.02)


def test_paired_t_power_agrees_with_simulation():
    rng = np.random.default_rng(3)
    samples = rng.normal(0.5, 1.0, (20000, 20))
    rejected = np.mean(st.ttest_1samp(samples, 0.0, axis=1).pvalue < 0.05)
    assert stats.paired_t_power(20, 0.5, 1.0) == pytest.approx(rejected, abs=0.01)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30, 100])
def test_paired_t_power_matches_statsmodels_and_never_returns_nan(n):
    """statsmodels' TTestPower itself returns NaN where the noncentral t underflows (e.g. n = 2,
    d_z = 8); there the power is checked against a simulation of the t test instead."""
    from statsmodels.stats.power import TTestPower

    rng = np.random.default_rng(n)
    for d_z in (0.05, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0):
        power = stats.paired_t_power(n, d_z, 1.0)
        assert np.isfinite(power) and 0 <= power <= 1
        reference = TTestPower().power(d_z, n, 0.05, alternative="two-sided")
        if np.isfinite(reference):
            assert power == pytest.approx(reference, abs=1e-8)
        else:
            samples = rng.normal(d_z, 1.0, (20000, n))
            rejected = np.mean(st.ttest_1samp(samples, 0.0, axis=1).pvalue < 0.05)
            assert power == pytest.approx(rejected, abs=0.012)


def test_power_cases_that_returned_nan():
    assert stats.paired_t_power(10, 2.0, 0.5) == pytest.approx(1.0)
    assert stats.paired_t_power(2, 2.0, 0.25) == pytest.approx(0.625, abs=0.001)
    assert stats.seeds_for_power(0.25, 2.0) == 3 and stats.seeds_for_power(1.0, 5.3) == 3


def test_seeds_for_equivalence_gives_80_percent_of_intervals_inside_the_margin():
    n = stats.seeds_for_equivalence(1.0, 0.5)
    samples = np.random.default_rng(5).normal(0.0, 1.0, (20000, n))
    half = st.t.ppf(0.975, n - 1) * samples.std(axis=1, ddof=1) / np.sqrt(n)
    inside = np.mean(np.abs(samples.mean(axis=1)) + half < 0.5)
    assert inside == pytest.approx(0.8, abs=0.012)
    assert stats.equivalence_power(n - 1, 0.5, 1.0) < 0.8 <= stats.equivalence_power(n, 0.5, 1.0)


def test_sign_flip_p_is_exact_for_small_n():
    # 8 sign patterns of (1, 2, 3); |mean| ≥ 2 only for all-plus and all-minus → p = 2/8
    assert stats.sign_flip_p([1.0, 2.0, 3.0]) == pytest.approx(0.25)
    differences = np.array([0.3, -0.1, 0.5, 0.2, -0.05, 0.4])
    observed = abs(differences.mean())
    flips = [abs(np.mean(differences * signs)) for signs in itertools.product((1, -1), repeat=6)]
    assert stats.sign_flip_p(differences) == pytest.approx(np.mean(np.array(flips) >= observed - 1e-12))
    assert stats.sign_flip_p([0.0, 0.0]) == 1.0


def test_outperforming_follows_bouthillier_thresholds():
    def estimate(low, high):
        return stats.Estimate((low + high) / 2, low, high, 20, "x")

    assert stats.outperforming(estimate(0.45, 0.9)) == "not significant"
    assert stats.outperforming(stats.Estimate(1, 0.6, 1, 5, "x")).startswith("undetermined")
    assert stats.outperforming(estimate(0.55, 0.7)) == "significant, not meaningful"
    assert stats.outperforming(estimate(0.6, 0.9)) == "meaningful"


def test_cohens_dz_value_and_exact_interval():
    estimate = stats.cohens_dz([1.0, 2.0, 3.0, 4.0, 5.0])
    assert estimate.value == pytest.approx(3 / np.sqrt(2.5))
    # the interval's ends are where the observed t = d_z·√5 sits at the 97.5th / 2.5th percentile
    observed = estimate.value * np.sqrt(5)
    assert st.nct.sf(observed, 4, estimate.low * np.sqrt(5)) == pytest.approx(0.025)
    assert st.nct.sf(observed, 4, estimate.high * np.sqrt(5)) == pytest.approx(0.975)
    corrected = stats.hedges_gz(estimate)
    assert corrected.value == pytest.approx(estimate.value * (1 - 3 / 15))


def test_benjamini_hochberg_hand_computed():
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4): p·m/rank = 0.02, 0.02, 0.04, 0.04 (then running minimum)
    assert stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert stats.benjamini_hochberg([]) == []


def test_tost_equals_two_one_sided_t_tests_and_the_95_interval():
    differences = np.array([0.1, 0.2, -0.1, 0.15, 0.05])
    mean, se = differences.mean(), differences.std(ddof=1) / np.sqrt(5)
    interval = stats.t_ci(differences)
    for margin in (1.0, 0.4, 0.3, 0.05):
        expected = max(st.t.sf((mean + margin) / se, 4), st.t.cdf((mean - margin) / se, 4))
        result = stats.tost(differences, margin)
        assert result["p"] == pytest.approx(expected)
        # one interval level: equivalent exactly when the verdict's 95% interval lies inside ±margin
        assert result["equivalent"] == (expected < 0.025) == (-margin < interval.low and interval.high < margin)
    assert stats.tost(differences, 1.0)["equivalent"] and not stats.tost(differences, 0.05)["equivalent"]
    assert stats.tost([0.01, 0.01, 0.01], 1.0)["equivalent"] is None  # no spread: nothing to test
    with pytest.raises(ValueError, match="margin"):
        stats.tost(differences, 0)


def test_prob_best_of_k_reaches_counts_subsets():
    values = [0.0, 1.0, 2.0, 3.0, 0.5]
    probabilities = stats.prob_best_of_k_reaches(values, 2.5)
    for k in range(1, 6):
        subsets = list(itertools.combinations(values, k))
        assert probabilities[k - 1] == pytest.approx(np.mean([max(s) >= 2.5 for s in subsets]))


def test_paired_differences_rejects_misaligned_or_non_finite():
    with pytest.raises(ValueError, match="differ in length"):
        stats.paired_differences([1, 2], [1])
    with pytest.raises(ValueError, match="finite"):
        stats.mean_ci([1.0, float("nan")])


def test_expected_max_curve_is_the_mean_best_of_k_subsets():
    from harness.stats import expected_max_curve

    scores = [0.3, 0.1, 0.7, 0.5, 0.2, 0.45]
    curve = expected_max_curve(scores, n_resamples=500)
    for k in range(1, len(scores) + 1):
        exact = np.mean([max(subset) for subset in itertools.combinations(scores, k)])
        assert curve["mean"][k - 1] == pytest.approx(exact)
        assert curve["low"][k - 1] <= curve["mean"][k - 1] <= curve["high"][k - 1] + 1e-12
    assert curve["mean"][0] == pytest.approx(np.mean(scores)) and curve["mean"][-1] == max(scores)


def test_sd_ci_is_the_sample_sd_with_an_interval_around_it():
    values = np.random.default_rng(3).normal(0, 2.0, 15)
    estimate = stats.sd_ci(values)
    assert estimate.value == pytest.approx(np.std(values, ddof=1)) and estimate.n == 15
    assert estimate.low < estimate.value < estimate.high
    with pytest.raises(ValueError, match="at least 3"):
        stats.sd_ci([1.0, 2.0])


def test_sd_ratio_resamples_seeds_in_pairs():
    rng = np.random.default_rng(4)
    baseline = rng.normal(0, 1.0, 20)
    steady = 0.3 * baseline + rng.normal(0, 0.05, 20)  # a third of the spread, strongly paired
    ratio = stats.sd_ratio(steady, baseline)
    assert ratio.value == pytest.approx(np.std(steady, ddof=1) / np.std(baseline, ddof=1))
    assert ratio.high < 1 and ratio.low > 0.15
    same = stats.sd_ratio(baseline, baseline)
    assert same.value == same.low == same.high == pytest.approx(1.0)  # every paired resample gives exactly 1
    undefined = stats.sd_ratio([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    assert np.isinf(undefined.value) and np.isnan(undefined.low)


def test_pitman_morgan_matches_its_closed_form():
    """t = (F − 1)·√(n − 2) / (2·√(F·(1 − r²))) with F the variance ratio and r the paired correlation."""
    rng = np.random.default_rng(5)
    b = rng.normal(0, 2, 12)
    t = 0.4 * b + rng.normal(0, 0.6, 12)
    f, r, n = np.var(t, ddof=1) / np.var(b, ddof=1), np.corrcoef(t, b)[0, 1], 12
    statistic = (f - 1) * np.sqrt(n - 2) / (2 * np.sqrt(f * (1 - r**2)))
    assert stats.pitman_morgan_p(t, b) == pytest.approx(2 * st.t.sf(abs(statistic), n - 2), rel=1e-9)
    assert stats.pitman_morgan_p(b, b) == 1.0


def test_dz_interval_is_found_for_two_nearly_equal_differences():
    """With 1 degree of freedom the noncentral t is so heavy-tailed that the root lies far out
    (a smoke campaign on PyTorch hit this); the interval must still invert the distribution."""
    estimate = stats.cohens_dz([0.01, 0.01001])
    observed = estimate.value * np.sqrt(2)
    assert estimate.low < estimate.value < estimate.high
    for bound, tail in ((estimate.low, 0.025), (estimate.high, 0.975)):
        assert st.nct.sf(observed, 1, bound * np.sqrt(2)) == pytest.approx(tail, abs=1e-6)


def _misses_at_any_n(x: np.ndarray, critical) -> np.ndarray:
    """Per simulated sequence: does the interval (half-width critical(n) · s/√n) miss the true mean 0 at some n?"""
    n = np.arange(1, x.shape[1] + 1)
    mean = np.cumsum(x, axis=1) / n
    sd = np.sqrt(np.maximum(np.cumsum(x**2, axis=1) - n * mean**2, 0) / np.maximum(n - 1, 1))
    half = np.array([critical(i) for i in n[1:]]) * sd[:, 1:] / np.sqrt(n[1:])
    return (np.abs(mean[:, 1:]) > half).any(axis=1)


def test_confidence_sequence_covers_at_every_n_at_once_where_the_t_interval_does_not():
    """Read after every added seed up to 30, the sequence misses the truth in ≤ 5% of sequences; t in > 20%."""
    x = np.random.default_rng(3).standard_normal((4000, 30))
    sequence = _misses_at_any_n(x, lambda n: stats.critical_value(n, sequential_max=30)).mean()
    fixed = _misses_at_any_n(x, lambda n: stats.critical_value(n)).mean()
    assert sequence <= 0.05 and fixed > 0.2
    heavy = np.random.default_rng(4).standard_t(5, (4000, 30))  # symmetric heavy tails
    assert _misses_at_any_n(heavy, lambda n: stats.critical_value(n, sequential_max=30)).mean() <= 0.05


def test_confidence_sequence_boundary_is_where_the_mixture_likelihood_ratio_reaches_one_over_alpha():
    """Against the mixture written out: ∫ N(δ; 0, 1/ρ) · LR(δ) dδ, LR integrated over σ with the scale-invariant
    measure dσ/σ (numerically), evaluated at the sequence's upper end, equals 1/α = 20."""
    from scipy import integrate

    x = np.array([0.3, -0.2, 0.9, 0.4, 0.1, 0.7, -0.1, 0.5])
    estimate = stats.t_confidence_sequence(x, sequential_max=20)
    rho, n = stats.mixture_rho(20), x.size
    centred = x - estimate.high  # the null mean μ at the boundary
    scale = np.sqrt(np.mean(centred**2))

    def likelihood(delta: float) -> float:  # ∫ σ^-n exp(-Σ(x - μ - δσ)² / 2σ²) dσ/σ, in units of the data's scale
        return integrate.quad(
            lambda s: s ** (-n - 1) * np.exp(-np.sum((centred / scale - delta * s) ** 2) / (2 * s**2)), 0, np.inf
        )[0]

    mixed = integrate.quad(lambda d: st.norm.pdf(d, scale=rho**-0.5) * likelihood(d), -np.inf, np.inf)[0]
    assert mixed / likelihood(0.0) == pytest.approx(20, rel=1e-4)


def test_confidence_sequence_is_unbounded_early_wider_than_t_and_degenerate_without_spread():
    assert stats.t_confidence_sequence([0.1, 0.3], sequential_max=20).low == -np.inf
    x = np.random.default_rng(5).normal(0.5, 1, 40)
    for n in (5, 10, 20, 40):
        sequence, fixed = stats.t_confidence_sequence(x[:n], sequential_max=20), stats.t_ci(x[:n])
        assert sequence.low < fixed.low and sequence.high > fixed.high and sequence.n == n
    assert stats.t_confidence_sequence([0.2, 0.2, 0.2], sequential_max=20).method == "degenerate"


def test_sequential_power_and_seeds_exceed_fixed_n_and_agree_with_simulation():
    fixed, sequential = stats.seeds_for_power(1.0, 1.0), stats.seeds_for_power(1.0, 1.0, sequential_max=30)
    assert sequential > fixed
    power = stats.paired_t_power(sequential, 1.0, 1.0, sequential_max=30)
    assert power >= 0.8 > stats.paired_t_power(sequential - 1, 1.0, 1.0, sequential_max=30)
    x = np.random.default_rng(6).normal(1.0, 1.0, (20000, sequential))
    half = stats.critical_value(sequential, sequential_max=30) * x.std(axis=1, ddof=1) / np.sqrt(sequential)
    assert (np.abs(x.mean(axis=1)) > half).mean() == pytest.approx(power, abs=0.01)
    assert stats.seeds_for_equivalence(1.0, 0.5, sequential_max=30) > stats.seeds_for_equivalence(1.0, 0.5)


def test_trend_is_the_least_squares_slope_with_a_t_interval():
    rng = np.random.default_rng(3)
    x = np.repeat([11.3, 12.3, 13.3], 10)  # log2 of 2,500 / 5,000 / 10,000 images
    y = -0.004 * x + rng.normal(0, 0.002, x.size)
    found = stats.trend(x, y)
    slope = found["slope"]
    assert slope["value"] == pytest.approx(np.polyfit(x, y, 1)[0])
    assert slope["low"] < -0.004 < slope["high"] and slope["high"] < 0 and found["p"] < 0.001 and slope["n"] == 30
    residuals = y - np.polyval(np.polyfit(x, y, 1), x)
    se = np.sqrt(residuals @ residuals / (x.size - 2) / ((x - x.mean()) @ (x - x.mean())))
    assert slope["high"] - slope["value"] == pytest.approx(st.t.ppf(0.975, x.size - 2) * se)
    with pytest.raises(ValueError, match="distinct x"):
        stats.trend([1, 1, 1], [0.1, 0.2, 0.3])


def test_a_grid_over_one_numeric_setting_reports_the_effect_trend_per_doubling():
    from harness.report.analysis import _grid_trend

    points = [{"data.limit_train": n} for n in (2500, 5000, 10000)]
    runs = [(i, 0.03 - 0.01 * (i % 3)) for i in range(9)]  # -1 point per doubling, exactly
    found = _grid_trend(points, runs)
    assert found["setting"] == "data.limit_train" and found["per"] == "doubling"
    assert found["slope"]["value"] == pytest.approx(-0.01)
    assert _grid_trend([{"a": 1, "b": 2}, {"a": 2, "b": 2}], runs[:2]) is None  # two settings: no single trend
    assert _grid_trend([{"opt": "sgd"}, {"opt": "adam"}], runs[:4]) is None  # not numeric
