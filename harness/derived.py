"""Metrics derived from a run's curve, declared in a suite's ``derived:`` section.

- ``time_to_target``: where on an axis (updates, gradient evaluations, epochs, training
  seconds) the curve first reaches a target — absolute (``value: 0.85``) or relative to an
  arm (``relative_to: sgd, fraction: 0.99``: 99% of that arm's mean final value). A run that
  never reaches it is **censored**: it counts at its budget (the axis's planned end) and its
  ``<name>.reached`` is 0; it is never dropped and never counted as reaching.
- ``area``: the curve's mean height over the run (trapezoids over the axis), in the curve's units.
- ``best_within``: the curve's best value at or before ``budget`` on the axis.

All three are computed from the runs' recorded curves when a report is made (a relative
target needs the other arm's runs), so changing one needs no re-run.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, PositiveFloat, model_validator

from harness.workloads.components import AXES, PLANNED, Strict, axis_key

REACHED = ".reached"  # <name>.reached: 1 if the run reached the target, 0 if censored at its budget
Axis = Literal[AXES]  # type: ignore[valid-type]


def rises(curve: str) -> bool:
    """Whether better is higher on ``curve`` (losses fall; everything else is taken to rise)."""
    return "loss" not in curve


def curve_range(curve: str) -> tuple[float, float]:
    """The values ``curve`` can take: accuracies in [0, 1], losses ≥ 0, anything else unbounded."""
    if "accuracy" in curve:
        return 0.0, 1.0
    return (0.0, math.inf) if "loss" in curve else (-math.inf, math.inf)


class Target(Strict):
    """``value``, or ``fraction`` × the mean final value of arm ``relative_to``'s runs."""

    value: float | None = None
    relative_to: str | None = Field(None, description="an arm: the target is fraction × its runs' mean final value")
    fraction: PositiveFloat = 1.0

    @model_validator(mode="after")
    def _one_kind(self) -> Target:
        if (self.value is None) == (self.relative_to is None):
            raise ValueError("give the target as value: 0.85, or as relative_to: ARM with fraction: 0.99")
        if self.value is not None and "fraction" in self.model_fields_set:
            raise ValueError("fraction goes with relative_to, not with value")
        return self


class _OnCurve(Strict):
    curve: str = Field(
        "step.val_accuracy",
        description="a recorded curve: step.val_accuracy (every eval_every_steps updates) or a per-epoch one",
    )
    axis: Axis = Field("updates", description="updates, grad_evals, epochs or seconds (training time)")


class TimeToTarget(_OnCurve):
    """Updates (or another axis) until the curve first reaches the target; censored at the budget."""

    kind: Literal["time_to_target"]
    target: Target


class AreaUnderCurve(_OnCurve):
    """The curve's mean height over the run (area under it ÷ the axis's span)."""

    kind: Literal["area"]


class BestWithin(_OnCurve):
    """The best value of the curve at or before ``budget`` on the axis."""

    kind: Literal["best_within"]
    budget: PositiveFloat


Derived = Annotated[TimeToTarget | AreaUnderCurve | BestWithin, Field(discriminator="kind")]
DERIVED_KINDS = ("time_to_target", "area", "best_within")


def first_reaching(xs, ys, target: float, rising: bool) -> float | None:
    """The first x where y reaches ``target`` (≥ when rising, ≤ when falling); None if it never does."""
    ys = np.asarray(ys, dtype=float)
    with np.errstate(invalid="ignore"):
        hits = ys >= target if rising else ys <= target
    found = np.flatnonzero(hits & np.isfinite(ys))
    return float(np.asarray(xs, dtype=float)[found[0]]) if found.size else None


def mean_height(xs, ys) -> float | None:
    """Trapezoid area under the curve ÷ its span; None if a point is not finite or the span is empty."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if xs.size == 0 or not np.isfinite(ys).all():
        return None
    if xs.size == 1 or xs[-1] == xs[0]:
        return float(ys[-1])
    return float(np.trapezoid(ys, xs) / (xs[-1] - xs[0]))


def best_within(xs, ys, budget: float, rising: bool) -> float | None:
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    kept = ys[(xs <= budget) & np.isfinite(ys)]
    if kept.size == 0:
        return None
    return float(kept.max() if rising else kept.min())


def budget_of(metrics: dict[str, float], axis: str) -> float | None:
    """Where a run was planned to end on ``axis`` (seconds: its training time, extrapolated to the plan)."""
    if axis != "seconds":
        return metrics.get(PLANNED + axis)
    done, planned, seconds = metrics.get("updates"), metrics.get(PLANNED + "updates"), metrics.get("train_s")
    if not (done and planned and seconds is not None):
        return None
    return seconds * planned / done


def final_value(history: dict[str, list[float]], curve: str) -> float | None:
    values = history.get(curve) or []
    return float(values[-1]) if values and math.isfinite(values[-1]) else None


def compute(
    spec: Derived, history: dict[str, list[float]], metrics: dict[str, float], target: float | None
) -> dict[str, float]:
    """One run's value of ``spec`` (``target``: the resolved target of a time_to_target), keyed by the
    suffix to add to the metric's name: "" for the value, ``.reached`` for time_to_target; {} if none."""
    xs, ys = history.get(axis_key(spec.curve, spec.axis)), history.get(spec.curve)
    if not xs or not ys or len(xs) != len(ys):
        return {}
    rising = rises(spec.curve)
    if isinstance(spec, TimeToTarget):
        reached = first_reaching(xs, ys, target, rising) if target is not None else None
        budget = budget_of(metrics, spec.axis)
        if reached is not None:
            return {"": reached, REACHED: 1.0}
        return {"": budget, REACHED: 0.0} if budget is not None else {}
    value = mean_height(xs, ys) if isinstance(spec, AreaUnderCurve) else best_within(xs, ys, spec.budget, rising)
    return {} if value is None else {"": value}
