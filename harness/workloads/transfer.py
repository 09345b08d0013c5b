"""Workload ``transfer`` (claim C3): task B from scratch, or on top of model A.

Pairing within a seed: the scratch model B and model A start from the same hidden
weights, both arms' output layers start from the same weights, and both arms see the
task-B batches in the same order at every epoch. The transfer arm's model A is
trained under the same seed. Test accuracy is measured once, after the last epoch.
"""

from __future__ import annotations

import keras

from harness.data.fashion_mnist import task_a, task_b
from harness.keras_config import runtime_values
from harness.seeds import derive
from harness.training import (
    PRETRAIN,
    FollowEpoch,
    OrderedBatches,
    StopOnNonFinite,
    make_optimizer,
    merge_history,
    steps_per_execution,
)
from harness.workloads import Outcome
from harness.workloads.transfer_settings import TransferSettings

EVAL_BATCH = 512  # evaluation only: no effect on training


def _compile(model: keras.Model, settings: TransferSettings, loss: str, examples: int, epochs: int) -> None:
    """Compile with a fresh optimizer; its placeholders see this phase's data and epochs."""
    values = runtime_values(examples, settings.batch_size, epochs, settings.vars)
    model.compile(
        optimizer=make_optimizer(settings.optimizer.model_dump(), values),
        loss=loss,
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution(settings.steps_per_execution),
    )


def run(settings: TransferSettings, seed: int, callbacks: list | None = None) -> Outcome:
    data = settings.load_data()
    cut = len(data.train) - settings.validation_size
    train, valid = data.train.head(cut), data.train.take(slice(cut, None))
    classes, limit = settings.task_b_classes, settings.limit_eval
    b_train = task_b(train, classes, settings.task_b_train_size)
    b_valid, b_test = task_b(valid, classes).head(limit), task_b(data.test, classes).head(limit)
    shape = b_train.x.shape[1:]
    history: dict[str, list[float]] = {}

    model_b = settings.model.build(shape, 1, seed)
    diverged = None
    if settings.transfer:
        a_train = task_a(train, classes, data.num_classes).head(settings.limit_task_a_train)
        a_valid = task_a(valid, classes, data.num_classes).head(limit)
        model_a = settings.model.build(shape, data.num_classes - len(classes), seed)
        _compile(model_a, settings, "sparse_categorical_crossentropy", len(a_train), settings.pretrain_epochs)
        keras.utils.set_random_seed(derive(seed, "order", "task_a"))
        monitor = StopOnNonFinite("pre-training (model A)")
        fitted = model_a.fit(
            a_train.x,
            a_train.y,
            batch_size=settings.batch_size,
            epochs=settings.pretrain_epochs,
            validation_data=(a_valid.x, a_valid.y),
            validation_batch_size=EVAL_BATCH,
            shuffle=True,
            verbose=0,
            callbacks=[monitor],
        )
        merge_history(history, fitted, PRETRAIN)
        diverged = monitor.reason
        for reused, target in zip(model_a.layers[:-1], model_b.layers[:-1], strict=True):
            target.set_weights(reused.get_weights())

    batches = OrderedBatches(b_train.x, b_train.y, settings.batch_size, derive(seed, "order", "task_b"))
    monitor = StopOnNonFinite("task B")
    frozen = settings.frozen_epochs if settings.transfer else 0
    for start, end, freeze in ((0, frozen, True), (frozen, settings.epochs, False)):
        if diverged or end <= start:
            continue
        for layer in model_b.layers[:-1]:
            layer.trainable = not freeze
        _compile(model_b, settings, "binary_crossentropy", len(b_train), end - start)  # the book recompiles
        fitted = model_b.fit(
            batches,
            epochs=end,
            initial_epoch=start,
            validation_data=(b_valid.x, b_valid.y),
            validation_batch_size=EVAL_BATCH,
            shuffle=False,
            verbose=0,
            callbacks=[FollowEpoch(batches), monitor, *(callbacks or [])],
        )
        merge_history(history, fitted)
        diverged = monitor.reason

    if not model_b.compiled:  # pre-training diverged: score model B as it stands
        _compile(model_b, settings, "binary_crossentropy", len(b_train), settings.epochs)
    test = model_b.evaluate(b_test.x, b_test.y, batch_size=EVAL_BATCH, verbose=0, return_dict=True)
    metrics = {"test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"])}
    for key in ("val_accuracy", "val_loss", "pretrain_val_accuracy"):
        if history.get(key):
            metrics[key] = history[key][-1]
    counts = {
        "n_train_a": 0 if not settings.transfer else len(a_train),
        "n_train_b": len(b_train),
        "n_valid_b": len(b_valid),
        "n_test_b": len(b_test),
    }
    return Outcome(metrics, history, data.source, data.digest, diverged, {k: str(v) for k, v in counts.items()})
