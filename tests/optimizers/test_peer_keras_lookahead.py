"""Conformance: CyberZHG's keras-lookahead tests, and the Lookahead paper's reference ``step()`` as an oracle.

Ports ``tests/test_optimizers.py`` (with its helper optimizer ``tests/optimizers.py``) of CyberZHG/keras-lookahead
at commit 7a44ca458b1f76c9e818ce2409310c6b679d4973 (2021-06-24, the repository's last; keras-lookahead 0.9.0),
keeping their data sizes, epochs, batch sizes and thresholds. API mapping: their
``Lookahead(optimizer, sync_period, slow_step)`` is ``Lookahead(inner, k, alpha)`` and ours takes an optimizer
*instance* (theirs also took a name such as ``"adam"``); both default to k=5, α=0.5. Keras 3 has no
``K.set_value`` / ``K.get_value`` / ``optimizer.lr``: ``learning_rate.assign`` and ``learning_rate`` are used.
Models are saved in the ``.keras`` format (Keras 3 does not restore a compiled optimizer from ``.h5``). Their
tests ran ``fit`` one step per call; here ``steps_per_execution`` groups steps (same updates, faster) except on
torch, which does not support it.

The oracle re-implements ``Lookahead.step()`` of michaelrzhang/lookahead ``lookahead_pytorch.py`` at commit
c4fd85f73cdaa6450eacf7d52d9050d9ff98a6e1 (2021-01-19; the official reference of Zhang, Lucas, Hinton & Ba,
"Lookahead Optimizer: k steps forward, 1 step back", 2019) in numpy, with its default
``pullback_momentum="none"`` (what ours does: the inner optimizer's state is left alone at a sync), and runs
it against ``Lookahead(SGD)``, ``Lookahead(SGD with momentum)`` and ``Lookahead(Adam)`` on a small quadratic.
The inner optimizers of the oracle follow Keras's update rules (the oracle tests Lookahead, not Adam).
"""

import keras
import numpy as np
import pytest
from keras import ops

from harness.optimizers import Lookahead

BACKEND = keras.backend.backend()
STEPS_PER_EXECUTION = 1 if BACKEND == "torch" else 64  # torch: "steps_per_execution must be 1"


# --- CyberZHG/keras-lookahead ---


def _init_data(rng, data_size=1024, w=None):
    x = rng.standard_normal((data_size, 5))
    if w is None:
        w = rng.standard_normal((5, 1))
    y = np.dot(x, w) + rng.standard_normal((data_size, 1)) * 1e-6
    return x, y, w


def _init_model(optimizer, w=None, steps_per_execution=1):
    inputs = keras.layers.Input(shape=(5,))
    dense = keras.layers.Dense(1)
    outputs = dense(inputs)
    model = keras.models.Model(inputs, outputs)
    model.compile(optimizer, "mse", steps_per_execution=steps_per_execution)
    if w is not None:
        dense.set_weights([w, np.zeros((1,))])
    return model


def _save_and_load(model, tmp_path):
    path = tmp_path / "test_lookahead.keras"
    model.save(path)
    return keras.models.load_model(path, custom_objects={"Lookahead": Lookahead})


def _fit_and_check_prediction(optimizer, tmp_path=None, seed=0):
    keras.utils.set_random_seed(seed)
    rng = np.random.RandomState(seed)
    model = _init_model(optimizer, steps_per_execution=STEPS_PER_EXECUTION)
    x, y, w = _init_data(rng, data_size=100000)
    model.fit(x, y, epochs=5, verbose=0)
    if tmp_path is not None:
        model = _save_and_load(model, tmp_path)
    x, y, _ = _init_data(rng, data_size=100, w=w)
    predicted = model.predict(x, verbose=0)
    assert np.max(np.abs(predicted - y)) < 1e-3


SLOW_ON_TORCH = pytest.mark.skipif(
    BACKEND == "torch",
    reason="15,625 eager steps take about a minute on torch (no steps_per_execution); the same Lookahead code is "
    "run on torch by the other tests here and by the oracle",
)


@pytest.mark.slow  # 15,625 steps: seconds on TensorFlow and JAX
@SLOW_ON_TORCH
def test_base(tmp_path):
    _fit_and_check_prediction(Lookahead(keras.optimizers.Adam()), tmp_path)


@pytest.mark.skip(reason="Ranger = Lookahead(RAdam): keras-radam has no Keras 3 port and Keras 3 ships no RAdam")
def test_ranger():
    """keras-lookahead: as ``test_base`` with ``Lookahead(RAdam())``."""


def test_half():
    # keras-lookahead ran this on tf.keras only; it runs on every backend here. Both fits see the same batches.
    rng = np.random.RandomState(0)
    weight = rng.standard_normal((5, 1))
    x, y, _ = _init_data(rng, data_size=3200)

    keras.utils.set_random_seed(0)
    model = _init_model(keras.optimizers.Adam(), w=weight)
    model.fit(x, y, batch_size=32, verbose=0)
    original = model.get_weights()[0]

    keras.utils.set_random_seed(0)
    model = _init_model(Lookahead(keras.optimizers.Adam(), k=100, alpha=0.5), w=weight)
    model.fit(x, y, batch_size=32, verbose=0)  # 100 steps: one synchronisation, at the last step
    step_back = model.get_weights()[0]

    half_step = (weight + original) * 0.5
    assert np.allclose(half_step, step_back, atol=1e-2), (weight, original, step_back, half_step)


