"""Conformance: TensorFlow Addons' LazyAdam tests, ported onto ``harness.optimizers.LazyAdam``.

Ports ``tensorflow_addons/optimizers/tests/lazy_adam_test.py`` of tensorflow/addons at commit
d208d752e98c310280938efa939117bf635a60a8 (2024-04-15, the repository's last; TFA 0.23). Their numpy
reference update (``adam_update_numpy``), their tolerances (``assert_allclose_according_to_type``) and
their expected values are kept; only the API is adapted to Keras 3 (``apply_gradients`` on Keras 3
optimizers, ``keras.ops`` instead of ``tf`` where the test is not about TensorFlow).

TFA ran each case on ``tf.Variable``; here each runs on ``keras.Variable`` (every backend) and, on
TensorFlow, on a raw ``tf.Variable`` as well. TFA's ``maybe_run_functions_eagerly`` fixture becomes an
``eager`` / ``tf_function`` parameter (the optimizer step wrapped in ``tf.function``, TensorFlow only).
``tf.IndexedSlices`` cases are TensorFlow only.
"""

import keras
import numpy as np
import pytest
from keras import ops

from harness.optimizers import LazyAdam

TENSORFLOW = keras.backend.backend() == "tensorflow"
TF_ONLY = pytest.mark.skipif(not TENSORFLOW, reason="tf.Variable, tf.IndexedSlices and tf.function are TensorFlow's")


def _no_float64() -> bool:
    if keras.backend.backend() != "jax":
        return False
    import jax

    return not jax.config.jax_enable_x64


FLOAT64 = pytest.param("float64", marks=pytest.mark.skipif(_no_float64(), reason="JAX has float64 only with x64"))
DTYPES = pytest.mark.parametrize("dtype", ["float16", "float32", FLOAT64])
KINDS = pytest.mark.parametrize("kind", ["keras", pytest.param("tf", marks=TF_ONLY)])
MODES = pytest.mark.parametrize("mode", ["eager", pytest.param("tf_function", marks=TF_ONLY)])


def adam_update_numpy(param, g_t, t, m, v, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7):
    """TFA's numpy reference: one Adam step at (0-based) step ``t``, epsilon outside the bias correction."""
    lr_t = lr * np.sqrt(1 - beta2 ** (t + 1)) / (1 - beta1 ** (t + 1))
    m_t = beta1 * m + (1 - beta1) * g_t
    v_t = beta2 * v + (1 - beta2) * g_t * g_t
    param_t = param - lr_t * m_t / (np.sqrt(v_t) + epsilon)
    return param_t, m_t, v_t


def assert_allclose_according_to_type(a, b, rtol=1e-6, atol=1e-6, half_rtol=1e-3, half_atol=1e-3):
    """TFA's ``test_utils.assert_allclose_according_to_type``: float16 gets 1e-3, everything else 1e-6."""
    a, b = np.asarray(a), np.asarray(b)
    if np.float16 in (a.dtype, b.dtype):
        rtol, atol = max(rtol, half_rtol), max(atol, half_atol)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def get_beta_accumulators(opt, dtype):
    """β₁ᵗ and β₂ᵗ for the coming step, computed as TFA's test did from the optimizer's iteration count."""
    local_step = ops.cast(ops.convert_to_tensor(opt.iterations) + 1, dtype)
    beta_1_power = ops.power(ops.cast(opt.beta_1, dtype), local_step)
    beta_2_power = ops.power(ops.cast(opt.beta_2, dtype), local_step)
    return beta_1_power, beta_2_power


def _variable(kind, value, dtype):
    if kind == "tf":
        import tensorflow as tf

        return tf.Variable(value, dtype=dtype)
    return keras.Variable(np.asarray(value, dtype=dtype), dtype=dtype)


def _numpy(variable):
    return np.asarray(ops.convert_to_numpy(ops.convert_to_tensor(variable)))


