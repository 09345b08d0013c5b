"""Settings of the synthetic workload (no Keras): known truth, for tests and calibration."""

from __future__ import annotations

from pydantic import Field, PositiveFloat, PositiveInt

from harness.workloads.components import TEST, VALIDATION, WorkloadSettings


class SyntheticSettings(WorkloadSettings):
    """An arm whose score is drawn from a known distribution, seeded by the trial's seed.

    ``test_accuracy ~ Normal(mean + effect - penalty, sd)`` where ``penalty`` grows with the
    distance of ``log10(learning_rate)`` from ``log10(best_learning_rate)``, so a sweep has
    something to find; ``val_accuracy`` is the same truth with independent noise. Half of the
    noise variance is shared by every arm of a seed (paired), half is the arm's own. Each of
    ``epochs`` epochs reports a rising ``val_accuracy`` (for pruning) after ``delay_s``.
    """

    mean: float = 0.8
    effect: float = 0.0
    sd: PositiveFloat = 0.01
    learning_rate: PositiveFloat = 0.01
    best_learning_rate: PositiveFloat = 0.01
    penalty_per_decade: float = Field(0.02, ge=0)
    epochs: PositiveInt = 3
    noise_key: str = Field("", description="arms with equal settings draw the same noise unless their keys differ")
    delay_s: float = Field(0.0, ge=0, description="seconds per epoch (to test kills mid-trial)")

    def metrics(self) -> dict[str, str]:
        return {"test_accuracy": TEST, "val_accuracy": VALIDATION}

    def curves(self) -> dict[str, str]:
        return {"val_accuracy": VALIDATION}
