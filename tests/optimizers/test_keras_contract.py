"""Keras's own optimizer tests, applied to every harness optimizer and wrapper.

The patterns are adapted from Keras 3.15's ``keras/src/optimizers/adam_test.py``,
``optimizer_test.py``, ``loss_scale_optimizer_test.py`` and ``optimizer_sparse_test.py``.
Each test is parametrized over :data:`FACTORIES`, and each keeps the behaviour that Keras
expects of its own optimizers. Base-optimizer arguments (clipping, EMA, gradient
accumulation, ``loss_scale_factor``) go on the plain optimizer or, for a wrapper, on the
inner optimizer, where the wrappers ask for them. Heun makes one update from two gradient
evaluations: ``fit`` gets :class:`TwiceEachBatch` with ``shuffle=False``, and a test that
cannot apply to it is skipped with the reason.
"""

from __future__ import annotations

import copy
import json

import keras
import numpy as np
import pytest
from keras import ops

from harness.optimizers import CycledMomentum, Heun, LazyAdam, Lookahead, MaskedLazy, OneCycle, TwiceEachBatch

BACKEND = keras.backend.backend()
TF_ONLY = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="tf.IndexedSlices and tf.Variable exist only on TensorFlow"
)


def _cycled_adam(**kwargs):
    schedule = OneCycle(0.05, total_steps=40)  # the learning rate and the momentum follow the same cycle
    return CycledMomentum(keras.optimizers.Adam(schedule, **kwargs), schedule)


def _cycled_sgd(**kwargs):
    schedule = OneCycle(0.05, total_steps=40)
    return CycledMomentum(keras.optimizers.SGD(schedule, momentum=0.9, **kwargs), schedule)


# Each factory takes the base-optimizer arguments, which go on the plain optimizer or the inner one.
FACTORIES = [
    pytest.param(lambda **kw: LazyAdam(0.01, **kw), id="LazyAdam"),
    pytest.param(lambda **kw: Lookahead(keras.optimizers.SGD(0.05, **kw), k=2), id="Lookahead_SGD"),
    pytest.param(lambda **kw: Lookahead(keras.optimizers.Adam(0.01, **kw), k=2), id="Lookahead_Adam"),
    pytest.param(lambda **kw: MaskedLazy(keras.optimizers.Adam(0.01, **kw)), id="MaskedLazy_Adam"),
    pytest.param(_cycled_adam, id="CycledMomentum_Adam"),
    pytest.param(_cycled_sgd, id="CycledMomentum_SGD"),
    pytest.param(lambda **kw: Heun(0.05, **kw), id="Heun"),
]
each_optimizer = pytest.mark.parametrize("make", FACTORIES)

RNG = np.random.default_rng(7)
KERNEL = RNG.normal(size=(3, 2)).astype("float32")
BIAS = RNG.normal(size=(2,)).astype("float32")
# One (kernel, bias) gradient pair per apply; an even count, so Heun completes its updates.
GRADS = [(RNG.normal(size=(3, 2)).astype("float32"), RNG.normal(size=(2,)).astype("float32")) for _ in range(6)]
X = RNG.normal(size=(32, 3)).astype("float32")
Y = X @ RNG.normal(size=(3, 2)).astype("float32")


def _holder(optimizer):
    """The optimizer that holds the base arguments and the update state: a wrapper's inner one."""
    return getattr(optimizer, "inner", optimizer)


def _variables(kernel=KERNEL, bias=BIAS):
    return [keras.Variable(np.array(kernel), name="kernel"), keras.Variable(np.array(bias), name="bias")]


def _apply(optimizer, variables, grads) -> None:
    for pair in grads:
        optimizer.apply([ops.convert_to_tensor(g) for g in pair], variables)


def _values(variables) -> list[np.ndarray]:
    return [np.array(v) for v in variables]


def _assert_all_close(actual, expected, what: str, rtol=1e-6, atol=1e-6) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} values, expected {len(expected)}"
    for i, (a, b) in enumerate(zip(actual, expected, strict=True)):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=rtol, atol=atol, err_msg=f"{what} [{i}]")


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.set_weights([KERNEL, BIAS])
    return model


def _fit(model, optimizer, epochs=3, batch_size=8, x=X, y=Y, **compile_kwargs):
    """``model.fit`` without shuffling; Heun sees each batch twice in a row."""
    model.compile(optimizer=optimizer, loss="mse", **compile_kwargs)
    if isinstance(optimizer, Heun):
        return model.fit(TwiceEachBatch(x, y, batch_size), epochs=epochs, shuffle=False, verbose=0)
    return model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)


