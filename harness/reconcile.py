"""One source of truth for "done": the Optuna storage and MLflow agree before any worker starts.

Optuna counts the budgets; MLflow holds the results the report reads. When they disagree:

- a trial finished in Optuna whose MLflow run is gone (``mlflow.db`` deleted, a run deleted)
  is queued again with its own params and seed (its budget slot or paired seed), and the
  lost trial no longer counts (``REPLACES``): the same command then runs it again;
- a finished sweep run in MLflow whose Optuna trial is gone (a trial deleted from
  ``optuna.db``) is recorded back into Optuna from the run (params, value, budget slot), so
  it is neither lost nor drawn again. Confirmation runs need nothing: their queued trials
  find their finished MLflow runs by key and are not trained again (nor is the whole
  campaign when ``optuna.db`` is deleted).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from harness.studies import NUMBER, REPLACES, STATUS, CampaignStudies, done, in_budget
from harness.tracking import KIND_SWEEP, KIND_TRIAL, Tracker, TrialRecord
from harness.trial import DIVERGED, FAILED, OK
from harness.worker import ARM, MLFLOW_RUN, PARAMS, SEED_INDEX, VARIANT, confirmation_spec, sweep_spec

if TYPE_CHECKING:
    import optuna


def reconcile(studies: CampaignStudies, storage, tracker: Tracker, experiment: str) -> str | None:
    """Make the stores agree; one line saying what was found and done, or None when they agreed."""
    sweeps = tracker.trial_records(experiment, studies.key, with_history=False, kind=KIND_SWEEP)
    confirmations = tracker.trial_records(experiment, studies.key, with_history=False, kind=KIND_TRIAL)
    lost = restored = 0
    for arm in studies.suite.arms:
        study = studies.sweep(storage, arm)
        recorded = {r.tags["trial_key"]: r for r in sweeps if r.arm == arm}
        lost += _queue_lost(study, recorded, lambda t, arm=arm: _sweep_key(studies, arm, t))
        restored += _restore_orphans(studies, study, arm, recorded)
    confirmation = studies.confirmation(storage)
    recorded = {r.tags["trial_key"]: r for r in confirmations}
    lost += _queue_lost(confirmation, recorded, lambda t: _confirmation_key(studies, t))
    if not (lost or restored):
        return None
    found = []
    if lost:
        found.append(f"{lost} trial(s) finished in Optuna have no result in MLflow: queued to run again")
    if restored:
        found.append(f"{restored} finished sweep run(s) in MLflow had no Optuna trial: recorded back into Optuna")
    return "the Optuna storage and MLflow disagreed: " + "; ".join(found)


def _sweep_key(studies: CampaignStudies, arm: str, trial) -> str | None:
    if NUMBER not in trial.user_attrs:
        return None
    return sweep_spec(studies, arm, int(trial.user_attrs[NUMBER]), dict(trial.params)).key


def _confirmation_key(studies: CampaignStudies, trial) -> str | None:
    if ARM not in trial.user_attrs:
        return None
    attrs = trial.user_attrs
    return confirmation_spec(studies, attrs[ARM], int(attrs[SEED_INDEX]), json.loads(attrs[PARAMS])).key


def _queue_lost(study: optuna.Study, recorded: dict[str, TrialRecord], key_of) -> int:
    """Queue again every finished trial whose run MLflow does not hold; how many were queued."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    already = {t.system_attrs[REPLACES] for t in trials if REPLACES in t.system_attrs}
    queued = 0
    for trial in done(trials):
        key = key_of(trial)
        if key is None or key in recorded or trial.number in already:
            continue
        attrs = {k: v for k, v in trial.user_attrs.items() if k in (NUMBER, ARM, SEED_INDEX, VARIANT, PARAMS)}
        study.add_trial(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.WAITING,
                user_attrs=attrs,
                system_attrs={"fixed_params": dict(trial.params), REPLACES: trial.number},
            )
        )
        queued += 1
    return queued


def _restore_orphans(studies: CampaignStudies, study: optuna.Study, arm: str, recorded: dict) -> int:
    """Record back into Optuna each finished sweep run that has no trial there; how many were recorded."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    present = {_sweep_key(studies, arm, t) for t in in_budget(trials)}
    space = studies.suite.search_space(arm)
    objective = studies.suite.tuning.objective
    restored = 0
    for key, record in recorded.items():
        if key in present or "optuna_trial" not in record.tags:
            continue
        params = json.loads(record.tags.get("tuned_params", "{}"))
        distributions = {name: _distribution(space[name]) for name in params}
        value = record.metrics.get(objective)
        ok = record.status in (OK, DIVERGED) and value is not None and math.isfinite(value)
        study.add_trial(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.FAIL,
                params=params,
                distributions=distributions,
                value=value if ok else None,
                user_attrs={
                    NUMBER: int(record.tags["optuna_trial"]),
                    STATUS: record.status if ok else FAILED,
                    MLFLOW_RUN: record.run_id,
                },
            )
        )
        restored += 1
    return restored


def _distribution(param):
    """The Optuna distribution ``param`` draws from (as ``Param.suggest`` does)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if param.choices is not None:
        return CategoricalDistribution(param.choices)
    if param.integer:
        return IntDistribution(int(param.low), int(param.high), step=int(param.step or 1), log=param.log)
    return FloatDistribution(param.low, param.high, step=param.step, log=param.log)
