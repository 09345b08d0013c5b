"""Keras pieces every workload uses: optimizers from configs, paired batch order, divergence detection."""

from __future__ import annotations

import math
import time

import keras
import numpy as np


def steps_per_execution(requested: int) -> int:
    """Batches per compiled call (speed only: the same updates). Keras's PyTorch trainer runs one
    step per call, so it gets 1 there."""
    return 1 if keras.backend.backend() == "torch" else requested


MIXED = "mixed_float16"


def dtype_policy_for(mixed_precision: bool) -> str:
    """The Keras dtype policy a run trains under: ``mixed_float16`` where asked and the backend sees a
    GPU; else float32 — on a CPU float16 brings no speed, and TensorFlow's oneDNN kernels, capped at
    AVX2 (:mod:`harness`), have no float16 convolution on some CPUs."""
    if not mixed_precision:
        return "float32"
    if keras.backend.backend() == "torch":  # Keras's device listing does not cover PyTorch
        import torch

        return MIXED if torch.cuda.is_available() else "float32"
    return MIXED if any(not d.startswith("cpu") for d in keras.distribution.list_devices()) else "float32"


def make_optimizer(config: dict, values: dict, mixed_precision: bool = False) -> keras.optimizers.Optimizer:
    """The optimizer of a serialized Keras config (:mod:`harness.keras_config`), placeholders filled from
    ``values``; inside a ``LossScaleOptimizer`` for mixed precision unless the config already is one."""
    from harness.keras_config import custom_objects, substitute

    optimizer = keras.optimizers.deserialize(substitute(config, values), custom_objects=custom_objects())
    if mixed_precision and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def optimizer_chain(optimizer: keras.optimizers.Optimizer) -> list[keras.optimizers.Optimizer]:
    """The optimizer and every optimizer it wraps, outermost first."""
    chain = [optimizer]
    while (inner := getattr(chain[-1], "inner", None) or getattr(chain[-1], "inner_optimizer", None)) is not None:
        chain.append(inner)
    return chain


SCHEDULE_POINTS = 100  # points of a schedule's curve over a run (exact values, not measured)


def schedule_curves(optimizer: keras.optimizers.Optimizer, updates: int) -> dict[str, list[float]]:
    """What the optimizer's schedules give at ``SCHEDULE_POINTS`` updates spread over ``updates``:
    ``schedule.lr`` (a learning-rate schedule) and ``schedule.momentum`` (a cycled momentum), at
    ``schedule.at_updates``; {} when neither varies."""
    from harness.optimizers import CycledMomentum

    steps = np.unique(np.linspace(0, max(updates - 1, 0), SCHEDULE_POINTS).astype(int))
    curves: dict[str, list[float]] = {}
    for link in optimizer_chain(optimizer):
        rate = getattr(link, "_learning_rate", None)
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) and "schedule.lr" not in curves:
            curves["schedule.lr"] = [float(keras.ops.convert_to_numpy(rate(int(step)))) for step in steps]
        if isinstance(link, CycledMomentum):
            curves["schedule.momentum"] = [float(link.schedule.momentum(int(step))) for step in steps]
    return curves | {"schedule.at_updates": [float(step) for step in steps]} if curves else {}


def compile_loss(loss: str | dict, outputs: int, logits: bool):
    """``loss: auto`` → binary (one output) or sparse categorical cross-entropy, ``from_logits`` as the model
    says; otherwise the Keras loss named or configured. Returns (loss, metrics)."""
    if loss != "auto":
        return keras.losses.get(loss), ["accuracy"]
    if outputs == 1:
        if logits:
            return keras.losses.BinaryCrossentropy(from_logits=True), [
                keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)
            ]
        return "binary_crossentropy", ["accuracy"]
    if logits:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"]
    return "sparse_categorical_crossentropy", ["accuracy"]


class OrderedBatches(keras.utils.PyDataset):
    """Batches whose order depends only on (seed, epoch), on every backend.

    Two arms fed the same ``OrderedBatches`` seed see the same examples in the same
    order at every epoch, also across several ``fit`` calls (``initial_epoch``).
    Pair with :class:`FollowEpoch` so the order follows the epoch being trained, and
    pass ``shuffle=False`` to ``fit`` (Keras would otherwise shuffle the batch order).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> None:
        super().__init__()
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.order = np.random.default_rng([self.seed, epoch]).permutation(len(self.y))

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]

    def release(self) -> None:
        """Drop the arrays once training is over: TensorFlow's generator registry keeps every PyDataset
        ``fit`` saw alive for the life of the process, so a worker would keep each trial's data."""
        self.x = self.y = self.order = None