def _stepper(opt, variables, mode):
    """``opt.apply_gradients``, or the same inside ``tf.function`` (variables built eagerly first)."""

    def step(grads):
        opt.apply_gradients(zip(grads, variables, strict=True))

    if mode == "eager":
        return step
    import tensorflow as tf

    opt.build(variables)
    return tf.function(step)


def _sparse(values, indices, dense_shape):
    import tensorflow as tf

    return tf.IndexedSlices(tf.constant(values), tf.constant(indices), tf.constant(dense_shape))


def _three_adam_steps(opt, var0, var1, grads, grads_np, var0_np, var1_np, dtype, mode="eager"):
    """TFA's loop: check β powers, take a step, compare both variables with the numpy reference."""
    grads0_np, grads1_np = grads_np
    m0, v0, m1, v1 = 0.0, 0.0, 0.0, 0.0
    step = _stepper(opt, [var0, var1], mode)
    for t in range(3):
        beta_1_power, beta_2_power = get_beta_accumulators(opt, dtype)
        assert_allclose_according_to_type(0.9 ** (t + 1), ops.convert_to_numpy(beta_1_power))
        assert_allclose_according_to_type(0.999 ** (t + 1), ops.convert_to_numpy(beta_2_power))
        step(grads)

        var0_np, m0, v0 = adam_update_numpy(var0_np, grads0_np, t, m0, v0)
        var1_np, m1, v1 = adam_update_numpy(var1_np, grads1_np, t, m1, v1)

        assert_allclose_according_to_type(var0_np, _numpy(var0))
        assert_allclose_according_to_type(var1_np, _numpy(var1))


@TF_ONLY
@MODES
@KINDS
@DTYPES
def test_sparse(dtype, kind, mode):
    var0_np = np.array([1.0, 1.0, 2.0], dtype=dtype)
    grads0_np = np.array([0.1, 0.0, 0.1], dtype=dtype)
    var1_np = np.array([3.0, 3.0, 4.0], dtype=dtype)
    grads1_np = np.array([0.01, 0.0, 0.01], dtype=dtype)
    var0, var1 = _variable(kind, var0_np, dtype), _variable(kind, var1_np, dtype)
    indices = np.array([0, 2], dtype=np.int32)
    grads = [_sparse(grads0_np[indices], indices, [3]), _sparse(grads1_np[indices], indices, [3])]
    opt = LazyAdam()

    np.testing.assert_allclose([1.0, 1.0, 2.0], _numpy(var0), 1e-6, 1e-6)
    np.testing.assert_allclose([3.0, 3.0, 4.0], _numpy(var1), 1e-6, 1e-6)
    _three_adam_steps(opt, var0, var1, grads, (grads0_np, grads1_np), var0_np, var1_np, dtype, mode)


@TF_ONLY
@KINDS
@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_sparse_device_placement(index_dtype, kind):
    # TFA: ``LazyAdam(3.0).minimize(g_sum, var_list=[var])``; Keras 3 optimizers take gradients, so the
    # tape is explicit. The gradient of a gather is IndexedSlices, so this runs the sparse path.
    import tensorflow as tf

    var = _variable(kind, [[1.0], [2.0]], "float32")
    indices = tf.constant([0, 1], dtype=index_dtype)
    with tf.GradientTape() as tape:
        loss = tf.math.reduce_sum(tf.gather(var, indices))
    (grad,) = tape.gradient(loss, [var])
    assert isinstance(grad, tf.IndexedSlices)
    LazyAdam(3.0).apply_gradients([(grad, var)])


@TF_ONLY
@KINDS
@DTYPES
def test_sparse_repeated_indices(dtype, kind):
    repeated_index_update_var = _variable(kind, [[1], [2]], dtype)
    aggregated_update_var = _variable(kind, [[1], [2]], dtype)
    grad_repeated_index = _sparse(np.full((2, 1), 0.1, dtype), [1, 1], [2, 1])
    grad_aggregated = _sparse(np.full((1, 1), 0.2, dtype), [1], [2, 1])
    repeated_update_opt, aggregated_update_opt = LazyAdam(), LazyAdam()
    for _ in range(3):
        repeated_update_opt.apply_gradients([(grad_repeated_index, repeated_index_update_var)])
        aggregated_update_opt.apply_gradients([(grad_aggregated, aggregated_update_var)])
        np.testing.assert_allclose(_numpy(aggregated_update_var), _numpy(repeated_index_update_var))


