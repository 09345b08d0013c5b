"""One trial: (suite, profile, arm, seed, settings) → one workload run → one result record."""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

OK, DIVERGED, FAILED = "ok", "diverged", "failed"


@dataclass(frozen=True)
class TrialSpec:
    suite: str
    profile: str
    arm: str
    seed_index: int
    seed: int
    workload: str
    settings: dict[str, Any]

    @property
    def params_hash(self) -> str:
        return settings_hash(self.settings)

    @property
    def key(self) -> str:
        """Identifies a trial across runs of the harness (used to resume)."""
        return f"{self.suite}/{self.profile}/{self.arm}/seed={self.seed}/{self.params_hash}"


@dataclass
class TrialResult:
    spec: TrialSpec
    status: str  # ok | diverged | failed
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    wall_time_s: float = 0.0
    data_source: str = ""
    data_digest: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)  # Unix seconds
    ended_at: float = field(default_factory=time.time)
    epoch_times: list[float] = field(default_factory=list)  # when each scored epoch ended

    def point_times(self, key: str) -> list[float]:
        """When each point of the curve ``key`` was measured: its epoch's end on the trial's epoch clock,
        or the trial's end for curves off that clock (a pre-trained model's)."""
        from harness.training import PRETRAIN

        values = self.history[key]
        if len(values) == len(self.epoch_times) and not key.startswith(PRETRAIN):
            return self.epoch_times
        return [self.ended_at] * len(values)


def settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_trial(spec: TrialSpec, threads: int | None = None, callbacks: list | None = None, on_epoch=None) -> TrialResult:
    """Run one trial; a non-finite loss gives ``diverged``, an exception ``failed``.

    ``callbacks`` (Keras callbacks, e.g. a pruning reporter) join the workload's training;
    ``on_epoch(epochs_done, logs)`` is told after each epoch (live progress).
    """
    from harness.registry import WORKLOAD_SETTINGS, WORKLOADS
    from harness.seeds import make_deterministic

    started_at, start = time.time(), time.perf_counter()
    clock = None
    try:
        from harness.training import EpochClock

        make_deterministic(spec.seed, threads)
        clock = EpochClock(on_epoch)
        settings = WORKLOAD_SETTINGS.get(spec.workload)(**spec.settings)
        outcome = WORKLOADS.get(spec.workload)(settings, spec.seed, callbacks=[*(callbacks or []), clock])
    except Exception as error:
        return TrialResult(
            spec,
            FAILED,
            f"{type(error).__name__}: {error}",
            wall_time_s=time.perf_counter() - start,
            extra={"traceback": traceback.format_exc()},
            started_at=started_at,
            epoch_times=clock.times if clock else [],
        )
    return TrialResult(
        spec,
        DIVERGED if outcome.diverged else OK,
        outcome.diverged or "",
        outcome.metrics,
        outcome.history,
        time.perf_counter() - start,
        outcome.data_source,
        outcome.data_digest,
        outcome.extra,
        started_at=started_at,
        epoch_times=clock.times,
    )
