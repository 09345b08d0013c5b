"""Conformance: two peers' cyclical learning rate tests, ported onto ``harness.optimizers.CyclicalLearningRate``.

Ports
- ``tensorflow_addons/optimizers/tests/cyclical_learning_rate_test.py`` of tensorflow/addons at commit
  d208d752e98c310280938efa939117bf635a60a8 (2024-04-15, the repository's last; TFA 0.23), and
- ``tests/keras_contrib/callbacks/cyclical_learning_rate_test.py`` of keras-team/keras-contrib at commit
  3fc5ef709e061416f4bc8a92ca3750c824b5d2b0 (2019-12-19, the repository's last).

Their reference formulas, expected values and tolerances are kept (TFA: ``rtol=1e-6``; keras-contrib:
``assert_allclose``'s default ``rtol=1e-7``). API mapping: TFA's ``TriangularCyclicalLearningRate``,
``Triangular2CyclicalLearningRate`` and ``ExponentialCyclicalLearningRate(gamma)`` are our ``mode=``
``"triangular"``, ``"triangular2"`` and ``"exp_range"``; TFA's ``initial_learning_rate`` /
``maximal_learning_rate`` are ``base_learning_rate`` / ``max_learning_rate``. keras-contrib's ``CyclicLR``
is a callback that set the optimizer's lr after every batch and recorded it in ``history["lr"]``: after
batch i (i = 1..N) it recorded ``clr()`` at ``clr_iterations = i``, so its history is the schedule at steps
1..N, which is what is compared here, without the N batch-size-1 training steps that produced it.
Custom ``scale_fn`` / ``scale_mode`` cases are skipped: our schedule has no such argument.
"""

import keras
import numpy as np
import pytest
from keras import ops

from harness.optimizers import CyclicalLearningRate

SERIALIZE = pytest.mark.parametrize("serialize", [True, False])
NO_SCALE_FN = "CyclicalLearningRate has no custom scale_fn / scale_mode (only mode= triangular, triangular2, exp_range)"


def _maybe_serialized(lr_decay, serialize_and_deserialize):
    if serialize_and_deserialize:
        serialized = lr_decay.get_config()
        return lr_decay.from_config(serialized)
    return lr_decay


def _at(schedule, steps):
    """The schedule at each of ``steps``, in one element-wise call (float64 numpy for comparison)."""
    return ops.convert_to_numpy(schedule(ops.convert_to_tensor(np.asarray(steps, "int64")))).astype("float64")


# --- TensorFlow Addons ---


@SERIALIZE
def test_tfa_triangular_cyclical_learning_rate(serialize):
    initial_learning_rate = 0.1
    max_learning_rate = 1
    step_size = 40
    triangular_cyclical_lr = CyclicalLearningRate(
        base_learning_rate=initial_learning_rate,
        max_learning_rate=max_learning_rate,
        step_size=step_size,
        mode="triangular",
    )
    triangular_cyclical_lr = _maybe_serialized(triangular_cyclical_lr, serialize)

    expected = np.concatenate(
        [
            np.linspace(initial_learning_rate, max_learning_rate, num=step_size + 1),
            np.linspace(max_learning_rate, initial_learning_rate, num=step_size + 1)[1:],
        ]
    )

    for step, expected_value in enumerate(expected):
        np.testing.assert_allclose(ops.convert_to_numpy(triangular_cyclical_lr(step)), expected_value, 1e-6)


@SERIALIZE
def test_tfa_triangular2_cyclical_learning_rate(serialize):
    initial_lr = 0.1
    maximal_lr = 1
    step_size = 30
    triangular2_lr = CyclicalLearningRate(
        base_learning_rate=initial_lr, max_learning_rate=maximal_lr, step_size=step_size, mode="triangular2"
    )
    triangular2_lr = _maybe_serialized(triangular2_lr, serialize)

    middle_lr = (maximal_lr + initial_lr) / 2
    expected = np.concatenate(
        [
            np.linspace(initial_lr, maximal_lr, num=step_size + 1),
            np.linspace(maximal_lr, initial_lr, num=step_size + 1)[1:],
            np.linspace(initial_lr, middle_lr, num=step_size + 1)[1:],
            np.linspace(middle_lr, initial_lr, num=step_size + 1)[1:],
        ]
    )

    for step, expected_value in enumerate(expected):
        np.testing.assert_allclose(ops.convert_to_numpy(triangular2_lr(step)), expected_value, 1e-6)


@SERIALIZE
def test_tfa_exponential_cyclical_learning_rate(serialize):
    initial_learning_rate = 0.1
    maximal_learning_rate = 1
    step_size = 2000
    gamma = 0.996

    exponential_cyclical_lr = CyclicalLearningRate(
        base_learning_rate=initial_learning_rate,
        max_learning_rate=maximal_learning_rate,
        step_size=step_size,
        mode="exp_range",
        gamma=gamma,
    )
    exponential_cyclical_lr = _maybe_serialized(exponential_cyclical_lr, serialize)

    # TFA called the schedule once per step 0..8000 and compared each; one element-wise call here.
    i = np.arange(0, 8001)
    non_bounded_value = np.abs(i / 2000.0 - 2 * np.floor(1 + i / (2 * 2000)) + 1)
    expected = initial_learning_rate + (maximal_learning_rate - initial_learning_rate) * np.maximum(
        0, (1 - non_bounded_value)
    ) * (gamma**i)
    np.testing.assert_allclose(_at(exponential_cyclical_lr, i), expected, 1e-6)


