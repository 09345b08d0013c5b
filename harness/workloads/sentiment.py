"""Workload ``sentiment`` (claim C1): one optimizer on IMDB, every epoch scored two ways.

Pairing within a seed: every arm carves the same validation split, starts from the same
weights (initializers and dropout seeded by name) and sees the batches in the same
order. Each epoch is evaluated on the validation split and on the test set; the test
numbers never steer training. Metrics:

- ``test_accuracy`` (honest): test accuracy at the epoch with the best validation
  accuracy (the first such epoch) — the number a test set measured once would give;
- ``published_test_accuracy`` (as published): the best test accuracy over all epochs;
- ``best_val_accuracy``: the validation accuracy of the chosen epoch (what tuning maximises).

Per-epoch curves: ``val_accuracy`` and ``epoch_test_accuracy`` (shown, never used to choose).
"""

from __future__ import annotations

import keras
import numpy as np

from harness.data.imdb import Sequences
from harness.data.splits import stratified_split
from harness.optimizers import LazyAdam, MaskedLazy
from harness.registry import DATASETS, MODELS
from harness.seeds import derive
from harness.training import (
    FollowEpoch,
    OrderedBatches,
    StopOnNonFinite,
    TestEachEpoch,
    merge_history,
    steps_per_execution,
)
from harness.workloads import Outcome
from harness.workloads.sentiment_settings import SentimentSettings

EVAL_BATCH = 1024  # evaluation only: no effect on training


def _subset(data: Sequences, limit: int | None, name: str) -> Sequences:
    """A fixed (seed-independent) stratified random ``limit`` of ``data``, or all of it."""
    if limit is None or limit >= len(data):
        return data
    _, rows = stratified_split(data.y, limit, derive(0, "subset", name))
    return Sequences(data.x[rows], data.y[rows])


def make_optimizer(settings: SentimentSettings) -> keras.optimizers.Optimizer:
    """Adam, sparse-lazy Adam, or the source's masked-lazy Adam; only ``embeddings`` are lazy."""
    if settings.optimizer == "lazy_adam":
        return LazyAdam(settings.learning_rate)
    adam = keras.optimizers.Adam(settings.learning_rate)
    return MaskedLazy(adam) if settings.optimizer == "masked_lazy_adam" else adam


def run(settings: SentimentSettings, seed: int, callbacks: list | None = None) -> Outcome:
    data = DATASETS.get(settings.dataset)(**settings.data_arguments())
    full = _subset(data.train, settings.limit_train, "train")
    test = _subset(data.test, settings.limit_test, "test")
    kept, held = stratified_split(full.y, settings.validation_size, derive(seed, "validation"))
    train, valid = Sequences(full.x[kept], full.y[kept]), Sequences(full.x[held], full.y[held])

    model = MODELS.get(settings.model)(
        settings.num_words,
        settings.maxlen,
        seed,
        embedding_dim=settings.embedding_dim,
        units=settings.units,
        dropout=settings.dropout,
        recurrent_dropout=settings.recurrent_dropout,
    )
    model.compile(
        optimizer=make_optimizer(settings),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution(settings.steps_per_execution),
    )
    batches = OrderedBatches(train.x, train.y, settings.batch_size, derive(seed, "order"))
    monitor, tested = StopOnNonFinite("training"), TestEachEpoch(test.x, test.y, EVAL_BATCH)
    fitted = model.fit(
        batches,
        epochs=settings.epochs,
        validation_data=(valid.x, valid.y),
        validation_batch_size=EVAL_BATCH,
        shuffle=False,
        verbose=0,
        callbacks=[FollowEpoch(batches), monitor, tested, *(callbacks or [])],
    )
    history: dict[str, list[float]] = {}
    merge_history(history, fitted)
    history["epoch_test_accuracy"], history["epoch_test_loss"] = tested.accuracy, tested.loss
    validation = np.nan_to_num(np.array(history["val_accuracy"]), nan=-1.0)  # Keras ends even a stopped epoch
    chosen = int(np.argmax(validation))
    metrics = {
        "test_accuracy": tested.accuracy[chosen],
        "published_test_accuracy": max(tested.accuracy),
        "final_test_accuracy": tested.accuracy[-1],
        "chosen_epoch": float(chosen + 1),
        "published_epoch": float(int(np.argmax(tested.accuracy)) + 1),
        "best_val_accuracy": float(validation[chosen]),
    }
    counts = {"n_train": len(train), "n_valid": len(valid), "n_test": len(test)}
    return Outcome(metrics, history, data.source, data.digest, monitor.reason, {k: str(v) for k, v in counts.items()})
