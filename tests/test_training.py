import keras
import numpy as np

from harness.training import FollowEpoch, OrderedBatches, StopOnNonFinite


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
    assert len(history.history["loss"]) < 5
