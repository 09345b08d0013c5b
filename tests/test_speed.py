"""Speed claims: derived metrics from curves, censoring, log-ratio verdicts, validation, end to end."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest
import yaml

from harness import stats
from harness.cli import main
from harness.derived import AreaUnderCurve, BestWithin, TimeToTarget, best_within, compute, first_reaching, mean_height
from harness.suites import SuiteError, load
from tests.conftest import ROOT, suite_problems

SPEED = ROOT / "tests" / "suites" / "speed.yaml"


def test_first_reaching_rising_falling_never_and_not_finite():
    xs = [10, 20, 30, 40]
    assert first_reaching(xs, [0.1, 0.5, 0.9, 0.95], 0.9, rising=True) == 30
    assert first_reaching(xs, [2.0, 1.0, 0.5, 0.4], 0.5, rising=False) == 30
    assert first_reaching(xs, [0.1, 0.5, 0.6, 0.7], 0.9, rising=True) is None
    assert first_reaching(xs, [0.1, np.nan, np.nan, np.nan], 0.0, rising=False) is None  # diverged: never


def test_area_and_best_within_a_budget():
    assert mean_height([0, 10, 20], [0.0, 1.0, 1.0]) == pytest.approx(0.75)  # (5 + 10) / 20
    assert mean_height([0, 10], [0.0, np.nan]) is None
    assert best_within([10, 20, 30], [0.5, 0.7, 0.9], 25, rising=True) == 0.7
    assert best_within([10, 20, 30], [3.0, 2.0, 1.0], 25, rising=False) == 2.0
    assert best_within([10, 20], [0.5, 0.7], 5, rising=True) is None


def test_a_run_that_never_reaches_the_target_is_censored_at_its_planned_budget():
    history = {
        "step.val_accuracy": [0.2, 0.4, np.nan],
        "step.at_updates": [100, 200, 300],
        "step.at_seconds": [1, 2, 3],
    }
    metrics = {"planned_updates": 1000.0, "updates": 300.0, "train_s": 3.0}  # diverged at 300 of 1000 updates
    spec = TimeToTarget(kind="time_to_target", target={"value": 0.5})
    assert compute(spec, history, metrics, 0.5) == {"": 1000.0, ".reached": 0.0}
    assert compute(spec, history, metrics, 0.3) == {"": 200.0, ".reached": 1.0}
    in_seconds = TimeToTarget(kind="time_to_target", axis="seconds", target={"value": 0.5})
    assert compute(in_seconds, history, metrics, 0.5) == {"": pytest.approx(10.0), ".reached": 0.0}  # extrapolated
    assert compute(AreaUnderCurve(kind="area"), history, metrics, None) == {}  # not finite: no area
    assert compute(BestWithin(kind="best_within", budget=250), history, metrics, None) == {"": 0.4}


def test_reach_curve_counts_censored_runs_as_never_reaching():
    curve = stats.reach_curve([100, 300, 300, 1000], [True, True, True, False])
    assert curve["at"] == [100, 300] and curve["share"] == [0.25, 0.75] and curve["n"] == 4
    assert curve["low"][1] < 0.75 < curve["high"][1] < 1  # the censored run keeps the band below 100%


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["derived"]["seconds_to_72"]["target"].update(value=1.2),
            "derived.seconds_to_72.target.value: 1.2 is outside the values 'step.val_accuracy' can take ([0, 1])",
        ),
        (
            lambda d: d["derived"]["updates_to_target"]["target"].update(relative_to="sgdd"),
            "derived.updates_to_target.target.relative_to: unknown arm 'sgdd' (did you mean 'sgd'?)",
        ),
        (
            lambda d: d["workload"]["settings"].update(curve_updates=0),
            "derived.updates_to_target.curve: 'step.val_accuracy' is not a recorded curve of workload 'synthetic'",
        ),
        (
            lambda d: d["derived"]["accuracy_area"].update(curve="val_loss"),
            "derived.accuracy_area.curve: 'val_loss' is not a recorded curve",
        ),
        (
            lambda d: d["derived"]["updates_to_target"].update(axis="minutes"),
            "derived.updates_to_target.axis: Input should be 'updates', 'grad_evals', 'epochs' or 'seconds'",
        ),
        (
            lambda d: d["derived"]["updates_to_target"]["target"].update(fraction=0.9, value=0.7),
            "derived.updates_to_target.target: give the target as value",
        ),
        (
            lambda d: d["claim"].update(metric="test_accuracy"),
            "claim.claimed_ratio: 'test_accuracy' is not a time to target",
        ),
        (
            lambda d: (d["claim"].pop("claimed_ratio"), d["claim"]["baseline"].update(reported=2000)),
            "claim.baseline.reported: a speed claim is held to a ratio",
        ),
        (
            lambda d: d["protocols"].update(final={"metric": "val_accuracy", "description": "final"}),
            "protocols.final.metric: 'val_accuracy' is a difference and the claim's metric is a time to target",
        ),
        (
            lambda d: d["derived"].update(val_accuracy={"kind": "area"}),
            "derived.val_accuracy: 'val_accuracy' is already a metric of workload 'synthetic'",
        ),
        (lambda d: d["claim"].update(claimed_ratio=0.5), "claim.claimed_ratio: Input should be greater than 1"),
    ],
)
def test_bad_speed_input_is_one_clear_line_naming_the_path(tmp_path, mutate, expected):
    problems = suite_problems(tmp_path, SPEED, mutate)
    assert any(p.startswith(expected) or expected in p for p in problems), problems


def test_step_curves_need_eval_every_steps_and_it_must_be_positive(tmp_path):
    cifar = yaml.safe_load((ROOT / "suites" / "cifar.yaml").read_text())
    cifar["derived"] = {"to_80": {"kind": "time_to_target", "target": {"value": 0.8}}}
    cifar["workload"]["settings"]["data"]["validation"] = {"size": 5000}
    path = tmp_path / "cifar.yaml"
    path.write_text(yaml.safe_dump(cifar))
    with pytest.raises(SuiteError) as error:
        load(str(path))
    assert any("training.eval_every_steps" in p and p.startswith("derived.to_80.curve") for p in error.value.problems)
    cifar["workload"]["settings"]["training"]["eval_every_steps"] = 0
    path.write_text(yaml.safe_dump(cifar))
    with pytest.raises(SuiteError) as error:
        load(str(path))
    assert "workload.settings.training.eval_every_steps: Input should be greater than 0 (got 0)" in error.value.problems
    cifar["workload"]["settings"]["training"]["eval_every_steps"] = 100
    path.write_text(yaml.safe_dump(cifar))
    with pytest.raises(SuiteError) as error:  # profiles that hold no validation set out
        load(str(path))
    assert error.value.problems[0].startswith("profiles.paper.overrides.data.validation.size: 0 leaves nothing")
    for profile in cifar["profiles"].values():
        profile.get("overrides", {}).pop("data.validation.size", None)
    path.write_text(yaml.safe_dump(cifar))
    assert load(str(path)).derived["to_80"].curve == "step.val_accuracy"


def _fashion_speed_suite() -> dict:
    """The README's claim made a speed claim with a Heun arm on an equal gradient budget."""
    readme = (ROOT / "README.md").read_text()
    suite = yaml.safe_load(re.search(r"```yaml\n# suites/nadam.yaml\n(.*?)```", readme, re.S).group(1))
    settings = suite["workload"]["settings"]
    settings["training"] = {"batch_size": 32, "eval_every_steps": 200, "grad_eval_budget": 4000}
    optimizer = {"config": {"learning_rate": "${lr}"}}
    suite["arms"] = {
        name.lower(): {"description": name, "params": {"optimizer": {"class_name": name, **optimizer}}}
        for name in ("SGD", "Heun")
    }
    suite["derived"] = {"evals_to_80": {"kind": "time_to_target", "axis": "grad_evals", "target": {"value": 0.8}}}
    suite["claim"].update(metric="evals_to_80", baseline={"arm": "sgd"}, treatment={"arm": "heun"})
    for profile in suite["profiles"].values():
        profile.get("overrides", {}).pop("training.epochs", None)
    return suite


