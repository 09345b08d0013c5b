"""The supervised workload and its parts: splits, augmentation, models, optimizers from configs, protocols."""

import sys
import types

import keras
import numpy as np
import pytest
import yaml

from harness.data.augment import (
    Augmentation,
    AugmentedBatches,
    TFAugmentedBatches,
    augment_batch,
    channel_stats,
    epoch_plan,
)
from harness.data.dataset import Dataset, Split
from harness.data.splits import carve_validation, stratified_split
from harness.models.cnn import build_resnet18, build_small_cnn
from harness.optimizers import Heun, LazyAdam, Lookahead, MaskedLazy, SlowWeightsEvaluation
from harness.seeds import make_deterministic
from harness.suites import SuiteError, load
from harness.training import TestEachEpoch, make_optimizer, optimizer_chain
from harness.verify import NOT_COMPARED
from harness.workloads.components import CIFAR10
from harness.workloads.supervised import dtype_policy, run
from harness.workloads.supervised_settings import SupervisedSettings
from tests.conftest import ROOT

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (300, 32, 32, 3), dtype=np.uint8)
LABELS = np.repeat(np.arange(10), 30)
IMDB = load(ROOT / "suites" / "imdb.yaml")
CIFAR = load(ROOT / "suites" / "cifar.yaml")


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


def test_validation_is_carved_last_fixed_or_per_seed():
    y = np.repeat([0, 1], 50)
    kept, held = carve_validation(y, 10, "last", seed=1)
    assert held.tolist() == list(range(90, 100)) and len(kept) == 90
    fixed = [carve_validation(y, 10, "fixed", seed=s)[1] for s in (1, 2)]
    np.testing.assert_array_equal(*fixed)  # the same for every seed
    drawn = [carve_validation(y, 10, "per_seed", seed=s, limit=40) for s in (1, 2)]
    assert not np.array_equal(drawn[0][1], drawn[1][1])
    pools = [np.union1d(k, h) for k, h in drawn]
    np.testing.assert_array_equal(*pools)  # per seed: carved out of one fixed subset of 40
    assert len(pools[0]) == 40 and np.intersect1d(*drawn[0]).size == 0
    kept, held = carve_validation(y, 10, "fixed", seed=1, limit=20)
    assert len(kept) == 20 and np.intersect1d(kept, held).size == 0


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
    with dtype_policy("mixed_float16"):
        mixed = build_small_cnn((32, 32, 3), 10, seed=3)
    assert mixed.get_layer("stage1_conv1").compute_dtype == "float16"
    assert mixed.output.dtype == "float32"  # logits in float32 (read symbolically: a CPU may lack float16 kernels)
    assert build_small_cnn((28, 28), 10, seed=3).output.shape == (None, 10)  # 2-D images get a channel axis


@pytest.mark.parametrize(
    "model", [{"name": "pooled", "embedding_dim": 4}, {"name": "lstm", "embedding_dim": 4, "units": 3}]
)
def test_text_models_start_from_the_same_weights_per_seed(model):
    settings = IMDB.trial_settings("smoke", "adam", sampled={"model": model})
    first, second = (settings.model.build((6,), 1, 7, vocabulary_size=50) for _ in range(2))
    other = settings.model.build((6,), 1, 8, vocabulary_size=50)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights(), strict=True))
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    assert first.predict(np.zeros((2, 6), "int32"), verbose=0).shape == (2, 1)


def test_arms_optimizers_come_from_their_keras_configs():
    values = {"steps_per_epoch": 10, "epochs": 6, "total_steps": 60, "batch_size": 32, "train_examples": 320}
    kinds = {}
    for arm in IMDB.arms:
        settings = IMDB.trial_settings("smoke", arm)
        kinds[arm] = make_optimizer(settings.optimizer.model_dump(), values | settings.vars)
    assert type(kinds["lazy_adam"]) is LazyAdam and type(kinds["masked_lazy_adam"]) is MaskedLazy
    assert type(kinds["adam"]) is keras.optimizers.Adam and float(kinds["adam"].learning_rate) == pytest.approx(1e-3)
    assert type(kinds["masked_lazy_adam"].inner) is keras.optimizers.Adam
    quick = CIFAR.trial_settings("quick", "lookahead_adam", sampled={"vars.lr_scale": 0.5})
    chain = optimizer_chain(make_optimizer(quick.optimizer.model_dump(), values | quick.vars, mixed_precision=True))
    assert [type(o).__name__ for o in chain] == ["LossScaleOptimizer", "Lookahead", "Adam"]
    schedule = chain[-1]._learning_rate  # x0.2 after epochs 2, 4 and 5 (a boundary's own step keeps the rate)
    rates = [float(schedule(step)) for step in (0, 19, 20, 39, 40, 49, 50)]
    np.testing.assert_allclose(rates, [5e-4, 5e-4, 1e-4, 1e-4, 2e-5, 2e-5, 4e-6], rtol=1e-6)


