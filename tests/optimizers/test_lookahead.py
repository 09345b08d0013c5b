import keras
import numpy as np
import pytest

from harness.optimizers import LazyAdam, Lookahead, SlowWeightsEvaluation

RNG = np.random.default_rng(0)
GRADS = [RNG.normal(size=(3, 2)).astype("float32") for _ in range(7)]


def _run(optimizer, grads=GRADS, start=None):
    variable = keras.Variable(np.ones((3, 2), "float32") if start is None else start)
    for grad in grads:
        optimizer.apply([keras.ops.convert_to_tensor(grad)], [variable])
    return np.array(variable)


def test_matches_numpy_reference_with_sgd():
    lr, k, alpha = 0.1, 3, 0.5
    fast = np.ones((3, 2), "float32")
    slow = fast.copy()
    for step, grad in enumerate(GRADS, start=1):
        fast = fast - lr * grad
        if step % k == 0:
            slow = slow + alpha * (fast - slow)
            fast = slow.copy()
    got = _run(Lookahead(keras.optimizers.SGD(lr), k=k, alpha=alpha))
    np.testing.assert_allclose(got, fast, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "inner",
    [
        lambda: keras.optimizers.Adam(0.01),
        lambda: keras.optimizers.Nadam(0.01),
        lambda: keras.optimizers.RMSprop(0.01),
        lambda: LazyAdam(0.01),
    ],
)
def test_k1_alpha1_equals_the_inner_optimizer(inner):
    np.testing.assert_allclose(_run(Lookahead(inner(), k=1, alpha=1.0)), _run(inner()), rtol=1e-6, atol=1e-7)


def test_k_counts_real_updates_under_gradient_accumulation():
    # Inner SGD accumulating 2 micro-batches: real updates after micro-steps 2, 4, 6; k=2 syncs after 4.
    lr, alpha = 0.1, 0.5
    fast = slow = np.ones((3, 2), "float32")
    updates = 0
    for micro in range(1, 7):
        if micro % 2 == 0:
            fast = fast - lr * (GRADS[micro - 2] + GRADS[micro - 1]) / 2
            updates += 1
            if updates % 2 == 0:
                slow = slow + alpha * (fast - slow)
                fast = slow
    inner = keras.optimizers.SGD(lr, gradient_accumulation_steps=2)
    np.testing.assert_allclose(_run(Lookahead(inner, k=2, alpha=alpha), GRADS[:6]), fast, rtol=1e-6, atol=1e-6)


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    return model


def _data():
    x = RNG.normal(size=(64, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Lookahead(
            keras.optimizers.SGD(
                keras.optimizers.schedules.ExponentialDecay(0.05, 10, 0.9), clipnorm=1.0, weight_decay=1e-4
            ),
            k=3,
        ),
        lambda: Lookahead(keras.optimizers.AdamW(0.01, weight_decay=0.01, gradient_accumulation_steps=2), k=2),
        lambda: keras.optimizers.LossScaleOptimizer(Lookahead(keras.optimizers.Adam(0.01), k=4)),
    ],
)
def test_trains_in_fit_under_jit_with_schedules_clipping_decay_accumulation_and_loss_scaling(make):
    x, y = _data()
    model = _model()
    model.compile(optimizer=make(), loss="mse", jit_compile=True)
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(np.isfinite(history.history["loss"]))


def test_mixed_float16_with_loss_scaling(float16_kernels):
    x, y = _data()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = _model()
        optimizer = keras.optimizers.LossScaleOptimizer(Lookahead(keras.optimizers.Adam(0.01), k=3))
        model.compile(optimizer=optimizer, loss="mse")
        history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.layers[0].compute_dtype == "float16"
    assert history.history["loss"][-1] < history.history["loss"][0]
    lookahead = optimizer.inner_optimizer
    # Steps whose float16 gradients overflowed are skipped by the loss scaler: neither Lookahead nor its inner
    # optimizer counts them.
    assert 0 < int(lookahead.iterations) == int(lookahead.inner.iterations) <= 20
    assert all(w.dtype == "float32" for w in lookahead.slow_weights)


