"""The range-test section of a report: curves with bands across seeds, suggestions on the log scale."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.report.markdown import _range_tests
from harness.report.range_test import range_summary
from harness.tracking import TrialRecord
from harness.trial import OK

RATES = list(np.logspace(-7, 1, 9))


def _run(index: int, steepest: float, curve: list[float], flagged: float = 0.0) -> TrialRecord:
    metrics = {
        "range_steepest_lr": steepest,
        "range_min_loss_lr": 10 * steepest,
        "range_min_loss_lr_over_10": steepest,
        "range_flat_start": 1.0,
        "range_descends": 1.0 - flagged,
        "range_diverges": 1.0,
        "range_three_regions": 1.0 - flagged,
        "range_flagged": flagged,
    }
    history = {"range.lr": RATES[: len(curve)], "range.loss": curve, "range.smoothed": curve}
    return TrialRecord("clean", index, 1000 + index, "h", OK, "", metrics, history, 1.0, {})


def test_suggestions_are_read_on_the_log_scale_and_regions_counted_per_seed():
    curve = [2.3, 2.3, 2.3, 2.2, 1.8, 1.2, 1.0, 1.6, 3.0]
    runs = [_run(0, 1e-3, curve), _run(1, 1e-2, curve), _run(2, 1e-1, curve[:7], flagged=1.0)]
    found = range_summary(runs)
    steepest = found["suggestions"]["range_steepest_lr"]
    assert steepest["value"] == pytest.approx(1e-2)  # the geometric mean of 1e-3, 1e-2, 1e-1
    half = 4.302653 * 1.0 / math.sqrt(3)  # t(0.975, 2) × SD of log10 (1 decade) / √3
    assert math.log10(steepest["high"]) == pytest.approx(-2 + half, rel=1e-5)
    assert steepest["sd_log10"] == pytest.approx(1.0) and steepest["n"] == 3
    assert found["regions"]["range_three_regions"] == {"k": 2, "n": 3}
    assert found["regions"]["range_flagged"] == {"k": 1, "n": 3}
    assert found["stopped_early"] == 1 and found["lr"] == RATES
    assert found["smoothed"]["n"] == [3] * 7 + [2, 2]  # the shorter test counts only where it ran
    assert range_summary([_run(0, 1e-3, [])]) is None  # no curve recorded: no range test


def test_the_report_lists_each_arm_with_its_cis_and_the_tests_stopped_early():
    curve = [2.3, 2.3, 2.2, 1.5, 1.1, 2.0]
    found = range_summary([_run(0, 1e-3, curve), _run(1, 1e-2, curve), _run(2, math.nan, curve[:4])])
    lines = "\n".join(_range_tests({"arms": {"clean": {"range_test": found}, "other": {"range_test": None}}}))
    assert "## The learning-rate range test" in lines and "`other`" not in lines
    assert "n = 2; SD 0.71 dec; 1 without one" in lines  # the run without a suggestion is counted, not dropped
    assert "| 3 of 3 |" in lines and "`clean` 1." in lines
    assert _range_tests({"arms": {"clean": {"range_test": None}}}) == []
