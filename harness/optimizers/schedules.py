"""Cyclical learning rates (Smith 2015) and the 1cycle policy (Smith 2018) as Keras schedules.

SGDR (cosine annealing with warm restarts) is ``keras.optimizers.schedules.CosineDecayRestarts``.
"""

from __future__ import annotations

import itertools
import math
import numbers

import keras
from keras import ops

from harness.optimizers.wrapper import positive_integer

MODES = ("triangular", "triangular2", "exp_range")


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be positive and finite, got {name}={value!r}")


def _wide_float() -> str:
    """float64 where the backend computes in it (JAX only with ``jax_enable_x64``), else float32."""
    if keras.backend.backend() == "jax":
        import jax

        return "float64" if jax.config.jax_enable_x64 else "float32"
    return "float64"


@keras.saving.register_keras_serializable(package="harness")
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Triangular cycles between ``base`` and ``max`` with half-period ``step_size`` steps.

    ``triangular2`` halves the amplitude every cycle; ``exp_range`` scales it by
    ``gamma ** step``. Computed in float64 (where the backend has it) and rounded to
    float32 once: the cycle's phase is exact and ``gamma ** step`` keeps its precision over
    millions of steps.
    """

    def __init__(
        self,
        base_learning_rate: float,
        max_learning_rate: float,
        step_size: float,
        mode: str = "triangular",
        gamma: float = 1.0,
        name: str = "cyclical",
    ) -> None:
        _positive("base_learning_rate", base_learning_rate)
        _positive("max_learning_rate", max_learning_rate)
        _positive("step_size", step_size)
        if max_learning_rate < base_learning_rate:
            raise ValueError(
                f"max_learning_rate ({max_learning_rate!r}) must be >= base_learning_rate ({base_learning_rate!r})"
            )
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got mode={mode!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got gamma={gamma!r}")
        self.base_learning_rate, self.max_learning_rate = float(base_learning_rate), float(max_learning_rate)
        self.step_size, self.mode, self.gamma, self.name = float(step_size), mode, float(gamma), name

    def __call__(self, step):
        dtype = _wide_float()
        step = ops.cast(step, dtype)
        period = 2 * self.step_size
        phase = ops.mod(step, period)  # exact: no rounding of step / period decides the cycle
        cycle = ops.round((step - phase) / period)  # from 0
        rising = ops.where(phase < self.step_size, phase, period - phase)
        rise = rising / self.step_size  # 0 at a cycle's ends, 1 at its peak
        if self.mode == "triangular2":
            scale = ops.power(ops.cast(0.5, dtype), cycle)
        elif self.mode == "exp_range":
            scale = ops.exp(step * math.log(self.gamma))
        else:
            scale = 1.0
        amplitude = (self.max_learning_rate - self.base_learning_rate) * rise * scale
        return ops.cast(self.base_learning_rate + amplitude, "float32")

    def get_config(self) -> dict:
        return {
            "base_learning_rate": self.base_learning_rate,
            "max_learning_rate": self.max_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="harness")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """1cycle: warm up from max/div to max, anneal back to max/div, then annihilate.

    Over ``total_steps``: the first ``(1 - annihilation_fraction) / 2`` of the steps rise
    linearly to ``max_learning_rate``, the next equal part falls back to
    ``max_learning_rate / div_factor``, and the rest falls linearly to
    ``max_learning_rate / div_factor / final_div_factor``; constant afterwards.
    :meth:`momentum` gives the inverse cycle (``max_momentum`` → ``min_momentum`` → back),
    applied by :class:`CycledMomentum`.
    """

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        annihilation_fraction: float = 0.1,
        max_momentum: float = 0.95,
        min_momentum: float = 0.85,
        name: str = "one_cycle",
    ) -> None:
        total_steps = positive_integer("total_steps", total_steps)
        for key, value in (
            ("max_learning_rate", max_learning_rate),
            ("div_factor", div_factor),
            ("final_div_factor", final_div_factor),
        ):
            _positive(key, value)
        if not 0 <= annihilation_fraction < 1:
            raise ValueError(f"annihilation_fraction must be in [0, 1), got {annihilation_fraction!r}")
        if not 0 <= min_momentum <= max_momentum < 1:
            raise ValueError(f"need 0 <= min_momentum <= max_momentum < 1, got {min_momentum!r}, {max_momentum!r}")
        self.max_learning_rate, self.total_steps = float(max_learning_rate), int(total_steps)
        self.div_factor, self.final_div_factor = float(div_factor), float(final_div_factor)
        self.annihilation_fraction, self.name = float(annihilation_fraction), name
        self.max_momentum, self.min_momentum = float(max_momentum), float(min_momentum)

    def _points(self) -> tuple[float, float, float]:
        half = self.total_steps * (1 - self.annihilation_fraction) / 2
        return half, 2 * half, float(self.total_steps)

    @staticmethod
    def _interpolate(step, points: list[tuple[float, float]]):
        """Piecewise-linear through (step, value) points, constant outside them."""
        value = ops.cast(points[0][1], "float32")
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            share = ops.clip((step - x0) / max(x1 - x0, 1e-12), 0.0, 1.0)
            value = ops.where(step >= x0, y0 + (y1 - y0) * share, value)
        return value

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak, valley, end = self._points()
        low = self.max_learning_rate / self.div_factor
        return self._interpolate(
            step, [(0.0, low), (peak, self.max_learning_rate), (valley, low), (end, low / self.final_div_factor)]
        )

    def momentum(self, step):
        step = ops.cast(step, "float32")
        peak, valley, _ = self._points()
        return self._interpolate(
            step, [(0.0, self.max_momentum), (peak, self.min_momentum), (valley, self.max_momentum)]
        )

    def get_config(self) -> dict:
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "annihilation_fraction": self.annihilation_fraction,
            "max_momentum": self.max_momentum,
            "min_momentum": self.min_momentum,
            "name": self.name,
        }
