"""Statistics for paired-seed comparisons: pure functions over arrays.

No harness imports: this module can be lifted out and used alone. Every estimate
carries its n and a 95% confidence interval; bootstrap seeds are explicit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
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


def mean_ci(values, *, seed: int = 0) -> Estimate:
    """Mean with a BCa bootstrap 95% CI."""
    return bootstrap_ci(values, np.mean, seed=seed)


def paired_differences(treatment, baseline) -> np.ndarray:
    """Per-seed differences ``treatment - baseline`` (arrays aligned by seed)."""
    t, b = _as_array(treatment), _as_array(baseline)
    if t.shape != b.shape:
        raise ValueError(f"paired arrays differ in length: {t.size} vs {b.size}")
    return t - b


def _share_greater(differences: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(differences > 0, axis=axis) + 0.5 * np.mean(differences == 0, axis=axis)


def prob_greater(treatment, baseline, *, seed: int = 0) -> Estimate:
    """P(treatment > baseline) over paired seeds (ties count half), percentile bootstrap CI.

    The percentile method is used because the statistic is a proportion of a
    discrete sample, where BCa's acceleration estimate is unstable.
    """
    differences = paired_differences(treatment, baseline)
    return bootstrap_ci(differences, _share_greater, method="percentile", seed=seed)


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


def seeds_for_decision(paired_sd: float, claimed_effect: float, confidence: float = CONFIDENCE) -> int:
    """Paired seeds needed for a CI narrower than the claimed effect.

    A t-interval of the mean difference with half-width below |claimed|/2 cannot
    contain both 0 and the claimed effect, so it decides between them. Uses the
    observed SD of the paired differences; the smallest such n.
    """
    if claimed_effect == 0:
        raise ValueError("claimed_effect must be non-zero")
    if paired_sd <= 0:
        return 2
    half_width = abs(claimed_effect) / 2
    n = max(2, math.ceil((st.norm.ppf(0.5 + confidence / 2) * paired_sd / half_width) ** 2))  # lower bound
    while st.t.ppf(0.5 + confidence / 2, n - 1) * paired_sd / math.sqrt(n) > half_width:
        n += 1
    return n


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
