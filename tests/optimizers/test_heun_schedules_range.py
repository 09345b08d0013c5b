import math

import keras
import numpy as np
import pytest

from harness.optimizers import (
    CycledMomentum,
    CyclicalLearningRate,
    Heun,
    OneCycle,
    TwiceEachBatch,
    lr_range_test,
    plot_range_test,
)

RNG = np.random.default_rng(2)


# --- Heun ---------------------------------------------------------------------------
def test_heun_matches_numpy_reference_on_a_quadratic():
    # loss = 0.5 * sum(A w * w): gradient A w. Two gradient evaluations per update.
    a = np.diag([1.0, 3.0]).astype("float32")
    lr, w = 0.1, np.array([1.0, -2.0], "float32")
    expected = w.copy()
    for _ in range(3):
        g1 = a @ expected
        g2 = a @ (expected - lr * g1)
        expected = expected - lr / 2 * (g1 + g2)
    variable, optimizer = keras.Variable(w), Heun(lr)
    for _ in range(6):  # 3 updates = 6 gradient evaluations
        optimizer.apply([keras.ops.matmul(a, variable)], [variable])
    np.testing.assert_allclose(np.array(variable), expected, rtol=1e-6)
    assert int(optimizer.iterations) == 6 and int(optimizer.updates) == 3


def test_heun_trains_in_fit_with_each_batch_twice():
    x = RNG.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=Heun(0.05), loss="mse")
    batches = TwiceEachBatch(x, y, batch_size=16, seed=0)
    assert len(batches) == 8
    np.testing.assert_array_equal(batches[2][0], batches[3][0])
    history = model.fit(batches, epochs=5, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    assert int(model.optimizer.iterations) == 40  # gradient evaluations: 5 epochs x 8


# --- schedules ----------------------------------------------------------------------
def _at(schedule, step):
    return float(schedule(step))


@pytest.mark.parametrize(
    ("mode", "step", "expected"),
    [
        ("triangular", 0, 0.001),
        ("triangular", 5, 0.0035),
        ("triangular", 10, 0.006),
        ("triangular", 20, 0.001),
        ("triangular", 30, 0.006),
        ("triangular2", 30, 0.001 + 0.005 / 2),
        ("triangular2", 50, 0.001 + 0.005 / 4),
        ("exp_range", 10, 0.001 + 0.005 * 0.99**10),
        ("exp_range", 25, 0.001 + 0.005 * 0.5 * 0.99**25),
    ],
)
def test_cyclical_closed_form(mode, step, expected):
    schedule = CyclicalLearningRate(0.001, 0.006, step_size=10, mode=mode, gamma=0.99)
    assert _at(schedule, step) == pytest.approx(expected, rel=1e-5)


def test_cyclical_keeps_float32_precision_over_many_steps():
    """The exact value rounded to float32 once (float64 inside), even a million steps in."""
    steps = [482, 99_999, 100_000, 100_001, 123_457, 1_000_003]
    for mode, gamma in (("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.99994)):
        schedule = CyclicalLearningRate(1e-4, 1e-2, step_size=2000, mode=mode, gamma=gamma)
        cycles = np.floor(1 + np.array(steps) / 4000)
        rise = np.maximum(0, 1 - np.abs(np.array(steps) / 2000 - 2 * cycles + 1))
        scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycles - 1), "exp_range": 0.99994 ** np.array(steps)}
        exact = 1e-4 + (1e-2 - 1e-4) * rise * scale[mode]
        tolerance = 2.0**-24 if keras.backend.backend() != "jax" else 3 * 2.0**-24  # JAX: float32 unless x64
        np.testing.assert_allclose([_at(schedule, s) for s in steps], exact, rtol=tolerance)


def test_one_cycle_needs_a_whole_number_of_steps():
    with pytest.raises(ValueError, match=r"total_steps must be an integer >= 1, got total_steps=10\.7"):
        OneCycle(0.1, total_steps=10.7)
    assert OneCycle(0.1, total_steps=np.int64(10)).total_steps == 10


def test_one_cycle_closed_form_and_inverse_momentum():
    schedule = OneCycle(0.1, total_steps=100, div_factor=10, final_div_factor=100, annihilation_fraction=0.1)
    for step, expected in [
        (0, 0.01),
        (22.5, 0.055),
        (45, 0.1),
        (90, 0.01),
        (95, 0.01 - 0.5 * (0.01 - 1e-4)),
        (100, 1e-4),
        (150, 1e-4),
    ]:
        assert _at(schedule, step) == pytest.approx(expected, rel=1e-5)
    assert float(schedule.momentum(0)) == pytest.approx(0.95)
    assert float(schedule.momentum(45)) == pytest.approx(0.85)
    assert float(schedule.momentum(95)) == pytest.approx(0.95)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_learning_rate": 0.01, "max_learning_rate": 0.001, "step_size": 5}, "max_learning_rate \\(0.001\\)"),
        ({"base_learning_rate": 0.001, "max_learning_rate": 0.01, "step_size": 0}, "step_size must be positive"),
        ({"base_learning_rate": 0.001, "max_learning_rate": 0.01, "step_size": 5, "mode": "sine"}, "mode=.sine."),
        ({"base_learning_rate": 0.001, "max_learning_rate": float("inf"), "step_size": 5}, "max_learning_rate=inf"),
    ],
)
def test_cyclical_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CyclicalLearningRate(**kwargs)


