"""Statistics for paired-seed comparisons: pure functions over arrays.

No harness imports: this module can be lifted out and used alone. Every estimate
carries its n and a 95% confidence interval; bootstrap seeds are explicit.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import integrate, optimize, special
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


def trend(x, y, *, confidence: float = CONFIDENCE) -> dict:
    """Least-squares slope of ``y`` on ``x`` with its t interval (n − 2 degrees of freedom) and the
    two-sided p of no trend; needs at least two distinct x and three points."""
    xs, ys = _as_array(x), _as_array(y)
    if xs.size != ys.size or xs.size < 3 or np.ptp(xs) == 0:
        raise ValueError("a trend needs at least 3 points at 2 or more distinct x")
    fit = st.linregress(xs, ys)
    half = float(st.t.ppf(0.5 + confidence / 2, xs.size - 2) * fit.stderr)
    slope = Estimate(
        float(fit.slope), float(fit.slope) - half, float(fit.slope) + half, int(xs.size), "OLS t", confidence
    )
    return {"slope": slope.as_dict(), "p": float(fit.pvalue)}


def mean_ci(values, *, method: str = "t", seed: int = 0) -> Estimate:
    """Mean with a 95% CI: ``t`` (default), or a bootstrap ``BCa`` / ``percentile`` interval."""
    return t_ci(values) if method == "t" else bootstrap_ci(values, np.mean, method=method, seed=seed)


def pointwise_band(runs: list[list[float]]) -> dict:
    """Mean with a 95% t-interval at each index (epoch, step) across runs; ``n`` per index counts the
    runs that reached it with a finite value (None where none did)."""
    length = max(len(r) for r in runs)
    mean, low, high, counts = [], [], [], []
    for index in range(length):
        values = np.array([r[index] for r in runs if len(r) > index and np.isfinite(r[index])])
        counts.append(int(values.size))
        if values.size == 0:
            mean.append(None), low.append(None), high.append(None)
            continue
        centre = float(values.mean())
        half = (
            float(st.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
            if values.size > 1
            else 0.0
        )
        mean.append(centre), low.append(centre - half), high.append(centre + half)
    return {"mean": mean, "low": low, "high": high, "n": counts}


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


def prob_greater(treatment, baseline) -> Estimate:
    """P(treatment > baseline) on a new seed: the share of paired seeds that improve, with an
    exact (Clopper–Pearson) 95% CI on that win rate.

    Ties count half in the estimate; the interval counts them as losses for its lower end
    and as wins for its upper end. Exact intervals are valid at any n — a bootstrap of a
    share reads [1, 1] whenever every sign agrees — so with all seeds improving the lower
    end passes 0.5 only from :data:`MIN_PAIRS_FOR_SIGNIFICANCE` pairs on.
    """
    differences = paired_differences(treatment, baseline)
    n, wins, ties = differences.size, int(np.sum(differences > 0)), int(np.sum(differences == 0))
    low, high = _clopper_pearson(wins, n)[0], _clopper_pearson(wins + ties, n)[1]
    return Estimate((wins + ties / 2) / n, low, high, n, "Clopper-Pearson exact (ties: half)")


@functools.cache
def _clopper_pearson(hits: int, n: int) -> tuple[float, float]:
    interval = st.binomtest(hits, n).proportion_ci(CONFIDENCE, method="exact")
    return float(interval.low), float(interval.high)


MEANINGFUL = 0.75  # γ of Bouthillier et al. 2021
# = 6: with fewer pairs even a clean sweep of wins cannot show P(A > B) > 0.5
MIN_PAIRS_FOR_SIGNIFICANCE = next(n for n in range(1, 64) if _clopper_pearson(n, n)[0] > 0.5)


def outperforming(estimate: Estimate, gamma: float = MEANINGFUL) -> str:
    """Bouthillier et al. 2021 on P(A > B): significant when its CI's lower end exceeds 0.5,
    meaningful when, in addition, its upper end exceeds ``gamma``; significantly worse when its
    upper end is below 0.5."""
    if estimate.n < MIN_PAIRS_FOR_SIGNIFICANCE:
        return f"undetermined (needs at least {MIN_PAIRS_FOR_SIGNIFICANCE} pairs)"
    if estimate.high < 0.5:
        return "significantly worse"
    if estimate.low <= 0.5:
        return "not significant"
    return "meaningful" if estimate.high > gamma else "significant, not meaningful"


def share(hits: int, n: int) -> Estimate:
    """``hits`` of ``n`` with an exact (Clopper–Pearson) 95% CI."""
    return Estimate(hits / n, *_clopper_pearson(hits, n), n, "Clopper-Pearson exact")


def reach_curve(times, reached) -> dict:
    """The share of runs that reached a target by each time, with pointwise exact 95% bands.

    Every run counts in every share: a censored run (``reached`` false) never reaches, so the
    curve is a lower bound on the share that would reach with a longer budget (with every run
    censored at the same budget — a fixed plan — it is the Kaplan–Meier curve).
    """
    times, reached = np.asarray(times, dtype=float), np.asarray(reached, dtype=bool)
    steps = sorted(set(times[reached].tolist()))
    shares = [share(int(np.sum(reached & (times <= x))), times.size) for x in steps]
    return {
        "at": steps,
        "share": [s.value for s in shares],
        "low": [s.low for s in shares],
        "high": [s.high for s in shares],
        "n": int(times.size),
    }


def share_at_least(values, threshold: float) -> Estimate:
    """Share of values ≥ ``threshold`` with an exact (Clopper–Pearson) 95% CI."""
    array = _as_array(values)
    hits = int(np.sum(array >= threshold))
    return Estimate(hits / array.size, *_clopper_pearson(hits, array.size), array.size, "Clopper-Pearson exact")


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


def _over_chi(df: int, probability) -> float:
    """E[probability(s)] with s = sqrt(V / df), V ~ chi-squared(df): the sample SD in units of the true one."""
    chi2 = st.chi2(df)
    low, high = chi2.ppf(1e-15), chi2.isf(1e-15)  # all but 2e-15 of the mass: quad misses a narrow peak on [0, ∞)
    log_norm = (df / 2) * math.log(2) + math.lgamma(df / 2)

    def density(v: float) -> float:  # chi2.pdf without scipy's per-call overhead (quad calls this ~500 times)
        return math.exp((df / 2 - 1) * math.log(v) - v / 2 - log_norm)

    value, _ = integrate.quad(lambda v: probability(math.sqrt(v / df)) * density(v), low, high, limit=200)
    return float(min(1.0, max(0.0, value)))


def critical_value(n: int, confidence: float = CONFIDENCE, sequential_max: int | None = None) -> float:
    """The interval's half-width in standard errors (s / √n) at ``n`` pairs.

    Student t for a fixed-n interval; with ``sequential_max`` the t-mixture confidence
    sequence's (tightest at that many pairs), infinite while it is still unbounded.
    """
    if sequential_max is None:
        return float(st.t.ppf((1 + confidence) / 2, n - 1))
    return _mixture_critical(n, 1 - confidence, mixture_rho(sequential_max, confidence))


def paired_t_power(
    n: int, effect: float, paired_sd: float, alpha: float = 1 - CONFIDENCE, sequential_max: int | None = None
) -> float:
    """Power of a two-sided paired t test with ``n`` pairs to detect a true mean difference ``effect``.

    The t statistic is (Z + δ) / s with δ = effect / SD · √n: its two rejection tails are
    integrated over the sample SD ``s`` (normal tails, no noncentral-t series, which
    underflows to NaN at large δ). With ``sequential_max``: the chance that the confidence
    sequence excludes 0 at ``n`` pairs.
    """
    if n < 2:
        return 0.0
    critical, shift = critical_value(n, 1 - alpha, sequential_max), abs(effect) / paired_sd * math.sqrt(n)
    if not math.isfinite(critical):
        return 0.0
    return _over_chi(n - 1, lambda s: special.ndtr(shift - critical * s) + special.ndtr(-critical * s - shift))


def seeds_for_power(
    paired_sd: float,
    effect: float,
    power: float = 0.8,
    alpha: float = 1 - CONFIDENCE,
    sequential_max: int | None = None,
) -> int:
    """Fewest paired seeds giving ``power`` to detect ``effect`` at two-sided ``alpha`` (paired t,
    or the confidence sequence of ``sequential_max``).

    ``paired_sd`` is the SD of the per-seed differences (in practice the observed one).
    A run with this many seeds has a CI that excludes 0 with probability ``power`` when
    the true effect is ``effect``.
    """
    if effect == 0:
        raise ValueError("effect must be non-zero")
    if paired_sd <= 0:
        return 2
    z = st.norm.ppf(1 - alpha / 2) + st.norm.ppf(power)
    enough = lambda n: paired_t_power(n, effect, paired_sd, alpha, sequential_max) >= power  # noqa: E731
    return _fewest((z * paired_sd / abs(effect)) ** 2, enough)


def _fewest(approximate: float, enough) -> int:
    """The least n ≥ 2 for which ``enough(n)`` (monotone in n), searched up from a normal approximation
    (a lower bound): doubling steps to a bracket, then bisection."""
    low = max(2, math.floor(approximate))
    if enough(low):
        return low
    step = 1
    while not enough(low + step):
        low, step = low + step, step * 2
    high = low + step  # enough(high), not enough(low)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def equivalence_power(
    n: int, margin: float, paired_sd: float, confidence: float = CONFIDENCE, sequential_max: int | None = None
) -> float:
    """Chance that the ``confidence`` interval (t, or the confidence sequence of ``sequential_max``)
    of ``n`` pairs lies inside ±``margin`` when the true difference is 0."""
    if n < 2:
        return 0.0
    critical, scale = critical_value(n, confidence, sequential_max), margin / paired_sd * math.sqrt(n)
    if not math.isfinite(critical):
        return 0.0
    return _over_chi(n - 1, lambda s: max(0.0, 2 * special.ndtr(scale - critical * s) - 1))


def seeds_for_equivalence(
    paired_sd: float,
    margin: float,
    power: float = 0.8,
    confidence: float = CONFIDENCE,
    sequential_max: int | None = None,
) -> int:
    """Fewest paired seeds whose interval falls inside ±``margin`` with ``power`` when there is no difference."""
    if margin <= 0:
        raise ValueError("margin must be positive")
    if paired_sd <= 0:
        return 2
    z = st.norm.ppf((1 + confidence) / 2) + st.norm.ppf((1 + power) / 2)
    enough = lambda n: equivalence_power(n, margin, paired_sd, confidence, sequential_max) >= power  # noqa: E731
    return _fewest((z * paired_sd / margin) ** 2, enough)


def _mixture_critical(n: int, alpha: float, rho: float) -> float:
    """Half-width in standard errors of Lai's t-mixture confidence sequence at ``n`` observations.

    The sequence is {μ : M_n(μ) < 1/α} with the scale-invariant mixture likelihood ratio
    M_n(μ) = √(ρ/(n+ρ)) · (1 − S²/((n+ρ)V))^(−n/2), S = Σ(xᵢ − μ), V = Σ(xᵢ − μ)² (the
    standardised effect mixed over N(0, 1/ρ)). M_n is a martingale under the null, so by
    Ville's inequality the sequence covers μ at every n at once with probability ≥ 1 − α.
    Solved for μ: |x̄ − μ| ≤ (s/√n) · √(c(n−1)/(n−c)) with c = (n+ρ)(1 − (α²ρ/(n+ρ))^(1/n)).
    """
    if n < 2:
        return math.inf
    c = (n + rho) * -math.expm1(math.log(alpha**2 * rho / (n + rho)) / n)
    return math.sqrt(c * (n - 1) / (n - c)) if c < n else math.inf


@functools.cache
def mixture_rho(tightest_at: int, confidence: float = CONFIDENCE) -> float:
    """The mixture's ρ that makes the confidence sequence narrowest at ``tightest_at`` pairs."""
    alpha = 1 - confidence
    found = optimize.minimize_scalar(
        lambda log_rho: min(_mixture_critical(tightest_at, alpha, math.exp(log_rho)), 1e12),
        bounds=(-12.0, 8.0),
        method="bounded",
    )
    return float(math.exp(found.x))


