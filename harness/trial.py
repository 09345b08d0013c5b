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


def settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_trial(spec: TrialSpec, threads: int | None = None, callbacks: list | None = None) -> TrialResult:
    """Run one trial; a non-finite loss gives ``diverged``, an exception ``failed``.

    ``callbacks`` (Keras callbacks, e.g. a pruning reporter) join the workload's training.
    """
    from harness.registry import WORKLOAD_SETTINGS, WORKLOADS
    from harness.seeds import make_deterministic

    start = time.perf_counter()
    try:
        make_deterministic(spec.seed, threads)
        settings = WORKLOAD_SETTINGS.get(spec.workload)(**spec.settings)
        outcome = WORKLOADS.get(spec.workload)(settings, spec.seed, callbacks=callbacks or [])
    except Exception as error:
        return TrialResult(
            spec,
            FAILED,
            f"{type(error).__name__}: {error}",
            wall_time_s=time.perf_counter() - start,
            extra={"traceback": traceback.format_exc()},
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
    )
