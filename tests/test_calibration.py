"""Calibration at reduced size (the full run is `nox -s calibrate` → reports/calibration.md)."""

import numpy as np
import pytest

from harness import calibration


def _contains(rate: dict, value: float) -> bool:
    return rate["low"] <= value <= rate["high"]


def test_null_suite_rarely_asserts_an_effect():
    result = calibration.null_suite(repetitions=200, n_seeds=10)
    assert sum(result["labels"].values()) == 200
    assert result["replicated_or_contradicted"]["rate"] <= 0.05
    assert _contains(result["any_effect_asserted"], 0.05)  # a 95% interval errs 5% of the time


def test_t_interval_covers_a_known_effect_and_bootstrap_undercovers_at_10_seeds():
    coverage = calibration.coverage_suite(repetitions=200, n_seeds=10)["coverage"]
    assert _contains(coverage["t"], 0.95)
    # the check has teeth: at 10 seeds the BCa interval's coverage is measurably below 95%
    assert coverage["BCa"]["high"] < 0.95


def test_following_the_seeds_needed_advice_gives_about_80_percent_power():
    result = calibration.power_suite(repetitions=150)
    assert result["oracle_seeds"] == 34  # d_z = 0.5
    assert _contains(result["power"]["oracle"], 0.80)
    assert result["power"]["pilot"]["rate"] > 0.6


def test_arms_with_equal_settings_differ_only_by_noise_key():
    baseline, treatment = calibration.draw(0.0, 5, root=1)
    assert not np.allclose(baseline, treatment)
    again, _ = calibration.draw(0.0, 5, root=1)
    assert np.array_equal(baseline, again)


def test_a_true_effect_of_half_the_claim_is_rarely_called_replicated():
    for n in (3, 20):
        result = calibration.half_claim_suite(repetitions=300, n_seeds=n)
        assert result["replicated"]["low"] <= 0.025  # the one-sided 2.5% the precision rule allows
    assert result["smaller"]["rate"] > 0.5  # at 20 seeds the interval is narrow enough to show the shortfall


def test_adjusted_verdicts_of_a_null_report_rarely_assert_an_effect():
    result = calibration.family_suite(repetitions=150, n_seeds=5)
    assert result["adjusted_others"]["low"] <= 0.05
    assert result["unadjusted_any"]["rate"] > result["adjusted_others"]["rate"]


def test_diverged_runs_are_counted_as_they_stood():
    result = calibration.diverged_suite(repetitions=200, n_seeds=10)
    assert result["true_effect"] == pytest.approx(-0.04) and 0.5 < result["coverage"]["rate"] < 0.97


def test_sequential_mode_keeps_false_effects_at_5_percent_where_peeking_does_not():
    result = calibration.sequential_suite(repetitions=100, effect=0.0, claimed=calibration.CLAIMED)
    assert result["any_look_sequence"]["low"] <= 0.05 and result["asserted_at_stop"]["low"] <= 0.05
    assert result["any_look_peeking_t"]["rate"] > 0.1  # the t interval re-read every round: inflated
    assert sum(result["labels_at_stop"].values()) == 100 and 5 <= result["seeds_used"]["value"] <= 50


def test_speed_intervals_cover_the_censored_estimand_and_an_aa_pair_is_rarely_decided():
    """A fifth of the slow arm's runs are censored at the budget; the log-ratio interval still covers."""
    for speedup in (1.0, 2.0):
        result = calibration.speed_suite(repetitions=200, n_seeds=10, speedup=speedup)
        assert _contains(result["censored"]["baseline"], 0.2)
        assert _contains(result["coverage"], 0.95)
    assert result["truth"] < np.log(2)  # capped times understate the true ×2
    assert result["replicated"]["rate"] > 0.5 and result["contradicted"]["hits"] == 0
    aa = calibration.speed_suite(repetitions=200, n_seeds=20, speedup=1.0)
    assert aa["replicated_or_contradicted"]["rate"] <= 0.05 and abs(aa["truth"]) < 0.005