@pytest.mark.slow
def test_validate_deep_runs_a_speed_suite_whose_heun_arm_stops_before_its_first_update(tmp_path, data_dir, capsys):
    """The miniature stops after one gradient evaluation: Heun has made no update, yet is scored once."""
    path = tmp_path / "heun.yaml"
    path.write_text(yaml.safe_dump(_fashion_speed_suite()))
    assert main(["validate", "--deep", str(path)]) == 0, capsys.readouterr().err


def _rows(folder) -> list[dict]:
    with (folder / "runs.csv").open() as handle:
        return [row for row in csv.DictReader(handle) if row["current"] == "true" and row["kind"] == "trial"]


@pytest.mark.slow
def test_speed_campaign_end_to_end(workspace):
    """Known truth: momentum is 2× faster than sgd, slow is sgd with its own noise."""
    assert main(["campaign", str(SPEED), "--profile", "smoke"]) == 0
    folder = workspace / "runs" / "reports" / "speed" / "smoke"
    results, rows = json.loads((folder / "results.json").read_text()), _rows(folder)
    headline = results["comparison"]
    assert headline["verdict"]["label"] == "replicated" and results["scale"] == {"kind": "log_ratio", "axis": "updates"}
    # the relative target and the headline interval, recomputed from runs.csv alone
    finals = [float(r["metric:step.val_accuracy"]) for r in rows if r["arm"] == "sgd"]
    target = results["speed"]["updates_to_target"]["target"]
    assert target["value"] == pytest.approx(0.99 * np.mean(finals)) and target["n_runs"] == 12
    times = {(r["arm"], int(r["seed_index"])): float(r["metric:updates_to_target"]) for r in rows}
    ratios = [math.log(times["sgd", i] / times["momentum", i]) for i in range(12)]
    interval = stats.t_ci(ratios)
    assert (headline["effect"]["low"], headline["effect"]["high"]) == pytest.approx((interval.low, interval.high))
    assert headline["effect"]["low"] < math.log(2) < headline["effect"]["high"]
    aa = next(c for c in results["comparisons"] if c["treatment"] == "slow")
    assert aa["verdict"]["label"] not in ("replicated", "contradicted")
    report = (folder / "report.md").read_text()
    assert "## Speed: time to target" in report and "×2" in report and (folder / "speed.png").is_file()


