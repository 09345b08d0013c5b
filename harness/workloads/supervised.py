"""Workload ``supervised``: one classifier composed from the suite file (data × model × optimizer × training).

Pairing within a seed: every arm holds out the same validation examples (or draws them
from the same seed), starts from the same weights (initializers seeded by layer name) and
sees the same batches in the same order — augmented the same way — at every epoch. A
Lookahead anywhere in the optimizer is evaluated with its slow weights, as its paper does.
Metrics and curves are those :meth:`SupervisedSettings.metrics` and ``curves`` declare.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from harness.accumulation import first_update_gap
from harness.data.augment import Augmentation, AugmentedBatches, TFAugmentedBatches, channel_stats, normalize
from harness.data.dataset import Dataset, Split
from harness.data.splits import carve_validation, fixed_subset
from harness.keras_config import runtime_values
from harness.models.folding import folding_error
from harness.optimizers import Lookahead, SlowWeightsEvaluation, lr_range_test, read_range_test
from harness.seeds import derive
from harness.training import (
    MIXED,
    EpochTimer,
    FollowEpoch,
    OrderedBatches,
    RepeatedBatches,
    StopOnNonFinite,
    TestEachEpoch,
    compile_loss,
    dtype_policy_for,
    make_optimizer,
    merge_history,
    optimizer_chain,
    schedule_curves,
    steps_per_execution,
    training_clock,
)
from harness.workloads import Outcome
from harness.workloads.components import ACCUMULATION_GAP, BN_FOLD
from harness.workloads.supervised_settings import SupervisedSettings


def splits(data: Dataset, settings: SupervisedSettings, seed: int) -> tuple[Split, Split | None, Split]:
    """(train, validation or None, test) as the suite's ``data`` section says, corrupted if it asks."""
    options, validation = settings.data, settings.data.validation
    kept, held = carve_validation(data.train.y, validation.size, validation.draw, seed, options.limit_train)
    found = [data.train.take(kept), data.train.take(held) if len(held) else None]
    found.append(data.test.take(fixed_subset(data.test.y, options.limit_test, "test")))
    if options.corrupt == "shuffled_labels":  # training labels only: validation and test stay true
        order = np.random.default_rng(derive(seed, "corrupt")).permutation(len(found[0].y))
        found[0] = Split(found[0].x, found[0].y[order])
    elif options.corrupt == "unscaled":  # every input, as a pipeline that forgot to scale would give them
        found = [Split(split.x * np.float32(255), split.y) if split else None for split in found]
    return found[0], found[1], found[2]


@contextlib.contextmanager
def dtype_policy(name: str):
    """Build layers under a Keras dtype policy (``mixed_float16``), then restore the previous one."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def training_batches(settings: SupervisedSettings, train: Split, seed: int, stats):
    """Batches for ``fit`` in a per-(seed, epoch) order; augmented and normalized (``stats``) when the suite asks."""
    options, batch_size = settings.data, settings.training.batch_size
    if stats is None:
        batches = OrderedBatches(train.x, train.y, batch_size, derive(seed, "order"))
    else:
        crop = options.augmentation
        augmentation = Augmentation(crop.crop_padding, crop.horizontal_flip) if crop else Augmentation(0, False)
        fast = keras.backend.backend() == "tensorflow" and settings.updates_per_batch() == 1
        kind = TFAugmentedBatches if fast else AugmentedBatches
        batches = kind(train.x, train.y, batch_size, derive(seed, "order"), augmentation, *stats)
    if settings.updates_per_batch() > 1:
        batches = RepeatedBatches(batches, settings.updates_per_batch())
    return batches


def range_test(build, spec, train: Split, batch_size: int, loss, values: dict, seed: int) -> tuple[dict, dict]:
    """The learning-rate range test from the run's initial weights (a copy of its model): its reading
    (:func:`~harness.optimizers.read_range_test`) and its curves ``range.lr``, ``range.loss``, ``range.smoothed``."""
    config = spec.optimizer.model_dump() if spec.optimizer else {"class_name": "SGD", "config": {}}
    config["config"] = {**config["config"], "learning_rate": spec.start}
    model = build()
    model.compile(optimizer=make_optimizer(config, values), loss=loss)
    found = lr_range_test(
        model,
        train.x,
        train.y,
        start=spec.start,
        end=spec.end,
        steps=spec.steps,
        batch_size=batch_size,
        smoothing=spec.smoothing,
        divergence=spec.divergence,
        seed=seed,
    )
    curves = {"range.lr": found.learning_rates, "range.loss": found.losses, "range.smoothed": found.smoothed}
    return read_range_test(found), {key: [float(v) for v in value] for key, value in curves.items()}


def range_values(reading: dict[str, float]) -> dict[str, float]:
    """The placeholders a range test gives the run's optimizer (:data:`harness.keras_config.RANGE_RUNTIME`)."""
    steepest, over_10 = reading["range_steepest_lr"], reading["range_min_loss_lr_over_10"]
    return {
        "range_steepest": steepest,
        "range_min_over_10": over_10,
        "range_min": reading["range_min_loss_lr"],
        "range_low": min(steepest, over_10),
        "range_high": max(steepest, over_10),
    }


