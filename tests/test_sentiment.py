"""The sentiment workload (claim C1): paired splits and weights, the two protocols, optimizers."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.splits import stratified_split
from harness.suites import load
from harness.workloads.sentiment import make_optimizer, run
from tests.conftest import ROOT

SUITE = load(ROOT / "suites" / "imdb.yaml")


def test_stratified_split_is_fixed_per_seed_and_keeps_class_shares():
    y = np.array([0] * 700 + [1] * 300)
    kept, held = stratified_split(y, 100, seed=1)
    assert len(held) == 100 and np.bincount(y[held]).tolist() == [70, 30]
    assert np.intersect1d(kept, held).size == 0 and len(kept) + len(held) == len(y)
    np.testing.assert_array_equal(held, stratified_split(y, 100, seed=1)[1])
    assert not np.array_equal(held, stratified_split(y, 100, seed=2)[1])
    assert np.bincount(y[stratified_split(y, 7, seed=3)[1]]).tolist() == [5, 2]  # largest remainder
    with pytest.raises(ValueError, match="cannot hold out 1000 of 1000"):
        stratified_split(y, 1000, seed=1)


@pytest.mark.parametrize("model", ["pooled", "lstm"])
def test_every_arm_starts_from_the_same_weights(model):
    from harness.registry import MODELS

    build = MODELS.get(model)
    first, second = build(50, 6, seed=7, embedding_dim=4, units=3), build(50, 6, seed=7, embedding_dim=4, units=3)
    other = build(50, 6, seed=8, embedding_dim=4, units=3)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    assert first.predict(np.zeros((2, 6), "int32"), verbose=0).shape == (2, 1)


def test_optimizers_of_the_arms():
    from harness.optimizers import LazyAdam, MaskedLazy

    kinds = {arm: type(make_optimizer(SUITE.settings("smoke", arm))) for arm in SUITE.arms}
    assert kinds["lazy_adam"] is LazyAdam and kinds["masked_lazy_adam"] is MaskedLazy
    assert kinds["adam"].__name__ == "Adam"


@pytest.mark.slow
def test_protocols_score_the_same_run_two_ways(data_dir):
    settings = SUITE.settings("smoke", "lazy_adam").model_copy(update={"epochs": 3, "limit_train": 1200})
    outcome = run(settings, seed=11)
    history, metrics = outcome.history, outcome.metrics
    assert len(history["epoch_test_accuracy"]) == len(history["val_accuracy"]) == 3
    chosen = int(np.argmax(history["val_accuracy"]))
    assert metrics["chosen_epoch"] == chosen + 1
    assert metrics["test_accuracy"] == history["epoch_test_accuracy"][chosen]  # honest: chosen on validation
    assert metrics["published_test_accuracy"] == max(history["epoch_test_accuracy"])  # chosen on the test set
    assert outcome.extra == {"n_train": "800", "n_valid": "400", "n_test": "1000"}
    assert "aclImdb" in outcome.data_source and outcome.diverged is None
    again = run(settings, seed=11)
    assert again.history == history  # deterministic under the seed
