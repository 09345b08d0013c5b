"""MLflow reads and writes: a parent run per campaign, a nested child run per trial.

The default store is SQLite under ``runs/`` (``MLFLOW_TRACKING_URI`` overrides it).
Child runs are written in one batch after their trial ends, so a run that is not
FINISHED never holds a result: resuming re-runs it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.trial import DIVERGED, FAILED, OK, TrialResult, TrialSpec

TAG = "harness."
KIND_CAMPAIGN, KIND_TRIAL, KIND_SWEEP = "campaign", "trial", "sweep"  # trial: a confirmation run


class TrackingError(RuntimeError):
    """The MLflow store cannot be used."""


@contextmanager
def sqlite_creation_lock(uri: str) -> Iterator[None]:
    """Serialise opening (and so creating and migrating) a SQLite store among local processes."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    path = Path(uri.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: no lock
            pass
        yield


def runs_dir() -> Path:
    return Path(os.environ.get("HARNESS_RUNS_DIR", "runs")).resolve()


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{runs_dir() / 'mlflow.db'}"


@dataclass
class TrialRecord:
    """A finished trial as read back from MLflow."""

    arm: str
    seed_index: int
    seed: int
    params_hash: str
    status: str
    reason: str
    metrics: dict[str, float]
    history: dict[str, list[float]]
    wall_time_s: float
    tags: dict[str, str]
    run_id: str = ""  # the MLflow run