def _lr(optimizer):
    return float(ops.convert_to_numpy(optimizer.learning_rate))


# keras-lookahead's test_lr (``opt.lr``) and test_learning_rate (``opt.learning_rate``, passing on AttributeError /
# ValueError from old Keras versions) are one test in Keras 3, which has no ``lr`` alias; ours must not raise. They
# wrapped RAdam; the forwarding tested does not depend on the inner optimizer, so Keras's Adam stands in for it.
def test_lr_and_learning_rate():
    opt = Lookahead(keras.optimizers.Adam())
    opt.learning_rate.assign(1e-4)  # K.set_value(opt.lr, 1e-4)
    assert _lr(opt) == pytest.approx(1e-4, abs=1e-7)  # assertAlmostEqual: 7 places
    assert _lr(opt.inner) == pytest.approx(1e-4, abs=1e-7)
    opt.learning_rate = keras.Variable(1e-3)  # opt.lr = K.variable(1e-3)
    assert _lr(opt) == pytest.approx(1e-3, abs=1e-7)
    assert _lr(opt.inner) == pytest.approx(1e-3, abs=1e-7)


class AssignSubAdam(keras.optimizers.Optimizer):
    """keras-lookahead's ``tests/optimizers.py`` Adam (K.epsilon(), updates by update / update_sub), in Keras 3.

    keras-lookahead's test_update_sub checked that Lookahead also works around an optimizer that updates its
    parameters with ``update_sub`` rather than by assigning new values.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, name="assign_sub_adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, keras.config.epsilon()

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.ms = [self.add_variable_from_reference(p, "m") for p in var_list]
        self.vs = [self.add_variable_from_reference(p, "v") for p in var_list]

    def update_step(self, gradient, variable, learning_rate):
        t = ops.cast(self.iterations + 1, variable.dtype)
        lr_t = learning_rate * (ops.sqrt(1.0 - ops.power(self.beta_2, t)) / (1.0 - ops.power(self.beta_1, t)))
        index = self._get_variable_index(variable)
        m, v = self.ms[index], self.vs[index]
        m_t = self.beta_1 * m + (1.0 - self.beta_1) * gradient
        v_t = self.beta_2 * v + (1.0 - self.beta_2) * ops.square(gradient)
        self.assign(m, m_t)
        self.assign(v, v_t)
        self.assign_sub(variable, lr_t * m_t / (ops.sqrt(v_t) + self.epsilon))


@pytest.mark.slow  # as test_base
@SLOW_ON_TORCH
def test_update_sub():
    _fit_and_check_prediction(Lookahead(AssignSubAdam()))


def test_consistent(tmp_path):
    # keras-lookahead ran this on tf.keras only; it runs on every backend here.
    rng = np.random.RandomState(0)
    weight = rng.standard_normal((5, 1))
    x, y, _ = _init_data(rng, data_size=3200)

    model = _init_model(Lookahead(keras.optimizers.Adam(), k=10, alpha=0.5), w=weight)
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 200
    original = model.get_weights()[0]

    model = _init_model(Lookahead(keras.optimizers.Adam(), k=10, alpha=0.5), w=weight)
    model.fit(x, y, batch_size=32, shuffle=False, verbose=0)
    model = _save_and_load(model, tmp_path)
    model.fit(x, y, batch_size=32, shuffle=False, verbose=0)
    loaded = model.get_weights()[0]

    assert np.allclose(original, loaded, atol=1e-4), (original, loaded)


# --- Oracle: michaelrzhang/lookahead's Lookahead.step() in numpy ---


class ReferenceLookahead:
    """``lookahead_pytorch.Lookahead`` with ``pullback_momentum="none"``, over numpy parameters.

    ``__init__`` caches the parameters; ``step()`` runs the inner step, counts it, and every ``la_steps``
    steps sets ``p = la_alpha * p + (1 - la_alpha) * cached`` and caches ``p`` again.
    """

    def __init__(self, optimizer, params, la_steps=5, la_alpha=0.8):
        self.optimizer, self.params = optimizer, params
        self._la_step, self._total_la_steps, self.la_alpha = 0, la_steps, la_alpha
        self.cached_params = [p.copy() for p in params]

    def step(self, grads):
        self.optimizer.step(self.params, grads)
        self._la_step += 1
        if self._la_step >= self._total_la_steps:
            self._la_step = 0
            for p, cached in zip(self.params, self.cached_params, strict=True):
                p *= self.la_alpha
                p += (1.0 - self.la_alpha) * cached  # the reference's "crucial line"
                cached[...] = p


class NumpySGD:
    """Keras's SGD: ``velocity = momentum * velocity - lr * g; p += velocity`` (plain ``p -= lr * g`` without)."""

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum, self.velocities = lr, momentum, None

    def step(self, params, grads):
        if self.velocities is None:
            self.velocities = [np.zeros_like(p) for p in params]
        for p, g, velocity in zip(params, grads, self.velocities, strict=True):
            if self.momentum:
                velocity[...] = self.momentum * velocity - self.lr * g
                p += velocity
            else:
                p -= self.lr * g


