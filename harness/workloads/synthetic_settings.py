"""Settings of the synthetic workload (no Keras): known truth, for tests and calibration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt


class SyntheticSettings(BaseModel):
    """An arm whose score is drawn from a known distribution, seeded by the trial's seed.

    ``test_accuracy ~ Normal(mean + effect - penalty, sd)`` where ``penalty`` grows with the
    distance of ``log10(learning_rate)`` from ``log10(best_learning_rate)``, so a sweep has
    something to find; ``val_accuracy`` is the same truth with independent noise. Half of the
    noise variance is shared by every arm of a seed (paired), half is the arm's own. Each of
    ``epochs`` epochs reports a rising ``val_accuracy`` (for pruning) after ``delay_s``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field("none", description="synthetic data: nothing to load")
    mean: float = 0.8
    effect: float = 0.0
    sd: PositiveFloat = 0.01
    learning_rate: PositiveFloat = 0.01
    best_learning_rate: PositiveFloat = 0.01
    penalty_per_decade: float = Field(0.02, ge=0)
    epochs: PositiveInt = 3
    noise_key: str = Field("", description="arms with equal settings draw the same noise unless their keys differ")
    delay_s: float = Field(0.0, ge=0, description="seconds per epoch (to test kills mid-trial)")

    def data_arguments(self) -> dict:
        return {}
