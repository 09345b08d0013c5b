"""Optuna storage and studies of a campaign: one sweep study per arm, one confirmation study.

Everything is Optuna's own engine: ``RDBStorage`` (SQLite under ``runs/`` by default,
PostgreSQL for many machines) with heartbeats, so the trial of a killed worker is failed
after the grace period and re-queued by ``RetryHeartbeatStaleTrialCallback``. Budgets are
exact under concurrency: a worker that draws a trial beyond the budget (two workers
asked at once) or a second copy of a queued confirmation run marks it skipped (FAIL with
``harness.skip``) before any training, and skipped trials count nowhere.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.tracking import runs_dir, sqlite_creation_lock

if TYPE_CHECKING:
    import optuna

    from harness.suites import Suite

HEARTBEAT_S = int(os.environ.get("HARNESS_HEARTBEAT_S", "10"))
GRACE_S = int(os.environ.get("HARNESS_GRACE_S", str(3 * HEARTBEAT_S)))
MAX_RETRY = 3
SKIP, STATUS, NUMBER = "harness.skip", "harness.status", "harness.number"  # trial user attributes
REPLACES = "harness.replaces"  # system attribute of a trial queued again: the number of the trial whose run was lost
TUNED, UNTUNED = "tuned", "untuned"
SEEDS_TARGET, ROUNDS_OVER = "harness.seeds_target", "harness.rounds_over"  # confirmation study attributes
SEQUENTIAL_TAG = "until_decided"  # run tag of a sequential campaign: its maximum seeds
PRUNED_AT = "pruned_at_epoch"  # a pruned trial's result extra (MLflow tag harness.info.pruned_at_epoch)


class StorageError(RuntimeError):
    """The Optuna storage cannot be opened, or belongs to a different campaign."""


def default_storage() -> str:
    return f"sqlite:///{Path(runs_dir()) / 'optuna.db'}"


def shown(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


DATABASES = ("sqlite", "postgresql", "mysql")
CONNECT_TIMEOUT_S = 5


def check_storage(url: str | None) -> str:
    """The storage URL, checked before any data or Keras is loaded: one line if it is not usable.

    It must parse as a database URL of a database Optuna supports; a SQLite file's folder must
    exist (only the default ``runs/`` folder is created); a server must answer within
    ``CONNECT_TIMEOUT_S`` seconds. The password is never shown.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    default = default_storage()
    url = url or default
    example = "e.g. sqlite:///runs/optuna.db or postgresql://user:password@host/database"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"Optuna storage {shown(url)}: not a database URL ({example})") from None
    database = parsed.get_backend_name()
    if database not in DATABASES:
        raise StorageError(
            f"Optuna storage {shown(url)}: unknown database '{database}' (Optuna stores in {', '.join(DATABASES)}; "
            f"{example})"
        )
    if database == "sqlite":
        folder = Path(parsed.database or ".").resolve().parent
        if url != default and not folder.is_dir():
            raise StorageError(
                f"Optuna storage {shown(url)}: the folder {folder} does not exist; create it, or leave --storage "
                "out for the default runs/optuna.db"
            )
        return url
    try:
        engine = create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
        with engine.connect():
            pass
    except ImportError as error:
        raise StorageError(
            f"Optuna storage {shown(url)}: its database driver is not installed ({error.__cause__ or error}); "
            "for PostgreSQL: pip install 'psycopg[binary]' (the project's extra: .[postgres])"
        ) from None
    except Exception as error:  # sqlalchemy's errors: unreachable host, bad credentials, no such database
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StorageError(f"Optuna storage {shown(url)} cannot be opened: {reason}") from None
    return url


def open_storage(url: str | None) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage with heartbeats; one clear error if it cannot be reached."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the harness reports every outcome itself
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeats: stable for years

    url = url or default_storage()
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    for attempt in range(3):  # workers starting together race to create the tables: the loser retries
        try:
            with sqlite_creation_lock(url):
                storage = optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine,
                    heartbeat_interval=HEARTBEAT_S,
                    grace_period=GRACE_S,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                        max_retry=MAX_RETRY
                    ),
                )
            if url.startswith("sqlite"):
                _serialise_sqlite(storage.engine)
            return storage
        except ImportError as error:
            missing = error.__cause__ or error
            raise StorageError(
                f"Optuna storage {shown(url)}: its database driver is not installed ({missing}); "
                "for PostgreSQL: pip install 'psycopg[binary]' (the project's extra: .[postgres])"
            ) from None
        except Exception as error:  # sqlalchemy's errors: unreachable host, bad credentials, bad URL
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            time.sleep(1 + attempt)
    raise StorageError(f"Optuna storage {shown(url)} cannot be opened: {reason}")