def _skip_heun(make, reason: str) -> None:
    if isinstance(make(), Heun):
        pytest.skip(reason)


# --- adam_test.test_config / test_optimizer_auto_naming: get_config, from_config, serialize ---------------------------
@each_optimizer
def test_config_round_trip_gives_the_same_config_and_the_same_updates(make):
    optimizer = make()
    config = optimizer.get_config()
    expected = copy.deepcopy(config)  # Keras's from_config may deserialize nested items in place (Keras snapshots JSON)
    clone = type(optimizer).from_config(config)
    assert clone.get_config() == expected
    serialized = keras.optimizers.serialize(optimizer)
    revived = keras.optimizers.deserialize(json.loads(json.dumps(serialized)))  # JSON-able, as a .keras file needs
    assert type(revived) is type(optimizer)
    assert revived.get_config() == expected

    results = []
    for instance in (optimizer, clone, revived):
        variables = _variables()
        _apply(instance, variables, GRADS)
        results.append(_values(variables))
    _assert_all_close(results[1], results[0], "from_config(get_config()) trained")
    _assert_all_close(results[2], results[0], "deserialize(serialize()) trained")
    assert optimizer.get_config() == expected, "training changed the config"


# --- optimizer_test.test_set_weights ---------------------------------------------------------------------------------
def _state_variables(optimizer) -> dict[int, str]:
    """Every Keras Variable an optimizer (and a wrapper's inner) holds as an attribute, model variables aside."""
    found = {}
    for owner in dict.fromkeys([optimizer, _holder(optimizer)]):
        for key, value in vars(owner).items():
            if key == "_trainable_variables":
                continue
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, keras.Variable):
                    found.setdefault(id(item), f"{type(owner).__name__}.{key}: {item.path}")
    return found


@each_optimizer
def test_variables_list_all_state_and_set_weights_restores_it(make):
    variables = _variables()
    optimizer = make()
    with pytest.raises(ValueError, match="build"):  # Keras: "... has not yet been built. Please call `build`"
        make().set_weights([np.zeros(())])
    _apply(optimizer, variables, GRADS[:3])

    listed = optimizer.variables
    assert len({id(v) for v in listed}) == len(listed), "optimizer.variables lists a variable twice"
    missing = [path for key, path in _state_variables(optimizer).items() if key not in {id(v) for v in listed}]
    assert not missing, f"optimizer.variables misses {missing}"

    restored_variables = _variables(*_values(variables))
    restored = make()
    restored.build(restored_variables)
    restored.set_weights([np.array(v) for v in optimizer.variables])
    restored_count, original_count = int(_holder(restored).iterations), int(_holder(optimizer).iterations)
    assert restored_count == original_count == 3, f"(inner) iterations restored as {restored_count}, not 3"
    _assert_all_close(restored.variables, optimizer.variables, "optimizer variables after set_weights", 0, 0)

    _apply(optimizer, variables, GRADS[3:4])
    _apply(restored, restored_variables, GRADS[3:4])
    _assert_all_close(_values(restored_variables), _values(variables), "model variables one step after set_weights")
    _assert_all_close(restored.variables, optimizer.variables, "optimizer variables one step after set_weights")


