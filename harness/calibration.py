"""Calibration: the report's statistics on synthetic suites whose truth is known.

Scores come from the ``synthetic`` workload (arms drawn from known normal distributions,
half of the noise shared by the arms of a seed, as in real paired runs); each repetition is
judged by ``verdict.assess``, the function every report uses. The campaign plumbing
(Optuna, MLflow) is left out of the loop: it moves numbers, it does not change them, and
its own tests cover it. ``python -m harness.calibration`` (``nox -s calibrate``) writes
``reports/calibration.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from harness import stats
from harness.console import Console
from harness.derived import TimeToTarget, compute
from harness.seeds import confirmation_seed
from harness.verdict import ASSERTS_EFFECT, DECIDED, PRECISION, Label, assess, judge
from harness.workloads.synthetic import run
from harness.workloads.synthetic_settings import SyntheticSettings

SD = 0.01  # SD of the paired differences (1 accuracy point)
CLAIMED = 0.02  # the A/A suite's claimed effect: +2 points
KNOWN_EFFECT = 0.01  # the coverage suite's true effect
POWER_EFFECT = 0.005  # the power suite: true effect = claimed effect = half the paired SD (d_z 0.5)
PILOT_SEEDS = 10
DIVERGE_SHARE, DIVERGE_LOSS = 0.2, 0.2  # one arm: a fifth of its runs diverge and lose 20 points
FAMILY = 6  # a null report shaped like imdb's: 3 comparisons × 2 protocols
ROUND, MAX_SEEDS = 5, 50  # sequential mode: rounds of 5 paired seeds, at most 50
# speed: reach 90% of the plateau after 1000·exp(0.3 z) updates (speed 1), scored every 50 updates, budget 1300
# updates — about a fifth of the speed-1 runs never reach the target and are censored there
SPEED_CURVE = {"mean": 0.8, "time_scale": 1000.0, "log_sd": 0.3, "eval_every": 50, "curve_updates": 1300}
SPEED_TARGET = TimeToTarget(kind="time_to_target", target={"value": 0.72})  # 90% of the plateau
CLAIMED_SPEEDUP = 2.0


def draw(effect: float, n_seeds: int, root: int) -> tuple[np.ndarray, np.ndarray]:
    """Paired scores of a baseline (effect 0) and a treatment (``effect``) on ``n_seeds`` seeds."""
    seeds = [confirmation_seed(root, i) for i in range(n_seeds)]
    arms = [SyntheticSettings(mean=0.8, sd=SD, effect=e, noise_key=key) for e, key in ((0.0, "A"), (effect, "B"))]
    baseline, treatment = (np.array([run(arm, s).metrics["test_accuracy"] for s in seeds]) for arm in arms)
    return baseline, treatment


def _rate(hits: int, total: int) -> dict:
    estimate = stats.share_at_least([1.0] * hits + [0.0] * (total - hits), 0.5)
    return {"hits": hits, "n": total, "rate": estimate.value, "low": estimate.low, "high": estimate.high}


def null_suite(repetitions: int, n_seeds: int) -> dict:
    """A/A: no true effect, a claimed +2 points. How often does a report assert an effect?"""
    labels: Counter[str] = Counter()
    significant = p_below = 0
    for r in range(repetitions):
        result = assess(*draw(0.0, n_seeds, root=1_000_000 + r), CLAIMED, None)
        labels[result["verdict"]["label"]] += 1
        significant += result["outperforming"] in ("meaningful", "significant, not meaningful")
        p_below += result["p_value"] < 0.05
    asserting = sum(labels[str(label)] for label in ASSERTS_EFFECT)
    return {
        "n_seeds": n_seeds,
        "labels": dict(labels),
        "replicated_or_contradicted": _rate(labels[Label.REPLICATED] + labels[Label.CONTRADICTED], repetitions),
        "any_effect_asserted": _rate(asserting, repetitions),
        "p_below_0.05": _rate(p_below, repetitions),
        "prob_better_significant": _rate(significant, repetitions),
    }


def coverage_suite(repetitions: int, n_seeds: int) -> dict:
    """A known +1 point effect: how often each 95% interval of the mean difference contains it."""
    hits: Counter[str] = Counter()
    for r in range(repetitions):
        baseline, treatment = draw(KNOWN_EFFECT, n_seeds, root=2_000_000 + r)
        result = assess(baseline, treatment, KNOWN_EFFECT, None)
        percentile = stats.bootstrap_ci(treatment - baseline, method="percentile")
        for name, interval in (("t", result["effect"]), ("BCa", result["effect_bca"]), ("percentile", percentile)):
            interval = interval if isinstance(interval, dict) else interval.as_dict()
            hits[name] += interval["low"] <= KNOWN_EFFECT <= interval["high"]
    return {
        "n_seeds": n_seeds,
        "coverage": {name: _rate(hits[name], repetitions) for name in ("t", "BCa", "percentile")},
    }


def power_suite(repetitions: int) -> dict:
    """Follow the seeds-needed advice: does a campaign of that size detect the true (= claimed) effect 80% of the time?

    *oracle*: seeds computed from the true paired SD; *pilot*: from the SD a
    ``PILOT_SEEDS``-seed campaign observed, as a report's "seeds needed" is.
    """
    oracle_n = stats.seeds_for_power(SD, POWER_EFFECT)
    detected = {"oracle": 0, "pilot": 0}
    pilot_sizes = []
    for r in range(repetitions):
        pilot = assess(*draw(POWER_EFFECT, PILOT_SEEDS, root=3_000_000 + r), POWER_EFFECT, None)
        pilot_n = stats.seeds_for_power(pilot["paired_sd"], POWER_EFFECT)
        pilot_sizes.append(pilot_n)
        for name, n in (("oracle", oracle_n), ("pilot", pilot_n)):
            followed = assess(*draw(POWER_EFFECT, n, root=4_000_000 + r), POWER_EFFECT, None)
            detected[name] += followed["verdict"]["label"] in ASSERTS_EFFECT - {Label.CONTRADICTED}
    return {
        "oracle_seeds": oracle_n,
        "pilot_seeds": PILOT_SEEDS,
        "pilot_advice": {
            "median": float(np.median(pilot_sizes)),
            "p10": float(np.percentile(pilot_sizes, 10)),
            "p90": float(np.percentile(pilot_sizes, 90)),
        },
        "power": {name: _rate(hits, repetitions) for name, hits in detected.items()},
    }


def _verdict(differences: np.ndarray, claimed: float, confidence: float = stats.CONFIDENCE) -> str:
    """The verdict as ``assess`` gives it (the same interval and ``judge``), without its other statistics."""
    sd = float(np.std(differences, ddof=1))
    return judge(stats.t_ci(differences, confidence=confidence), claimed, sd).label


def half_claim_suite(repetitions: int, n_seeds: int) -> dict:
    """The true effect is half the claimed one: how often is the claim called replicated?"""
    labels: Counter[str] = Counter()
    for r in range(repetitions):
        baseline, treatment = draw(CLAIMED / 2, n_seeds, root=5_000_000 + r)
        labels[_verdict(treatment - baseline, CLAIMED)] += 1
    return {
        "n_seeds": n_seeds,
        "labels": dict(labels),
        "replicated": _rate(labels[Label.REPLICATED], repetitions),
        "positive_imprecise": _rate(labels[Label.POSITIVE], repetitions),
        "smaller": _rate(labels[Label.SMALLER], repetitions),
    }


def diverged_suite(repetitions: int, n_seeds: int) -> dict:
    """No effect except that a share of one arm's runs diverge and lose points, scored as they stood:
    does the interval cover the true mean difference, and how often does the verdict read a loss?"""
    truth = -DIVERGE_SHARE * DIVERGE_LOSS
    covered = contradicted = 0
    for r in range(repetitions):
        baseline, treatment = draw(0.0, n_seeds, root=6_000_000 + r)
        diverged = np.random.default_rng(6_000_000 + r).random(n_seeds) < DIVERGE_SHARE
        differences = treatment - DIVERGE_LOSS * diverged - baseline
        interval = stats.t_ci(differences)
        covered += interval.low <= truth <= interval.high
        contradicted += _verdict(differences, CLAIMED) == Label.CONTRADICTED
    return {
        "n_seeds": n_seeds,
        "true_effect": truth,
        "coverage": _rate(covered, repetitions),
        "contradicted": _rate(contradicted, repetitions),
    }


def family_suite(repetitions: int, n_seeds: int) -> dict:
    """A null report of ``FAMILY`` comparisons: the claim's own at 95%, the others on Bonferroni
    simultaneous intervals. How often does any verdict assert an effect that is not there?"""
    simultaneous = 1 - (1 - stats.CONFIDENCE) / FAMILY
    adjusted = unadjusted = headline = 0
    for r in range(repetitions):
        scores = [draw(0.0, n_seeds, root=7_000_000 + FAMILY * r + k) for k in range(FAMILY)]
        differences = [treatment - baseline for baseline, treatment in scores]
        own = _verdict(differences[0], CLAIMED) in ASSERTS_EFFECT
        others = [_verdict(d, CLAIMED, simultaneous) in ASSERTS_EFFECT for d in differences[1:]]
        raw = [_verdict(d, CLAIMED) in ASSERTS_EFFECT for d in differences]
        headline += own
        adjusted += any(others)
        unadjusted += any(raw)
    return {
        "n_seeds": n_seeds,
        "family": FAMILY,
        "headline": _rate(headline, repetitions),
        "adjusted_others": _rate(adjusted, repetitions),
        "unadjusted_any": _rate(unadjusted, repetitions),
    }


def sequential_suite(repetitions: int, effect: float, claimed: float) -> dict:
    """Seeds added in rounds of ``ROUND`` up to ``MAX_SEEDS``, the verdict read after each round on the
    confidence sequence and the campaign stopped once it is decided (as ``--until-decided`` does).

    Also: whether *any* round's verdict asserts an effect (the worst stopping rule a reader could
    follow) on the sequence, and on the fixed-n t interval read after every round (peeking).
    """
    looks = range(ROUND, MAX_SEEDS + 1, ROUND)
    used, at_stop = [], Counter()
    any_sequence = any_peeking = 0
    for r in range(repetitions):
        baseline, treatment = draw(effect, MAX_SEEDS, root=9_000_000 + r)
        differences = treatment - baseline
        labels, peeked = [], []
        for n in looks:
            sd = float(np.std(differences[:n], ddof=1))
            sequence = stats.t_confidence_sequence(differences[:n], sequential_max=MAX_SEEDS)
            labels.append(judge(sequence, claimed, sd, sequential_max=MAX_SEEDS).label)
            peeked.append(judge(stats.t_ci(differences[:n]), claimed, sd).label)
        stop = next((i for i, label in enumerate(labels) if label in DECIDED), len(labels) - 1)
        used.append(looks[stop])
        at_stop[labels[stop]] += 1
        any_sequence += any(label in ASSERTS_EFFECT for label in labels)
        any_peeking += any(label in ASSERTS_EFFECT for label in peeked)
    asserted = sum(at_stop[str(label)] for label in ASSERTS_EFFECT)
    return {
        "effect": effect,
        "claimed": claimed,
        "labels_at_stop": {str(k): v for k, v in at_stop.items()},
        "asserted_at_stop": _rate(asserted, repetitions),
        "replicated_at_stop": _rate(at_stop[Label.REPLICATED], repetitions),
        "any_look_sequence": _rate(any_sequence, repetitions),
        "any_look_peeking_t": _rate(any_peeking, repetitions),
        "decided": _rate(sum(at_stop[str(label)] for label in DECIDED), repetitions),
        "seeds_used": stats.mean_ci(used).as_dict(),
        "fixed_n_for_replicated": stats.seeds_for_power(SD, effect - PRECISION * claimed) if effect else None,
    }


def expected_max_band_suite(repetitions: int, n: int) -> dict:
    """How often the expected-max band contains the population's expected best of k (standard normal scores)."""
    rng = np.random.default_rng(8_000_000 + n)
    population = rng.normal(size=(100_000, n))
    truth = np.array([population[:, :k].max(axis=1).mean() for k in range(1, n + 1)])
    hits = np.zeros(n, int)
    for r in range(repetitions):
        band = stats.expected_max_curve(rng.normal(size=n), n_resamples=1000, seed=r)
        hits += (np.array(band["low"]) <= truth) & (truth <= np.array(band["high"]))
    ks = sorted({1, max(1, n // 4), max(1, n // 2), n})
    return {"n": n, "coverage": {k: _rate(int(hits[k - 1]), repetitions) for k in ks}}


def speed_times(speedup: float, noise_key: str, n_seeds: int, root: int) -> tuple[np.ndarray, np.ndarray]:
    """Times to the target (updates) and whether each was reached, of one arm on ``n_seeds`` seeds, from
    the synthetic workload's curves through the reports' own :func:`harness.derived.compute`."""
    arm = SyntheticSettings(**SPEED_CURVE, speedup=speedup, noise_key=noise_key)
    times, reached = [], []
    for i in range(n_seeds):
        outcome = run(arm, confirmation_seed(root, i))
        found = compute(SPEED_TARGET, outcome.history, outcome.metrics, SPEED_TARGET.target.value)
        times.append(found[""])
        reached.append(bool(found[".reached"]))
    return np.array(times), np.array(reached)


def speed_truth(speedup: float, draws: int = 2_000_000) -> float:
    """The estimand a report's interval is about: E[log(b / t)] with each time capped at the budget (censored
    runs count there) and rounded up to the scoring grid, by Monte Carlo over the workload's noise model."""
    rng = np.random.default_rng(10_000_000)
    shared, own_b, own_t = rng.standard_normal((3, draws))
    scale, sd = SPEED_CURVE["time_scale"], SPEED_CURVE["log_sd"]
    grid, budget = SPEED_CURVE["eval_every"], SPEED_CURVE["curve_updates"]

    def time(speed: float, own: np.ndarray) -> np.ndarray:
        reach = scale / speed * np.exp(sd * (shared + own) / np.sqrt(2))
        return np.minimum(np.ceil(reach / grid) * grid, budget)

    return float(np.mean(np.log(time(1.0, own_b)) - np.log(time(speedup, own_t))))


def speed_suite(repetitions: int, n_seeds: int, speedup: float) -> dict:
    """Paired speed campaigns with a known speed-up (1: an A/A pair), claimed ×2: coverage of the log-ratio
    interval of the censored estimand, the verdicts, and the share of runs censored per arm."""
    truth = speed_truth(speedup)
    covered, labels, censored = 0, Counter(), {"baseline": 0, "treatment": 0}
    for r in range(repetitions):
        root = 11_000_000 + r
        base, base_reached = speed_times(1.0, "A", n_seeds, root)
        treat, treat_reached = speed_times(speedup, "B", n_seeds, root)
        censored["baseline"] += int(np.sum(~base_reached))
        censored["treatment"] += int(np.sum(~treat_reached))
        ratios = np.log(base) - np.log(treat)
        interval = stats.t_ci(ratios)
        covered += interval.low <= truth <= interval.high
        labels[_verdict(ratios, np.log(CLAIMED_SPEEDUP))] += 1
    runs = repetitions * n_seeds
    return {
        "n_seeds": n_seeds,
        "speedup": speedup,
        "truth": truth,
        "censored": {arm: _rate(count, runs) for arm, count in censored.items()},
        "coverage": _rate(covered, repetitions),
        "labels": {str(k): v for k, v in labels.items()},
        "replicated": _rate(labels[Label.REPLICATED], repetitions),
        "contradicted": _rate(labels[Label.CONTRADICTED], repetitions),
        "replicated_or_contradicted": _rate(labels[Label.REPLICATED] + labels[Label.CONTRADICTED], repetitions),
    }


def calibrate(repetitions: int, sizes: list[int], workers: int | None = None) -> dict:
    """Every suite, run as independent tasks on ``workers`` processes (default: one per CPU).

    Each task draws from its own fixed seeds, so the numbers do not depend on the number of
    processes or their order.
    """
    started = time.perf_counter()
    tasks: dict[tuple, tuple] = {
        **{("null", n): (null_suite, repetitions, n) for n in sizes},
        **{("coverage", n): (coverage_suite, repetitions, n) for n in sizes},
        ("power",): (power_suite, repetitions),
        **{("half_claim", n): (half_claim_suite, repetitions, n) for n in sizes},
        **{("diverged", n): (diverged_suite, repetitions, n) for n in sizes},
        ("family",): (family_suite, repetitions, 10),
        **{("expected_max", n): (expected_max_band_suite, min(repetitions, 400), n) for n in (10, 30)},
        ("sequential", 0): (sequential_suite, repetitions, 0.0, CLAIMED),
        ("sequential", 1): (sequential_suite, repetitions, KNOWN_EFFECT, KNOWN_EFFECT),
        **{("speed", n, k): (speed_suite, repetitions, n, k) for n in (10, 20) for k in (1.0, CLAIMED_SPEEDUP)},
    }
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        futures = {key: pool.submit(function, *args) for key, (function, *args) in tasks.items()}
        done = {key: future.result() for key, future in futures.items()}

    def rows(name: str) -> list[dict]:
        return [value for key, value in done.items() if key[0] == name]

    return {
        "repetitions": repetitions,
        "paired_sd": SD,
        "null": rows("null"),
        "coverage": rows("coverage"),
        "power": done[("power",)],
        "half_claim": rows("half_claim"),
        "diverged": rows("diverged"),
        "family": done[("family",)],
        "expected_max": rows("expected_max"),
        "sequential": rows("sequential"),
        "speed": rows("speed"),
        "workers": workers or os.cpu_count(),
        "wall_time_s": time.perf_counter() - started,
    }


def _pct(rate: dict) -> str:
    return f"{rate['rate']:.1%} ({rate['low']:.1%} to {rate['high']:.1%})"


def render(results: dict, command: str) -> str:
    reps, power = results["repetitions"], results["power"]
    lines = [
        "# Calibration: the report's statistics against known truth",
        "",
        f"Made by `{command}` in {results['wall_time_s']:.0f} s ({results['workers']} processes): {reps} "
        "repetitions of each synthetic "
        "suite. Each repetition draws paired scores from the `synthetic` workload (normal scores, "
        f"paired-difference SD {SD * 100:g} point, half of each run's noise shared by the arms of its seed) "
        "and judges them with `verdict.assess`, the function every report uses. Rates are shown with "
        "their exact (Clopper–Pearson) 95% CI over the repetitions.",
        "",
        f"## (a) A/A suite: no true effect, claimed +{CLAIMED * 100:g} points",
        "",
        "| paired seeds | called replicated or contradicted | any effect asserted (replicated, larger, "
        "smaller or contradicted) | sign-flip p < 0.05 | P(A>B) significant |",
        "| ---: | --- | --- | --- | --- |",
    ]
    for row in results["null"]:
        lines.append(
            f"| {row['n_seeds']} | {_pct(row['replicated_or_contradicted'])} | {_pct(row['any_effect_asserted'])} "
            f"| {_pct(row['p_below_0.05'])} | {_pct(row['prob_better_significant'])} |"
        )
    lines += [
        "",
        "Target: ≤ 5% called replicated or contradicted. A 95% interval excludes a true 0 in 5% of "
        "repetitions by construction, so the rate of *any* effect asserted should sit near 5%, and about "
        "half of those fall on each side of 0.",
        "",
        f"## (b) Coverage of a known +{KNOWN_EFFECT * 100:g} point effect",
        "",
        "| paired seeds | paired t (the verdict's interval) | BCa bootstrap | percentile bootstrap |",
        "| ---: | --- | --- | --- |",
    ]
    for row in results["coverage"]:
        cover = row["coverage"]
        lines.append(f"| {row['n_seeds']} | {_pct(cover['t'])} | {_pct(cover['BCa'])} | {_pct(cover['percentile'])} |")
    lines += [
        "",
        "Target: 93–97%. The bootstrap intervals run narrow at these seed counts (a known small-sample "
        "property); this table is why verdicts rest on the paired t interval, with BCa shown beside it.",
        "",
        f"## (c) Following the seeds-needed advice (true effect = claimed = +{POWER_EFFECT * 100:g} points, d_z 0.5)",
        "",
        "| advice from | seeds run | detected (CI excludes 0 in the claimed direction) |",
        "| --- | --- | --- |",
        f"| the true paired SD | {power['oracle_seeds']} | {_pct(power['power']['oracle'])} |",
        f"| a {power['pilot_seeds']}-seed pilot's observed SD (as in a report) | median "
        f"{power['pilot_advice']['median']:g} (10th–90th percentile {power['pilot_advice']['p10']:g}–"
        f"{power['pilot_advice']['p90']:g}) | {_pct(power['power']['pilot'])} |",
        "",
        "Target: ≈ 80%. With the true SD the formula delivers its power; advice from a small pilot is "
        "itself noisy (too few seeds when the pilot's SD came out low), so it delivers somewhat less on "
        'average — read a report\'s "seeds needed" as an estimate, not a guarantee.',
        "",
        f"## (d) The true effect is half the claim (+{CLAIMED * 50:g} of a claimed +{CLAIMED * 100:g} points)",
        "",
        "| paired seeds | called replicated | positive, size undetermined | smaller than claimed |",
        "| ---: | --- | --- | --- |",
        *(
            f"| {row['n_seeds']} | {_pct(row['replicated'])} | {_pct(row['positive_imprecise'])} "
            f"| {_pct(row['smaller'])} |"
            for row in results["half_claim"]
        ),
        "",
        "Target: ≤ 2.5%. *Replicated* needs the interval to rule out effects below half the claim, which is "
        "where the truth sits; a wide interval that merely contains the claim reads *positive, size undetermined*.",
        "",
        f"## (e) Diverged runs in one arm ({DIVERGE_SHARE:.0%} of its runs lose {DIVERGE_LOSS * 100:g} points; "
        "no other effect)",
        "",
        "| paired seeds | t interval covers the true mean difference | called contradicted |",
        "| ---: | --- | --- |",
        *(
            f"| {row['n_seeds']} | {_pct(row['coverage'])} | {_pct(row['contradicted'])} |"
            for row in results["diverged"]
        ),
        "",
        "Diverged runs stay scored as they stood (dropping them would hide the arm's failures), so the "
        "differences are a two-part mixture and the t interval covers the true mean less than 95% of the time "
        "at small n: read a report with diverged runs through its per-arm counts, not the interval alone.",
        "",
        f"## (f) A null report of {results['family']['family']} comparisons, "
        f"{results['family']['n_seeds']} paired seeds each",
        "",
        "| verdicts read | any effect asserted |",
        "| --- | --- |",
        f"| the claim's own comparison (95% interval) | {_pct(results['family']['headline'])} |",
        f"| the other {results['family']['family'] - 1}, Bonferroni simultaneous intervals (as reports do) "
        f"| {_pct(results['family']['adjusted_others'])} |",
        f"| all {results['family']['family']} at 95%, unadjusted (before) | "
        f"{_pct(results['family']['unadjusted_any'])} |",
        "",
        "Target: ≤ 5% for the adjusted verdicts together; the unadjusted row shows the inflation they remove.",
        "",
        "## (g) The expected-max band (torture meter, tuning budget) against the population's expected best of k",
        "",
        "| scores n | k = 1 | k = n/4 | k = n/2 | k = n |",
        "| ---: | --- | --- | --- | --- |",
        *(
            f"| {row['n']} | " + " | ".join(_pct(rate) for rate in row["coverage"].values()) + " |"
            for row in results["expected_max"]
        ),
        "",
        "The band is the estimate's bootstrap spread and reports label it so: it is close to a 95% interval "
        "for small k and covers the population value less and less as k nears n (a resample's best never "
        "exceeds the observed best).",
        "",
        *_sequential_lines(results["sequential"]),
        *_speed_lines(results.get("speed", [])),
    ]
    return "\n".join(lines)


def _speed_lines(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = [
        "## (i) Speed claims: time to target with censoring, claimed ×2",
        "",
        f"Synthetic curves (`synthetic` workload, `curve_updates`): an arm of speed s reaches 90% of its plateau "
        f"after {SPEED_CURVE['time_scale']:g}/s · exp({SPEED_CURVE['log_sd']:g} z) updates, z standard normal "
        f"with half its variance shared by the arms of a seed; the curve is scored every "
        f"{SPEED_CURVE['eval_every']} updates up to a budget of {SPEED_CURVE['curve_updates']}, and each run's time "
        "to the target comes from `harness.derived.compute`, as in a report. A run that never reaches the target "
        "is censored at the budget, so the estimand is the mean log ratio of the capped times (computed by Monte "
        "Carlo, 2,000,000 draws); the verdict reads the paired t interval of the log ratios.",
        "",
        "| true speed-up | paired seeds | estimand (×) | censored: baseline | censored: treatment | interval covers "
        "the estimand | replicated | contradicted |",
        "| --- | ---: | ---: | --- | --- | --- | --- | --- |",
    ]
    for row in sorted(rows, key=lambda r: (r["speedup"], r["n_seeds"])):
        label = "×1 (A/A)" if row["speedup"] == 1 else f"×{row['speedup']:g}"
        lines.append(
            f"| {label} | {row['n_seeds']} | {np.exp(row['truth']):.3g} | {_pct(row['censored']['baseline'])} "
            f"| {_pct(row['censored']['treatment'])} | {_pct(row['coverage'])} | {_pct(row['replicated'])} "
            f"| {_pct(row['contradicted'])} |"
        )
    lines += [
        "",
        "Targets: coverage 93–97%; in the A/A rows ≤ 5% called replicated or contradicted. With a true ×2 the "
        "estimand is below ×2 because censoring caps the slow arm's times: counting a censored baseline at its "
        "budget understates the speed-up, never overstates it.",
        "",
    ]
    return lines


def _sequential_lines(rows: list[dict]) -> list[str]:
    def points(x: float) -> str:
        return f"+{x * 100:g}"

    lines = [
        f"## (h) Sequential mode: rounds of {ROUND} paired seeds until decided, at most {MAX_SEEDS} "
        "(`--until-decided`)",
        "",
        "| truth (points) | claimed | effect asserted at the stop | replicated at the stop | decided by "
        f"{MAX_SEEDS} | seeds used (mean, 95% CI) | any round asserts an effect: confidence sequence | the same, "
        "t interval re-read each round |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        used = row["seeds_used"]
        lines.append(
            f"| {points(row['effect'])} | {points(row['claimed'])} | {_pct(row['asserted_at_stop'])} "
            f"| {_pct(row['replicated_at_stop'])} | {_pct(row['decided'])} "
            f"| {used['value']:.1f} ({used['low']:.1f} to {used['high']:.1f}) | {_pct(row['any_look_sequence'])} "
            f"| {_pct(row['any_look_peeking_t'])} |"
        )
    true = next(row for row in rows if row["effect"])
    lines += [
        "",
        "Target: with no true effect, ≤ 5% of campaigns assert one — at the campaign's own stop and at *any* "
        "round, the worst stopping rule a reader could pick; the t interval re-read after every round shows "
        "the inflation the sequence removes. With a true effect equal to the claim, a fixed-n campaign needs "
        f"{true['fixed_n_for_replicated']} paired seeds for an 80% chance of *replicated* (its interval must rule "
        f"out effects below {PRECISION:.0%} of the claim); compare the sequential campaign's mean seeds used and "
        "its rate of *replicated*. The sequence is wider than the t interval at any one n — the price of being "
        "valid at every n — so a sequential campaign that runs to its maximum has used more seeds than a "
        "well-sized fixed one; it pays off when the effect is larger or smaller than planned for.",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.calibration", description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=1000, help="repetitions per suite (≥ 500 for the report)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 5, 10, 20, 50], help="paired seeds per campaign")
    parser.add_argument("--out", type=Path, default=Path("reports/calibration.md"))
    args = parser.parse_args(argv)
    command = os.environ.get("HARNESS_INVOKED_AS") or "python -m harness.calibration " + " ".join(argv or sys.argv[1:])
    text = render(calibrate(args.repetitions, args.seeds), command.strip())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, args.out)
    Console().info(f"calibration: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
