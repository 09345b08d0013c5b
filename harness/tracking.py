"""MLflow reads and writes: a parent run per campaign, a nested child run per trial.

The default store is SQLite under ``runs/`` (``MLFLOW_TRACKING_URI`` overrides it).
A trial's run is opened (RUNNING) when the trial starts, shows ``live.*`` progress while
it trains, and receives its results, curves and real end time when it ends; only the
worker process that trains it writes to it. A run that is not FINISHED never holds a
result: resuming re-runs it (and marks the abandoned run KILLED).
"""

from __future__ import annotations

import getpass
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.trial import DIVERGED, FAILED, OK, TrialResult, TrialSpec

TAG = "harness."
KIND_CAMPAIGN, KIND_TRIAL, KIND_SWEEP = "campaign", "trial", "sweep"  # trial: a confirmation run
LIVE = "live."  # metrics that show a trial's progress while it trains; never read as results
LIVE_INTERVAL_S = 10.0  # at most one live write per this many seconds: short trials write none
NOTE = "mlflow.note.content"  # MLflow's description of a run or experiment


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


def _finite(value: Any) -> bool:
    return _number(value) and value is not None and math.isfinite(float(value))


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _flatten(prefix: str, value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(_flatten(f"{prefix}{key}.", item))
        return out
    return {prefix.rstrip("."): json.dumps(value) if isinstance(value, (list, tuple)) else str(value)}


def source_tags(tags: dict[str, str]) -> dict[str, str]:
    """MLflow's own tags for where a run came from (shown as "Source", "Version", "User")."""
    return {
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": "harness",
        "mlflow.source.git.commit": tags.get("git_commit", "unknown").removesuffix("+dirty"),
        "mlflow.user": _user(),
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name (some containers)
        return "unknown"


class Tracker:
    def __init__(self, uri: str | None = None) -> None:
        self.uri = uri or tracking_uri()
        # MLflow logs each database error with its traceback before raising it; the harness says
        # what went wrong itself, in one line (a full or read-only disk: harness.faults).
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
        try:
            with sqlite_creation_lock(self.uri):  # local workers starting together must not both create it
                from mlflow.tracking import MlflowClient

                self.client = MlflowClient(tracking_uri=self.uri)
                self.client.search_experiments(max_results=1)
        except Exception as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise TrackingError(f"cannot open the MLflow store at {self.uri}: {reason}") from None

    # experiments and campaigns -------------------------------------------------------
    def experiment(self, name: str, description: str = "") -> str:
        """The suite's experiment (created on first use); ``description``: its note in the MLflow UI."""
        found = self.client.get_experiment_by_name(name)
        if found is None:
            location = None
            if self.uri == f"sqlite:///{runs_dir() / 'mlflow.db'}":
                location = (runs_dir() / "artifacts" / name).as_uri()
            with suppress(Exception):  # another worker created it just now
                self.client.create_experiment(name, artifact_location=location)
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise TrackingError(f"cannot create the MLflow experiment '{name}' at {self.uri}")
        if description and found.tags.get(NOTE) != description:
            self.client.set_experiment_tag(found.experiment_id, NOTE, description)
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
        run_id = self.find_campaign_run(experiment_id, key)
        if run_id:
            self.client.update_run(run_id, status="RUNNING")
        else:
            run = self.client.create_run(
                experiment_id,
                run_name=name,
                tags={
                    **{TAG + k: v for k, v in tags.items()},
                    **source_tags(tags),
                    f"{TAG}kind": KIND_CAMPAIGN,
                    f"{TAG}campaign": key,
                },
            )
            run_id = run.info.run_id
            self.client.log_batch(run_id, params=self._params(params))
        return run_id

    def find_campaign_run(self, experiment_id: str, key: str) -> str | None:
        """The id of the campaign's parent run, if it has one."""
        found = self._search(experiment_id, f"tags.`{TAG}kind` = '{KIND_CAMPAIGN}' and tags.`{TAG}campaign` = '{key}'")
        return found[0].info.run_id if found else None

    def record_result(self, run_id: str, results: dict[str, Any], sentence: str, folder: Path) -> None:
        """Put a report on its campaign run: the verdict (tag and description), every comparison's effect,
        interval ends and n as metrics (the claim's own also unprefixed), and the report's files as artifacts."""
        from mlflow.entities import Metric, RunTag

        stamp, metrics = int(time.time() * 1000), []

        def add(prefix: str, comparison: dict[str, Any]) -> None:
            effect = comparison["effect"]
            values = {"effect": effect["value"], "effect_low": effect["low"], "effect_high": effect["high"]}
            values |= {"n_pairs": comparison["n_pairs"], "claimed_effect": comparison.get("claimed_effect")}
            metrics.extend(Metric(prefix + k, float(v), stamp, 0) for k, v in values.items() if _finite(v))

        headline = results.get("comparison")
        if headline:
            add("", headline)
        for comparison in results.get("comparisons", []):
            add(f"{comparison['treatment']}-vs-{comparison['baseline']}.{comparison['protocol']}.", comparison)
        verdict = headline["verdict"]["label"] if headline else "none yet"
        tags = [RunTag(f"{TAG}verdict", verdict), RunTag(NOTE, sentence)]
        self.client.log_batch(run_id, metrics=metrics, tags=tags)
        self.client.log_artifacts(run_id, str(folder))

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    # trials --------------------------------------------------------------------------
    def _trial_runs(self, experiment_id: str, campaign: str, finished_only: bool, kind: str = KIND_TRIAL) -> list:
        query = f"tags.`{TAG}kind` = '{kind}' and tags.`{TAG}campaign` = '{campaign}'"
        if finished_only:
            query += " and attributes.status = 'FINISHED'"
        return self._search(experiment_id, query)

    def finished_result(self, experiment_id: str, campaign: str, spec: TrialSpec, kind: str) -> TrialResult | None:
        """The result of this trial if MLflow already holds its finished run (ok or diverged). Otherwise the
        trial runs now, so a run of it left RUNNING by a dead worker is marked KILLED."""
        query = (
            f"tags.`{TAG}kind` = '{kind}' and tags.`{TAG}campaign` = '{campaign}' and "
            f"tags.`{TAG}trial_key` = '{spec.key}'"
        )
        runs = self._search(experiment_id, query)
        for run in runs:
            tags = run.data.tags
            if run.info.status == "FINISHED" and tags.get(f"{TAG}status") in (OK, DIVERGED):
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
        for run in runs:
            if run.info.status == "RUNNING":
                self.client.set_terminated(run.info.run_id, status="KILLED")
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

    @staticmethod
    def run_name(spec: TrialSpec, kind: str, tags: dict[str, str]) -> str:
        """``transfer-seed2-tuned`` (a confirmation run), ``sweep-transfer-7`` (a sweep trial)."""
        if kind == KIND_TRIAL:
            return f"{spec.arm}-seed{spec.seed_index}" + (f"-{tags['variant']}" if tags.get("variant") else "")
        return f"{kind}-{spec.arm}-{spec.seed_index}"

    def _identity_tags(self, parent_id: str, campaign: str, spec: TrialSpec, tags: dict[str, str], kind: str) -> dict:
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        return {
            **{TAG + k: v for k, v in tags.items()},
            **source_tags(tags),
            MLFLOW_PARENT_RUN_ID: parent_id,
            f"{TAG}kind": kind,
            f"{TAG}campaign": campaign,
            f"{TAG}trial_key": spec.key,
            f"{TAG}arm": spec.arm,
            f"{TAG}profile": spec.profile,
            f"{TAG}seed_index": str(spec.seed_index),
            f"{TAG}seed": str(spec.seed),
            f"{TAG}params_hash": spec.params_hash,
        }

    def start_trial(
        self,
        experiment_id: str,
        parent_id: str,
        campaign: str,
        spec: TrialSpec,
        tags: dict[str, str],
        kind: str = KIND_TRIAL,
    ) -> str:
        """Open the trial's run (RUNNING) before it trains; call :meth:`finished_result` first: it retires
        abandoned runs of the same trial."""
        run = self.client.create_run(
            experiment_id,
            run_name=self.run_name(spec, kind, tags),
            tags=self._identity_tags(parent_id, campaign, spec, tags, kind),
        )
        params = self._params({"arm": spec.arm, "seed": spec.seed, "seed_index": spec.seed_index, **spec.settings})
        self.client.log_batch(run.info.run_id, params=params)
        return run.info.run_id

    def live_progress(self, run_id: str, interval_s: float = LIVE_INTERVAL_S) -> Callable[[int, dict], None]:
        """A per-epoch listener that shows a running trial's progress (``live.epoch`` and ``live.<logs>``),
        at most once per ``interval_s``. A failed write is dropped: progress display never stops training."""
        from mlflow.entities import Metric

        last = [time.monotonic()]

        def listen(epochs_done: int, logs: dict) -> None:
            now = time.monotonic()
            if now - last[0] < interval_s:
                return
            last[0] = now
            stamp = int(time.time() * 1000)
            values = {"epoch": float(epochs_done), **{k: v for k, v in logs.items() if _number(v)}}
            metrics = [Metric(LIVE + k, float(v), stamp, epochs_done) for k, v in values.items()]
            with suppress(Exception):  # a display write must not fail the trial
                self.client.log_batch(run_id, metrics=metrics)

        return listen

    def log_trial(
        self,
        experiment_id: str,
        parent_id: str,
        campaign: str,
        result: TrialResult,
        tags: dict[str, str],
        kind: str = KIND_TRIAL,
        run_id: str | None = None,
    ) -> str:
        """Write a finished trial: its results, per-epoch curves (with their times), dataset, status and
        real start and end times — into ``run_id`` (opened by :meth:`start_trial`) or a new run."""
        from mlflow.entities import Metric, RunTag

        spec: TrialSpec = result.spec
        if run_id is None:
            run_id = self.start_trial(experiment_id, parent_id, campaign, spec, tags, kind)
        run_tags = {  # the identity tags are on the run since start_trial
            f"{TAG}status": result.status,
            f"{TAG}reason": result.reason[:5000],
            f"{TAG}data_source": result.data_source,
            f"{TAG}data_digest": result.data_digest,
            f"{TAG}history_keys": ",".join(sorted(result.history)),
            **{f"{TAG}info.{k}": v for k, v in result.extra.items() if k != "traceback"},
        }
        end = int(result.ended_at * 1000)
        metrics = [Metric(k, v, end, 0) for k, v in result.metrics.items() if k not in result.history]
        metrics.append(Metric("wall_time_s", result.wall_time_s, end, 0))
        for key, values in result.history.items():
            times = result.point_times(key)
            points = enumerate(zip(values, times, strict=True))
            metrics += [Metric(key, value, int(t * 1000), epoch) for epoch, (value, t) in points]
        for start in range(0, max(len(metrics), 1), 1000):
            self.client.log_batch(
                run_id,
                metrics=metrics[start : start + 1000],
                tags=[RunTag(k, v) for k, v in run_tags.items()] if start == 0 else [],
            )
        if result.data_digest:
            self._log_dataset(run_id, spec, result)
        if "traceback" in result.extra:
            self.client.log_text(run_id, result.extra["traceback"], "traceback.txt")
        self.client.set_terminated(run_id, status="FAILED" if result.status == FAILED else "FINISHED", end_time=end)
        return run_id

    def _log_dataset(self, run_id: str, spec: TrialSpec, result: TrialResult) -> None:
        """The trial's data as an MLflow dataset input (name, digest, source), with the split sizes this
        trial used as tags of the input (the store keeps one dataset per name and digest for every run)."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        data = spec.settings.get("data")
        name = (data.get("name") if isinstance(data, dict) else None) or spec.settings.get("dataset") or spec.workload
        sizes = {k: int(v) for k, v in result.extra.items() if k.startswith("n_") and v.isdigit()}
        dataset = Dataset(
            name=str(name),
            digest=result.data_digest[:36],
            source_type="local",
            source=json.dumps({"source": result.data_source, "sha256": result.data_digest}),
        )
        tags = [InputTag("mlflow.data.context", spec.arm), InputTag(f"{TAG}split_sizes", json.dumps(sizes))]
        self.client.log_inputs(run_id, datasets=[DatasetInput(dataset, tags=tags)])

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
            metrics = {k: v for k, v in run.data.metrics.items() if not k.startswith(LIVE)}  # progress only
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