def test_schedules_serialize_and_cycle_momentum_in_fit(tmp_path):
    one_cycle = OneCycle(0.05, total_steps=8)
    for schedule in (CyclicalLearningRate(0.001, 0.01, 4, "triangular2"), one_cycle):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
        assert restored.get_config() == schedule.get_config()
    x = RNG.normal(size=(32, 2)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    optimizer = CycledMomentum(keras.optimizers.Adam(one_cycle), one_cycle)
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0)  # 4 steps: beta_1 set from step 3's value
    assert float(optimizer.current) == pytest.approx(float(one_cycle.momentum(3)), rel=1e-6)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, CycledMomentum)
    assert loaded.optimizer.get_config()["inner"]["config"]["beta_1"] == 0.9
    with pytest.raises(ValueError, match="momentum > 0"):
        CycledMomentum(keras.optimizers.SGD(0.1), one_cycle)


# --- LR range test --------------------------------------------------------------------
def _regression():
    x = RNG.normal(size=(512, 4)).astype("float32")
    y = x @ RNG.normal(size=(4, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mse")
    return model, x, y


def test_range_test_finds_a_range_stops_on_divergence_and_restores_everything():
    model, x, y = _regression()
    model.fit(x, y, epochs=1, verbose=0)  # give the optimizer state to restore
    weights = [np.array(w) for w in model.get_weights()]
    state = [np.array(v) for v in model.optimizer.variables]
    result = lr_range_test(model, x, y, start=1e-5, end=100.0, steps=150, batch_size=32)
    assert "above" in result.stopped or "non-finite" in result.stopped
    assert len(result.losses) < 150
    assert np.all(np.diff(result.learning_rates) > 0)
    low, high = result.suggested_range
    assert 1e-5 <= low <= high <= 100.0
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(state, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(before, np.array(after))
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)
    assert math.isfinite(result.steepest)
    ax = plot_range_test(result)
    assert ax.get_xscale() == "log" and len(ax.lines) == 2


def test_range_test_needs_a_settable_learning_rate():
    model, x, y = _regression()
    model.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)), loss="mse")
    with pytest.raises(TypeError, match="float learning_rate"):
        lr_range_test(model, x, y, steps=10)


