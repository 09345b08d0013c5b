"""Every project suite's smoke profile end to end: the claim files a user runs, not only validated.

fashion, imdb and cifar have their own end-to-end tests (tests/test_campaign.py); these are the
claim-as-a-file suites, which have no Python of their own — this is where a broken setting, metric
or check in one of them shows up in CI.
"""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.suites import load
from tests.conftest import ROOT

COVERED_ELSEWHERE = {"fashion", "imdb", "cifar"}
SUITES = sorted(p.stem for p in (ROOT / "suites").glob("*.yaml") if p.stem not in COVERED_ELSEWHERE)


@pytest.mark.slow
@pytest.mark.parametrize("name", SUITES)
def test_smoke_profile_runs_every_arm_and_judges_every_claim(workspace, name):
    suite = load(name)
    _, spec = suite.profile("smoke")
    # In this process (--jobs 1): pytest-xdist already runs one test per core, and a local worker
    # pool is tested in test_campaign.py; each worker would re-import Keras for a few seconds of work.
    assert main(["campaign", name, "--profile", "smoke", "--jobs", "1"]) == 0
    out = workspace / "runs" / "reports" / name / "smoke"
    results = json.loads((out / "results.json").read_text())
    assert {arm: row["n_runs"] for arm, row in results["arms"].items()} == dict.fromkeys(suite.arms, spec.seeds)
    assert results["comparisons"] and all(c["n_pairs"] == spec.seeds for c in results["comparisons"])
    assert all(c["verdict"]["label"] for c in results["comparisons"])
    assert all(check["n_runs"] > 0 for check in results.get("checks") or [])
    assert "## Verdict: **" in (out / "report.md").read_text()