def _tiny_dataset() -> Dataset:
    return Dataset(Split(IMAGES, LABELS), Split(IMAGES[:100], LABELS[:100]), 10, "images", "generated", "0")


@pytest.fixture
def tiny_images(monkeypatch):
    """A 10-class, 30-per-class image set standing in for ``cifar10``."""
    module = types.ModuleType("tiny_images")
    module.load = _tiny_dataset
    monkeypatch.setitem(sys.modules, "tiny_images", module)
    monkeypatch.setattr(CIFAR10, "loader", "tiny_images:load")


def _tiny(**changes) -> SupervisedSettings:
    settings = CIFAR.settings_dict("smoke", "sgd")
    settings["data"] = {"name": "cifar10", "validation": {"size": 50}, "normalize": "per_channel"} | changes.pop(
        "data", {}
    )
    settings["training"] |= {"batch_size": 32} | changes.pop("training", {})
    return SupervisedSettings(**(settings | changes))


def test_workload_scores_the_last_epoch_and_the_best_test_epoch_deterministically(tiny_images):
    make_deterministic(5)
    outcome = run(_tiny(), seed=5)
    metrics, history = outcome.metrics, outcome.history
    assert metrics["test_accuracy"] == history["epoch_test_accuracy"][-1]  # honest: nothing chosen
    assert metrics["best_test_accuracy"] == max(history["epoch_test_accuracy"])  # chosen on test
    chosen = int(np.argmax(history["val_accuracy"]))
    assert metrics["test_accuracy_at_best_val"] == history["epoch_test_accuracy"][chosen]
    assert metrics["val_accuracy"] == history["val_accuracy"][-1] and len(history["epoch_time_s"]) == 2
    assert outcome.extra["n_train"] == "250" and outcome.extra["n_valid"] == "50"
    assert set(metrics) == set(_tiny().metrics())  # the metric contract: what it declares, it produces
    assert set(history) == set(_tiny().curves())
    make_deterministic(5)
    assert run(_tiny(), seed=5).history["loss"] == history["loss"]


def test_mixed_precision_is_used_where_a_gpu_is_seen_and_recorded_either_way(tiny_images, monkeypatch):
    from harness import training

    settings = _tiny(training={"mixed_precision": True, "epochs": 1})
    seen = training.dtype_policy_for(True)  # float32 on a CPU-only machine (CI)
    make_deterministic(5)
    outcome = run(settings, seed=5)
    assert outcome.extra["dtype_policy"] == seen and np.isfinite(outcome.history["loss"]).all()
    assert run(_tiny(training={"epochs": 1}), seed=5).extra["dtype_policy"] == "float32"
    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["gpu:0", "cpu:0"])
    if keras.backend.backend() != "torch":  # PyTorch asks torch.cuda instead
        assert training.dtype_policy_for(True) == "mixed_float16" and training.dtype_policy_for(False) == "float32"
    monkeypatch.setattr(keras.distribution, "list_devices", lambda: ["cpu:0"])
    if keras.backend.backend() != "torch":
        assert training.dtype_policy_for(True) == "float32"