def _serialise_sqlite(engine) -> None:
    """Make every SQLite transaction ``BEGIN IMMEDIATE``: one writer at a time, reads included.

    pysqlite runs a SELECT outside any transaction, so two workers could both read the same
    queued (WAITING) trial as free and both run it. With the write lock taken at BEGIN,
    Optuna's read-check-update of a trial is atomic across processes.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the listeners existed are replaced


def campaign_key(suite: Suite, profile: str, root_seed: int) -> str:
    """A campaign's name: its studies' prefix and its MLflow runs' tag."""
    return f"{suite.name}/{profile}/root={root_seed}"


@dataclass(frozen=True)
class CampaignStudies:
    """Names and identity of a campaign's studies in one storage."""

    suite: Suite
    profile: str
    root_seed: int
    seeds: int  # paired confirmation seeds; with ``until_decided``, the first round's (and each round's step)
    until_decided: int | None = None  # sequential: add seeds in rounds until the verdict is decided, at most this

    @property
    def key(self) -> str:
        return campaign_key(self.suite, self.profile, self.root_seed)

    @property
    def budget(self) -> int:
        return self.suite.profiles[self.profile].budget

    def identity(self) -> dict[str, Any]:
        """What every worker of the campaign must agree on (one campaign runs on one Keras backend)."""
        from harness.backends import selected

        identity = {
            "keras_backend": selected(),
            "suite_digest": self.suite.digest,
            "budget": self.budget,
            "seeds": self.seeds,
            "root_seed": self.root_seed,
        }
        return identity | ({"until_decided": self.until_decided} if self.until_decided else {})

    def seeds_target(self, confirmation: optuna.Study) -> int:
        """The paired seeds to confirm on now: ``seeds``, or the current round's target of a sequential campaign."""
        if self.until_decided is None:
            return self.seeds
        return int(confirmation.user_attrs.get(SEEDS_TARGET, self.seeds))

    @staticmethod
    def rounds_over(confirmation: optuna.Study) -> bool:
        """A sequential campaign has stopped adding rounds (decided, or at its maximum)."""
        return bool(confirmation.user_attrs.get(ROUNDS_OVER))

    def variants(self) -> list[str]:
        """Which settings the confirmation runs use: the tuned ones, and/or the claim's own."""
        if self.budget == 0:
            return [UNTUNED]
        return [TUNED, UNTUNED] if self.suite.profiles[self.profile].compare_untuned else [TUNED]

    def sweep(self, storage, arm: str) -> optuna.Study:
        objective = self.suite.tuning.objective
        return self._study(storage, f"{self.key}/sweep/{arm}", self.sampler(arm, 0), self._pruner(), objective)

    def confirmation(self, storage) -> optuna.Study:
        import optuna

        # Its trials are fixed settings on paired seeds, not a search: the name says no trial is "best".
        metric = f"{self.suite.trial_metric()} (confirmation runs: none is best; the report compares arms)"
        return self._study(storage, f"{self.key}/confirm", optuna.samplers.RandomSampler(seed=0), None, metric)

    def _study(self, storage, name: str, sampler, pruner, metric: str) -> optuna.Study:
        import optuna

        direction = "maximize" if self.suite.tuning.higher_is_better else "minimize"
        study = optuna.create_study(
            storage=storage, study_name=name, direction=direction, sampler=sampler, pruner=pruner, load_if_exists=True
        )
        identity = self.identity()
        found = study.user_attrs.get("harness.identity")
        if found is not None:
            found = {"keras_backend": "tensorflow", **found}  # campaigns from before backends were recorded
        if found is None:
            study.set_user_attr("harness.identity", identity)
        elif found != identity:
            differing = ", ".join(
                f"{k}: campaign has {found.get(k)!r}, this worker {v!r}"
                for k, v in identity.items()
                if found.get(k) != v
            )
            raise StorageError(
                f"study '{name}' belongs to a campaign with other settings ({differing}); every worker of a "
                f"campaign must use the same suite file ({self.suite.path}), options and Keras backend — "
                f"refusing to join.{self._new_campaign_hint(storage, found)}"
            )
        if study.metric_names is None:
            study.set_metric_names([metric])  # optuna-dashboard shows it instead of "Objective 0"
        return study

    def _new_campaign_hint(self, storage, found: dict) -> str:
        """How to start over when the suite file itself was changed on purpose (the runs stay in MLflow)."""
        if found.get("suite_digest") == self.suite.digest:
            return ""
        url = shown(getattr(storage, "url", str(storage)))
        return (
            f" If you changed {self.suite.path.name} on purpose, run it as a new campaign: pass another "
            f"--root-seed, or delete the old campaign's studies (those named '{self.key}/…', listed by "
            f"`optuna studies --storage {url}`) with `optuna delete-study --storage "
            f"{url} --study-name NAME`; its finished runs stay in MLflow"
        )

    def sampler(self, arm: str, index: int) -> optuna.samplers.BaseSampler:
        """The suite's sampler for the arm's ``index``-th trial, every argument explicit.

        Seeded from (root seed, arm, index), not once per process, so a resumed sweep
        draws what an uninterrupted one would have drawn from the same finished trials.
        """
        import optuna

        from harness.seeds import derive

        spec, seed = self.suite.tuning.sampler, derive(self.root_seed, "sampler", arm, index)
        if spec.kind == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if spec.kind == "grid":  # its seed shuffles the grid's order, which must stay fixed for the arm
            space = {name: param.choices for name, param in self.suite.search_space(arm).items()}
            return optuna.samplers.GridSampler(space, seed=derive(self.root_seed, "sampler", arm))
        return optuna.samplers.TPESampler(
            n_startup_trials=spec.n_startup_trials,
            n_ei_candidates=spec.n_ei_candidates,
            multivariate=spec.multivariate,
            group=False,
            constant_liar=spec.constant_liar,
            seed=seed,
        )

    def _pruner(self) -> optuna.pruners.BasePruner:
        import optuna

        spec = self.suite.tuning.pruner
        if spec.kind == "none":
            return optuna.pruners.NopPruner()
        return optuna.pruners.MedianPruner(n_startup_trials=spec.n_startup_trials, n_warmup_steps=spec.n_warmup_steps)


