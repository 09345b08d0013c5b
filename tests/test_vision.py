"""Claim C2's pieces: augmentation plans and pipelines, CIFAR models, the vision workload, suite checks."""

import sys
import types

import keras
import numpy as np
import pytest
import yaml

from harness import registry
from harness.data.augment import (
    Augmentation,
    AugmentedBatches,
    TFAugmentedBatches,
    augment_batch,
    channel_stats,
    epoch_plan,
)
from harness.models.cnn import build_resnet18, build_small_cnn
from harness.optimizers import Lookahead, SlowWeightsEvaluation
from harness.seeds import make_deterministic
from harness.suites import SuiteError, load
from harness.training import TestEachEpoch
from harness.workloads.vision import learning_rate, run
from harness.workloads.vision_settings import VisionSettings
from tests.conftest import ROOT

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (300, 32, 32, 3), dtype=np.uint8)
LABELS = np.repeat(np.arange(10), 30)


def test_plan_depends_only_on_seed_and_epoch():
    plans = [epoch_plan(300, seed, epoch, Augmentation()) for seed, epoch in ((1, 0), (1, 0), (1, 1), (2, 0))]
    assert all(np.array_equal(getattr(plans[0], f), getattr(plans[1], f)) for f in ("order", "dy", "dx", "flip"))
    assert not np.array_equal(plans[0].order, plans[2].order) and not np.array_equal(plans[0].order, plans[3].order)
    assert plans[0].dy.min() >= 0 and plans[0].dy.max() <= 8 and 0.3 < plans[0].flip.mean() < 0.7


def test_crop_and_flip_against_hand_slicing():
    mean, std = np.zeros(3, np.float32), np.ones(3, np.float32)
    images = IMAGES[:2]
    got = augment_batch(images, np.array([4, 0]), np.array([4, 8]), np.array([False, True]), Augmentation(), mean, std)
    np.testing.assert_array_equal(got[0], images[0])  # offset 4 of 4-pixel padding: the image itself
    padded = np.pad(images[1], ((4, 4), (4, 4), (0, 0)))
    np.testing.assert_array_equal(got[1], padded[0:32, 8:40][:, ::-1])  # top-right crop, mirrored


def test_tf_data_and_numpy_pipelines_give_identical_batches():
    mean, std = channel_stats(IMAGES)
    numpy_batches = AugmentedBatches(IMAGES, LABELS, 64, 7, Augmentation(), mean, std)
    tf_batches = TFAugmentedBatches(IMAGES, LABELS, 64, 7, Augmentation(), mean, std)
    for epoch in (0, 3):
        numpy_batches.set_epoch(epoch)
        tf_batches.set_epoch(epoch)
        streamed = list(tf_batches.dataset)
        assert len(streamed) == len(numpy_batches) == 5  # the last batch is partial (300 = 4 × 64 + 44)
        for i, (x, y) in enumerate(streamed):
            expected_x, expected_y = numpy_batches[i]
            np.testing.assert_array_equal(x.numpy(), expected_x)
            np.testing.assert_array_equal(y.numpy(), expected_y)


def test_resnet18_is_the_cifar_variant_with_the_reference_parameter_count():
    model = build_resnet18((32, 32, 3), 10, seed=1, weight_decay=5e-4)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 11_173_962  # the Cutout / kuangliu ResNet18 for CIFAR-10
    assert model.get_layer("stem").kernel.shape == (3, 3, 3, 64) and model.get_layer("stem").strides == (1, 1)
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert len(model.losses) == len(model.trainable_weights)  # coupled L2 on every parameter, biases and BN too


def test_models_start_from_the_same_weights_per_seed_and_keep_float32_logits():
    first, again = build_small_cnn((32, 32, 3), 10, seed=3), build_small_cnn((32, 32, 3), 10, seed=3)
    other = build_small_cnn((32, 32, 3), 10, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), again.get_weights(), strict=True))
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    mixed = build_small_cnn((32, 32, 3), 10, seed=3, dtype="mixed_float16")
    assert mixed.get_layer("stage1_conv1").compute_dtype == "float16"
    assert mixed(IMAGES[:2].astype("float32")).dtype == "float32"


def test_step_schedule_decays_at_the_epochs_given():
    settings = VisionSettings(learning_rate=0.1, learning_rate_scale=0.5, lr_decay_epochs=[2, 4], epochs=5)
    schedule = learning_rate(settings, steps_per_epoch=10)
    rates = [float(schedule(step)) for step in (0, 19, 20, 39, 40, 49)]
    np.testing.assert_allclose(rates, [0.05, 0.05, 0.01, 0.01, 0.002, 0.002], rtol=1e-6)


