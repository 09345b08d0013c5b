"""Conformance: TensorFlow Addons' Lookahead tests, ported onto ``harness.optimizers.Lookahead``.

Ports ``tensorflow_addons/optimizers/tests/lookahead_test.py`` of tensorflow/addons at commit
d208d752e98c310280938efa939117bf635a60a8 (2024-04-15, the repository's last; TFA 0.23). Their data
(same seed, same numpy stream), expected values and tolerances are kept; the API is adapted:

- TFA's ``Lookahead(optimizer, sync_period, slow_step_size)`` is ``Lookahead(inner, k, alpha)`` here, and
  ours takes an inner optimizer *instance* (TFA also took a name such as ``"adam"``). TFA's defaults
  (``sync_period=6``, ``slow_step_size=0.5``) are passed explicitly where a test relied on them, since
  our default ``k`` is 5.
- Keras 3 has no ``optimizer.lr`` alias: ``learning_rate`` is used.
- TFA's ``maybe_run_functions_eagerly`` fixture becomes an ``eager`` / ``tf_function`` parameter, and TFA's
  ``tf.Variable`` a ``keras.Variable`` (every backend) plus a raw ``tf.Variable`` (TensorFlow only).
"""

import keras
import numpy as np
import pytest
from keras import ops

from harness.optimizers import Lookahead

TENSORFLOW = keras.backend.backend() == "tensorflow"
TF_ONLY = pytest.mark.skipif(not TENSORFLOW, reason="tf.Variable, tf.IndexedSlices and tf.function are TensorFlow's")
KINDS = pytest.mark.parametrize("kind", ["keras", pytest.param("tf", marks=TF_ONLY)])
MODES = pytest.mark.parametrize("mode", ["eager", pytest.param("tf_function", marks=TF_ONLY)])
RATIOS = pytest.mark.parametrize(("k", "alpha"), [(k, alpha) for k in (5, 10, 100) for alpha in (0.3, 0.7)])


def _variable(kind, value):
    if kind == "tf":
        import tensorflow as tf

        return tf.Variable(value, dtype=tf.float32)
    return keras.Variable(np.asarray(value, "float32"))


def _numpy(variable):
    return np.asarray(ops.convert_to_numpy(ops.convert_to_tensor(variable)))


def _run(iterations, optimizer, grads_and_vars, mode):
    if mode == "tf_function":
        import tensorflow as tf

        optimizer.build([v for _, v in grads_and_vars])  # variables are created eagerly, outside the graph
        apply = tf.function(lambda: optimizer.apply_gradients(grads_and_vars))
    else:

        def apply():
            optimizer.apply_gradients(grads_and_vars)

    for _ in range(iterations):
        apply()


def run_dense_sample(iterations, optimizer, kind="keras", mode="eager", seed=0x2019):
    rng = np.random.RandomState(seed)  # TFA seeded the global stream: the same numbers
    val_0 = rng.random_sample((2,))
    val_1 = rng.random_sample((2,))
    var_0, var_1 = _variable(kind, val_0), _variable(kind, val_1)
    grad_0 = ops.convert_to_tensor(rng.standard_normal((2,)).astype("float32"))
    grad_1 = ops.convert_to_tensor(rng.standard_normal((2,)).astype("float32"))
    _run(iterations, optimizer, list(zip([grad_0, grad_1], [var_0, var_1], strict=True)), mode)
    return [val_0, val_1], [var_0, var_1]


def run_sparse_sample(iterations, optimizer, kind="keras", mode="eager", seed=0x2019):
    import tensorflow as tf

    rng = np.random.RandomState(seed)
    val_0 = rng.random_sample((2,))
    val_1 = rng.random_sample((2,))
    var_0, var_1 = _variable(kind, val_0), _variable(kind, val_1)
    grad_0 = tf.IndexedSlices(tf.constant([rng.standard_normal()], tf.float32), tf.constant([0]), tf.constant([2]))
    grad_1 = tf.IndexedSlices(tf.constant([rng.standard_normal()], tf.float32), tf.constant([1]), tf.constant([2]))
    _run(iterations, optimizer, list(zip([grad_0, grad_1], [var_0, var_1], strict=True)), mode)
    return [val_0, val_1], [var_0, var_1]