def fail_dead_trials(study: optuna.Study, storage) -> None:
    """Fail the trials whose worker is gone, so their work is drawn (or queued) again.

    Optuna fails a RUNNING trial whose heartbeat went stale; a trial with no heartbeat at all
    (its worker died before the first one could be written, e.g. on a full disk) it never
    fails, and the campaign would wait for it forever: such a trial is failed once it is
    older than the grace period.
    """
    import datetime

    import optuna
    from optuna.trial import TrialState
    from sqlalchemy import text

    optuna.storages.fail_stale_trials(study)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return
    with storage.engine.connect() as connection:
        beating = {row[0] for row in connection.execute(text("select trial_id from trial_heartbeats"))}
    now = datetime.datetime.now()
    for trial in running:
        started = trial.datetime_start
        if trial._trial_id not in beating and started and (now - started).total_seconds() > GRACE_S:
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def in_budget(trials: list) -> list:
    """The trials that use up budget: done, in progress or queued, or failed by the harness itself.

    A trial failed by a heartbeat timeout is re-queued as a new WAITING trial (that one
    counts, even if the dead worker had already marked an outcome on the old one); so is
    a finished trial whose MLflow run was lost (:mod:`harness.reconcile`); skipped trials
    (over budget, duplicates) never ran.
    """
    from optuna.trial import TrialState

    retried = {number for t in trials for number in t.system_attrs.get("retry_history", [])}
    replaced = {t.system_attrs[REPLACES] for t in trials if REPLACES in t.system_attrs}

    def uses_budget(trial) -> bool:
        if trial.user_attrs.get(SKIP) or trial.number in replaced:
            return False
        if trial.state == TrialState.FAIL:
            return trial.user_attrs.get(STATUS) == "failed" and trial.number not in retried
        return True

    return [t for t in trials if uses_budget(t)]


def done(trials: list) -> list:
    """The trials in budget that have finished (complete, pruned, or failed by the harness)."""
    from optuna.trial import TrialState

    return [t for t in in_budget(trials) if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)]


def best_params(study: optuna.Study) -> dict[str, Any] | None:
    """Params of the best complete trial (ties: the earliest), or None before any."""
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    if not complete:
        return None
    sign = 1 if study.direction.name == "MAXIMIZE" else -1
    best = max(complete, key=lambda t: (sign * t.value, -t.number))
    return dict(best.params)


def confirmation_key(variant: str, arm: str, seed_index: int) -> str:
    return json.dumps([variant, arm, seed_index])
