"""Trial records: diverged runs are recorded and counted, failed runs are listed."""

from __future__ import annotations

import math

import pytest

from harness.report.analysis import analyse
from harness.suites import load
from harness.tracking import TrialRecord
from harness.trial import DIVERGED, FAILED, OK, TrialSpec, run_trial
from tests.conftest import ROOT

SUITE = load(ROOT / "suites" / "fashion.yaml")


def _smoke_spec(**changes) -> TrialSpec:
    settings = SUITE.settings_dict("smoke", "transfer", 0, changes)
    return TrialSpec(SUITE.name, "smoke", "transfer", 0, 1234, SUITE.workload.name, settings)


@pytest.mark.slow
def test_non_finite_loss_gives_a_diverged_record_with_a_score(data_dir):
    result = run_trial(_smoke_spec(**{"optimizer.config.learning_rate": 1e12}))
    assert result.status == DIVERGED
    assert "non-finite loss" in result.reason and "model A" in result.reason
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0  # scored as it stood, never dropped


def test_an_exception_gives_a_failed_record():
    spec = _smoke_spec()
    spec.settings["limit_eval"] = "not-a-number"  # past validation: a trial that raises is recorded as failed
    result = run_trial(spec)
    assert result.status == FAILED and "not-a-number" in result.reason and result.metrics == {}


def _record(arm, index, status, value):
    return TrialRecord(
        arm, index, 1000 + index, "h", status, "", {} if status == FAILED else {"test_accuracy": value}, {}, 1.0, {}
    )


def test_analysis_counts_diverged_runs_and_lists_failed_ones():
    records = [
        _record(arm, i, OK, 0.90 + (0.01 if arm == "transfer" else 0) + i / 1000)
        for i in range(6)
        for arm in ("scratch", "transfer")
    ]
    records[1] = _record("transfer", 0, DIVERGED, 0.5)
    records.append(_record("scratch", 6, FAILED, math.nan))
    records[-1].reason = "RuntimeError: out of memory"
    results = analyse(SUITE, "quick", records, lambda arm, index: "h")
    transfer, scratch = results["arms"]["transfer"], results["arms"]["scratch"]
    assert (transfer["n_ok"], transfer["n_diverged"], transfer["metric"]["n"]) == (5, 1, 6)
    assert (scratch["n_failed"], scratch["failures"], scratch["metric"]["n"]) == (1, ["RuntimeError: out of memory"], 6)
    comparison = results["comparison"]
    assert comparison["n_pairs"] == 6  # the diverged pair is in, the failed seed (no partner) is not
    assert comparison["per_seed"][0]["transfer"] == 0.5
    assert comparison["effect"]["value"] == pytest.approx((0.5 - 0.90 + 5 * 0.01) / 6)


def test_failed_runs_are_listed_per_pair_with_a_worst_case_verdict():
    records = [
        _record(arm, i, OK, 0.90 + (0.02 if arm == "transfer" else 0) + (i % 3) / 1000)
        for i in range(8)
        for arm in ("scratch", "transfer")
    ]
    records[1] = _record("transfer", 0, FAILED, math.nan)
    records[1].reason = "RuntimeError: out of memory"
    records[3] = _record("transfer", 1, FAILED, math.nan)
    comparison = analyse(SUITE, "quick", records, lambda arm, index: "h")["comparison"]
    assert comparison["n_pairs"] == 6 and comparison["incomplete"]  # 2 of 8 pairs lost: more than 10%
    first = comparison["missing_pairs"][0]
    assert first == {"seed_index": 0, "scratch": OK, "transfer": "failed: RuntimeError: out of memory"}
    worst = comparison["sensitivity"]
    assert worst["n_filled"] == 2 and worst["effect"]["n"] == 8
    # the failed treatment runs scored as the treatment's worst (0.92): effects 0.92 − 0.900 and 0.92 − 0.901
    expected = (4 * 0.02 + 2 * 0.02 + (0.92 - 0.900) + (0.92 - 0.901)) / 8
    assert worst["effect"]["value"] == pytest.approx(expected)


def test_analysis_refuses_runs_of_other_settings():
    from harness.report.analysis import NoResults

    with pytest.raises(NoResults, match="current settings"):
        analyse(SUITE, "quick", [_record("scratch", 0, OK, 0.9)], lambda arm, index: "other")


