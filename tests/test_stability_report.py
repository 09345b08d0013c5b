"""The stability section's numbers: SD ratios with the source's figures, robustness across the grid."""

import numpy as np
import pytest

from harness.report.stability import robustness, spread
from harness.suites import load
from tests.conftest import ROOT

SUITE = load(ROOT / "suites" / "cifar.yaml")


def test_spread_pairs_seeds_and_compares_with_the_reported_sds():
    rng = np.random.default_rng(0)
    sgd = rng.normal(0.95, 0.002, 12)
    per_seed = {
        "sgd": dict(enumerate(sgd)),
        "lookahead_sgd": {i: 0.95 + 0.25 * (v - 0.95) for i, v in enumerate(sgd) if i != 3},  # seed 3 failed
        "adam": dict(enumerate(rng.normal(0.94, 0.002, 12))),
        "lookahead_adam": dict(enumerate(rng.normal(0.94, 0.002, 2))),  # too few pairs: no entry
    }
    [found] = spread(SUITE, lambda metric: per_seed)
    assert (found["baseline"], found["treatment"], found["n_pairs"]) == ("sgd", "lookahead_sgd", 11)
    assert found["ratio"]["value"] == pytest.approx(0.25)
    assert found["ratio"]["high"] < 1 and found["verdict"].startswith("lower spread")
    assert found["reported_ratio"] == pytest.approx(0.0006 / 0.0019)
    assert found["sd"]["sgd"]["n"] == found["sd"]["lookahead_sgd"]["n"] == 11


def test_robustness_uses_the_grid_points_both_arms_tried():
    def trials(values: dict) -> list[dict]:
        return [{"params": {"learning_rate_scale": k}, "value": v, "status": "ok"} for k, v in values.items()]

    tuning = {
        "objective": "val_accuracy",
        "higher_is_better": True,
        "arms": {
            "sgd": {"trials": trials({0.1: 0.50, 1.0: 0.70, 10.0: 0.20})},
            "lookahead_sgd": {"trials": trials({0.1: 0.55, 1.0: 0.71, 10.0: 0.40, 3.0: 0.6})},
            "adam": {"trials": trials({1.0: 0.6})},
            "lookahead_adam": {"trials": trials({1.0: 0.6, 3.0: 0.5})},
        },
    }
    [found] = robustness(SUITE, tuning)  # adam pairs share one point only: no entry
    assert [row["params"]["learning_rate_scale"] for row in found["points"]] == [0.1, 1.0, 10.0]
    assert found["advantage"]["value"] == pytest.approx((0.05 + 0.01 + 0.20) / 3) and found["advantage"]["n"] == 3
    assert found["worst"] == {"sgd": 0.20, "lookahead_sgd": 0.40}
    assert found["range"] == pytest.approx({"sgd": 0.50, "lookahead_sgd": 0.31})