def test_keras_save_load_restores_inner_state_and_slow_weights(tmp_path):
    x, y = _data()
    model = _model()
    model.compile(optimizer=Lookahead(keras.optimizers.Adam(0.01), k=3, alpha=0.6), loss="mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    original, restored = model.optimizer, loaded.optimizer
    assert isinstance(restored, Lookahead) and (restored.k, restored.alpha) == (3, 0.6)
    assert isinstance(restored.inner, keras.optimizers.Adam)
    assert len(restored.variables) == len(original.variables)
    for a, b in zip(original.variables, restored.variables, strict=True):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    config = Lookahead.from_config(original.get_config()).get_config()
    assert config == original.get_config()


def test_slow_weights_evaluation_swaps_in_and_back():
    x, y = _data()
    model = _model()
    optimizer = Lookahead(keras.optimizers.SGD(0.05), k=5)
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # 4 steps: fast has moved, slow has not synced yet
    fast = [np.array(w) for w in model.get_weights()]
    with_fast = model.evaluate(x, y, verbose=0)
    with_slow = model.evaluate(x, y, verbose=0, callbacks=[SlowWeightsEvaluation()])
    slow_model = _model()
    slow_model.set_weights([np.array(v) for v in optimizer.slow_weights])
    slow_model.compile(loss="mse")
    assert with_slow == pytest.approx(slow_model.evaluate(x, y, verbose=0), rel=1e-6)
    assert with_slow != pytest.approx(with_fast)
    for before, after in zip(fast, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 0}, ValueError, "k must be an integer >= 1, got k=0"),
        ({"k": 2.5}, ValueError, "k=2.5"),
        ({"alpha": 0.0}, ValueError, "alpha must be in \\(0, 1\\], got alpha=0.0"),
        ({"alpha": 1.5}, ValueError, "alpha=1.5"),
        ({"inner": "adam"}, TypeError, "inner must be a keras.optimizers.Optimizer, got str"),
        ({"clipnorm": 1.0}, ValueError, "set it on the inner optimizer"),
        ({"learning_rate": 0.1}, ValueError, "learning_rate=0.1: set it on the inner optimizer"),
        ({"inner": keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))}, ValueError, "wrong nesting"),
    ],
)
def test_bad_arguments_name_the_argument_and_value(kwargs, error, match):
    arguments = {"inner": keras.optimizers.SGD(0.1), **kwargs}
    with pytest.raises(error, match=match):
        Lookahead(**arguments)


def test_k_may_be_any_integer_type_a_sweep_produces():
    assert Lookahead(keras.optimizers.SGD(0.1), k=np.int64(5)).k == 5
    assert type(Lookahead(keras.optimizers.SGD(0.1), k=np.int32(3)).get_config()["k"]) is int


def test_two_unnamed_instances_get_distinct_names():
    first, second = Lookahead(keras.optimizers.SGD(0.1)), Lookahead(keras.optimizers.SGD(0.1))
    assert first.name != second.name


def test_the_wrapper_counts_the_inner_updates_not_micro_batches():
    optimizer = Lookahead(keras.optimizers.SGD(0.1, gradient_accumulation_steps=2), k=2)
    variable = keras.Variable(np.ones((3, 2), "float32"))
    seen = []
    for grad in GRADS[:4]:
        optimizer.apply([keras.ops.convert_to_tensor(grad)], [variable])
        seen.append(int(optimizer.iterations))
    assert seen == [0, 1, 1, 2] and seen[-1] == int(optimizer.inner.iterations)


def test_a_constraint_holds_after_every_synchronisation():
    variable = keras.Variable(GRADS[6])  # initial weights need not satisfy the constraint; every update's result does
    variable.constraint = keras.constraints.NonNeg()
    optimizer = Lookahead(keras.optimizers.SGD(0.1), k=2, alpha=0.5)
    for grad in GRADS[:6]:
        optimizer.apply([keras.ops.convert_to_tensor(grad)], [variable])
        assert np.array(variable).min() >= 0
    assert np.array(optimizer.slow_weights[0]).min() >= 0


def test_loss_scale_factor_on_the_inner_trains_like_no_scaling():
    x, y = _data()

    def kernel_after(factor):
        keras.utils.set_random_seed(0)
        model = _model()
        model.compile(optimizer=Lookahead(keras.optimizers.SGD(0.05, loss_scale_factor=factor), k=3), loss="mse")
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        return np.array(model.layers[0].kernel)

    np.testing.assert_allclose(kernel_after(1024.0), kernel_after(None), rtol=1e-4, atol=1e-5)


def test_set_weights_restores_the_inner_state_too():
    def stepped(optimizer, steps):
        variable = keras.Variable(np.ones((3, 2), "float32"))
        for grad in GRADS[:steps]:
            optimizer.apply([keras.ops.convert_to_tensor(grad)], [variable])
        return variable

    trained = Lookahead(keras.optimizers.Adam(0.01), k=2)
    variable = stepped(trained, 3)
    fresh = Lookahead(keras.optimizers.Adam(0.01), k=2)
    fresh.build([variable])
    fresh.set_weights([np.array(v) for v in trained.variables])
    assert int(fresh.inner.iterations) == 3
    for mine, theirs in zip(fresh.variables, trained.variables, strict=True):
        np.testing.assert_array_equal(np.array(mine), np.array(theirs))
    with pytest.raises(ValueError, match="arrays for"):
        fresh.set_weights([np.array(v) for v in trained.variables][:-1])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="sparse (IndexedSlices) gradients are TensorFlow's")
@pytest.mark.parametrize("inner", [lambda: keras.optimizers.SGD(0.5), lambda: LazyAdam(0.05)])
def test_the_row_sync_of_a_table_equals_the_dense_sync(inner):
    class DenseSync(Lookahead):
        def _syncs_rows(self, variable) -> bool:
            return False

    tokens = RNG.integers(0, 50, size=(96, 6)).astype("int32")
    target = RNG.normal(size=(96, 1)).astype("float32")

    def weights(optimizer):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((6,), dtype="int32"),
                keras.layers.Embedding(50, 4),
                keras.layers.Flatten(),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(tokens, target, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()

    row_synced = Lookahead(inner(), k=3)
    assert row_synced._syncs_rows(keras.Variable(np.zeros((5, 2), "float32")))
    for rows, dense in zip(weights(row_synced), weights(DenseSync(inner(), k=3)), strict=True):
        np.testing.assert_allclose(rows, dense, rtol=1e-6, atol=1e-7)
