"""Learning-rate range test (Smith 2015): loss against an exponentially rising learning rate."""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

WINDOW = 0.1  # the reading's smoothing window, as a share of the test's planned steps


@dataclass(frozen=True)
class RangeTest:
    learning_rates: np.ndarray  # one per step taken
    losses: np.ndarray  # raw per-step training loss
    smoothed: np.ndarray  # centred moving average of the loss (no lag), NaN from the first non-finite loss
    stopped: str  # why the test ended
    steepest: float  # learning rate where the smoothed loss falls fastest (per log-step)
    min_loss_over_10: float  # learning rate of the lowest smoothed loss, divided by 10
    window: int = 1  # the smoothing window in steps; its half at either end is not read for a suggestion

    @property
    def suggested_range(self) -> tuple[float, float]:
        return tuple(sorted((self.steepest, self.min_loss_over_10)))


def _batches(x, y, batch_size: int, seed: int):
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            rows = order[start : start + batch_size]
            yield x[rows], y[rows]


def lr_range_test(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 200,
    batch_size: int = 32,
    smoothing: float = 0.98,
    divergence: float = 4.0,
    seed: int = 0,
) -> RangeTest:
    """Train ``steps`` batches with the learning rate rising from ``start`` to ``end``.

    Stops early when the loss is not finite or its running average (an exponential one,
    ``smoothing``) exceeds ``divergence`` × its best. The curve that is read is smoothed
    afterwards by a centred moving average over ``WINDOW`` × ``steps`` steps: a running
    average lags by about 1 / (1 − ``smoothing``) steps, more than a decade of learning rate
    at a few hundred steps, and would move the suggestions with it. The model's weights, its
    optimizer's state and learning rate are restored afterwards. The compiled optimizer must
    have a float (settable) learning rate.
    """
    if not 0 < start < end:
        raise ValueError(f"need 0 < start < end, got start={start!r}, end={end!r}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps!r}")
    optimizer = model.optimizer
    if isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        raise TypeError("lr_range_test needs an optimizer created with a float learning_rate, not a schedule")
    if not model.built:
        model(x[:1])
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    weights = [np.array(w) for w in model.get_weights()]
    state = [np.array(keras.ops.convert_to_numpy(v)) for v in optimizer.variables]  # copies, on every backend
    batches = _batches(x, y, batch_size, seed)
    original_rate = float(optimizer.learning_rate)

    rates = start * (end / start) ** (np.arange(steps) / (steps - 1))
    losses, average, best, stopped = [], 0.0, math.inf, f"reached end={end}"
    try:
        for step, rate in enumerate(rates):
            optimizer.learning_rate = float(rate)
            loss = float(model.train_on_batch(*next(batches), return_dict=True)["loss"])
            losses.append(loss)
            if not math.isfinite(loss):
                stopped = f"non-finite loss at learning rate {rate:.3g}"
                break
            average = smoothing * average + (1 - smoothing) * loss
            running = average / (1 - smoothing ** (step + 1))
            best = min(best, running)
            if running > divergence * best:
                stopped = f"loss above {divergence}x its best at learning rate {rate:.3g}"
                break
    finally:
        model.set_weights(weights)
        for variable, value in zip(optimizer.variables, state, strict=True):
            variable.assign(value)
        optimizer.learning_rate = original_rate
    taken, window = rates[: len(losses)], max(1, round(WINDOW * steps) // 2 * 2 + 1)
    curve = centred_average(np.array(losses), window)
    return RangeTest(taken, np.array(losses), curve, stopped, *suggestions(taken, curve, window), window)


def centred_average(losses: np.ndarray, window: int) -> np.ndarray:
    """A moving average centred on each step (``window`` odd), over the losses before the first
    non-finite one; the ends average over what the window holds; NaN from the first non-finite loss."""
    bad = np.flatnonzero(~np.isfinite(losses))
    finite = losses[: bad[0]] if bad.size else losses
    curve = np.full(losses.shape, np.nan)
    if finite.size:
        sums = np.concatenate([[0.0], np.cumsum(finite)])
        index = np.arange(finite.size)
        low, high = np.maximum(index - window // 2, 0), np.minimum(index + window // 2 + 1, finite.size)
        curve[: finite.size] = (sums[high] - sums[low]) / (high - low)
    return curve


def suggestions(rates: np.ndarray, smoothed: np.ndarray, window: int = 1) -> tuple[float, float]:
    """(steepest, min_loss_over_10): the rate where the smoothed loss falls fastest per log-step —
    before its minimum, past the first half ``window`` where the average is one-sided — and the
    rate of the lowest smoothed loss ÷ 10; NaN for both without a finite loss."""
    finite = np.isfinite(smoothed)
    if not finite.any():  # not one finite loss: nothing to suggest (a broken model or input)
        return math.nan, math.nan
    rate, loss = rates[finite], smoothed[finite]
    lowest = int(np.argmin(loss))
    slopes = np.gradient(loss, np.log(rate)) if loss.size > 1 else np.zeros(1)
    skip = min(window // 2, lowest // 2)
    steepest = skip + int(np.argmin(slopes[skip : lowest + 1])) if lowest > skip else int(np.argmin(slopes))
    return float(rate[steepest]), float(rate[lowest] / 10)


FLAT = 0.1  # the first tenth of the test (past the half window) moves the smoothed loss by less than this
DESCENT = 0.9  # the smoothed loss falls to this fraction of its start: a descent region
RISE = 1.25  # the test stops early, or the smoothed loss climbs past this multiple of its lowest: a divergence


def read_range_test(result: RangeTest) -> dict[str, float]:
    """Smith's reading of a range test as numbers: the two suggestions, the lowest loss's rate, the
    spread between the suggestions (in decades), and 0/1 flags for a flat start, a descent, a
    divergence (stopped early, or climbing past ``RISE`` × its lowest after it), all three regions,
    and a curve that signals a broken setup: the loss already moving at the smallest rates (no flat
    start), no descent, or a non-finite loss before it."""
    curve = result.smoothed
    skip = min(result.window // 2, curve.size // 4)
    head = curve[skip : skip + max(2, curve.size // 10)]
    start = head[0] if head.size and np.isfinite(head[0]) else math.nan
    flat = bool(np.isfinite(start) and np.all(np.abs(head - start) <= FLAT * abs(start)))
    descending = np.flatnonzero(curve <= DESCENT * start) if np.isfinite(start) else np.array([], int)
    broken_at = np.flatnonzero(~np.isfinite(result.losses))
    descends = descending.size > 0
    early_gap = broken_at.size > 0 and (not descends or broken_at[0] < descending[0])
    finite = curve[np.isfinite(curve)]
    rising = finite.size > 0 and finite[int(np.argmin(finite)) :].max() > RISE * finite.min()
    diverges = not result.stopped.startswith("reached") or bool(rising)
    low, high = sorted((result.steepest, result.min_loss_over_10))
    return {
        "range_steepest_lr": result.steepest,
        "range_log10_steepest_lr": float(np.log10(result.steepest)) if result.steepest > 0 else math.nan,
        "range_min_loss_lr": 10 * result.min_loss_over_10,
        "range_min_loss_lr_over_10": result.min_loss_over_10,
        "range_log10_spread": float(np.log10(high / low)) if low > 0 else math.nan,
        "range_flat_start": float(flat),
        "range_descends": float(descends),
        "range_diverges": float(diverges),
        "range_three_regions": float(flat and descends and diverges),
        "range_flagged": float(not flat or not descends or early_gap),
    }


def plot_range_test(result: RangeTest, ax=None):
    """Smoothed loss against learning rate (log scale), with the suggested range shaded."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 4))[1]
    ax.plot(result.learning_rates, result.losses, color="0.75", lw=0.8, label="loss")
    ax.plot(result.learning_rates, result.smoothed, color="C0", label="smoothed")
    ax.axvspan(*result.suggested_range, color="C2", alpha=0.2, label="suggested range")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(f"LR range test ({result.stopped})", fontsize=9)
    ax.legend(frameon=False)
    return ax