@pytest.mark.slow
def test_censored_runs_count_at_their_budget_and_are_never_dropped(workspace, capsys):
    assert main(["campaign", str(SPEED), "--profile", "censored", "--reports-dir", "out"]) == 0
    folder = workspace / "out" / "speed" / "censored"
    results, rows = json.loads((folder / "results.json").read_text()), _rows(folder)
    censored = [r for r in rows if r["metric:seconds_to_72.reached"] == "0.0"]
    assert censored and all(float(r["metric:seconds_to_72"]) == pytest.approx(1.2) for r in censored)  # 1200 updates
    arms = results["speed"]["seconds_to_72"]["arms"]
    for arm, summary in arms.items():
        lost = sum(r["arm"] == arm for r in censored)
        assert summary["n"] == 12 and summary["reached"] == 12 - lost
        assert summary["censored"]["value"] == pytest.approx(lost / 12)
    assert arms["sgd"]["censored"]["value"] > arms["momentum"]["censored"]["value"]
    pairs = next(c for c in results["comparisons"] if c["metric"] == "seconds_to_72" and c["treatment"] == "momentum")
    counted = pairs["censored_pairs"]
    assert counted["baseline_only"] + counted["both"] == sum(r["arm"] == "sgd" for r in censored)
    assert "censored pairs" in (folder / "report.md").read_text()
    capsys.readouterr()
    verify = ["verify", str(SPEED), "--profile", "censored", "--reports-dir", "out", "--seeds", "2", "--pick", "3"]
    assert main(verify) == 0  # derived metrics recomputed against the report's own targets; seconds not compared
    assert "identical: every final metric of 6 re-run runs" in "".join(capsys.readouterr())