def test_mixed_precision_trains_with_loss_scaling(tiny_images, monkeypatch, float16_kernels):
    """Where a GPU is seen: layers in float16 and a loss-scaled Lookahead (an MLP, cheap on a CPU)."""
    from harness.workloads import supervised

    monkeypatch.setattr(supervised, "dtype_policy_for", lambda asked: "mixed_float16" if asked else "float32")
    lookahead = {"class_name": "Lookahead", "config": {"inner": CIFAR.settings_dict("smoke", "sgd")["optimizer"]}}
    mlp = _tiny(training={"mixed_precision": True, "epochs": 1}, optimizer=lookahead, model={"name": "mlp"})
    make_deterministic(5)
    outcome = run(mlp, seed=5)
    assert outcome.extra["dtype_policy"] == "mixed_float16" and np.isfinite(outcome.history["loss"]).all()


def test_heun_gets_each_batch_twice_and_augmentation_runs_in_numpy(tiny_images):
    make_deterministic(5)
    heun = {"class_name": "Heun", "config": {"learning_rate": 0.01}}
    settings = _tiny(optimizer=heun, data={"augmentation": {"crop_padding": 2}}, training={"epochs": 1})
    assert settings.updates_per_batch() == 2
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(int(self.model.optimizer.iterations))

    outcome = run(settings, seed=5, callbacks=[Count()])
    assert len(seen) == 2 * 8 and isinstance(Heun, type) and outcome.diverged is None  # 250 / 32 → 8 updates


def test_step_curves_and_an_equal_gradient_budget_for_heun(tiny_images):
    """At 20 gradient evaluations (8 batches an epoch) SGD makes 20 updates in 3 epochs, Heun 10 in 2;
    validation every 3 updates and after the last, without disturbing training."""
    make_deterministic(5)
    training = {"eval_every_steps": 3, "grad_eval_budget": 20}
    sgd = _tiny(training=training)
    outcome = run(sgd, seed=5)
    metrics, history = outcome.metrics, outcome.history
    assert (metrics["updates"], metrics["grad_evals"], metrics["epochs_run"]) == (20, 20, 3)
    assert (metrics["planned_updates"], metrics["planned_epochs"]) == (20, 2.5)
    assert history["step.at_updates"] == [3, 6, 9, 12, 15, 18, 20] and history["at_updates"] == [8, 16, 20]
    seconds = history["step.at_seconds"]
    assert seconds == sorted(seconds) and 0 < seconds[-1] == metrics["train_s"] and metrics["step_eval_s"] > 0
    assert history["step.val_accuracy"][-1] == pytest.approx(history["val_accuracy"][-1])  # the same weights
    assert set(metrics) == set(sgd.metrics()) and set(history) == set(sgd.curves())
    make_deterministic(5)
    unscored = run(_tiny(training={"grad_eval_budget": 20}), seed=5).history
    assert unscored["loss"] == history["loss"] and "step.val_accuracy" not in unscored

    make_deterministic(5)
    heun = run(_tiny(optimizer={"class_name": "Heun", "config": {"learning_rate": 0.01}}, training=training), seed=5)
    assert (heun.metrics["updates"], heun.metrics["grad_evals"], heun.metrics["epochs_run"]) == (10, 20, 2)
    assert heun.history["step.at_grad_evals"] == [6, 12, 18, 20] and heun.history["step.at_updates"] == [3, 6, 9, 10]


def test_validation_every_n_steps_needs_a_validation_set():
    problems = _tiny(data={"validation": {"size": 0}}, training={"eval_every_steps": 5}).problems()
    assert [p for p in problems if p.startswith("data.validation.size: 0 leaves nothing for training.eval_every")]


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


@pytest.mark.slow
def test_protocols_score_the_same_run_two_ways(data_dir):
    settings = IMDB.trial_settings("smoke", "lazy_adam", sampled={"training.epochs": 3, "data.limit_train": 1200})
    outcome = run(settings, seed=11)
    history, metrics = outcome.history, outcome.metrics
    assert len(history["epoch_test_accuracy"]) == len(history["val_accuracy"]) == 3
    chosen = int(np.argmax(history["val_accuracy"]))
    assert metrics["best_val_epoch"] == chosen + 1
    assert metrics["test_accuracy_at_best_val"] == history["epoch_test_accuracy"][chosen]  # chosen on validation
    assert metrics["best_test_accuracy"] == max(history["epoch_test_accuracy"])  # chosen on the test set
    assert outcome.extra == {"n_train": "800", "n_valid": "400", "n_test": "1000", "dtype_policy": "float32"}
    assert "aclImdb" in outcome.data_source and outcome.diverged is None
    again = run(settings, seed=11).history
    for timing in set(NOT_COMPARED) & set(history):  # clocks differ between runs; results do not
        assert again.pop(timing) and history.pop(timing)
    assert again == history  # deterministic under the seed


