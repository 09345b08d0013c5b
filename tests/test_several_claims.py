"""A suite of several claims: direction claims get a torture meter, arms a ranking, the index every verdict."""

from __future__ import annotations

import json

import pytest
import yaml

from harness.cli import main
from tests.conftest import ROOT

SYNTHETIC = ROOT / "tests" / "suites" / "synthetic.yaml"


@pytest.mark.slow
def test_a_direction_claim_has_a_torture_meter_a_ranking_and_its_verdicts_in_the_index(workspace, tmp_path):
    data = yaml.safe_load(SYNTHETIC.read_text())
    for role in ("baseline", "treatment"):
        del data["claim"][role]["reported"]
    data["claim"]["margin"] = 0.005  # "treatment is better": a direction
    data["arms"]["worse"] = {"description": "effect -1 point", "params": {"effect": -0.01}}
    data["comparisons"] = [
        {"baseline": "baseline", "treatment": "treatment"},
        {"baseline": "worse", "treatment": "baseline", "metric": "val_accuracy", "margin": 0.002, "why": "its own"},
        {
            "baseline": "worse",
            "treatment": "treatment",
            "metric": "test_accuracy",
            "non_inferiority": True,
            "margin": 0.005,
        },
    ]
    data["ranking"] = "test_accuracy"
    data["checks"] = {"in_range": {"metric": "test_accuracy", "above": 0.5, "arms": ["treatment"]}}
    data["stability"] = [
        {"baseline": "baseline", "treatment": "worse"},
        {"baseline": "baseline", "treatment": "treatment", "metric": "val_accuracy"},
    ]
    path = tmp_path / "directions.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["campaign", str(path), "--profile", "smoke", "--reports-dir", "out"]) == 0
    folder = workspace / "out" / "synthetic" / "smoke"
    results = json.loads((folder / "results.json").read_text())
    headline = results["comparison"]
    assert headline["claimed_effect"] is None and headline["torture_threshold"] == 0.005
    assert len(headline["torture"]["prob_reaches_claimed"]) == headline["n_pairs"]
    assert results["torture_configs"]["prob_reaches_claimed"]  # the tuned report's search over settings too
    ranked = [row["arm"] for row in results["ranking"]["arms"]]
    assert ranked == ["treatment", "baseline", "worse"]  # +2 points, 0, -1 point (sd 0.01 per seed)
    means = [row["mean"]["value"] for row in results["ranking"]["arms"]]
    assert means == sorted(means, reverse=True) and all(row["mean"]["n"] == 3 for row in results["ranking"]["arms"])
    assert results["untuned"]["ranking"]["arms"][0]["arm"] == "treatment"
    [check] = results["checks"]
    assert check["holds"] and check["n_runs"] == 3 and check["worst"]["arm"] == "treatment"
    report = (folder / "report.md").read_text()
    assert "landscape.png" in report and (folder / "landscape.png").stat().st_size > 5_000  # treatment: lr × epochs
    assert "## The torture meter" in report and "ahead by more than the margin" in report
    assert "## Ranking of the arms" in report and "untuned rank" in report
    index = (workspace / "out" / "index.md").read_text()
    assert "also: `baseline` − `worse` (val_accuracy):" in index and "check in_range: holds (3 of 3 runs)" in index
    spread, on_validation = results["stability"]
    assert f"`worse` vs `baseline` spread across seeds (test_accuracy): {spread['verdict']}" in index
    assert f"`treatment` vs `baseline` spread across seeds (val_accuracy): {on_validation['verdict']}" in index
    assert "Standard deviation across seeds of each row's metric" in report  # not only the claim's
    [not_worse] = [c for c in results["comparisons"] if c["non_inferiority_claim"]]
    assert not_worse["effect"]["value"] == pytest.approx(0.03, abs=0.01)  # +2 points over −1
    low = not_worse["verdict"]["interval"]["low"]  # read at the report's simultaneous level
    assert not_worse["verdict"]["label"] == ("replicated" if low > -0.005 else "inconclusive")
    assert "| not worse (by more than 0.50 points) |" in report
    assert "- Non-inferiority of `treatment` − `worse`, test_accuracy: the difference above −0.50 points" in report