def test_analysis_judges_every_comparison_under_every_protocol():
    suite = load(ROOT / "suites" / "imdb.yaml")
    shift = {"adam": 0.0, "lazy_adam": 0.002, "masked_lazy_adam": -0.01}
    records = [
        TrialRecord(
            arm,
            i,
            1000 + i,
            "h",
            OK,
            "",
            {
                "test_accuracy_at_best_val": 0.84 + i / 1000 + shift[arm],
                "best_test_accuracy": 0.845 + i / 1000 + shift[arm],
            },
            {},
            1.0,
            {},
        )
        for i in range(6)
        for arm in suite.arms
    ]
    results = analyse(suite, "quick", records, lambda arm, index: "h")
    found = {(c["treatment"], c["baseline"], c["protocol"]): c for c in results["comparisons"]}
    assert len(found) == 6
    headline = results["comparison"]
    assert (headline["treatment"], headline["protocol"]) == ("masked_lazy_adam", "honest")
    assert headline["effect"]["value"] == pytest.approx(-0.01)
    assert headline["verdict"]["label"] == "undetermined"  # every seed's difference is the same: no interval
    lazy = found[("lazy_adam", "adam", "as_published")]
    assert lazy["effect"]["value"] == pytest.approx(0.002) and lazy["claimed_effect"] == 0.012
    assert lazy["verdict"]["label"] == "undetermined"  # constant differences: no interval, no verdict
    assert "without spread" in lazy["verdict"]["meaning"]
    direction = found[("masked_lazy_adam", "lazy_adam", "honest")]
    assert direction["claimed_effect"] is None
    verdict = direction["verdict"]  # a secondary comparison, at a simultaneous level: p = 2 / 2^6 is not enough
    assert verdict["label"] == "undetermined" and "p = 0.0312" in verdict["meaning"] and verdict["seeds_needed"] > 6
    assert "beyond ±0.50 points" in verdict["meaning"]  # the margin in the metric's unit, as the report writes it
    for arm in results["arms"].values():
        assert arm["test_selection_inflation"]["value"] == pytest.approx(0.005)
        assert arm["protocols"]["as_published"]["n"] == 6


def test_runs_of_several_backends_are_pooled_only_when_asked():
    from harness.report.analysis import MixedBackends, NoResults, one_backend

    records = [_record("scratch", i, OK, 0.9) for i in range(5)]
    for i, record in enumerate(records):
        record.tags["keras_backend"] = "torch" if i < 2 else "tensorflow"
    with pytest.raises(MixedBackends, match=r"several Keras backends: tensorflow \(3 runs\), torch \(2 runs\)"):
        one_backend(records, None, False)
    chosen, said = one_backend(records, "torch", False)
    assert [r.seed_index for r in chosen] == [0, 1] and said == "torch"
    pooled, said = one_backend(records, None, True)
    assert len(pooled) == 5 and said == "pooled across backends: tensorflow (3 runs), torch (2 runs)"
    with pytest.raises(NoResults, match="no runs on Keras backend 'jax'"):
        one_backend(records, "jax", False)
    untagged = [_record("scratch", 0, OK, 0.9)]  # runs from before the backend was tagged ran on TensorFlow
    assert one_backend(untagged, None, False) == (untagged, "tensorflow")


@pytest.mark.parametrize(
    ("gpu", "line"),
    [
        ("GPU 0: NVIDIA H200", "Keras backend: **jax** (keras 3.15.1, jax 0.11.2) on **GPU 0: NVIDIA H200**."),
        ("none", "Keras backend: **jax** (keras 3.15.1, jax 0.11.2)."),
    ],
)
def test_report_names_the_backend_and_any_gpu(gpu, line):
    from harness.report.markdown import backend_lines

    records = [_record(arm, i, OK, 0.9 + i / 100) for i in range(3) for arm in ("scratch", "transfer")]
    for record in records:
        record.tags.update({"version.keras": "3.15.1", "version.jax": "0.11.2", "gpu": gpu})
    provenance = analyse(SUITE, "quick", records, lambda arm, index: "h")["provenance"]
    assert backend_lines("jax", provenance)[0] == line