def _flatten(prefix: str, value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(_flatten(f"{prefix}{key}.", item))
        return out
    return {prefix.rstrip("."): json.dumps(value) if isinstance(value, (list, tuple)) else str(value)}


class Tracker:
    def __init__(self, uri: str | None = None) -> None:
        self.uri = uri or tracking_uri()
        try:
            with sqlite_creation_lock(self.uri):  # local workers starting together must not both create it
                from mlflow.tracking import MlflowClient

                self.client = MlflowClient(tracking_uri=self.uri)
                self.client.search_experiments(max_results=1)
        except Exception as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise TrackingError(f"cannot open the MLflow store at {self.uri}: {reason}") from None

    # experiments and campaigns -------------------------------------------------------
    def experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = None
        if self.uri == f"sqlite:///{runs_dir() / 'mlflow.db'}":
            location = (runs_dir() / "artifacts" / name).as_uri()
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except Exception:
            found = self.client.get_experiment_by_name(name)  # another worker created it just now
            if found is None:
                raise
            return found.experiment_id

    def _search(self, experiment_id: str, filter_string: str) -> list:
        runs, token = [], None
        while True:
            page = self.client.search_runs(
                [experiment_id], filter_string=filter_string, max_results=1000, page_token=token
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def campaign_run(
        self, experiment_id: str, key: str, name: str, tags: dict[str, str], params: dict[str, Any]
    ) -> str:
        """The campaign's parent run: reused when the campaign resumes, else created."""
        existing = self._search(
            experiment_id, f"tags.`{TAG}kind` = '{KIND_CAMPAIGN}' and tags.`{TAG}campaign` = '{key}'"
        )
        if existing:
            run_id = existing[0].info.run_id
            self.client.update_run(run_id, status="RUNNING")
        else:
            run = self.client.create_run(
                experiment_id,
                run_name=name,
                tags={
                    **{TAG + k: v for k, v in tags.items()},
                    f"{TAG}kind": KIND_CAMPAIGN,
                    f"{TAG}campaign": key,
                },
            )
            run_id = run.info.run_id
            self.client.log_batch(run_id, params=self._params(params))
        return run_id

    def end_campaign(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    # trials --------------------------------------------------------------------------
    def _trial_runs(self, experiment_id: str, campaign: str, finished_only: bool, kind: str = KIND_TRIAL) -> list:
        query = f"tags.`{TAG}kind` = '{kind}' and tags.`{TAG}campaign` = '{campaign}'"
        if finished_only:
            query += " and attributes.status = 'FINISHED'"
        return self._search(experiment_id, query)

    def finished_result(self, experiment_id: str, campaign: str, spec: TrialSpec, kind: str) -> TrialResult | None:
        """The result of this trial if MLflow already holds its finished run (ok or diverged)."""
        query = (
            f"tags.`{TAG}kind` = '{kind}' and tags.`{TAG}campaign` = '{campaign}' and "
            f"tags.`{TAG}trial_key` = '{spec.key}' and attributes.status = 'FINISHED'"
        )
        for run in self._search(experiment_id, query):
            tags = run.data.tags
            if tags.get(f"{TAG}status") in (OK, DIVERGED):
                extra = {k.removeprefix(f"{TAG}info."): v for k, v in tags.items() if k.startswith(f"{TAG}info.")}
                metrics = dict(run.data.metrics)
                return TrialResult(
                    spec,
                    tags[f"{TAG}status"],
                    tags.get(f"{TAG}reason", ""),
                    metrics,
                    wall_time_s=metrics.get("wall_time_s", 0.0),
                    data_source=tags.get(f"{TAG}data_source", ""),
                    data_digest=tags.get(f"{TAG}data_digest", ""),
                    extra=extra,
                )
        return None

    def finished_keys(self, experiment_id: str, campaign: str) -> set[str]:
        """Keys of trials that finished (ok or diverged); failed or interrupted ones are not."""
        return {
            run.data.tags[f"{TAG}trial_key"]
            for run in self._trial_runs(experiment_id, campaign, finished_only=True)
            if run.data.tags.get(f"{TAG}status") in (OK, DIVERGED)
        }

    @staticmethod
    def _params(params: dict[str, Any]) -> list:
        from mlflow.entities import Param

        return [Param(k, v[:6000]) for k, v in _flatten("", params).items()]

    def log_trial(
        self,
        experiment_id: str,
        parent_id: str,
        campaign: str,
        result: TrialResult,
        tags: dict[str, str],
        kind: str = KIND_TRIAL,
    ) -> str:
        from mlflow.entities import Metric, RunTag
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        spec: TrialSpec = result.spec
        run_tags = {
            **{TAG + k: v for k, v in tags.items()},
            MLFLOW_PARENT_RUN_ID: parent_id,
            f"{TAG}kind": kind,
            f"{TAG}campaign": campaign,
            f"{TAG}trial_key": spec.key,
            f"{TAG}arm": spec.arm,
            f"{TAG}profile": spec.profile,
            f"{TAG}seed_index": str(spec.seed_index),
            f"{TAG}seed": str(spec.seed),
            f"{TAG}params_hash": spec.params_hash,
            f"{TAG}status": result.status,
            f"{TAG}reason": result.reason[:5000],
            f"{TAG}data_source": result.data_source,
            f"{TAG}data_digest": result.data_digest,
            f"{TAG}history_keys": ",".join(sorted(result.history)),
            **{f"{TAG}info.{k}": v for k, v in result.extra.items() if k != "traceback"},
        }
        name = f"{spec.arm}-seed{spec.seed_index}" if kind == KIND_TRIAL else f"{kind}-{spec.arm}-{spec.seed_index}"
        run = self.client.create_run(experiment_id, run_name=name, tags=run_tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0) for k, v in result.metrics.items() if k not in result.history]
        metrics.append(Metric("wall_time_s", result.wall_time_s, now, 0))
        metrics += [
            Metric(key, value, now, epoch)
            for key, values in result.history.items()
            for epoch, value in enumerate(values)
        ]
        params = self._params({"arm": spec.arm, "seed": spec.seed, **spec.settings})
        for start in range(0, max(len(metrics), 1), 1000):
            self.client.log_batch(
                run_id,
                metrics=metrics[start : start + 1000],
                params=params if start == 0 else [],
                tags=[RunTag(k, v) for k, v in run_tags.items()] if start == 0 else [],
            )
        if "traceback" in result.extra:
            self.client.log_text(run_id, result.extra["traceback"], "traceback.txt")
        self.client.set_terminated(run_id, status="FAILED" if result.status == FAILED else "FINISHED")
        return run_id

    def trial_records(
        self, experiment_id: str, campaign: str, with_history: bool = True, kind: str = KIND_TRIAL
    ) -> list[TrialRecord]:
        """Every finished trial of a campaign (ok, diverged, failed), with per-epoch history."""
        records = []
        for run in self._trial_runs(experiment_id, campaign, finished_only=False, kind=kind):
            tags = run.data.tags
            if run.info.status not in ("FINISHED", "FAILED") or f"{TAG}status" not in tags:
                continue
            history: dict[str, list[float]] = {}
            if with_history:
                for key in filter(None, tags.get(f"{TAG}history_keys", "").split(",")):
                    points = sorted(self.client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)
                    history[key] = [m.value for m in points]
            metrics = dict(run.data.metrics)
            records.append(
                TrialRecord(
                    arm=tags[f"{TAG}arm"],
                    seed_index=int(tags[f"{TAG}seed_index"]),
                    seed=int(tags[f"{TAG}seed"]),
                    params_hash=tags[f"{TAG}params_hash"],
                    status=tags[f"{TAG}status"],
                    reason=tags.get(f"{TAG}reason", ""),
                    metrics=metrics,
                    history=history,
                    wall_time_s=metrics.get("wall_time_s", float("nan")),
                    tags={k.removeprefix(TAG): v for k, v in tags.items() if k.startswith(TAG)},
                    run_id=run.info.run_id,
                )
            )
        return records