def _dense_case(kind, dtype):
    var0_np = np.array([1.0, 2.0], dtype=dtype)
    grads0_np = np.array([0.1, 0.1], dtype=dtype)
    var1_np = np.array([3.0, 4.0], dtype=dtype)
    grads1_np = np.array([0.01, 0.01], dtype=dtype)
    var0, var1 = _variable(kind, var0_np, dtype), _variable(kind, var1_np, dtype)
    grads = [ops.convert_to_tensor(grads0_np), ops.convert_to_tensor(grads1_np)]
    return var0, var1, grads, (grads0_np, grads1_np), var0_np, var1_np


@KINDS
@DTYPES
@pytest.mark.parametrize("use_callable_params", [True, False])
def test_basic(use_callable_params, dtype, kind):
    var0, var1, grads, grads_np, var0_np, var1_np = _dense_case(kind, dtype)

    def learning_rate():
        return 0.001

    if not use_callable_params:
        learning_rate = learning_rate()

    opt = LazyAdam(learning_rate=learning_rate)
    _three_adam_steps(opt, var0, var1, grads, grads_np, var0_np, var1_np, dtype)


@KINDS
@DTYPES
def test_tensor_learning_rate(dtype, kind):
    # TFA passed ``tf.constant(0.001)``. Keras 3's base optimizer takes a float, a schedule or a callable,
    # and refuses a tensor for every optimizer; the case runs only if Keras's own Adam accepts one.
    learning_rate = ops.convert_to_tensor(0.001)
    try:
        keras.optimizers.Adam(learning_rate)
    except ValueError as error:
        pytest.skip(f"Keras 3 optimizers refuse a tensor learning_rate (keras.optimizers.Adam too): {error}")
    var0, var1, grads, grads_np, var0_np, var1_np = _dense_case(kind, dtype)
    opt = LazyAdam(learning_rate)
    _three_adam_steps(opt, var0, var1, grads, grads_np, var0_np, var1_np, dtype)


@MODES
@KINDS
@DTYPES
def test_sharing(dtype, kind, mode):
    var0, var1, grads, grads_np, var0_np, var1_np = _dense_case(kind, dtype)
    opt = LazyAdam()

    np.testing.assert_allclose([1.0, 2.0], _numpy(var0))
    np.testing.assert_allclose([3.0, 4.0], _numpy(var1))
    _three_adam_steps(opt, var0, var1, grads, grads_np, var0_np, var1_np, dtype, mode)


@KINDS
def test_slots_unique_eager(kind):
    v1, v2 = _variable(kind, 1.0, "float32"), _variable(kind, 1.0, "float32")
    opt = LazyAdam(1.0)
    # TFA: ``opt.minimize(lambda: v1 + v2, var_list=[v1, v2])``: both gradients are 1.
    opt.apply_gradients(zip([ops.ones(()), ops.ones(())], [v1, v2], strict=True))
    # Legitimate difference: a Keras 3 optimizer also tracks its learning rate as a variable (TFA's legacy
    # optimizer kept hyperparameters out of ``variables()``), so there is one more than TFA's 5:
    # iteration, learning_rate, then two unique slots (m, v) for each of v1 and v2.
    assert len(opt.variables) == 5 + 1
    assert opt.variables[0] is opt.iterations
    slots = opt.variables[2:]
    assert len({id(slot) for slot in slots}) == 4
    assert not any(slot is v for slot in slots for v in (v1, v2))


def test_serialization():
    optimizer = LazyAdam()
    config = keras.optimizers.serialize(optimizer)
    new_optimizer = keras.optimizers.deserialize(config)
    assert new_optimizer.get_config() == optimizer.get_config()