def t_confidence_sequence(values, *, sequential_max: int, confidence: float = CONFIDENCE) -> Estimate:
    """Mean with Lai's t-mixture confidence sequence (tightest at ``sequential_max`` pairs).

    Valid at every n simultaneously: read after each added seed, and stopped whenever it
    decides, it still covers the true mean with probability ≥ ``confidence`` (normal data).
    Unbounded (±inf) while too few values are in; wider than the t interval at any one n.
    """
    array = _as_array(values)
    value = float(array.mean())
    method = f"t-mixture confidence sequence (tightest at {sequential_max})"
    if array.size > 1 and np.ptp(array) == 0:
        return Estimate(value, value, value, array.size, "degenerate", confidence)
    critical = critical_value(array.size, confidence, sequential_max)
    if not math.isfinite(critical):
        return Estimate(value, -math.inf, math.inf, array.size, method, confidence)
    half = critical * float(array.std(ddof=1)) / math.sqrt(array.size)
    return Estimate(value, value - half, value + half, array.size, method, confidence)


def benjamini_hochberg(p_values) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), in the input order."""
    array = np.asarray(p_values, dtype=float)
    if array.size == 0:
        return []
    return [float(p) for p in st.false_discovery_control(array, method="bh")]


def tost(differences, margin: float, confidence: float = CONFIDENCE) -> dict:
    """Two one-sided paired t tests: is the true difference inside (−margin, +margin)?

    ``p`` is the larger of the two one-sided p-values; equivalence is shown when
    ``p < (1 − confidence) / 2``, i.e. exactly when the ``confidence`` (95%) t interval —
    the interval every verdict reads — lies inside ±margin. ``p_not_worse`` is the lower test's
    alone (non-inferiority: the interval's lower end above −margin). Identical differences have no
    spread to test with: ``equivalent`` is then None.
    """
    if margin <= 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    array = _as_array(differences)
    if array.size < 2 or np.ptp(array) == 0:
        return {"margin": margin, "p": None, "p_not_worse": None, "equivalent": None, "n": int(array.size)}
    lower = float(st.ttest_1samp(array, -margin, alternative="greater").pvalue)
    upper = float(st.ttest_1samp(array, margin, alternative="less").pvalue)
    p = max(lower, upper)
    equivalent = p < (1 - confidence) / 2
    return {"margin": margin, "p": p, "p_not_worse": lower, "equivalent": equivalent, "n": int(array.size)}


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
    replacement. The band is the percentile interval over resamples of the scores: the
    estimate's resampling spread, **not** a confidence interval for the population's
    expected best of k — a resample's max never exceeds the observed one, so at k = n it
    covers that value about half the time (``reports/calibration.md``, section g).
    """
    array = np.sort(_as_array(scores))
    weights = _expected_max_weights(array.size)
    curve = weights @ array
    resampled = np.sort(np.random.default_rng(seed).choice(array, (n_resamples, array.size)), axis=1)
    band = resampled @ weights.T
    low, high = np.percentile(band, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2], axis=0)
    return {"k": list(range(1, array.size + 1)), "mean": curve.tolist(), "low": low.tolist(), "high": high.tolist()}