# --- optimizer_test.test_gradient_accumulation and test_gradient_accumulation_with_weigth_decay ----------------------
@each_optimizer
@pytest.mark.parametrize("steps", [2, 3])
def test_gradient_accumulation_moves_weights_every_nth_apply_and_counts_real_updates(make, steps):
    _skip_heun(make, "Heun refuses gradient_accumulation_steps: it pairs consecutive gradients")
    optimizer = make(gradient_accumulation_steps=steps)
    holder = _holder(optimizer)
    assert holder.gradient_accumulation_steps == steps
    variables = _variables()
    micro = 4
    before = _values(variables)
    seen, seen_inner = [], []
    for i, pair in enumerate(GRADS[:micro], start=1):
        _apply(optimizer, variables, [pair])
        after = _values(variables)
        moved = any(not np.array_equal(a, b) for a, b in zip(after, before, strict=True))
        assert moved == (i % steps == 0), f"apply {i} with accumulation {steps}: moved={moved}"
        before = after
        seen.append(int(optimizer.iterations))
        seen_inner.append(int(holder.iterations))
    # Keras's contract: `iterations` counts real updates, i.e. applies // steps (0, 0, 1, 1 for steps=3);
    # `_iterations` counts applies.
    expected = [i // steps for i in range(1, micro + 1)]
    assert seen == expected, f"optimizer.iterations after each apply: {seen}, expected {expected}"
    assert seen_inner == expected, f"inner iterations after each apply: {seen_inner}, expected {expected}"
    assert int(holder._iterations) == micro

    if isinstance(optimizer, CycledMomentum):
        # Keras documents that schedules see optimizer steps (micro-batches), not accumulated updates, and the
        # cycled momentum follows the inner's steps the same way: under accumulation both cycles run `steps` times
        # faster, so the result differs from the unaccumulated run on mean gradients by design.
        return
    reference, reference_variables = make(), _variables()
    for start in range(0, micro - steps + 1, steps):
        group = GRADS[start : start + steps]
        _apply(reference, reference_variables, [tuple(np.mean([g[j] for g in group], axis=0) for j in range(2))])
    _assert_all_close(_values(variables), _values(reference_variables), "accumulated vs mean gradients", 1e-5, 1e-6)


# --- loss_scale_optimizer_test: finite step, infinite step, iterations ----------------------------------------------
def _scaled_step(optimizer, variables, pair, scale, stateless: bool) -> None:
    grads = [ops.convert_to_tensor(g * scale) for g in pair]
    if not stateless:
        optimizer.apply(grads, variables)
        return
    new_values, new_optimizer_values = optimizer.stateless_apply(
        [v.value for v in optimizer.variables], grads, [v.value for v in variables]
    )
    for variable, value in zip([*variables, *optimizer.variables], [*new_values, *new_optimizer_values], strict=True):
        variable.assign(value)


@each_optimizer
@pytest.mark.parametrize("mode", ["stateful", "stateless"])
def test_loss_scale_optimizer_steps_like_the_optimizer_and_skips_non_finite_gradients(make, mode):
    stateless = mode == "stateless"
    if not stateless and BACKEND == "jax":
        pytest.skip("LossScaleOptimizer must use stateless_apply with JAX (as in Keras's test)")
    if stateless and BACKEND == "tensorflow":
        pytest.skip("stateless_apply is not supported with the TF backend (as in Keras's test)")
    optimizer = keras.optimizers.LossScaleOptimizer(make())
    reference = make()
    variables, reference_variables = _variables(), _variables()
    optimizer.build(variables)
    assert int(optimizer.iterations) == 0
    for i, pair in enumerate(GRADS[:4], start=1):
        _scaled_step(optimizer, variables, pair, float(optimizer.scale_loss(1.0)), stateless)
        _apply(reference, reference_variables, [pair])
        _assert_all_close(_values(variables), _values(reference_variables), f"finite step {i}", 1e-5, 1e-6)
        assert int(optimizer.iterations) == i

    inner_state = _values(optimizer.inner_optimizer.variables)
    weights = _values(variables)
    scale = float(optimizer.scale_loss(1.0))
    _scaled_step(
        optimizer, variables, (np.full((3, 2), np.inf, "float32"), np.full((2,), np.inf, "float32")), 1, stateless
    )
    _assert_all_close(_values(variables), weights, "weights after a non-finite step", 0, 0)
    _assert_all_close(_values(optimizer.inner_optimizer.variables), inner_state, "state after a non-finite step", 0, 0)
    assert int(optimizer.iterations) == 4
    assert float(optimizer.scale_loss(1.0)) == scale / 2

    for pair in GRADS[4:6]:
        _scaled_step(optimizer, variables, pair, float(optimizer.scale_loss(1.0)), stateless)
        _apply(reference, reference_variables, [pair])
    _assert_all_close(_values(variables), _values(reference_variables), "finite steps after the skip", 1e-5, 1e-6)


# --- optimizer_test.test_static_loss_scaling, through model.fit ------------------------------------------------------
@each_optimizer
def test_loss_scale_factor_in_fit_trains_like_no_scaling(make):
    plain, scaled = _model(), _model()
    _fit(plain, make())
    optimizer = make(loss_scale_factor=1024.0)
    history = _fit(scaled, optimizer)
    assert all(np.isfinite(history.history["loss"])), history.history["loss"]
    _assert_all_close(scaled.get_weights(), plain.get_weights(), "weights with loss_scale_factor=1024", 1e-5, 1e-6)
    assert float(optimizer.scale_loss(1.0)) == 1024.0  # what fit multiplies the loss by


# --- optimizer_sparse_test.test_sparse_correctness --------------------------------------------------------------------
KERAS_ROWS = [(0, 2, 4)] * 6  # Keras's pattern: the same rows at every step
# Rows that change from step to step (none repeated within a step: Keras's own Adam treats repeated IndexedSlices
# indices differently from their dense sum, so they would test Keras rather than the harness).
CHANGING_ROWS = [(0, 2, 4), (1, 2), (4, 3, 0), (3,), (0, 1), (2, 4)]


@TF_ONLY
@each_optimizer
@pytest.mark.parametrize(
    ("rows_per_step", "as_tuples"),
    [(KERAS_ROWS, True), (KERAS_ROWS, False), (CHANGING_ROWS, False)],
    ids=["keras_tuple_indices", "tensor_indices", "changing_rows"],
)
def test_indexed_slices_give_the_same_result_as_the_dense_gradient(make, rows_per_step, as_tuples):
    import tensorflow as tf

    # Semantic difference: LazyAdam and MaskedLazy are lazy on purpose (rows absent from a step keep their weights,
    # and for LazyAdam their moments), so against plain Adam's dense update they differ once rows change between
    # steps. The table is therefore named "embeddings": the lazy optimizers then treat the dense gradient's all-zero
    # rows as absent too, and each optimizer's sparse path is compared with its own dense path. Non-lazy optimizers
    # ignore the name.
    sparse, dense = make(), make()
    sparse_variable = keras.Variable(np.ones((5, 3, 2), "float32"), name="embeddings")
    dense_variable = keras.Variable(np.ones((5, 3, 2), "float32"), name="embeddings")
    for i, rows in enumerate(rows_per_step):
        values = ops.ones((len(rows), 3, 2)) * (10.0 - i)
        if as_tuples:  # as in Keras's test: indices and dense_shape given as Python tuples
            gradient = tf.IndexedSlices(values=values, indices=rows, dense_shape=(5, 3, 2))
        else:
            shape = tf.constant([5, 3, 2], tf.int64)
            gradient = tf.IndexedSlices(values=values, indices=tf.constant(rows, tf.int64), dense_shape=shape)
        sparse.apply([gradient], [sparse_variable])
        dense.apply([ops.convert_to_tensor(gradient, sparse=False)], [dense_variable])
        np.testing.assert_allclose(
            np.array(sparse_variable), np.array(dense_variable), rtol=1e-6, atol=1e-6, err_msg=f"step {i + 1}"
        )


# --- optimizer_test.test_mixed_with_tf_variables ---------------------------------------------------------------------
@TF_ONLY
@each_optimizer
def test_raw_tf_variables_train_next_to_keras_variables(make):
    import tensorflow as tf

    optimizer = make()
    variable = keras.Variable([[1.0, 2.0], [3.0, 4.0]])
    tf_variable = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    grads = ops.convert_to_tensor([[1.0, 1.0], [1.0, 1.0]])
    optimizer.apply_gradients([(grads, variable), (grads, tf_variable)])
    assert int(optimizer.iterations) == 1
    np.testing.assert_allclose(tf_variable.numpy(), np.array(variable), rtol=1e-6)
    with pytest.warns(UserWarning, match="Gradients do not exist for variables"):
        optimizer.apply_gradients([(grads, variable), (None, tf_variable)])
    assert int(optimizer.iterations) == 2


# --- optimizer_test.test_constraints_are_applied ---------------------------------------------------------------------
@each_optimizer
@pytest.mark.parametrize("constraint", ["NonNeg", "UnitNorm"])
def test_constraints_hold_after_every_step(make, constraint):
    start = RNG.random((3, 2)).astype("float32") - 1.0  # negative, as in Keras's test
    variable = keras.Variable(start, name="kernel")
    variable.constraint = getattr(keras.constraints, constraint)()
    optimizer = make()
    for step, (gradient, _) in enumerate(GRADS, start=1):  # 6 steps: Lookahead(k=2) synchronises after 2, 4 and 6
        optimizer.apply([ops.convert_to_tensor(gradient)], [variable])
        value = np.array(variable)
        if constraint == "NonNeg":
            assert value.min() >= 0.0, f"step {step}: min {value.min()}"
        else:
            norms = np.linalg.norm(value, axis=0)  # UnitNorm's default axis
            np.testing.assert_allclose(norms, 1.0, rtol=1e-5, err_msg=f"column norms after step {step}")


# --- adam_test.test_ema and test_ema_overwrite_frequency --------------------------------------------------------------
@each_optimizer
def test_ema_tracks_the_weights_and_finalize_writes_it(make):
    optimizer = make(use_ema=True, ema_momentum=0.9)
    variables = _variables()
    _apply(optimizer, variables, GRADS[:1])
    v1 = _values(variables)
    averages = _holder(optimizer)._model_variables_moving_average
    _assert_all_close(averages, v1, "EMA after the first step (the first updated value)")
    _apply(optimizer, variables, GRADS[1:2])
    v2 = _values(variables)
    expected = [0.9 * a + 0.1 * b for a, b in zip(v1, v2, strict=True)]
    _assert_all_close(averages, expected, "EMA after the second step")
    optimizer.finalize_variable_values(variables)
    _assert_all_close(_values(variables), expected, "weights after finalize_variable_values")


@each_optimizer
def test_ema_overwrite_frequency_writes_the_average_every_nth_step(make):
    optimizer = make(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=2)
    reference = make()
    variables, reference_variables = _variables(), _variables()
    _apply(optimizer, variables, GRADS[:1])
    _apply(reference, reference_variables, GRADS[:1])
    v1 = _values(reference_variables)
    _assert_all_close(_values(variables), v1, "weights after step 1 (not overwritten yet)")
    _apply(optimizer, variables, GRADS[1:2])
    _apply(reference, reference_variables, GRADS[1:2])
    expected = [0.9 * a + 0.1 * b for a, b in zip(v1, _values(reference_variables), strict=True)]
    _assert_all_close(_values(variables), expected, "weights after step 2 (overwritten with the EMA)")


@each_optimizer
def test_ema_weights_are_the_model_weights_after_fit(make):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(10, kernel_initializer="ones", use_bias=False)])
    optimizer = make(use_ema=True, ema_momentum=0.9)
    _fit(model, optimizer, epochs=1, batch_size=1, x=np.ones((1, 5), "float32"), y=np.zeros((1, 10), "float32"))
    average = np.array(_holder(optimizer)._model_variables_moving_average[0])
    np.testing.assert_allclose(np.array(model.trainable_variables[0]), average, rtol=1e-6)


