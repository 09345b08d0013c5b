"""Gradient accumulation: the first update from 4 accumulated batches of 16 against one batch of 64."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from harness.accumulation import first_update_gap
from harness.models.mlp import build_mlp
from harness.suites import SuiteError, load
from tests.conftest import ROOT, mutated_suite

ACCUMULATION = ROOT / "suites" / "accumulation.yaml"


def _gap(accumulation_steps: int, optimizer: str = "SGD") -> float:
    rng = np.random.default_rng(1)
    batches = [(rng.normal(size=(16, 5, 5)).astype("float32"), rng.integers(0, 3, 16)) for _ in range(4)]

    def build() -> keras.Model:
        return build_mlp((5, 5), 3, 0, hidden_units=[8])

    weights = build().get_weights()
    config = {
        "class_name": optimizer,
        "config": {"learning_rate": 0.1, "gradient_accumulation_steps": accumulation_steps},
    }
    if optimizer == "SGD":
        config["config"]["momentum"] = 0.9
    return first_update_gap(build, weights, config, {}, "sparse_categorical_crossentropy", batches, 4)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_four_accumulated_batches_make_the_update_of_their_concatenation(optimizer):
    assert _gap(4, optimizer) < 1e-6


def test_the_gap_is_a_real_check():
    """Two updates of 2 accumulated batches each are not the update of the 4 batches together."""
    assert _gap(2) > 1e-3


def test_an_equivalence_claim_needs_its_margin_and_no_reported_values(tmp_path):
    def reported(data):
        data["claim"]["baseline"]["reported"], data["claim"]["treatment"]["reported"] = 0.85, 0.86

    def no_margin(data):
        del data["claim"]["margin"]

    for mutate in (reported, no_margin):
        with pytest.raises(SuiteError) as error:
            load(mutated_suite(tmp_path, ACCUMULATION, mutate))
        assert any("equivalence claim gives its margin" in p for p in error.value.problems)

    def both(data):
        data["claim"]["non_inferiority"] = True

    with pytest.raises(SuiteError) as error:
        load(mutated_suite(tmp_path, ACCUMULATION, both))
    assert any("exclude each other: keep one" in p for p in error.value.problems)
    suite = load(ACCUMULATION)
    [own] = suite.all_comparisons()
    assert suite.is_equivalence(own) and suite.margin(own) == 0.003 and suite.claimed_effect(own) is None