def _cifar_suite(tmp_path, mutate) -> str:
    data = yaml.safe_load((ROOT / "suites" / "cifar.yaml").read_text())
    mutate(data)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_grid_sampler_needs_choices_and_a_budget_of_the_grid_size(tmp_path):
    def mutate(data):
        data["tuning"]["search_space"]["vars.d1"] = {"low": 2, "high": 5}
        data["profiles"]["smoke"]["budget"] = 3

    with pytest.raises(SuiteError) as error:
        load(_cifar_suite(tmp_path, mutate))
    problems = error.value.problems
    assert "tuning.search_space.vars.d1: the grid sampler needs 'choices' (a list of values), not a range" in problems
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


def test_a_range_test_runs_first_and_its_suggestions_set_the_learning_rate(tiny_images):
    """Its reading and curve are recorded; the optimizer's ${range_high} is the run's own suggestion."""
    make_deterministic(5)
    training = {"epochs": 1, "range_test": {"start": 1e-5, "end": 10.0, "steps": 40}}
    optimizer = {"class_name": "SGD", "config": {"learning_rate": "${range_high}", "momentum": 0.9}}
    settings = _tiny(training=training, optimizer=optimizer)
    outcome = run(settings, seed=5)
    metrics, history = outcome.metrics, outcome.history
    assert set(metrics) == set(settings.metrics()) and set(history) == set(settings.curves())
    assert 1e-5 <= metrics["range_steepest_lr"] <= 10 and metrics["range_diverges"] in (0.0, 1.0)
    lr = history["range.lr"]
    assert lr[0] == pytest.approx(1e-5) and lr == sorted(lr) and len(history["range.loss"]) == len(lr)
    low, high = sorted((metrics["range_steepest_lr"], metrics["range_min_loss_lr_over_10"]))
    assert metrics["range_log10_spread"] == pytest.approx(np.log10(high / low))
    make_deterministic(5)
    fixed = run(
        _tiny(training=training, optimizer={"class_name": "SGD", "config": {"learning_rate": high, "momentum": 0.9}}),
        seed=5,
    )
    assert fixed.history["loss"] == history["loss"]  # the same training as with that number written in


def test_corrupted_pipelines_break_what_they_say(tiny_images):
    from harness.workloads.supervised import splits

    clean = _tiny()
    train, _, test = splits(_tiny_dataset(), clean, 5)
    shuffled, _, shuffled_test = splits(_tiny_dataset(), _tiny(data={"corrupt": "shuffled_labels"}), 5)
    assert np.array_equal(shuffled.x, train.x) and not np.array_equal(shuffled.y, train.y)
    assert sorted(shuffled.y) == sorted(train.y) and np.array_equal(shuffled_test.y, test.y)  # test labels true
    raw = _tiny(data={"corrupt": "unscaled", "normalize": "none"})
    unscaled, _, unscaled_test = splits(_tiny_dataset(), raw, 5)
    assert np.array_equal(unscaled.x, train.x.astype("float32") * 255) and unscaled_test.x.max() > 255
    assert any("per_channel would undo" in p for p in _tiny(data={"corrupt": "unscaled"}).problems())
    assert "corrupt" not in clean.model_dump()["data"]  # a clean pipeline's settings (and hash) as before


def test_a_run_releases_its_training_arrays(tiny_images, monkeypatch):
    """TensorFlow keeps every PyDataset ``fit`` saw alive in its generator registry: a worker running many
    trials would keep each trial's training data (~170 MB for Fashion-MNIST) unless the run lets go of it."""
    import harness.workloads.supervised as supervised

    made = []

    class Recorded(supervised.AugmentedBatches):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(supervised, "AugmentedBatches", Recorded)
    monkeypatch.setattr(supervised, "TFAugmentedBatches", Recorded)
    make_deterministic(5)
    assert run(_tiny(training={"epochs": 1}), seed=5).diverged is None
    [batches] = made
    assert batches.x is None and batches.y is None