class RepeatedBatches(keras.utils.PyDataset):
    """Each batch of ``inner`` ``times`` times in a row (Heun takes two gradients of the same batch)."""

    def __init__(self, inner: keras.utils.PyDataset, times: int) -> None:
        super().__init__()
        self.inner, self.times = inner, times

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)

    def __len__(self) -> int:
        return self.times * len(self.inner)

    def __getitem__(self, index: int):
        return self.inner[index // self.times]

    def release(self) -> None:
        self.inner.release()


class FollowEpoch(keras.callbacks.Callback):
    """Tells an :class:`OrderedBatches` which epoch is starting."""

    def __init__(self, batches) -> None:
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.batches.set_epoch(epoch)


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training after the first epoch whose loss is not finite and remembers it (the run diverged).

    Checked per epoch, not per batch: the epoch's running mean is non-finite as soon as one batch
    loss is, and a per-batch hook would cost Keras its asynchronous batch dispatch in every run.
    """

    def __init__(self, phase: str) -> None:
        super().__init__()
        self.phase, self.reason = phase, None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        loss = (logs or {}).get("loss")
        if self.reason is None and loss is not None and not math.isfinite(float(loss)):
            self.reason = f"non-finite loss ({float(loss)}) in {self.phase}, epoch {epoch + 1}"
            self.model.stop_training = True


PRETRAIN = "pretrain_"  # history keys of a model trained before the scored one (not on the trial's epoch clock)


def merge_history(into: dict[str, list[float]], history: keras.callbacks.History, prefix: str = "") -> None:
    """Append a ``fit`` history's per-epoch values to ``into`` (keys optionally prefixed)."""
    for key, values in history.history.items():
        into.setdefault(prefix + key, []).extend(float(v) for v in values)


class StopAfterFirstBatch(keras.callbacks.Callback):
    """Ends training after its first batch (``harness validate --deep``: one real step)."""

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self.model.stop_training = True


class PruneReporter(keras.callbacks.Callback):
    """Reports a validation metric to an Optuna trial each epoch; stops training if it should be pruned."""

    def __init__(self, trial, metric: str) -> None:
        super().__init__()
        self.trial, self.metric, self.pruned_at, self._step = trial, metric, None, 0

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        value = (logs or {}).get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return
        self.trial.report(float(value), self._step)
        self._step += 1
        if self.trial.should_prune():
            self.pruned_at = self._step
            self.model.stop_training = True


class TestEachEpoch(keras.callbacks.Callback):
    """Scores a held-out set (the test set) after every epoch, for curves and the as-published protocol.

    ``callbacks`` join each evaluation (e.g. :class:`~harness.optimizers.SlowWeightsEvaluation`).
    """

    __test__ = False  # not a pytest class, despite its name

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, callbacks: tuple = ()) -> None:
        super().__init__()
        self.x, self.y, self.batch_size, self.callbacks = x, y, batch_size, list(callbacks)
        self.accuracy: list[float] = []
        self.loss: list[float] = []

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        scores = self.model.evaluate(
            self.x, self.y, batch_size=self.batch_size, verbose=0, return_dict=True, callbacks=self.callbacks
        )
        self.accuracy.append(float(scores["accuracy"]))
        self.loss.append(float(scores["loss"]))


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch (training and validation)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


class EpochClock(keras.callbacks.Callback):
    """When each epoch of the scored training ended (Unix seconds), and an optional listener told
    ``(epochs_done, logs)`` after each (live progress)."""

    def __init__(self, listener=None) -> None:
        super().__init__()
        self.times: list[float] = []
        self.listener = listener

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.times.append(time.time())
        if self.listener is not None:
            self.listener(len(self.times), dict(logs or {}))