def _assert_exact_ratio(sample, k, alpha, kind, mode):
    """After exactly k steps the slow weights are val + α(quick − val), quick being k plain Adam steps."""
    vals, quick_vars = sample(k, keras.optimizers.Adam(), kind, mode)
    _, slow_vars = sample(k, Lookahead(keras.optimizers.Adam(), k=k, alpha=alpha), kind, mode)
    for val, quick, slow in zip(vals, quick_vars, slow_vars, strict=True):
        val = val.astype("float32")  # TFA subtracted the float64 start from a float32 tf.Variable: float32
        expected = val + (_numpy(quick) - val) * np.float32(alpha)
        np.testing.assert_allclose(expected, _numpy(slow), rtol=1e-06, atol=1e-06)


@RATIOS
@KINDS
def test_dense_exact_ratio(kind, k, alpha):
    _assert_exact_ratio(run_dense_sample, k, alpha, kind, "eager")


@TF_ONLY
@RATIOS
@KINDS
def test_sparse_exact_ratio(kind, k, alpha):
    _assert_exact_ratio(run_sparse_sample, k, alpha, kind, "eager")


@TF_ONLY
@pytest.mark.parametrize("sample", [run_dense_sample, run_sparse_sample], ids=["dense", "sparse"])
@KINDS
def test_exact_ratio_in_tf_function(kind, sample):
    # TFA ran the ratio tests with and without ``tf.function``; the graph variant, one (k, α).
    _assert_exact_ratio(sample, 10, 0.3, kind, "tf_function")


def _linear_problem():
    rng = np.random.RandomState(0x2019)
    x = rng.standard_normal((10000, 3))
    w = rng.standard_normal((3, 1))
    y = np.dot(x, w) + rng.standard_normal((10000, 1)) * 1e-4
    x_test = rng.standard_normal((100, 3))
    return x, y, x_test, np.dot(x_test, w)


def _fit_linear_model():
    keras.utils.set_random_seed(0x2019)
    x, y, x_test, y_test = _linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units=1)])
    # TFA: ``Lookahead("sgd")``, i.e. SGD(0.01) with TFA's defaults sync_period=6, slow_step_size=0.5.
    model.compile(Lookahead(keras.optimizers.SGD(), k=6, alpha=0.5), loss="mse")
    model.fit(x, y, epochs=3, verbose=0)
    predicted = model.predict(x_test, verbose=0)
    return np.max(np.abs(predicted - y_test))


def test_fit_simple_linear_model():
    max_abs_diff = _fit_linear_model()
    assert max_abs_diff < 1e-3


def test_fit_simple_linear_model_mixed_precision(float16_kernels):
    # TFA's ``run_with_mixed_precision_policy`` fixture; Keras 3 wraps the optimizer in a LossScaleOptimizer.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        max_abs_diff = _fit_linear_model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert max_abs_diff < 2.3e-3


@MODES
def test_model_dynamic_lr(mode):
    grad = ops.convert_to_tensor([[0.1]])
    model = keras.Sequential(
        [keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant([[1.0]]), use_bias=False)]
    )
    model.build(input_shape=[1, 1])

    opt = Lookahead(keras.optimizers.Adam(), k=10, alpha=0.4)
    _run(1, opt, list(zip([grad], model.trainable_variables, strict=True)), mode)

    np.testing.assert_allclose(ops.convert_to_numpy(opt.learning_rate), 1e-3)
    opt.learning_rate = 1e-4
    np.testing.assert_allclose(ops.convert_to_numpy(opt.learning_rate), 1e-4)


def test_get_config():
    opt = Lookahead(keras.optimizers.Adam(), k=10, alpha=0.4)
    opt = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    config = opt.get_config()
    assert config["k"] == 10  # TFA: sync_period
    assert config["alpha"] == 0.4  # TFA: slow_step_size


def test_serialization():
    optimizer = Lookahead(keras.optimizers.Adam(), k=10, alpha=0.4)
    config = keras.optimizers.serialize(optimizer)
    new_optimizer = keras.optimizers.deserialize(config)
    assert new_optimizer.get_config() == optimizer.get_config()
