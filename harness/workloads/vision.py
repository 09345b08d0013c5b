"""Workload ``vision`` (claim C2): an image classifier trained with SGD or Adam, with or without Lookahead.

Pairing within a seed: every arm holds out the same validation images, starts from the
same weights (initializers seeded by layer name) and sees the same augmented batches in
the same order (:mod:`harness.data.augment`). Lookahead arms are evaluated with their
slow weights, as the paper does. Metrics:

- ``test_accuracy`` (honest): test accuracy after the last epoch — nothing is chosen;
- ``best_epoch_test_accuracy`` (selects on test): the best test accuracy over epochs, the
  number a run reports when the epoch is picked by looking at the test set;
- ``val_accuracy``: validation accuracy after the last epoch (what tuning maximises);
- ``train_images_per_s``: training images over the median epoch time after the first (which
  compiles); an epoch's time includes its validation pass, not the test pass.

Per-epoch curves: ``val_accuracy``, ``epoch_test_accuracy``, ``loss``, ``epoch_time_s``.
On the TensorFlow backend the batches come from ``tf.data``; on the others from a NumPy
``PyDataset``: the same batches either way.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from harness.data.augment import Augmentation, AugmentedBatches, TFAugmentedBatches, channel_stats, normalize
from harness.data.splits import stratified_split
from harness.optimizers import Lookahead, SlowWeightsEvaluation
from harness.registry import DATASETS, MODELS
from harness.seeds import derive
from harness.training import EpochTimer, FollowEpoch, StopOnNonFinite, TestEachEpoch, merge_history, steps_per_execution
from harness.workloads import Outcome
from harness.workloads.vision_settings import VisionSettings

EVAL_BATCH = 1000  # evaluation only: no effect on training


def _fixed_subset(y: np.ndarray, limit: int | None, name: str) -> np.ndarray:
    """Indices of a fixed (seed-independent) stratified ``limit`` of ``y``, or all of them."""
    if limit is None or limit >= len(y):
        return np.arange(len(y))
    return stratified_split(y, limit, derive(0, "subset", name))[1]


def learning_rate(settings: VisionSettings, steps_per_epoch: int):
    """The step schedule: ``learning_rate × scale``, times ``lr_decay_factor`` at each decay epoch."""
    start = settings.learning_rate * settings.learning_rate_scale
    if not settings.lr_decay_epochs:
        return start
    return keras.optimizers.schedules.PiecewiseConstantDecay(  # a boundary's own step keeps the earlier rate
        [epoch * steps_per_epoch - 1 for epoch in settings.lr_decay_epochs],
        [start * settings.lr_decay_factor**i for i in range(len(settings.lr_decay_epochs) + 1)],
    )


def make_optimizer(settings: VisionSettings, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """SGD (momentum, Nesterov) or Adam on the schedule, inside Lookahead and/or loss scaling if asked."""
    rate = learning_rate(settings, steps_per_epoch)
    if settings.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(rate, momentum=settings.momentum, nesterov=settings.nesterov)
    else:
        optimizer = keras.optimizers.Adam(rate)
    if settings.lookahead:
        optimizer = Lookahead(optimizer, k=settings.lookahead_k, alpha=settings.lookahead_alpha)
    if settings.mixed_precision:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def build_model(settings: VisionSettings, input_shape: tuple[int, ...], classes: int, seed: int) -> keras.Model:
    options = {
        "weight_decay": settings.weight_decay,
        "dtype": "mixed_float16" if settings.mixed_precision else "float32",
    }
    if settings.width is not None:
        options["width"] = settings.width
    return MODELS.get(settings.model)(input_shape, classes, seed, **options)


def _training_batches(x, y, settings: VisionSettings, seed: int, mean, std):
    """Augmented training batches for ``fit``: ``tf.data`` on TensorFlow, a NumPy PyDataset otherwise."""
    augmentation = Augmentation(settings.crop_padding, settings.horizontal_flip)
    kind = TFAugmentedBatches if keras.backend.backend() == "tensorflow" else AugmentedBatches
    return kind(x, y, settings.batch_size, derive(seed, "order"), augmentation, mean, std)


def run(settings: VisionSettings, seed: int, callbacks: list | None = None) -> Outcome:
    data = DATASETS.get(settings.dataset)(**settings.data_arguments())
    pool, held = np.arange(len(data.y_train)), np.array([], int)
    if settings.validation_size:
        pool, held = stratified_split(data.y_train, settings.validation_size, derive(0, "validation"))
    train_rows = pool[_fixed_subset(data.y_train[pool], settings.limit_train, "train")]
    test_rows = _fixed_subset(data.y_test, settings.limit_test, "test")
    x_train, y_train = data.x_train[train_rows], data.y_train[train_rows]
    mean, std = channel_stats(x_train)
    x_test, y_test = normalize(data.x_test[test_rows], mean, std), data.y_test[test_rows]
    classes = int(data.y_train.max()) + 1

    steps_per_epoch = math.ceil(len(y_train) / settings.batch_size)
    model = build_model(settings, x_train.shape[1:], classes, seed)
    model.compile(
        optimizer=make_optimizer(settings, steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=settings.jit_compile,
        steps_per_execution=steps_per_execution(settings.steps_per_execution),
    )
    batches = _training_batches(x_train, y_train, settings, seed, mean, std)
    slow = [SlowWeightsEvaluation()] if settings.lookahead else []
    monitor, timer = StopOnNonFinite("training"), EpochTimer()
    tested = TestEachEpoch(x_test, y_test, EVAL_BATCH, callbacks=slow) if settings.test_each_epoch else None
    validation = None
    if len(held):
        validation = (normalize(data.x_train[held], mean, std), data.y_train[held])
    fitted = model.fit(
        getattr(batches, "dataset", batches),
        epochs=settings.epochs,
        validation_data=validation,
        validation_batch_size=EVAL_BATCH,
        verbose=0,
        shuffle=False,
        callbacks=[FollowEpoch(batches), *slow, monitor, timer, *([tested] if tested else []), *(callbacks or [])],
    )
    history: dict[str, list[float]] = {}
    merge_history(history, fitted)
    history["epoch_time_s"] = timer.seconds
    metrics = {}
    if tested:
        history["epoch_test_accuracy"], history["epoch_test_loss"] = tested.accuracy, tested.loss
        metrics["test_accuracy"] = tested.accuracy[-1]
        metrics["best_epoch_test_accuracy"] = max(tested.accuracy)
        metrics["best_test_epoch"] = float(int(np.argmax(tested.accuracy)) + 1)
    else:
        scores = model.evaluate(x_test, y_test, batch_size=EVAL_BATCH, verbose=0, return_dict=True, callbacks=slow)
        metrics["test_accuracy"] = float(scores["accuracy"])
    if validation is not None:
        metrics["val_accuracy"] = history["val_accuracy"][-1]
    if len(timer.seconds) > 1:
        metrics["train_images_per_s"] = len(y_train) / float(np.median(timer.seconds[1:]))
    counts = {"n_train": len(y_train), "n_valid": len(held), "n_test": len(y_test), "epochs_run": len(timer.seconds)}
    extra = {k: str(v) for k, v in counts.items()}
    return Outcome(metrics, history, data.source, data.digest, monitor.reason, extra)