# --- gradient accumulation (Keras's own) ------------------------------------------
def test_four_accumulated_batches_of_16_equal_one_batch_of_64():
    x = RNG.normal(size=(64, 5)).astype("float32")
    y = RNG.normal(size=(64, 1)).astype("float32")

    def trained(batch_size, accumulation):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.1, gradient_accumulation_steps=accumulation), loss="mse")
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        return model.get_weights()

    for a, b in zip(trained(16, 4), trained(64, None), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _reading(losses: list[float], stopped: str = "loss above 4.0x its best"):
    from harness.optimizers import RangeTest, read_range_test

    rates = np.logspace(-7, 1, len(losses))
    smoothed = np.array([x if np.isfinite(x) else np.nan for x in losses])
    return read_range_test(RangeTest(rates, np.array(losses), smoothed, stopped, 1e-3, 1e-2))


def test_reading_a_range_test_finds_its_three_regions_and_flags_a_broken_curve():
    healthy = _reading([2.3] * 30 + list(np.linspace(2.3, 0.5, 30)) + [0.6, 1.5, 3.0])
    assert healthy["range_three_regions"] == 1 and healthy["range_flagged"] == 0
    assert healthy["range_log10_spread"] == pytest.approx(1.0)
    no_descent = _reading([2.3] * 40 + [2.4, 5.0, 12.0])
    assert no_descent["range_descends"] == 0 and no_descent["range_flagged"] == 1
    moving_at_once = _reading([*np.geomspace(180.0, 5.0, 40), 9.0, 30.0])  # unscaled inputs: no flat start
    assert moving_at_once["range_descends"] == 1 and moving_at_once["range_flat_start"] == 0
    assert moving_at_once["range_flagged"] == 1
    early_gap = _reading([2.3, 2.3, float("nan")], stopped="non-finite loss at learning rate 1e-07")
    assert early_gap["range_flagged"] == 1 and early_gap["range_diverges"] == 1
    assert _reading([2.3] * 20, stopped="reached end=10")["range_diverges"] == 0
    rising_end = _reading([2.3] * 30 + list(np.linspace(2.3, 1.0, 20)) + [1.2, 1.8], stopped="reached end=10")
    assert rising_end["range_diverges"] == 1  # climbed past 1.25 x its lowest without passing the stop bound


def test_the_steepest_suggestion_lies_before_the_minimum_past_the_one_sided_ends():
    from harness.optimizers.range_test import suggestions

    rates = np.logspace(-7, 1, 60)
    smoothed = np.concatenate([[3.0, 2.0], np.full(28, 2.3), np.linspace(2.3, 0.5, 25), [0.7, 1.5, 3.0, 6.0, 9.0]])
    steepest, over_10 = suggestions(rates, smoothed, window=5)  # the first 2 points average one side only
    assert rates[30] <= steepest <= rates[54] and over_10 == pytest.approx(
        rates[54] / 10
    )  # inside the descent, not the one-sided first points or the blow-up


def test_the_read_curve_does_not_lag_the_loss():
    """A running average (β = 0.98) puts the minimum of a noisy V-shaped curve about 1 / (1 − β)
    steps late — more than a decade of learning rate at 300 steps; the centred average does not."""
    from harness.optimizers.range_test import centred_average

    steps, bottom = 300, 200
    truth = 2.4 - 0.6 * np.clip(np.arange(steps) / bottom, 0, 1) + 0.005 * np.clip(np.arange(steps) - bottom, 0, None)
    noisy = truth + np.random.default_rng(0).normal(0, 0.1, steps)
    centred = centred_average(noisy, 31)
    assert abs(int(np.argmin(centred)) - bottom) <= 10
    running, average = [], 0.0
    for step, loss in enumerate(noisy):
        average = 0.98 * average + 0.02 * loss
        running.append(average / (1 - 0.98 ** (step + 1)))
    assert int(np.argmin(running)) - bottom >= 30
    gapped = centred_average(np.array([1.0, 2.0, 3.0, np.nan, 5.0]), 3)
    np.testing.assert_allclose(gapped[:3], [1.5, 2.0, 2.5])  # the ends average what the window holds
    assert np.isnan(gapped[3:]).all()  # nothing is read past the first non-finite loss


def test_a_range_test_reads_its_lowest_loss_rate_and_records_the_window():
    model, x, y = _regression()
    result = lr_range_test(model, x, y, start=1e-5, end=100.0, steps=150, batch_size=32)
    assert result.window == 15 and result.smoothed.shape == result.losses.shape
    from harness.optimizers import read_range_test

    reading = read_range_test(result)
    assert reading["range_min_loss_lr"] == pytest.approx(10 * reading["range_min_loss_lr_over_10"])
    assert reading["range_min_loss_lr"] == pytest.approx(result.learning_rates[np.nanargmin(result.smoothed)])


def test_the_range_metrics_the_workload_declares_are_the_ones_read():
    from harness.workloads.components import RANGE_METRICS

    assert set(_reading([2.3] * 5)) == set(RANGE_METRICS)