@pytest.mark.skip(reason=NO_SCALE_FN)
@SERIALIZE
def test_tfa_custom_cyclical_learning_rate(serialize):
    """TFA: ``scale_fn=lambda x: 1 / 5 ** (x * 1e-4)`` evaluated per cycle; step_size 4000, steps 1..8000."""


@pytest.mark.skip(reason=NO_SCALE_FN)
@SERIALIZE
def test_tfa_custom_cyclical_learning_rate_with_scale_mode(serialize):
    """TFA: the same ``scale_fn`` with ``scale_mode="iterations"`` (evaluated per step)."""


# --- keras-contrib: CyclicLR() defaults base_lr=0.001, max_lr=0.006, step_size=2000 ---


def cycle(i):
    return np.floor(1 + i / (2 * 2000))


def x(i):
    return np.abs(i / 2000.0 - 2 * cycle(i) + 1)


def CyclicLR(base_lr=0.001, max_lr=0.006, step_size=2000.0, mode="triangular", gamma=1.0):
    """keras-contrib's constructor and defaults, mapped onto our schedule."""
    return CyclicalLearningRate(base_lr, max_lr, step_size, mode=mode, gamma=gamma)


def _lr_history(clr, batches):
    """keras-contrib's ``clr.history["lr"]`` after ``batches`` batches: the schedule at steps 1..batches."""
    return _at(clr, np.arange(1, batches + 1))


@pytest.fixture
def float64_arithmetic():
    """keras-contrib's default tolerance (rtol 1e-7) holds for a float64 schedule rounded to float32 once.

    JAX computes in float32 unless ``jax_enable_x64`` is set (and the schedule then stays in float32: see
    ``test_float32_only_backends_stay_within_three_ulps``), so on JAX these tests run with x64 on.
    """
    if keras.backend.backend() != "jax":
        yield
        return
    import jax

    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", False)


def test_float32_only_backends_stay_within_three_ulps():
    # Not keras-contrib's: the bound the schedule keeps where only float32 exists (JAX without x64).
    # Every product and sum rounds once; the phase within a cycle is exact, so nothing cancels.
    steps = np.arange(0, 8001)
    for mode, gamma in (("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.9996)):
        got = _at(CyclicLR(mode=mode, gamma=gamma), steps)
        cycles = np.floor(1 + steps / 4000)
        scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycles - 1), "exp_range": 0.9996**steps}[mode]
        exact = 0.001 + 0.005 * np.maximum(0, 1 - np.abs(steps / 2000 - 2 * cycles + 1)) * scale
        np.testing.assert_allclose(got, exact, rtol=3 * 2.0**-24)


@pytest.mark.usefixtures("float64_arithmetic")
def test_contrib_cyclic_lr_triangular_1():
    clr = CyclicLR()
    r = np.concatenate([np.linspace(0.001, 0.006, num=2001)[1:], np.linspace(0.006, 0.001, num=2001)[1:]])
    np.testing.assert_allclose(_lr_history(clr, 4000), r)  # 4000 samples, batch_size=1, 1 epoch


@pytest.mark.usefixtures("float64_arithmetic")
def test_contrib_cyclic_lr_triangular_2():
    clr = CyclicLR(mode="triangular2")
    r = np.concatenate(
        [
            np.linspace(0.001, 0.006, num=2001)[1:],
            np.linspace(0.006, 0.001, num=2001)[1:],
            np.linspace(0.001, 0.0035, num=2001)[1:],
            np.linspace(0.0035, 0.001, num=2001)[1:],
        ]
    )
    np.testing.assert_allclose(_lr_history(clr, 8000), r)  # 4000 samples, batch_size=1, 2 epochs


@pytest.mark.usefixtures("float64_arithmetic")
def test_contrib_cyclic_lr_exp_range():
    clr = CyclicLR(mode="exp_range", gamma=0.9996)

    def scale_fn(i):
        return 0.001 + (0.006 - 0.001) * np.maximum(0, (1 - x(i))) * (0.9996**i)

    exp_range = [scale_fn(i + 1) for i in range(8000)]
    np.testing.assert_allclose(_lr_history(clr, 8000), np.array(exp_range))


@pytest.mark.skip(reason=NO_SCALE_FN)
def test_contrib_cyclic_lr_custom_fn_test():
    """keras-contrib: ``CyclicLR(scale_fn=lambda x: 1 / 5 ** (x * 1e-4), scale_mode="iterations")``."""


def test_contrib_history_is_the_lr_each_update_used():
    # What the port above relies on: with the schedule as the optimizer's learning rate, Keras evaluates it at
    # ``iterations`` (0-based) for each update, so update i + 1 uses the schedule at step i, i.e. keras-contrib's
    # history entry i (recorded after batch i). SGD on a unit gradient moves the weight by exactly that lr.
    clr = CyclicLR(step_size=5.0)
    optimizer = keras.optimizers.SGD(learning_rate=clr)
    weight = keras.Variable(np.zeros((), "float32"))
    moves = []
    for _ in range(25):
        before = float(ops.convert_to_numpy(weight))
        optimizer.apply([ops.ones(())], [weight])
        moves.append(before - float(ops.convert_to_numpy(weight)))
    np.testing.assert_allclose(moves, _at(clr, np.arange(0, 25)), rtol=1e-4)
