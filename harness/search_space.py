"""Search spaces and tuning settings of a suite (pydantic; Optuna is imported only to sample)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Param(_Strict):
    """One tuned setting: a range ``[low, high]`` (``log``, ``step``, ``integer``) or ``choices``."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(None, gt=0)
    integer: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> Param:
        if self.choices is not None:
            if not self.choices:
                raise ValueError("choices is empty: list at least one value")
            if self.low is not None or self.high is not None:
                raise ValueError("give either choices or low/high, not both")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs both low and high (or give choices)")
        if not self.low < self.high:
            raise ValueError(f"empty or inverted range: low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")
        if self.log and self.step is not None:
            raise ValueError("a log range cannot have a step")
        return self

    def suggest(self, trial, name: str) -> Any:
        """Draw this parameter from an Optuna trial."""
        if self.choices is not None:
            return trial.suggest_categorical(name, self.choices)
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)


class Sampler(_Strict):
    """TPE with every argument written out (Optuna 5 changed the defaults), random search, or a grid.

    ``grid`` tries every combination of the ``choices`` once (in a seeded order); the
    profile's budget must then be the grid's size.
    """

    kind: Literal["tpe", "random", "grid"] = "tpe"
    n_startup_trials: PositiveInt = 5
    n_ei_candidates: PositiveInt = 24
    multivariate: bool = True
    constant_liar: bool = True  # parallel workers do not all sample the same point


class Pruner(_Strict):
    """Median pruning on the objective, reported once per epoch."""

    kind: Literal["median", "none"] = "median"
    monitor: str = Field("val_accuracy", description="the per-epoch validation metric reported to the pruner")
    n_startup_trials: int = Field(5, ge=0)
    n_warmup_steps: int = Field(2, ge=0, description="epochs before a trial can be pruned")


class Tuning(_Strict):
    """How every arm is tuned: the same objective, sampler, pruner, budget and shared ranges."""

    objective: str = Field("val_accuracy", description="a validation metric of the trial; never a test metric")
    higher_is_better: bool = True
    search_space: dict[str, Param] = Field({}, description="shared: the same range for every arm")
    sampler: Sampler = Sampler()
    pruner: Pruner = Pruner(kind="none")

    @model_validator(mode="after")
    def _not_the_test_set(self) -> Tuning:
        for what, name in (("objective", self.objective), ("pruner.monitor", self.pruner.monitor)):
            if "test" in name.lower():
                raise ValueError(f"{what} '{name}' is a test-set metric; tune on a validation metric (val_accuracy)")
        return self