def test_decays_after_training_are_rejected():
    with pytest.raises(ValueError, match="lr_decay_epochs"):
        VisionSettings(epochs=5, lr_decay_epochs=[2, 5])


@pytest.fixture
def tiny_images(monkeypatch):
    """A 10-class, 30-per-class image set registered as the dataset ``cifar10``."""
    data = types.SimpleNamespace(
        x_train=IMAGES, y_train=LABELS, x_test=IMAGES[:100], y_test=LABELS[:100], source="generated", digest="0"
    )
    module = types.ModuleType("tiny_images")
    module.load = lambda: data
    monkeypatch.setitem(sys.modules, "tiny_images", module)
    monkeypatch.setitem(registry.DATASETS._entries, "cifar10", "tiny_images:load")
    return data


def _tiny(**changes) -> VisionSettings:
    base = {
        "model": "small_cnn",
        "width": 4,
        "epochs": 2,
        "lr_decay_epochs": [1],
        "validation_size": 50,
        "batch_size": 32,
        "learning_rate": 0.05,
    }
    return VisionSettings(**(base | changes))


def test_workload_scores_the_last_epoch_and_the_best_test_epoch_deterministically(tiny_images):
    make_deterministic(5)
    outcome = run(_tiny(), seed=5)
    metrics, history = outcome.metrics, outcome.history
    assert metrics["test_accuracy"] == history["epoch_test_accuracy"][-1]  # honest: nothing chosen
    assert metrics["best_epoch_test_accuracy"] == max(history["epoch_test_accuracy"])  # chosen on test
    assert metrics["val_accuracy"] == history["val_accuracy"][-1] and len(history["epoch_time_s"]) == 2
    assert outcome.extra["n_train"] == "250" and outcome.extra["n_valid"] == "50"
    make_deterministic(5)
    assert run(_tiny(), seed=5).history["loss"] == history["loss"]


def test_each_epoch_test_score_uses_lookaheads_slow_weights():
    """With k beyond the run the slow weights never move: every test score is the initial model's."""
    x, y = RNG.normal(size=(64, 5)).astype("float32"), RNG.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, kernel_initializer=keras.initializers.Ones())])
    model.compile(
        Lookahead(keras.optimizers.SGD(0.5), k=10_000),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    initial = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    tested = TestEachEpoch(x, y, 64, callbacks=[SlowWeightsEvaluation()])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[tested])
    assert tested.loss == pytest.approx([initial, initial], rel=1e-6)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] != pytest.approx(initial)  # fast weights moved


def test_mixed_precision_trains_with_loss_scaling(tiny_images):
    make_deterministic(5)
    outcome = run(_tiny(mixed_precision=True, lookahead=True, epochs=1, lr_decay_epochs=[]), seed=5)
    assert outcome.diverged is None and np.isfinite(outcome.history["loss"]).all()


def _cifar_suite(tmp_path, mutate) -> str:
    data = yaml.safe_load((ROOT / "suites" / "cifar.yaml").read_text())
    mutate(data)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_grid_sampler_needs_choices_and_a_budget_of_the_grid_size(tmp_path):
    def mutate(data):
        data["tuning"]["search_space"]["momentum"] = {"low": 0.8, "high": 0.99}
        data["profiles"]["smoke"]["budget"] = 3

    with pytest.raises(SuiteError) as error:
        load(_cifar_suite(tmp_path, mutate))
    problems = error.value.problems
    assert "tuning.search_space.momentum: the grid sampler needs 'choices' (a list of values), not a range" in problems
    with pytest.raises(SuiteError) as error:
        load(_cifar_suite(tmp_path, lambda d: d["profiles"]["smoke"].update(budget=3)))
    assert error.value.problems == [
        "profiles.smoke.budget: 3 is not the size of the tuning grid (adam: 5, lookahead_adam: 5, "
        "lookahead_sgd: 5, sgd: 5); with the grid sampler every arm tries its whole grid, "
        "so set the budget to it (or 0)"
    ]


def test_stability_pairs_must_name_arms(tmp_path):
    def mutate(data):
        data["stability"][0]["treatment"] = "lookahed_sgd"
        data["stability"][1]["reported_sd"] = {"sgd": 0.001}

    with pytest.raises(SuiteError) as error:
        load(_cifar_suite(tmp_path, mutate))
    assert error.value.problems == [
        "stability.0.treatment: unknown arm 'lookahed_sgd' (did you mean 'lookahead_sgd'?)",
        "stability.0.reported_sd: 'lookahead_sgd' is neither this pair's baseline nor treatment",
        "stability.1.reported_sd: 'sgd' is neither this pair's baseline nor treatment",
    ]
