"""A campaign worker: pulls sweep trials, then confirmation runs, until every budget is met.

Any number of workers, on one machine or many, can share one campaign through its
Optuna storage. Sweep trials are drawn arm by arm (the arm with the fewest trials
first); when every arm's sweep is finished, the confirmation runs (each arm's best
params on fresh paired seeds) are queued as enqueued trials of the confirmation study
and pulled the same way, up to the seeds target (a sequential campaign raises it round by
round). Every trial is also an MLflow run; a trial whose MLflow run
already finished (the worker died before telling Optuna) is not trained again.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.seeds import confirmation_seed, tuning_seed
from harness.studies import (
    NUMBER,
    PRUNED_AT,
    SKIP,
    STATUS,
    TUNED,
    CampaignStudies,
    best_params,
    confirmation_key,
    done,
    fail_dead_trials,
    in_budget,
)
from harness.tracking import KIND_SWEEP, KIND_TRIAL, Tracker
from harness.trial import DIVERGED, FAILED, OK, TrialResult, TrialSpec, run_trial

if TYPE_CHECKING:
    import optuna

ARM, SEED_INDEX, VARIANT, PARAMS = "harness.arm", "harness.seed_index", "harness.variant", "harness.params"
MLFLOW_RUN = "mlflow_run_id"  # a trial's MLflow run, shown by optuna-dashboard


class Skip(Exception):
    """A drawn trial that must not run (over budget, a duplicate, nothing queued)."""


class TrialFailed(Exception):
    """The training program failed; the trial is recorded as failed and uses up its budget."""


def _skip(trial: optuna.Trial, why: str) -> None:
    trial.set_user_attr(SKIP, why)
    raise Skip(why)


def share_accelerator() -> None:
    """Let several workers share one GPU: each backend then takes memory as it needs it
    (TensorFlow's memory growth, JAX without preallocation; PyTorch allocates lazily anyway).
    Takes effect in a process that has not yet imported the backend; the user's settings win."""
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def sweep_spec(studies: CampaignStudies, arm: str, number: int, params: dict[str, Any]) -> TrialSpec:
    """Sweep trial ``number`` (its budget slot) of ``arm`` with ``params``, on its tuning seed."""
    suite = studies.suite
    settings = suite.settings_dict(studies.profile, arm, 0, params)
    seed = tuning_seed(studies.root_seed, number)
    return TrialSpec(suite.name, studies.profile, arm, number, seed, suite.workload.name, settings)


def confirmation_spec(studies: CampaignStudies, arm: str, index: int, params: dict[str, Any]) -> TrialSpec:
    """Confirmation run of ``arm`` on paired seed ``index`` with ``params`` (tuned, or {} for the claim's own)."""
    suite = studies.suite
    settings = suite.settings_dict(studies.profile, arm, index, params)
    seed = confirmation_seed(studies.root_seed, index)
    return TrialSpec(suite.name, studies.profile, arm, index, seed, suite.workload.name, settings)


@dataclass
class Worker:
    studies: CampaignStudies
    storage: Any
    tracker: Tracker
    experiment: str
    parent_run: str
    tags: dict[str, str]
    threads: int | None = None
    confirm: bool = True  # False: stop when the sweeps are finished
    follow_rounds: bool = False  # a sequential campaign's remote worker: wait for further rounds until they are over
    on_finished: Callable[[str], None] = lambda message: None
    poll_s: float = 2.0
    ran: int = field(default=0, init=False)

    # the loop -----------------------------------------------------------------------
    def run(self) -> int:
        """Work until every budget is met; returns the number of trials this worker ran."""

        share_accelerator()
        suite = self.studies.suite
        sweeps = {arm: self.studies.sweep(self.storage, arm) for arm in suite.arms}
        confirmation = self.studies.confirmation(self.storage)
        while True:
            for study in (*sweeps.values(), confirmation):
                fail_dead_trials(study, self.storage)
            task = self._next(sweeps, confirmation)
            if task == "done":
                return self.ran
            if task is None:  # others are running the last trials, or a dead worker's trial is not yet stale
                time.sleep(self.poll_s)
                continue
            study, objective = task
            study.optimize(objective, n_trials=1, catch=(Skip, TrialFailed), gc_after_trial=False)

    def _next(self, sweeps: dict, confirmation) -> tuple | str | None:
        from optuna.trial import TrialState

        budget, open_arms, sweeps_done = self.studies.budget, [], True
        for arm, study in sweeps.items():
            trials = study.get_trials(deepcopy=False)
            used = len(in_budget(trials))
            if used < budget or any(t.state == TrialState.WAITING for t in trials):
                open_arms.append((used, arm))
            sweeps_done &= len(done(trials)) >= budget
        if open_arms:
            used, arm = min(open_arms)  # the arm with the fewest trials: arms advance together
            sweeps[arm].sampler = self.studies.sampler(arm, used)
            return sweeps[arm], lambda trial: self._sweep_trial(arm, trial)
        if not sweeps_done:
            return None
        if not self.confirm:
            return "done"
        wanted = self._confirmation_keys(self.studies.seeds_target(confirmation))
        self._queue_confirmations(sweeps, confirmation, wanted)
        trials = confirmation.get_trials(deepcopy=False)
        if any(t.state == TrialState.WAITING for t in trials):
            return confirmation, self._confirmation_trial
        keys = {confirmation_key(*self._key_of(t)) for t in done(trials) if ARM in t.user_attrs}
        if len(keys) < len(wanted):
            return None
        return None if self.follow_rounds and not self.studies.rounds_over(confirmation) else "done"

    # sweep --------------------------------------------------------------------------
    def _sweep_trial(self, arm: str, trial: optuna.Trial) -> float:
        import optuna

        from harness.training import PruneReporter

        earlier = [t for t in in_budget(trial.study.get_trials(deepcopy=False)) if t.number < trial.number]
        if len(earlier) >= self.studies.budget and NUMBER not in trial.user_attrs:
            _skip(trial, "over budget (another worker drew the last trial at the same time)")
        number = trial.user_attrs.get(NUMBER, len(earlier))  # its budget slot; a retried trial keeps its own
        trial.set_user_attr(NUMBER, number)
        suite = self.studies.suite
        params = {name: space.suggest(trial, name) for name, space in suite.search_space(arm).items()}
        spec = sweep_spec(self.studies, arm, number, params)
        objective = suite.tuning.objective
        pruner = suite.tuning.pruner
        reporter = PruneReporter(trial, pruner.monitor) if pruner.kind != "none" else None
        tags = {"optuna_trial": str(number), "tuned_params": json.dumps(params, sort_keys=True)}
        result = self._run(trial, spec, KIND_SWEEP, tags, reporter)
        if PRUNED_AT in result.extra:
            trial.set_user_attr(STATUS, "pruned")
            self.on_finished(f"sweep {arm} #{number}: pruned after epoch {result.extra[PRUNED_AT]}")
            raise optuna.TrialPruned(f"pruned after epoch {result.extra[PRUNED_AT]}")
        return self._value(trial, result, objective, f"sweep {arm} #{number}")

    # confirmation -------------------------------------------------------------------
    def _confirmation_keys(self, seeds: int) -> list[tuple[str, str, int]]:
        arms = self.studies.suite.arms
        return [(v, a, i) for v in self.studies.variants() for i in range(seeds) for a in arms]

    @staticmethod
    def _key_of(trial) -> tuple[str, str, int]:
        attrs = trial.user_attrs
        return attrs[VARIANT], attrs[ARM], attrs[SEED_INDEX]

    def _queue_confirmations(self, sweeps: dict, confirmation, wanted: list[tuple[str, str, int]]) -> None:
        """Enqueue every wanted confirmation run that has no trial yet (seed by seed, all arms)."""
        present = {self._key_of(t) for t in in_budget(confirmation.get_trials(deepcopy=False)) if ARM in t.user_attrs}
        best = {arm: best_params(study) or {} for arm, study in sweeps.items()}
        for variant, arm, index in wanted:
            if (variant, arm, index) not in present:
                params = best[arm] if variant == TUNED else {}
                attrs = {VARIANT: variant, ARM: arm, SEED_INDEX: index, PARAMS: json.dumps(params, sort_keys=True)}
                confirmation.enqueue_trial({}, user_attrs=attrs)

    def _confirmation_trial(self, trial: optuna.Trial) -> float:
        if ARM not in trial.user_attrs:
            _skip(trial, "nothing queued (another worker took the last queued run)")
        key = self._key_of(trial)
        earlier = in_budget(trial.study.get_trials(deepcopy=False))
        if any(t.number < trial.number and ARM in t.user_attrs and self._key_of(t) == key for t in earlier):
            _skip(trial, "duplicate (queued twice by two workers at once)")
        variant, arm, index = key
        spec = confirmation_spec(self.studies, arm, index, json.loads(trial.user_attrs[PARAMS]))
        result = self._run(trial, spec, KIND_TRIAL, {"variant": variant})
        return self._value(trial, result, self.studies.suite.trial_metric(), f"confirm {variant} {arm} seed {index}")

    # shared -------------------------------------------------------------------------
    def _run(self, trial: optuna.Trial, spec: TrialSpec, kind: str, tags: dict[str, str], reporter=None) -> TrialResult:
        """Train (unless MLflow already holds this trial's finished run) and record it in MLflow: the run
        is opened before training, shows live progress, and gets the results when training ends."""
        campaign = self.studies.key
        found = self.tracker.finished_result(self.experiment, campaign, spec, kind)
        if found is not None:
            return found
        tags = {**self.tags, "threads": str(self.threads or os.cpu_count()), **tags}  # threads: a kernel path decider
        run_id = self.tracker.start_trial(self.experiment, self.parent_run, campaign, spec, tags, kind=kind)
        trial.set_user_attr(MLFLOW_RUN, run_id)
        live = self.tracker.live_progress(run_id)
        try:
            result = run_trial(spec, self.threads, [reporter] if reporter else [], on_epoch=live)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: Optuna marks the trial failed, to be run again
            self.tracker.end_run(run_id, "KILLED")
            raise
        if reporter and reporter.pruned_at:
            result.extra[PRUNED_AT] = str(reporter.pruned_at)
        self.tracker.log_trial(self.experiment, self.parent_run, campaign, result, tags, kind=kind, run_id=run_id)
        self.ran += 1
        return result

    def _value(self, trial: optuna.Trial, result: TrialResult, metric: str, where: str) -> float:
        trial.set_user_attr(STATUS, result.status)
        value = result.metrics.get(metric)
        if result.status == FAILED or value is None or not math.isfinite(value):
            trial.set_user_attr(STATUS, FAILED)
            self.on_finished(f"{where}: failed {result.reason or f'no finite {metric}'}")
            raise TrialFailed(result.reason or f"no finite {metric}")
        label = {OK: "ok", DIVERGED: "diverged"}[result.status]
        self.on_finished(f"{where}: {label} {metric}={value:.4f} ({result.wall_time_s:.1f}s)")
        return value