def run(settings: SupervisedSettings, seed: int, callbacks: list | None = None) -> Outcome:
    data = settings.data.load()
    train, valid, test = splits(data, settings, seed)
    training = settings.training
    stats = None  # (mean, std) per channel for the augmented batches; None: plain batches
    if settings.data.normalize == "per_channel":
        stats = channel_stats(train.x)
        valid = Split(normalize(valid.x, *stats), valid.y) if valid else None
        test = Split(normalize(test.x, *stats), test.y)
    elif settings.data.augmentation:
        channels = train.x.shape[-1]
        stats = (np.zeros(channels, np.float32), np.ones(channels, np.float32))

    outputs = 1 if data.num_classes == 2 else data.num_classes
    extra = {"vocabulary_size": data.vocabulary_size} if data.kind == "tokens" else {}

    def build() -> keras.Model:  # the run's model from its seed: the same initial weights every time
        return settings.model.build(data.input_shape, outputs, seed, **extra)

    policy = dtype_policy_for(training.mixed_precision)
    with dtype_policy(policy):
        model = build()
    batches_per_epoch = -(-len(train) // training.batch_size)
    epochs = settings.epochs_to_run(batches_per_epoch)
    budget_updates = training.grad_eval_budget // settings.updates_per_batch() if training.grad_eval_budget else None
    values = runtime_values(len(train), training.batch_size, epochs, settings.vars, budget_updates)
    loss, metrics = compile_loss(training.loss, outputs, settings.model.logits)
    ranged: tuple[dict[str, float], dict[str, list[float]]] = ({}, {})
    if training.range_test:
        ranged = range_test(build, training.range_test, train, training.batch_size, loss, values, derive(seed, "range"))
        values |= range_values(ranged[0])
    optimizer = make_optimizer(settings.optimizer.model_dump(), values, policy == MIXED)
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=metrics,
        jit_compile=training.jit_compile,
        steps_per_execution=steps_per_execution(training.steps_per_execution),
    )
    batches = training_batches(settings, train, seed, stats)
    slow = [SlowWeightsEvaluation()] if any(isinstance(o, Lookahead) for o in optimizer_chain(optimizer)) else []
    monitor, timer = StopOnNonFinite("training"), EpochTimer()
    eval_batch = training.eval_batch_size
    tested = TestEachEpoch(test.x, test.y, eval_batch, callbacks=slow) if training.test_each_epoch else None
    clock = training_clock(
        len(batches),
        settings.updates_per_batch(),
        eval_every=training.eval_every_steps,
        validation=(valid.x, valid.y) if valid else None,
        eval_batch_size=eval_batch,
        eval_callbacks=tuple(slow),
        budget=training.grad_eval_budget,
    )
    accumulated = settings.optimizer.accumulation_steps()
    initial = model.get_weights() if accumulated > 1 else None  # for the first update made both ways
    fitted = model.fit(
        getattr(batches, "dataset", batches),
        epochs=epochs,
        validation_data=(valid.x, valid.y) if valid else None,
        validation_batch_size=eval_batch,
        verbose=0,
        shuffle=False,
        callbacks=[
            FollowEpoch(batches),
            clock,
            *slow,
            monitor,
            timer,
            *([tested] if tested else []),
            *(callbacks or []),
        ],
    )
    history: dict[str, list[float]] = {}
    merge_history(history, fitted)
    history["epoch_time_s"] = timer.seconds
    history |= clock.history
    planned = training.grad_eval_budget or epochs * len(batches)
    history |= schedule_curves(optimizer, planned // settings.updates_per_batch())
    metrics_out: dict[str, float] = {}
    if tested:
        history["epoch_test_accuracy"], history["epoch_test_loss"] = tested.accuracy, tested.loss
        metrics_out["test_accuracy"], metrics_out["test_loss"] = tested.accuracy[-1], tested.loss[-1]
        metrics_out["best_test_accuracy"] = max(tested.accuracy)
        metrics_out["best_test_epoch"] = float(int(np.argmax(tested.accuracy)) + 1)
    else:
        scores = model.evaluate(test.x, test.y, batch_size=eval_batch, verbose=0, return_dict=True, callbacks=slow)
        metrics_out["test_accuracy"], metrics_out["test_loss"] = float(scores["accuracy"]), float(scores["loss"])
    if valid:
        metrics_out["val_accuracy"], metrics_out["val_loss"] = history["val_accuracy"][-1], history["val_loss"][-1]
        validation = np.nan_to_num(np.array(history["val_accuracy"]), nan=-1.0)  # Keras ends even a stopped epoch
        chosen = int(np.argmax(validation))
        metrics_out["best_val_accuracy"], metrics_out["best_val_epoch"] = float(validation[chosen]), float(chosen + 1)
        if tested:
            metrics_out["test_accuracy_at_best_val"] = tested.accuracy[chosen]
    if "train_examples_per_s" in settings.metrics() and len(timer.seconds) > 1:
        metrics_out["train_examples_per_s"] = len(train) / float(np.median(timer.seconds[1:]))
    metrics_out["epochs_run"] = float(len(timer.seconds))
    metrics_out |= {name: value for name, value in clock.position().items() if name != "epochs"}
    metrics_out["train_s"] = metrics_out.pop("seconds")
    metrics_out |= {
        "planned_grad_evals": float(planned),
        "planned_updates": float(planned // settings.updates_per_batch()),
        "planned_epochs": planned / len(batches),
    }
    if training.eval_every_steps:
        metrics_out["step_eval_s"] = clock.eval_s
    metrics_out |= ranged[0]
    history |= ranged[1]
    if settings.model.foldable_batch_norm():
        metrics_out[BN_FOLD] = folding_error(model, test.x, eval_batch)
    if initial is not None and hasattr(batches, "__getitem__") and len(batches) >= accumulated:  # not tf.data
        batches.set_epoch(0)
        config = settings.optimizer.model_dump()
        metrics_out[ACCUMULATION_GAP] = first_update_gap(build, initial, config, values, loss, batches, accumulated)
    batches.release()  # a worker runs many trials: keep none of this one's arrays
    counts = {"n_train": len(train), "n_valid": len(valid) if valid else 0, "n_test": len(test)}
    extra_info = {k: str(v) for k, v in counts.items()} | {"dtype_policy": policy}
    return Outcome(metrics_out, history, data.source, data.digest, monitor.reason, extra_info)