# --- adam_test.test_clip_norm / test_clip_value, optimizer_test.test_global_clip_norm ---------------------------------
def _clipped(pair, kind):
    if kind == "clipvalue":
        return tuple(np.clip(g, -1.0, 1.0) for g in pair)
    if kind == "clipnorm":
        return tuple(g / max(np.linalg.norm(g), 1.0) for g in pair)
    norm = np.sqrt(sum(np.sum(g**2) for g in pair))
    return tuple(g / max(norm, 1.0) for g in pair)


@each_optimizer
@pytest.mark.parametrize("kind", ["clipnorm", "clipvalue", "global_clipnorm"])
def test_clipping_updates_as_with_the_clipped_gradients(make, kind):
    large = [tuple(100.0 * g for g in pair) for pair in GRADS[:2]]
    clipping, plain = make(**{kind: 1.0}), make()
    clipped_variables, plain_variables = _variables(), _variables()
    _apply(clipping, clipped_variables, large)
    _apply(plain, plain_variables, [_clipped(pair, kind) for pair in large])
    _assert_all_close(_values(clipped_variables), _values(plain_variables), f"{kind}=1 vs clipped gradients", 1e-5)


# --- jit_compile (Keras's trainer tests compile with XLA) -------------------------------------------------------------
def _xla_unavailable() -> str | None:
    if BACKEND != "tensorflow":
        return "jit_compile through XLA is tested on TensorFlow"
    import tensorflow as tf

    try:
        tf.function(lambda: tf.constant(1.0) + 1.0, jit_compile=True)()
    except Exception as error:  # any failure: this TensorFlow build cannot compile with XLA
        return f"XLA unavailable: {error}"
    return None


@each_optimizer
def test_fit_with_jit_compile(make):
    reason = _xla_unavailable()
    if reason:
        pytest.skip(reason)
    history = _fit(_model(), make(), jit_compile=True)
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses


# --- optimizer_test.test_optimizer_auto_naming ------------------------------------------------------------------------
@each_optimizer
def test_instances_created_without_a_name_get_distinct_names(make):
    first, second = make(), make()
    assert first.name != second.name, f"both are named {first.name!r}"
    assert keras.optimizers.deserialize(keras.optimizers.serialize(second)).name == second.name


# --- fit in graph mode ------------------------------------------------------------------------------------------------
@each_optimizer
def test_fit_in_graph_mode_decreases_the_loss(make):
    history = _fit(_model(), make(), run_eagerly=False)
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
