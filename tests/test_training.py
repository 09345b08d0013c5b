import keras
import numpy as np
import pytest
from keras.src.utils.python_utils import is_default

from harness.training import FollowEpoch, OrderedBatches, StepClock, StopOnNonFinite, TrainingClock, training_clock


class _Recorder(keras.callbacks.Callback):
    """Records which examples each training batch held (x carries the example's index)."""

    def __init__(self):
        super().__init__()
        self.seen: list[list[int]] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append([])


def _model(recorder: _Recorder) -> keras.Model:
    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)

    original = model.train_step

    def train_step(data):
        recorder.seen[-1].extend(np.asarray(data[0]).ravel().astype(int).tolist())
        return original(data)

    model.train_step = train_step
    return model


def _orders(split_at: int | None) -> list[list[int]]:
    x = np.arange(10, dtype="float32")[:, None]
    batches = OrderedBatches(x, np.zeros(10, "float32"), batch_size=4, seed=42)
    recorder = _Recorder()
    model = _model(recorder)
    callbacks = [FollowEpoch(batches), recorder]
    if split_at is None:
        model.fit(batches, epochs=4, shuffle=False, verbose=0, callbacks=callbacks)
    else:  # the transfer arm's two fits (frozen, then unfrozen)
        model.fit(batches, epochs=split_at, shuffle=False, verbose=0, callbacks=callbacks)
        model.fit(batches, epochs=4, initial_epoch=split_at, shuffle=False, verbose=0, callbacks=callbacks)
    return recorder.seen


def test_order_depends_only_on_seed_and_epoch_across_fit_calls():
    one_fit, two_fits = _orders(None), _orders(1)
    assert one_fit == two_fits
    expected = [np.random.default_rng([42, e]).permutation(10).tolist() for e in range(4)]
    assert one_fit == expected and len({tuple(o) for o in one_fit}) == 4


def test_stop_on_non_finite_records_the_divergence():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
    monitor = StopOnNonFinite("test phase")
    x = np.full((64, 1), 1e20, "float32")
    history = model.fit(x, x, epochs=5, batch_size=8, verbose=0, callbacks=[monitor])
    assert monitor.reason and "test phase" in monitor.reason and "non-finite" in monitor.reason
    assert "epoch 1" in monitor.reason and len(history.history["loss"]) == 1  # stopped after the epoch it diverged in


def _fit_with(clock: TrainingClock, epochs: int = 3) -> TrainingClock:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    per_call = 1 if keras.backend.backend() == "torch" else 2  # PyTorch runs one step per call
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", steps_per_execution=per_call)
    x = np.random.default_rng(0).normal(size=(40, 2)).astype("float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=epochs, validation_data=(x, x[:, :1]), verbose=0, callbacks=[clock])
    return clock


def test_a_run_without_step_scoring_or_budget_has_no_per_batch_hook():
    """Keras dispatches batch ends asynchronously (JAX, PyTorch) only when no callback hooks them."""
    clock, monitor = training_clock(10, eval_every=None, budget=None), StopOnNonFinite("training")
    assert type(clock) is TrainingClock
    assert is_default(clock.on_train_batch_end) and is_default(monitor.on_train_batch_end)
    assert not is_default(training_clock(10, budget=5).on_train_batch_end)
    assert not is_default(training_clock(10, eval_every=5).on_train_batch_end)


def test_the_epoch_clock_records_the_positions_the_step_clock_records():
    per_epoch = _fit_with(training_clock(10, 2))
    per_batch = _fit_with(StepClock(10, 2, budget=10_000))
    positions = ("at_updates", "at_grad_evals", "at_epochs")
    assert {k: per_epoch.history[k] for k in positions} == {k: per_batch.history[k] for k in positions}
    assert per_epoch.history["at_grad_evals"] == [10.0, 20.0, 30.0] and per_epoch.history["at_updates"][-1] == 15.0
    seconds = per_epoch.history["at_seconds"]
    assert 0 < seconds[0] < seconds[1] < seconds[2] == per_epoch.train_s


def test_a_budget_stops_the_step_clock_inside_an_epoch():
    clock = _fit_with(training_clock(10, budget=14))
    assert clock.grad_evals == 14 and clock.history["at_grad_evals"] == [10.0, 14.0]


def test_schedule_curves_give_the_exact_learning_rate_and_cycled_momentum_over_the_planned_updates():
    from harness.optimizers import CycledMomentum, OneCycle
    from harness.training import SCHEDULE_POINTS, schedule_curves

    schedule = OneCycle(0.1, total_steps=1000)
    curves = schedule_curves(CycledMomentum(keras.optimizers.SGD(schedule, momentum=0.9), schedule), 1000)
    steps = curves["schedule.at_updates"]
    assert len(steps) == SCHEDULE_POINTS and steps[0] == 0 and steps[-1] == 999
    assert curves["schedule.lr"] == [pytest.approx(float(schedule(int(s))), rel=1e-6) for s in steps]
    assert max(curves["schedule.lr"]) == pytest.approx(0.1, rel=0.02) and curves["schedule.lr"][0] == pytest.approx(
        0.004
    )
    assert curves["schedule.momentum"][0] == pytest.approx(0.95) and min(curves["schedule.momentum"]) < 0.86
    cosine = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=50)
    assert schedule_curves(keras.optimizers.Adam(cosine), 50)["schedule.lr"][-1] == pytest.approx(float(cosine(49)))
    assert schedule_curves(keras.optimizers.SGD(0.01, momentum=0.9), 1000) == {}  # constant: nothing to draw
