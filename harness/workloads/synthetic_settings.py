"""Settings of the synthetic workload (no Keras): known truth, for tests and calibration."""

from __future__ import annotations

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from harness.workloads.components import AXES, INFO, PLANNED, STEP, TEST, VALIDATION, WorkloadSettings


class SyntheticSettings(WorkloadSettings):
    """An arm whose score is drawn from a known distribution, seeded by the trial's seed.

    ``test_accuracy ~ Normal(mean + effect - penalty, sd)`` where ``penalty`` grows with the
    distance of ``log10(learning_rate)`` from ``log10(best_learning_rate)``, so a sweep has
    something to find; ``val_accuracy`` is the same truth with independent noise. Half of the
    noise variance is shared by every arm of a seed (paired), half is the arm's own. Each of
    ``epochs`` epochs reports a rising ``val_accuracy`` (for pruning) after ``delay_s``.

    With ``curve_updates``, a run also records a speed curve ``step.val_accuracy`` =
    ``mean·(1 − 0.1^(u/T))`` every ``eval_every`` updates up to ``curve_updates``: it reaches 90% of
    ``mean`` after ``T = time_scale / speedup · exp(log_sd · z)`` updates, ``z`` standard normal,
    half shared by every arm of a seed. The true speed-up of two arms is the ratio of their ``speedup``.
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
    curve_updates: NonNegativeInt = Field(0, description="updates of the speed curve; 0: none")
    eval_every: PositiveInt = 50
    time_scale: PositiveFloat = 1000.0
    speedup: PositiveFloat = 1.0
    log_sd: float = Field(0.3, ge=0)

    def metrics(self) -> dict[str, str]:
        found = {"test_accuracy": TEST, "val_accuracy": VALIDATION}
        if self.curve_updates:
            found |= {"updates": INFO, "train_s": INFO} | {f"{PLANNED}{axis}": INFO for axis in AXES[:3]}
        return found

    def curves(self) -> dict[str, str]:
        found = {"val_accuracy": VALIDATION}
        if self.curve_updates:
            found |= {f"{STEP}val_accuracy": VALIDATION} | {f"{STEP}at_{axis}": INFO for axis in AXES}
        return found