class NumpyAdam:
    """Keras's Adam: bias correction folded into the step size, epsilon outside the square root."""

    def __init__(self, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.lr, self.beta_1, self.beta_2, self.epsilon, self.t, self.moments = lr, beta_1, beta_2, epsilon, 0, None

    def step(self, params, grads):
        if self.moments is None:
            self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.t += 1
        # In float32 as Keras computes it: β₂ rounded to float32 moves 1 − β₂ᵗ by ~1e-5 (relative) at t = 1.
        beta_1, beta_2, t = np.float32(self.beta_1), np.float32(self.beta_2), np.float32(self.t)
        alpha = np.float32(self.lr) * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        for p, g, (m, v) in zip(params, grads, self.moments, strict=True):
            m += (1 - self.beta_1) * (g - m)
            v += (1 - self.beta_2) * (g * g - v)
            p -= alpha * m / (np.sqrt(v) + self.epsilon)


# A small ill-conditioned quadratic f(p) = ½ (p − c)ᵀ A (p − c) over two parameters (a matrix and a vector).
# Both sides work in float32, as the Keras variables do: the gradient is computed in float64 and rounded.
A = np.array([[3.0, 0.5], [0.5, 1.0]])
TARGETS = [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([-1.0, 2.0])]
STARTS = [np.array([[0.0, 0.5], [-1.0, 1.0]], "float32"), np.array([2.0, -1.0], "float32")]


def _gradients(params):
    return [(A @ (np.float64(p) - c)).astype("float32") for p, c in zip(params, TARGETS, strict=True)]


INNER = {
    "sgd": (lambda: keras.optimizers.SGD(0.1), lambda: NumpySGD(0.1)),
    "sgd_momentum": (lambda: keras.optimizers.SGD(0.05, momentum=0.9), lambda: NumpySGD(0.05, momentum=0.9)),
    "adam": (lambda: keras.optimizers.Adam(0.05), lambda: NumpyAdam(0.05)),
}


@pytest.mark.parametrize("alpha", [0.5, 0.8])  # 0.8: the reference's default la_alpha
@pytest.mark.parametrize("inner", list(INNER))
def test_matches_reference_step_over_25_steps(inner, alpha):
    k, steps = 5, 25
    make_ours, make_reference = INNER[inner]
    reference = ReferenceLookahead(make_reference(), [s.copy() for s in STARTS], la_steps=k, la_alpha=alpha)
    variables = [keras.Variable(s) for s in STARTS]
    ours = Lookahead(make_ours(), k=k, alpha=alpha)
    for step in range(1, steps + 1):
        # Each side's gradient at its own current parameters: the trajectories are compared, not just the updates.
        grads = _gradients([ops.convert_to_numpy(v) for v in variables])
        ours.apply([ops.convert_to_tensor(g) for g in grads], variables)
        reference.step(_gradients(reference.params))
        for got, expected in zip(variables, reference.params, strict=True):
            np.testing.assert_allclose(ops.convert_to_numpy(got), expected, rtol=1e-5, atol=1e-6, err_msg=f"{step=}")
    for slow, cached in zip(ours.slow_weights, reference.cached_params, strict=True):
        np.testing.assert_allclose(ops.convert_to_numpy(slow), cached, rtol=1e-5, atol=1e-6)


def test_slow_weights_evaluation_matches_reference_backup_and_load_cache():
    # The reference evaluates on the slow weights with _backup_and_load_cache() / _clear_and_load_backup().
    reference = ReferenceLookahead(NumpyAdam(0.05), [s.copy() for s in STARTS], la_steps=5, la_alpha=0.5)
    variables = [keras.Variable(s) for s in STARTS]
    ours = Lookahead(keras.optimizers.Adam(0.05), k=5, alpha=0.5)
    for _ in range(12):  # mid-period: fast and slow weights differ
        grads = _gradients([ops.convert_to_numpy(v) for v in variables])
        ours.apply([ops.convert_to_tensor(g) for g in grads], variables)
        reference.step(_gradients(reference.params))
    backup = [p.copy() for p in reference.params]  # _backup_and_load_cache: params <- cached
    fast = ours.swap_in_slow_weights()
    for got, cached in zip(variables, reference.cached_params, strict=True):
        np.testing.assert_allclose(ops.convert_to_numpy(got), cached, rtol=1e-5, atol=1e-6)
    ours.restore_fast_weights(fast)  # _clear_and_load_backup: params <- backup
    for got, expected in zip(variables, backup, strict=True):
        np.testing.assert_allclose(ops.convert_to_numpy(got), expected, rtol=1e-5, atol=1e-6)
