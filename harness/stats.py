"""Statistics for paired-seed comparisons: pure functions over arrays.

No harness imports: this module can be lifted out and used alone. Every estimate
carries its n and a 95% confidence interval; bootstrap seeds are explicit.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize
from scipy import stats as st

CONFIDENCE = 0.95
N_RESAMPLES = 9999


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval and sample size."""

    value: float
    low: float
    high: float
    n: int
    method: str
    confidence: float = CONFIDENCE

    def as_dict(self) -> dict:
        return asdict(self)


def _as_array(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"expected a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("values must be finite")
    return array


def bootstrap_ci(
    values,
    statistic=np.mean,
    *,
    method: str = "BCa",
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """Bootstrap CI of ``statistic`` (vectorised, ``axis``-aware) via ``scipy.stats.bootstrap``.

    Constant samples get a zero-width interval; if BCa cannot be computed (too few
    distinct values) the percentile interval is used and the method says so.
    """
    array = _as_array(values)
    value = float(statistic(array, axis=-1))
    if array.size == 1 or np.ptp(array) == 0:
        return Estimate(value, value, value, array.size, "degenerate", confidence)
    used = method
    result = st.bootstrap(
        (array,),
        statistic,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method=method,
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    if not (np.isfinite(low) and np.isfinite(high)) and method.lower() == "bca":
        used = "percentile (BCa undefined)"
        result = st.bootstrap(
            (array,),
            statistic,
            vectorized=True,
            confidence_level=confidence,
            n_resamples=n_resamples,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        low, high = result.confidence_interval
    return Estimate(value, float(low), float(high), array.size, f"bootstrap {used}", confidence)


def t_ci(values, *, confidence: float = CONFIDENCE) -> Estimate:
    """Mean with a Student-t interval; on paired differences this is the paired t CI.

    The harness's verdicts use this interval: its coverage is nominal at the seed counts
    used here, where bootstrap intervals run narrow (see ``reports/calibration.md``).
    """
    array = _as_array(values)
    value = float(array.mean())
    if array.size == 1 or np.ptp(array) == 0:
        return Estimate(value, value, value, array.size, "degenerate", confidence)
    interval = st.ttest_1samp(array, 0.0).confidence_interval(confidence)
    return Estimate(value, float(interval.low), float(interval.high), array.size, "t", confidence)


def mean_ci(values, *, method: str = "t", seed: int = 0) -> Estimate:
    """Mean with a 95% CI: ``t`` (default), or a bootstrap ``BCa`` / ``percentile`` interval."""
    return t_ci(values) if method == "t" else bootstrap_ci(values, np.mean, method=method, seed=seed)


def paired_differences(treatment, baseline) -> np.ndarray:
    """Per-seed differences ``treatment - baseline`` (arrays aligned by seed)."""
    t, b = _as_array(treatment), _as_array(baseline)
    if t.shape != b.shape:
        raise ValueError(f"paired arrays differ in length: {t.size} vs {b.size}")
    return t - b


def sign_flip_p(differences, *, n_resamples: int = N_RESAMPLES, seed: int = 0) -> float:
    """Two-sided p-value of a paired permutation test: H0 says each difference's sign is a coin flip.

    Exact (all 2^n sign patterns) when 2^n ≤ ``n_resamples``, else Monte Carlo.
    """
    array = _as_array(differences)
    if not np.any(array):
        return 1.0
    result = st.permutation_test(
        (array,),
        np.mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(result.pvalue)


def _share_greater(differences: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(differences > 0, axis=axis) + 0.5 * np.mean(differences == 0, axis=axis)


def prob_greater(treatment, baseline, *, seed: int = 0) -> Estimate:
    """P(treatment > baseline) over paired seeds (ties count half), percentile bootstrap CI.

    The percentile method is used because the statistic is a proportion of a
    discrete sample, where BCa's acceleration estimate is unstable.
    """
    differences = paired_differences(treatment, baseline)
    return bootstrap_ci(differences, _share_greater, method="percentile", seed=seed)


MEANINGFUL = 0.75  # γ of Bouthillier et al. 2021


def outperforming(estimate: Estimate, gamma: float = MEANINGFUL) -> str:
    """Bouthillier et al. 2021 on P(A > B): significant when its CI's lower end exceeds 0.5,
    meaningful when, in addition, its upper end exceeds ``gamma``."""
    if estimate.low <= 0.5:
        return "not significant"
    return "meaningful" if estimate.high > gamma else "significant, not meaningful"


def share_at_least(values, threshold: float) -> Estimate:
    """Share of values ≥ ``threshold`` with an exact (Clopper–Pearson) 95% CI."""
    array = _as_array(values)
    hits = int(np.sum(array >= threshold))
    interval = st.binomtest(hits, array.size).proportion_ci(CONFIDENCE, method="exact")
    return Estimate(
        hits / array.size,
        float(interval.low),
        float(interval.high),
        array.size,
        "Clopper-Pearson exact",
    )


def _sd(values, axis: int = -1):
    return np.std(values, axis=axis, ddof=1)


def sd_ci(values, *, seed: int = 0) -> Estimate:
    """Standard deviation across seeds (n − 1 denominator) with a BCa bootstrap CI.

    Bootstrap intervals of a spread are approximate and tend to run narrow at ten-odd
    seeds; :func:`pitman_morgan_p` is the exact (under normality) companion test.
    """
    array = _as_array(values)
    if array.size < 3:
        raise ValueError(f"a standard deviation with a CI needs at least 3 values, got {array.size}")
    return bootstrap_ci(array, _sd, seed=seed)


def _sd_ratio(treatment, baseline, axis: int = -1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _sd(treatment, axis) / _sd(baseline, axis)


def sd_ratio(treatment, baseline, *, seed: int = 0) -> Estimate:
    """SD(treatment) / SD(baseline) over paired seeds; BCa bootstrap resampling seeds jointly.

    Bounds are ``nan`` where resamples make the baseline constant (the ratio is undefined).
    """
    t, b = _as_array(treatment), _as_array(baseline)
    if t.shape != b.shape or t.size < 3:
        raise ValueError(f"need two paired arrays of at least 3 values, got {t.size} and {b.size}")
    value = float(_sd_ratio(t, b))
    if not np.isfinite(value):
        return Estimate(value, math.nan, math.nan, t.size, "undefined (constant baseline)")
    for method in ("BCa", "percentile"):  # BCa is undefined when every resample gives the same ratio
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # resamples with a constant baseline
            result = st.bootstrap(
                (t, b),
                _sd_ratio,
                vectorized=True,
                paired=True,
                confidence_level=CONFIDENCE,
                n_resamples=N_RESAMPLES,
                method=method,
                rng=np.random.default_rng(seed),
            )
        low, high = result.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            break
    return Estimate(value, float(low), float(high), t.size, f"bootstrap {method}, seeds resampled in pairs")


def pitman_morgan_p(treatment, baseline) -> float:
    """Two-sided p of the Pitman–Morgan test that two paired samples have equal variances.

    Equal variances ⇔ zero correlation between sums and differences (exact under normality).
    """
    t, b = _as_array(treatment), _as_array(baseline)
    if t.shape != b.shape or t.size < 3:
        raise ValueError(f"need two paired arrays of at least 3 values, got {t.size} and {b.size}")
    sums, differences = t + b, t - b
    if np.ptp(sums) == 0 or np.ptp(differences) == 0:  # t = c ± b: the variances are equal
        return 1.0
    return float(st.pearsonr(sums, differences).pvalue)


def cohens_dz(differences, *, confidence: float = CONFIDENCE) -> Estimate:
    """Standardized paired effect d_z = mean / SD of the differences, with the exact CI.

    The interval inverts the noncentral t distribution of d_z·√n (exact for normal
    differences; Cumming 2012).
    """
    array = _as_array(differences)
    if array.size < 2 or np.ptp(array) == 0:
        raise ValueError("d_z needs at least 2 differences that are not all equal")
    n = array.size
    value = float(array.mean() / array.std(ddof=1))
    observed = value * math.sqrt(n)

    def shift_where(tail: float) -> float:
        def excess(shift: float) -> float:
            return st.nct.sf(observed, n - 1, shift) - tail

        reach = 10 + abs(observed)  # widened until it brackets the root: with 1-2 df the tails are very heavy
        for _ in range(40):
            if excess(observed - reach) < 0 < excess(observed + reach):
                break
            reach *= 2
        return optimize.brentq(excess, observed - reach, observed + reach)

    low = shift_where((1 - confidence) / 2) / math.sqrt(n)
    high = shift_where((1 + confidence) / 2) / math.sqrt(n)
    return Estimate(value, float(low), float(high), n, "noncentral t", confidence)


def hedges_gz(d_z: Estimate) -> Estimate:
    """d_z with the small-sample bias correction J = 1 − 3 / (4(n − 1) − 1) (Hedges' g)."""
    correction = 1 - 3 / (4 * (d_z.n - 1) - 1) if d_z.n > 2 else 1.0
    return Estimate(
        d_z.value * correction,
        d_z.low * correction,
        d_z.high * correction,
        d_z.n,
        f"{d_z.method}, Hedges-corrected",
        d_z.confidence,
    )


def paired_t_power(n: int, effect: float, paired_sd: float, alpha: float = 1 - CONFIDENCE) -> float:
    """Power of a two-sided paired t test with ``n`` pairs to detect a true mean difference ``effect``."""
    if n < 2:
        return 0.0
    critical = st.t.ppf(1 - alpha / 2, n - 1)
    shift = effect / paired_sd * math.sqrt(n)
    return float(st.nct.sf(critical, n - 1, shift) + st.nct.cdf(-critical, n - 1, shift))


def seeds_for_power(paired_sd: float, effect: float, power: float = 0.8, alpha: float = 1 - CONFIDENCE) -> int:
    """Fewest paired seeds giving ``power`` to detect ``effect`` at two-sided ``alpha`` (paired t).

    ``paired_sd`` is the SD of the per-seed differences (in practice the observed one).
    A run with this many seeds has a CI that excludes 0 with probability ``power`` when
    the true effect is ``effect``.
    """
    if effect == 0:
        raise ValueError("effect must be non-zero")
    if paired_sd <= 0:
        return 2
    z = st.norm.ppf(1 - alpha / 2) + st.norm.ppf(power)
    n = max(2, math.floor((z * paired_sd / abs(effect)) ** 2))  # the normal approximation, a lower bound
    while paired_t_power(n, abs(effect), paired_sd, alpha) < power:
        n += 1
    return n


def benjamini_hochberg(p_values) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), in the input order."""
    array = np.asarray(p_values, dtype=float)
    if array.size == 0:
        return []
    return [float(p) for p in st.false_discovery_control(array, method="bh")]


def tost(differences, margin: float, alpha: float = 1 - CONFIDENCE) -> dict:
    """Two one-sided paired t tests: is the true difference inside (−margin, +margin)?

    ``p`` is the larger of the two one-sided p-values; equivalence is shown when
    ``p < alpha``, i.e. when the (1 − 2·alpha) t interval lies inside ±margin.
    """
    if margin <= 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    array = _as_array(differences)
    if array.size < 2 or np.ptp(array) == 0:
        inside = bool(abs(array.mean()) < margin)
        return {"margin": margin, "p": 0.0 if inside else 1.0, "equivalent": inside, "n": int(array.size)}
    lower = st.ttest_1samp(array, -margin, alternative="greater").pvalue
    upper = st.ttest_1samp(array, margin, alternative="less").pvalue
    p = float(max(lower, upper))
    return {"margin": margin, "p": p, "equivalent": p < alpha, "n": int(array.size)}


def prob_best_of_k_reaches(values, threshold: float) -> list[float]:
    """For k = 1…n: the chance that the best of k values drawn without replacement is ≥ ``threshold``.

    1 − C(m, k) / C(n, k), with m the number of values below the threshold: how often a
    search over k of these runs would find one that shows ``threshold``.
    """
    array = _as_array(values)
    below = int(np.sum(array < threshold))
    return [1 - math.comb(below, k) / math.comb(array.size, k) for k in range(1, array.size + 1)]


def _expected_max_weights(n: int) -> np.ndarray:
    """W[k-1, i]: chance that the ``i``-th smallest of ``n`` values is the max of ``k`` drawn without replacement."""
    i = np.arange(1, n + 1)
    weights = np.zeros((n, n))
    for k in range(1, n + 1):
        weights[k - 1] = np.where(i >= k, [math.comb(j - 1, k - 1) for j in i], 0) / math.comb(n, k)
    return weights


def expected_max_curve(scores, *, n_resamples: int = 2000, seed: int = 0) -> dict:
    """Expected best score of ``k`` trials of a search, k = 1…n, with a 95% bootstrap band.

    Dodge et al. 2019 ("Show your work") with the unbiased estimator of Tang et al.
    2020: the expected max of ``k`` of the ``n`` observed scores drawn without
    replacement. The band is the percentile interval over resamples of the scores.
    """
    array = np.sort(_as_array(scores))
    weights = _expected_max_weights(array.size)
    curve = weights @ array
    resampled = np.sort(np.random.default_rng(seed).choice(array, (n_resamples, array.size)), axis=1)
    band = resampled @ weights.T
    low, high = np.percentile(band, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2], axis=0)
    return {"k": list(range(1, array.size + 1)), "mean": curve.tolist(), "low": low.tolist(), "high": high.tolist()}
