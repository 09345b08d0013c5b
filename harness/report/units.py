"""How a metric's values and differences are written: accuracies as % and points, speed-ups as ×."""

from __future__ import annotations

import math

AXIS_NAMES = {"updates": "updates", "grad_evals": "gradient evaluations", "epochs": "epochs", "seconds": "s"}


class Formatter:
    """Formats values of the claim's metric: accuracies as %, differences as points; for a speed claim
    (``axis``), times on that axis and effects — log ratios — as speed-ups ``×2.31``."""

    def __init__(self, metric: str, axis: str | None = None) -> None:
        self.axis = axis
        self.percent = "accuracy" in metric and not axis
        self.scale = 100.0 if self.percent else 1.0

    @classmethod
    def of(cls, results: dict) -> Formatter:
        scale = results.get("scale") or {}
        return cls(results["claim"]["metric"], scale.get("axis"))

    @classmethod
    def row(cls, comparison: dict, default: Formatter) -> Formatter:
        """The formatter of a comparison's own metric (a report made before comparisons had one: ``default``)."""
        return cls(comparison["metric"], comparison["axis"]) if "axis" in comparison else default

    def value(self, x: float) -> str:
        if self.axis:
            return f"{x:.4g} {AXIS_NAMES[self.axis]}"
        return f"{x * self.scale:.2f}%" if self.percent else f"{x:.4g}"

    def delta(self, x: float) -> str:
        if self.axis:
            return f"×{math.exp(x):.3g}"
        return f"{x * self.scale:+.2f} points" if self.percent else f"{x:+.4g}"

    def magnitude(self, x: float) -> str:
        """A size without its sign: a margin, an SD (``0.50 points``)."""
        return self.delta(x).lstrip("+")

    @property
    def unit(self) -> str:
        """The unit of differences, for a column header ("points" for accuracies)."""
        if self.axis:
            return "speed-up, baseline time ÷ treatment time"
        return "points" if self.percent else ""

    def compact(self, estimate: dict) -> str:
        """A difference with its interval and n, unit left to the header: ``+5.97 (+1.28 to +10.67; n = 30)``."""
        scale = self.scale

        def show(x: float | None) -> str:
            if x is not None and self.axis:
                return self.delta(x)
            return "unbounded" if x is None else f"{x * scale:+.2f}"

        return f"{show(estimate['value'])} ({show(estimate['low'])} to {show(estimate['high'])}; n = {estimate['n']})"

    def ci(self, estimate: dict, delta: bool = False) -> str:
        show = self.delta if delta else self.value
        return (
            f"{show(estimate['value'])} (95% CI {show(estimate['low'])} to {show(estimate['high'])}; "
            f"n = {estimate['n']})"
        )