class TrainingClock(keras.callbacks.Callback):
    """Where a run is on every speed axis, per epoch.

    Keras runs one step per gradient evaluation; ``grads_per_update`` of them make an update
    (Heun: 2). Training seconds run from each epoch's start to its validation (or its end):
    Keras's end-of-epoch validation and test scoring are excluded. This clock has no per-batch
    hook, which would cost Keras its asynchronous batch dispatch: it counts whole epochs (an
    epoch another callback stops early counts whole). :func:`training_clock` picks
    :class:`StepClock` when a run needs batch precision.

    ``history``: per epoch ``at_updates``, ``at_grad_evals``, ``at_epochs``, ``at_seconds``.
    """

    def __init__(self, steps_per_epoch: int, grads_per_update: int = 1) -> None:
        super().__init__()
        self.steps_per_epoch, self.grads_per_update = steps_per_epoch, grads_per_update
        self.grad_evals, self.train_s, self.eval_s = 0, 0.0, 0.0
        self.history: dict[str, list[float]] = {}
        self._epoch, self._mark = 0, None

    @property
    def updates(self) -> int:
        return self.grad_evals // self.grads_per_update

    def position(self) -> dict[str, float]:
        """The run's place on every axis now."""
        return {
            "updates": float(self.updates),
            "grad_evals": float(self.grad_evals),
            "epochs": self.grad_evals / self.steps_per_epoch,
            "seconds": self.train_s,
        }

    def _lap(self) -> None:
        """Adds the training time since the last mark to ``train_s``."""
        if self._mark is not None:
            now = time.perf_counter()
            self.train_s += now - self._mark
            self._mark = now

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch, self._mark = epoch, time.perf_counter()

    def on_test_begin(self, logs=None) -> None:  # Keras's end-of-epoch validation: not training time
        self._lap()
        self._mark = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.on_test_begin()
        self._count_epoch(epoch)
        for axis, value in self.position().items():
            self.history.setdefault(f"at_{axis}", []).append(value)

    def _count_epoch(self, epoch: int) -> None:
        self.grad_evals = (epoch + 1) * self.steps_per_epoch


class StepClock(TrainingClock):
    """A :class:`TrainingClock` that follows every batch: it scores the validation curve every
    ``eval_every`` updates (and after the last one; a run stopped before its first update is
    scored once, at 0) into ``step.val_<metric>`` and ``step.at_<axis>``, keeping the passes'
    time apart in ``eval_s``, and stops training the moment ``budget`` gradient evaluations
    are spent."""

    def __init__(
        self,
        steps_per_epoch: int,
        grads_per_update: int = 1,
        eval_every: int | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        eval_batch_size: int = 1000,
        eval_callbacks: tuple = (),
        budget: int | None = None,
    ) -> None:
        super().__init__(steps_per_epoch, grads_per_update)
        self.eval_every, self.validation, self.eval_batch_size = eval_every, validation, eval_batch_size
        self.eval_callbacks, self.budget = list(eval_callbacks), budget
        self._scored_at = 0

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self._lap()
        self.grad_evals = self._epoch * self.steps_per_epoch + batch + 1
        if self.budget and self.grad_evals >= self.budget:
            self.model.stop_training = True
        complete = self.grad_evals % self.grads_per_update == 0
        if self.eval_every and complete and self.updates >= self._scored_at + self.eval_every:
            self._score()
            self._mark = time.perf_counter()

    def _count_epoch(self, epoch: int) -> None:
        pass  # counted batch by batch

    def on_train_end(self, logs=None) -> None:
        never_scored = "step.at_updates" not in self.history
        if self.eval_every and (self.updates > self._scored_at or never_scored):
            self._score()

    def _score(self) -> None:
        """One validation pass, its time kept apart, the training metrics' running state untouched."""
        start = time.perf_counter()
        state = [v.numpy() for metric in self.model.metrics for v in metric.variables]
        x, y = self.validation
        scores = self.model.evaluate(
            x, y, batch_size=self.eval_batch_size, verbose=0, return_dict=True, callbacks=self.eval_callbacks
        )
        for variable, value in zip([v for metric in self.model.metrics for v in metric.variables], state, strict=True):
            variable.assign(value)
        self._scored_at = self.updates
        for name, value in scores.items():
            self.history.setdefault(f"step.val_{name}", []).append(float(value))
        for axis, value in self.position().items():
            self.history.setdefault(f"step.at_{axis}", []).append(value)
        self.eval_s += time.perf_counter() - start


def training_clock(steps_per_epoch: int, grads_per_update: int = 1, **stepping) -> TrainingClock:
    """The cheapest clock a run can use: per epoch, unless ``stepping`` (:class:`StepClock`'s
    keywords) asks to score every few updates or sets a budget."""
    if stepping.get("eval_every") or stepping.get("budget"):
        return StepClock(steps_per_epoch, grads_per_update, **stepping)
    return TrainingClock(steps_per_epoch, grads_per_update)
