"""Workloads: the training programs a suite runs (one trial = one workload run).

A workload is a function ``run(settings, seed, callbacks=None) -> Outcome`` (``callbacks``:
extra Keras callbacks for the training of the model that is scored, e.g. pruning); its settings model lives
in a module of its own that does not import Keras, so suites validate instantly.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    """What one workload run measured."""

    metrics: dict[str, float]  # final values, e.g. test_accuracy
    history: dict[str, list[float]]  # per-epoch values, e.g. val_accuracy
    data_source: str
    data_digest: str
    diverged: str | None = None  # why training stopped on a non-finite loss
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # MLflow keeps one series per name: a final metric named like a curve must be the curve's last point.
        for key in self.metrics.keys() & self.history.keys():
            if self.history[key] and self.metrics[key] != self.history[key][-1]:
                raise ValueError(f"metric '{key}' differs from the last point of the curve '{key}': rename one")
