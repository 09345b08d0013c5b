"""Calibration at reduced size (the full run is `nox -s calibrate` → reports/calibration.md)."""

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
    import numpy as np

    baseline, treatment = calibration.draw(0.0, 5, root=1)
    assert not np.allclose(baseline, treatment)
    again, _ = calibration.draw(0.0, 5, root=1)
    assert np.array_equal(baseline, again)