def _mixed(data: dict) -> None:
    """The speed suite with a final-accuracy comparison and a spread of test accuracy beside its speed claims."""
    data["comparisons"].append(
        {"baseline": "sgd", "treatment": "momentum", "metric": "test_accuracy", "margin": 0.01, "why": "final"}
    )
    data["stability"] = [{"baseline": "sgd", "treatment": "slow", "metric": "test_accuracy"}]


def test_a_comparison_on_its_own_metric_states_its_own_claim(tmp_path):
    def own_metric_without_claim(data):
        data["comparisons"].append({"baseline": "sgd", "treatment": "momentum", "metric": "test_accuracy"})

    def ratio_on_accuracy(data):
        data["comparisons"].append(
            {"baseline": "sgd", "treatment": "momentum", "metric": "test_accuracy", "claimed_ratio": 2}
        )

    def effect_on_speed(data):
        data["comparisons"].append(
            {"baseline": "sgd", "treatment": "momentum", "metric": "seconds_to_72", "claimed_effect": 0.1}
        )

    def unknown_metric(data):
        data["comparisons"].append({"baseline": "sgd", "treatment": "momentum", "metric": "tst_accuracy", "margin": 1})

    [problem] = suite_problems(tmp_path, SPEED, own_metric_without_claim)
    assert problem.startswith("comparisons.2: judged on its own metric 'test_accuracy'") and "margin" in problem
    [problem] = suite_problems(tmp_path, SPEED, ratio_on_accuracy)
    assert problem.startswith("comparisons.2.claimed_ratio: 'test_accuracy' is not a time to target")
    [problem] = suite_problems(tmp_path, SPEED, effect_on_speed)
    assert problem.startswith("comparisons.2.claimed_effect: 'seconds_to_72' is a time to target")
    [problem] = suite_problems(tmp_path, SPEED, unknown_metric)
    assert "comparisons.2.metric: 'tst_accuracy'" in problem and "did you mean 'test_accuracy'" in problem


def test_each_comparison_is_judged_in_the_direction_of_its_own_metric():
    suite = load(SPEED)
    own = suite.comparisons[0]
    accuracy, loss = (
        type(own)(baseline="sgd", treatment="momentum", metric=name, margin=0.01) for name in ("test_accuracy", "loss")
    )
    assert suite.direction(own, "updates_to_target") == -1  # a time to target: lower is better
    assert suite.direction(accuracy, "test_accuracy") == 1 and suite.direction(loss, "loss") == -1
    assert suite.judged_on(accuracy) == [("test_accuracy", "test_accuracy")]
    assert [name for name, _ in suite.judged_on(own)] == ["relative target", "absolute target"]
    assert suite.margin(accuracy) == 0.01 and suite.claimed_effect(accuracy) is None


@pytest.mark.slow
def test_speed_and_final_accuracy_comparisons_in_one_report(workspace, tmp_path):
    path = tmp_path / "mixed.yaml"
    data = yaml.safe_load(SPEED.read_text())
    _mixed(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["campaign", str(path), "--profile", "smoke"]) == 0
    folder = workspace / "runs" / "reports" / "speed" / "smoke"
    results, rows = json.loads((folder / "results.json").read_text()), _rows(folder)
    final = next(c for c in results["comparisons"] if c["metric"] == "test_accuracy")
    assert final["axis"] is None and final["higher_is_better"] and final["protocol"] == "test_accuracy"
    values = {(r["arm"], int(r["seed_index"])): float(r["metric:test_accuracy"]) for r in rows}
    interval = stats.t_ci([values["momentum", i] - values["sgd", i] for i in range(12)])
    assert (final["effect"]["low"], final["effect"]["high"]) == pytest.approx(
        (interval.low, interval.high), rel=0, abs=1e-3
    )
    assert results["multiplicity"]["family"] == 5  # 2 comparisons × 2 protocols + 1 on its own metric
    assert results["comparison"]["axis"] == "updates"  # the headline stays a speed-up
    [spread] = results["stability"]
    assert spread["metric"] == "test_accuracy" and spread["n_pairs"] == 12
    report = (folder / "report.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| `momentum` − `sgd` | test_accuracy |"))
    assert " points (" not in row and "points" in row  # the unit beside the number when the rows' units differ
    assert "| `momentum` − `sgd` | relative target | ×" in report
