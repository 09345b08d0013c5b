"""Checks: a bound every run must meet, judged on the worst run; failed runs counted, never passed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.report.analysis import _score
from harness.report.checks import judge_checks
from harness.suites import load
from harness.tracking import TrialRecord
from harness.trial import DIVERGED, FAILED, OK
from tests.conftest import ROOT, mutated_suite, suite_problems

BATCHNORM = ROOT / "suites" / "batchnorm.yaml"


def _record(arm: str, index: int, status: str, value: float | None) -> TrialRecord:
    metrics = {} if value is None else {"bn_fold_max_abs_diff": value}
    return TrialRecord(arm, index, 100 + index, "h", status, "", metrics, {}, 1.0, {})


def _judged(values: dict[int, tuple[str, float | None]]) -> dict:
    by_arm = {
        "bn": {i: _record("bn", i, status, value) for i, (status, value) in values.items()},
        "plain": {0: _record("plain", 0, OK, 1.0)},  # not among the check's arms: never read
    }
    [found] = judge_checks(load(BATCHNORM), by_arm, _score)
    return found


def test_a_check_holds_only_when_every_run_is_within_its_bound():
    held = _judged({0: (OK, 2e-7), 1: (DIVERGED, 9e-6), 2: (FAILED, None)})
    assert held["holds"] is True and (held["n_runs"], held["n_pass"]) == (2, 2)
    assert held["worst"] == {"arm": "bn", "seed_index": 1, "seed": 101, "value": 9e-6}
    assert held["unchecked"] == [{"arm": "bn", "seed_index": 2, "seed": 102, "status": FAILED}]
    broken = _judged({0: (OK, 2e-7), 1: (OK, 3e-5), 2: (OK, math.nan)})
    assert broken["holds"] is False and broken["n_pass"] == 1
    assert math.isnan(broken["worst"]["value"])  # a non-finite value is the worst and fails
    assert [f["seed_index"] for f in broken["failing"]] == [1, 2]
    assert _judged({})["holds"] is None  # nothing ran: not "holds"


def test_a_check_names_a_metric_its_arms_produce_and_one_bound(tmp_path):
    def plain_arm(data):
        data["checks"]["folding"]["arms"] = ["plain"]  # the plain MLP has no batch norm to fold

    def two_bounds(data):
        data["checks"]["folding"]["above"] = 0.0

    def unknown_arm(data):
        data["checks"]["folding"]["arms"] = ["bm"]

    [problem] = suite_problems(tmp_path, BATCHNORM, plain_arm)
    assert (
        problem.startswith("checks.folding.metric: 'bn_fold_max_abs_diff' is not a metric") and "arm 'plain'" in problem
    )
    assert any("give one bound" in p for p in suite_problems(tmp_path, BATCHNORM, two_bounds))
    assert any("checks.folding.arms: unknown arm 'bm'" in p for p in suite_problems(tmp_path, BATCHNORM, unknown_arm))


def test_a_check_on_the_spread_across_seeds_reads_the_sds_interval(tmp_path):
    def spread(data):
        data["checks"]["folding"] |= {"of": "sd_across_seeds", "below": 0.01}

    suite = load(mutated_suite(tmp_path, BATCHNORM, spread))
    rng = np.random.default_rng(0)

    def judged(sd: float, n: int = 20) -> tuple[dict, np.ndarray]:
        values = rng.normal(0.5, sd, n)
        runs = {i: _record("bn", i, OK, float(v)) for i, v in enumerate(values)}
        [found] = judge_checks(suite, {"bn": runs}, _score)
        return found, values

    (tight, values), (loose, _), (between, _) = judged(0.001), judged(0.05), judged(0.01, n=5)
    [arm] = tight["per_arm"]
    assert tight["holds"] is True and arm["sd"]["high"] < 0.01 and arm["n"] == 20
    assert arm["sd"]["value"] == pytest.approx(np.std(values, ddof=1))
    assert loose["holds"] is False and loose["per_arm"][0]["sd"]["low"] >= 0.01
    assert between["holds"] is None  # an interval across the bound decides nothing
